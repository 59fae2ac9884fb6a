//! "Did you mean": the known name closest to a misspelt one.

/// `" (did you mean 'x'?)"` for the name in `known` within a third of its length (at least one
/// edit) of `word`, or else `" (there are: a, b)"`, or nothing when nothing is known.
pub fn suggest<S: AsRef<str>>(word: &str, known: &[S]) -> String {
    let close = known
        .iter()
        .map(|k| (edit_distance(word, k.as_ref()), k.as_ref()))
        .filter(|(d, k)| *d <= 1.max(k.len() / 3))
        .min();
    match close {
        Some((_, k)) => format!(" (did you mean '{k}'?)"),
        None if known.is_empty() => String::new(),
        None if known.len() > 12 => String::new(),
        None => format!(
            " (there are: {})",
            known
                .iter()
                .map(|k| k.as_ref())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_name_or_lists_them() {
        assert_eq!(suggest("hl", &["h1", "r1", "h2"]), " (did you mean 'h1'?)");
        assert_eq!(
            suggest("isp-onprm", &["isp-onprem", "isp-azure"]),
            " (did you mean 'isp-onprem'?)"
        );
        assert_eq!(suggest("zz", &["a", "b"]), " (there are: a, b)");
        assert_eq!(suggest::<&str>("zz", &[]), "");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
