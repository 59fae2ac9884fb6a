//! `--set PATH=VALUE`: changes to a lab file's text before it is parsed, so an override gets
//! exactly the checks and messages the file would.
//!
//! PATH names the lab file's data: a top-level field (`seed`, `duration`), then, through a
//! list of named items, the item's `name` (`links.isp-onprem`), then fields inside it, nested
//! as deep as the file nests them (`links.isp-onprem.a_to_b.loss`,
//! `circuits.er.bfd.interval`). The value is RON, as it would be written in the file; a bare
//! quantity with a unit (`150ms`, `1Gbps`, `64KiB`) is quoted for you. A field the item does
//! not write yet is added to it; an item that does not exist is an error that lists those
//! that do.
//!
//! RON's value model forgets enum variant names (`Host(...)`, `Bernoulli(...)`), so the file is
//! edited as text: a small scanner finds the span of the value PATH names and replaces it.

use super::suggest::suggest;
use std::ops::Range;

/// One `--set`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub path: Vec<String>,
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (path, value) = s.split_once('=').ok_or_else(|| {
            format!("--set {s}: expected PATH=VALUE, e.g. links.wan.loss='Bernoulli(0.01)'")
        })?;
        let path: Vec<String> = path
            .trim()
            .split('.')
            .map(|p| p.trim().to_string())
            .collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(format!("--set {s}: the path has an empty part"));
        }
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("--set {s}: the value is empty"));
        }
        Ok(Override {
            path,
            value: quote_quantity(value),
        })
    }
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--set {}={}", self.path.join("."), self.value)
    }
}

/// `150ms` becomes `"150ms"`: a number followed by a unit is a string in a lab file.
fn quote_quantity(v: &str) -> String {
    let digits = v.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let unit = !digits.is_empty()
        && digits.len() < v.len()
        && digits.chars().all(|c| c.is_ascii_alphabetic() || c == '/');
    if unit {
        format!("\"{v}\"")
    } else {
        v.to_string()
    }
}

/// Applies `o` to lab file text; the new text, or why the path names nothing.
pub fn apply(text: &str, o: &Override) -> Result<String, String> {
    let s = Scanner { b: text.as_bytes() };
    let top = s.skip_trivia(0);
    let mut span = top..s
        .value_end(top)
        .ok_or_else(|| format!("{o}: the lab file is not one value"))?;
    let mut parent_struct: Option<usize> = None;
    for (depth, segment) in o.path.iter().enumerate() {
        let here = &text[span.clone()];
        if let Some(open) = s.struct_open(span.clone()) {
            match s.field(open, segment) {
                Some(value) => {
                    parent_struct = Some(open);
                    span = value;
                }
                None => {
                    // Add the field at the front of the structure, and the structures the
                    // rest of the path goes through (`bfd: (interval: "150ms")`); whether
                    // the field exists is for the parser to say, with the fields it knows.
                    let rest = &o.path[depth..];
                    let mut added = o.value.clone();
                    for field in rest[1..].iter().rev() {
                        added = format!("({field}: {added})");
                    }
                    let at = open + 1;
                    return Ok(format!(
                        "{}{segment}: {added}, {}",
                        &text[..at],
                        &text[at..]
                    ));
                }
            }
        } else if here.starts_with('[') {
            let items = s.list_items(span.start);
            let found = items.iter().find(|&item| {
                s.struct_open(item.clone())
                    .and_then(|open| s.field(open, "name"))
                    .is_some_and(|name| text[name].trim_matches('"') == segment.as_str())
            });
            match found {
                Some(item) => span = item.clone(),
                None => {
                    let names: Vec<String> = items
                        .iter()
                        .filter_map(|item| {
                            let open = s.struct_open(item.clone())?;
                            Some(text[s.field(open, "name")?].trim_matches('"').to_string())
                        })
                        .collect();
                    return Err(format!(
                        "{o}: '{}' has no item named '{segment}'{}",
                        o.path[..depth].join("."),
                        suggest(segment, &names)
                    ));
                }
            }
        } else {
            return Err(format!(
                "{o}: '{}' is a value ({here}), not a list or a structure",
                o.path[..depth].join(".")
            ));
        }
    }
    if parent_struct.is_none() {
        return Err(format!("{o}: a path must name a field"));
    }
    Ok(format!(
        "{}{}{}",
        &text[..span.start],
        o.value,
        &text[span.end..]
    ))
}

/// Finds the extent of RON values in text, skipping strings and comments.
struct Scanner<'a> {
    b: &'a [u8],
}

impl Scanner<'_> {
    fn skip_trivia(&self, mut i: usize) -> usize {
        loop {
            while i < self.b.len() && self.b[i].is_ascii_whitespace() {
                i += 1;
            }
            if self.b[i..].starts_with(b"//") {
                while i < self.b.len() && self.b[i] != b'\n' {
                    i += 1;
                }
            } else if self.b[i..].starts_with(b"/*") {
                i = self.b[i + 2..]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(self.b.len(), |p| i + 2 + p + 2);
            } else {
                return i;
            }
        }
    }

    /// The end of the string literal starting at `i` (a `"`).
    fn string_end(&self, mut i: usize) -> Option<usize> {
        i += 1;
        while i < self.b.len() {
            match self.b[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    /// The position after the bracket closing the one at `i`.
    fn close(&self, mut i: usize) -> Option<usize> {
        let mut depth = 0usize;
        while i < self.b.len() {
            match self.b[i] {
                b'"' => {
                    i = self.string_end(i)?;
                    continue;
                }
                b'/' if matches!(self.b.get(i + 1), Some(b'/' | b'*')) => {
                    i = self.skip_trivia(i);
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// The end of the value starting at `i`.
    fn value_end(&self, i: usize) -> Option<usize> {
        match *self.b.get(i)? {
            b'"' => self.string_end(i),
            b'(' | b'[' | b'{' => self.close(i),
            _ => {
                let mut j = i;
                while j < self.b.len()
                    && !matches!(self.b[j], b',' | b')' | b']' | b'}' | b'(')
                    && !self.b[j].is_ascii_whitespace()
                {
                    j += 1;
                }
                // `Variant(...)`: the identifier with its parenthesised content.
                let k = self.skip_trivia(j);
                if self.b.get(k) == Some(&b'(') {
                    self.close(k)
                } else {
                    Some(j)
                }
            }
        }
    }

    /// For a value that is a structure, `(...)`, `Name(...)` or `Some(...)` around one: the
    /// position of the `(` that holds its fields.
    fn struct_open(&self, span: Range<usize>) -> Option<usize> {
        let mut i = span.start;
        loop {
            while i < span.end && (self.b[i].is_ascii_alphanumeric() || self.b[i] == b'_') {
                i += 1;
            }
            i = self.skip_trivia(i);
            if self.b.get(i) != Some(&b'(') {
                return None;
            }
            let inner = self.skip_trivia(i + 1);
            // `Some(( ... ))` or `Some(Name( ... ))`: look inside.
            if self.b[span.start..].starts_with(b"Some") && i == self.skip_trivia(span.start + 4) {
                i = inner;
                continue;
            }
            return self.looks_like_fields(inner).then_some(i);
        }
    }

    /// Whether the content at `i` starts with `ident:` (a structure's field) or is empty.
    fn looks_like_fields(&self, i: usize) -> bool {
        let mut j = i;
        while j < self.b.len() && (self.b[j].is_ascii_alphanumeric() || self.b[j] == b'_') {
            j += 1;
        }
        let k = self.skip_trivia(j);
        self.b.get(i) == Some(&b')') || (j > i && self.b.get(k) == Some(&b':'))
    }

    /// The fields of the structure whose `(` is at `open`: (name, value span).
    fn fields(&self, open: usize) -> Vec<(Range<usize>, Range<usize>)> {
        let mut out = Vec::new();
        let mut i = self.skip_trivia(open + 1);
        while i < self.b.len() && self.b[i] != b')' {
            let name_start = i;
            while i < self.b.len() && (self.b[i].is_ascii_alphanumeric() || self.b[i] == b'_') {
                i += 1;
            }
            let name = name_start..i;
            i = self.skip_trivia(i);
            if self.b.get(i) != Some(&b':') {
                break;
            }
            let v = self.skip_trivia(i + 1);
            let Some(end) = self.value_end(v) else { break };
            out.push((name, v..end));
            i = self.skip_trivia(end);
            if self.b.get(i) == Some(&b',') {
                i = self.skip_trivia(i + 1);
            }
        }
        out
    }

    fn field(&self, open: usize, name: &str) -> Option<Range<usize>> {
        self.fields(open)
            .into_iter()
            .find(|(n, _)| &self.b[n.clone()] == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// The items of the list whose `[` is at `open`.
    fn list_items(&self, open: usize) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut i = self.skip_trivia(open + 1);
        while i < self.b.len() && self.b[i] != b']' {
            let Some(end) = self.value_end(i) else { break };
            out.push(i..end);
            i = self.skip_trivia(end);
            if self.b.get(i) == Some(&b',') {
                i = self.skip_trivia(i + 1);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAB: &str = r#"// a lab
(
    name: "t", seed: 1, duration: "10s",
    nodes: [Host(name: "a"), Host(name: "b", tcp_rx_buffer: "64KiB") /* b */],
    links: [
        (name: "wan", a: (node: "a", ip: "10.0.0.1/24"), b: (node: "b", ip: "10.0.0.2/24"),
         delay: "5ms", a_to_b: (loss: Bernoulli(0.01))),
    ],
    circuits: [(name: "er", bfd: Some((interval: "300ms", multiplier: 3)))],
)"#;

    fn set(s: &str) -> Result<String, String> {
        apply(LAB, &s.parse()?)
    }

    #[test]
    fn replaces_the_value_a_path_names() {
        let t = set("seed=7").unwrap();
        assert!(t.contains("seed: 7,"), "{t}");
        let t = set("links.wan.delay=20ms").unwrap();
        assert!(t.contains(r#"delay: "20ms""#), "{t}");
        let t = set("links.wan.a_to_b.loss=Bernoulli(0.02)").unwrap();
        assert!(t.contains("a_to_b: (loss: Bernoulli(0.02))"), "{t}");
        let t = set("nodes.b.tcp_rx_buffer=1MiB").unwrap();
        assert!(
            t.contains(r#"Host(name: "b", tcp_rx_buffer: "1MiB")"#),
            "{t}"
        );
        let t = set("circuits.er.bfd.interval=150ms").unwrap();
        assert!(t.contains(r#"interval: "150ms""#), "{t}");
    }

    #[test]
    fn adds_a_field_the_item_does_not_write() {
        let t = set("circuits.er.bfd_enabled=false").unwrap();
        assert!(t.contains(r#"[(bfd_enabled: false, name: "er""#), "{t}");
        let t = set("links.wan.b_to_a.loss=Bernoulli(0.5)").unwrap();
        assert!(
            t.contains(r#"(b_to_a: (loss: Bernoulli(0.5)), name: "wan""#),
            "{t}"
        );
        let t = set("links.wan.rate=100Mbps").unwrap();
        assert!(t.contains(r#"(rate: "100Mbps", name: "wan""#), "{t}");
        let t = set("nodes.a.congestion=Reno").unwrap();
        assert!(t.contains(r#"Host(congestion: Reno, name: "a")"#), "{t}");
    }

    #[test]
    fn a_path_that_names_nothing_says_what_there_is() {
        let e = set("links.wam.delay=1ms").unwrap_err();
        assert!(
            e.contains("no item named 'wam' (did you mean 'wan'?)"),
            "{e}"
        );
        let e = set("nodes.zz.congestion=Reno").unwrap_err();
        assert!(e.contains("(there are: a, b)"), "{e}");
        let e = set("links.wan.delay.x=1").unwrap_err();
        assert!(e.contains("'links.wan.delay' is a value"), "{e}");
        assert!(e.contains("not a list or a structure"), "{e}");
        assert!("seed".parse::<Override>().is_err());
        assert!("=3".parse::<Override>().is_err());
    }

    #[test]
    fn quantities_are_quoted_and_ron_values_kept() {
        assert_eq!(quote_quantity("150ms"), "\"150ms\"");
        assert_eq!(quote_quantity("1.5Gbps"), "\"1.5Gbps\"");
        assert_eq!(quote_quantity("7"), "7");
        assert_eq!(quote_quantity("Bernoulli(0.01)"), "Bernoulli(0.01)");
        assert_eq!(quote_quantity("\"5ms\""), "\"5ms\"");
        assert_eq!(quote_quantity("true"), "true");
    }
}
