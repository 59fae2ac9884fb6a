//! Reading infrastructure-code JSON: syntax errors with file, line and column, and the
//! platform's leniency towards untidy templates (property names compared without case,
//! booleans and numbers written as strings).

use crate::lab::{LabError, Problem};
use serde_json::{Map, Value};
use std::path::Path;

/// The most bytes an infrastructure file may have: a template past this is refused, not read
/// into memory (the platform's own limit for a template is 4 MB).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads and parses a JSON file: a syntax error names the file, line and column.
pub fn read(path: &Path) -> Result<Value, LabError> {
    let read_error = |source| LabError::Read {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_error)?.len();
    if len > MAX_FILE_BYTES {
        return Err(LabError::Invalid {
            path: path.to_path_buf(),
            problems: vec![Problem::new(
                "file",
                format!("is {len} bytes, more than the {MAX_FILE_BYTES} an import reads"),
            )],
        });
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    parse(&bytes, path)
}

/// Parses JSON bytes (a UTF-8 byte-order mark, as Windows editors write one, is skipped).
pub fn parse(bytes: &[u8], path: &Path) -> Result<Value, LabError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| LabError::Syntax {
        path: path.to_path_buf(),
        line: e.line().max(1),
        col: e.column().max(1),
        message: format!("not valid JSON: {}", strip_position(&e.to_string())),
    })
}

/// serde_json appends " at line L column C" to its messages; the error already says where.
fn strip_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |i| &message[..i])
}

/// The member of `object` named `key`, compared without case as the platform does (the
/// exact spelling first, when both appear).
pub fn get<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The member at a dotted path (`"properties.addressSpace.addressPrefixes"`), each step
/// without case; a JSON null counts as absent.
pub fn at<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(object, |v, key| get(v, key))
        .filter(|v| !v.is_null())
}

/// A sub-resource's properties: its `properties` object, or the object itself where the
/// platform wrote them beside its name (the `az network` commands' flattened shape).
pub fn props(v: &Value) -> &Value {
    match get(v, "properties") {
        Some(p) if p.is_object() => p,
        _ => v,
    }
}

/// `map`'s entry for `key` without case, for maps built from a template's declarations.
pub fn get_map<'a>(map: &'a Map<String, Value>, key: &str) -> Option<(&'a String, &'a Value)> {
    map.get_key_value(key)
        .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
}

/// A boolean as templates write one: `true`, or the strings `"true"`/`"false"` in any case.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A whole number, or a string holding one (`"65001"`).
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// How a value reads in a message: short JSON.
pub fn show(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = parse(b"{\n  \"a\": [1,\n  2,,\n}", Path::new("t.json")).unwrap_err();
        match err {
            LabError::Syntax { line, col, .. } => assert_eq!((line, col), (3, 5)),
            other => panic!("{other}"),
        }
        assert!(parse(b"\xef\xbb\xbf{}", Path::new("bom.json")).is_ok());
    }

    #[test]
    fn members_are_found_without_case() {
        let v = json!({"Properties": {"addressSpace": {"AddressPrefixes": ["10.0.0.0/16"]}}});
        assert_eq!(
            at(&v, "properties.addressSpace.addressPrefixes"),
            Some(&json!(["10.0.0.0/16"]))
        );
        assert_eq!(at(&json!({"a": null}), "a"), None);
        assert_eq!(as_bool(&json!("False")), Some(false));
        assert_eq!(as_int(&json!("65001")), Some(65001));
        assert_eq!(as_int(&json!(1.5)), None);
    }
}
