//! ARM template expressions: `"[concat(parameters('prefix'), '-vnet')]"`, parsed and evaluated.
//!
//! The language (domain.md, "Designs as infrastructure code"): a string that starts with `[`
//! and ends with `]` is an expression, unless it starts with `[[` (a literal `[`). An
//! expression is a string literal in single quotes (`''` is a quote), a whole number, a
//! function call, and any chain of `.member` and `[index]` after them. Function names are
//! compared without case. The functions the importer evaluates are [`FUNCTIONS`]; any other is
//! an error that names it. Values known only at deployment (`reference(...)`, `list*()`)
//! evaluate to an *unknown* ([`unknown`]) that flows through the expression and becomes a
//! stated assumption where the importer needs it.
//!
//! Nothing here can run away: expressions nest at most [`MAX_DEPTH`] deep, strings and arrays a
//! function makes are bounded ([`MAX_STRING`], [`MAX_ARRAY`]), and every number is checked.

use crate::import::json;
use serde_json::{Map, Value};

/// How deep an expression may nest (calls, members, indexes).
pub const MAX_DEPTH: usize = 64;
/// The longest string a function may make, in bytes.
pub const MAX_STRING: usize = 1 << 20;
/// The longest array a function may make.
pub const MAX_ARRAY: usize = 10_000;

/// The functions evaluated, as README lists them.
pub const FUNCTIONS: &[&str] = &[
    "add",
    "and",
    "array",
    "bool",
    "cidrSubnet",
    "coalesce",
    "concat",
    "contains",
    "copyIndex",
    "createArray",
    "createObject",
    "div",
    "empty",
    "endsWith",
    "equals",
    "false",
    "first",
    "format",
    "greater",
    "greaterOrEquals",
    "guid",
    "if",
    "indexOf",
    "int",
    "json",
    "last",
    "lastIndexOf",
    "length",
    "less",
    "lessOrEquals",
    "max",
    "min",
    "mod",
    "mul",
    "not",
    "null",
    "or",
    "padLeft",
    "parameters",
    "range",
    "reference",
    "replace",
    "resourceGroup",
    "resourceId",
    "skip",
    "split",
    "startsWith",
    "string",
    "sub",
    "subscription",
    "subscriptionResourceId",
    "substring",
    "take",
    "toLower",
    "toUpper",
    "trim",
    "true",
    "union",
    "uniqueString",
    "variables",
];

/// The member that marks a value known only at deployment; its value says what it stands for.
const UNKNOWN: &str = "$knownAtDeployment";

/// A value known only at deployment (a public IP's address), described as the template wrote it.
pub fn unknown(what: &str) -> Value {
    let mut m = Map::new();
    m.insert(UNKNOWN.to_string(), Value::String(what.to_string()));
    Value::Object(m)
}

/// What an unknown value stands for, or `None` for a known value.
pub fn is_unknown(v: &Value) -> Option<&str> {
    let m = v.as_object()?;
    if m.len() == 1 {
        m.get(UNKNOWN)?.as_str()
    } else {
        None
    }
}

/// Whether a JSON string is an expression (`[...]` but not `[[...`).
pub fn is_expression(s: &str) -> bool {
    s.starts_with('[') && s.ends_with(']') && !s.starts_with("[[") && s.len() >= 2
}

/// A string value as the platform reads it: an expression's text, or a literal with a leading
/// `[[` unescaped.
pub fn literal(s: &str) -> &str {
    if s.starts_with("[[") {
        &s[1..]
    } else {
        s
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Int(i64),
    Call { name: String, args: Vec<Expr> },
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
}

/// What an expression reads from its template: parameters, variables and the copy loops it is in.
pub trait Scope {
    fn parameter(&self, name: &str) -> Result<Value, String>;
    fn variable(&self, name: &str) -> Result<Value, String>;
    /// The index of the loop named `name`, or of the innermost loop.
    fn copy_index(&self, name: Option<&str>) -> Result<i64, String>;
}

/// Parses the text of an expression string (with its brackets).
pub fn parse(text: &str) -> Result<Expr, String> {
    let inner = &text[1..text.len() - 1];
    let mut p = Parser {
        chars: inner.char_indices().collect(),
        pos: 0,
        text: inner,
    };
    let e = p.expr(0)?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(format!(
            "unexpected '{}' at character {} of the expression",
            p.chars[p.pos].1,
            p.pos + 2
        ));
    }
    Ok(e)
}

struct Parser<'a> {
    chars: Vec<(usize, char)>,
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|c| c.1)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(match self.peek() {
                Some(found) => format!(
                    "expected '{c}' at character {} of the expression, found '{found}'",
                    self.pos + 2
                ),
                None => format!("expected '{c}' but the expression ends"),
            })
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        {
            self.pos += 1;
        }
        self.slice(start, self.pos)
    }

    fn slice(&self, from: usize, to: usize) -> String {
        let start = self.chars.get(from).map_or(self.text.len(), |c| c.0);
        let end = self.chars.get(to).map_or(self.text.len(), |c| c.0);
        self.text[start..end].to_string()
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nests more than {MAX_DEPTH} deep"));
        }
        self.skip_ws();
        let mut e = match self.peek() {
            None => return Err("is empty where a value belongs".to_string()),
            Some('\'') => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err("has a string that is never closed".to_string()),
                        Some('\'') if self.chars.get(self.pos + 1).map(|c| c.1) == Some('\'') => {
                            s.push('\'');
                            self.pos += 2;
                        }
                        Some('\'') => {
                            self.pos += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(c);
                            self.pos += 1;
                        }
                    }
                }
                Expr::Str(s)
            }
            Some(c) if c.is_ascii_digit() || c == '-' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits = self.slice(start, self.pos);
                Expr::Int(digits.parse().map_err(|_| {
                    format!("has a number '{digits}' that is not a whole number in range")
                })?)
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = self.ident();
                // A user-defined function's namespace: `ns.fn(...)`.
                self.skip_ws();
                if self.peek() == Some('.') {
                    let save = self.pos;
                    self.pos += 1;
                    let second = self.ident();
                    self.skip_ws();
                    if !second.is_empty() && self.peek() == Some('(') {
                        name = format!("{name}.{second}");
                    } else {
                        self.pos = save;
                    }
                }
                self.skip_ws();
                if self.peek() != Some('(') {
                    match name.to_ascii_lowercase().as_str() {
                        "true" => Expr::Call {
                            name: "true".into(),
                            args: vec![],
                        },
                        "false" => Expr::Call {
                            name: "false".into(),
                            args: vec![],
                        },
                        "null" => Expr::Call {
                            name: "null".into(),
                            args: vec![],
                        },
                        _ => {
                            return Err(format!(
                                "has '{name}' where a function call belongs (write {name}(...))"
                            ))
                        }
                    }
                } else {
                    self.pos += 1;
                    let mut args = Vec::new();
                    self.skip_ws();
                    if self.peek() == Some(')') {
                        self.pos += 1;
                    } else {
                        loop {
                            args.push(self.expr(depth + 1)?);
                            self.skip_ws();
                            match self.peek() {
                                Some(',') => self.pos += 1,
                                Some(')') => {
                                    self.pos += 1;
                                    break;
                                }
                                _ => {
                                    return Err(format!(
                                    "has a call to {name} whose arguments are not closed with ')'"
                                ))
                                }
                            }
                        }
                    }
                    Expr::Call { name, args }
                }
            }
            Some(c) => {
                return Err(format!(
                    "has '{c}' at character {} where a value belongs",
                    self.pos + 2
                ))
            }
        };
        // Member access and indexing, any number of times.
        loop {
            self.skip_ws();
            match self.peek() {
                Some('.') => {
                    self.pos += 1;
                    self.skip_ws();
                    let member = self.ident();
                    if member.is_empty() {
                        return Err("has a '.' not followed by a member name".to_string());
                    }
                    e = Expr::Member(Box::new(e), member);
                }
                Some('[') => {
                    self.pos += 1;
                    let index = self.expr(depth + 1)?;
                    self.expect(']')?;
                    e = Expr::Index(Box::new(e), Box::new(index));
                }
                _ => return Ok(e),
            }
            if depth + 1 > MAX_DEPTH {
                return Err(format!("nests more than {MAX_DEPTH} deep"));
            }
        }
    }
}

/// Evaluates an expression in `scope`. Errors name the function and what is wrong with it.
pub fn eval(e: &Expr, scope: &dyn Scope) -> Result<Value, String> {
    match e {
        Expr::Str(s) => Ok(Value::String(s.clone())),
        Expr::Int(i) => Ok(Value::from(*i)),
        Expr::Member(base, member) => {
            let v = eval(base, scope)?;
            if let Some(what) = is_unknown(&v) {
                return Ok(unknown(&format!("{what}.{member}")));
            }
            match &v {
                Value::Object(_) => json::get(&v, member).cloned().ok_or_else(|| {
                    format!("the object has no member '{member}' (it has: {})", keys(&v))
                }),
                other => Err(format!(
                    "'.{member}' reads a member of {}, which is not an object",
                    json::show(other)
                )),
            }
        }
        Expr::Index(base, index) => {
            let v = eval(base, scope)?;
            let i = eval(index, scope)?;
            if let Some(what) = is_unknown(&v) {
                return Ok(unknown(&format!("{what}[{}]", json::show(&i))));
            }
            match (&v, &i) {
                (Value::Array(a), _) => {
                    let n = json::as_int(&i).ok_or_else(|| {
                        format!("an array's index must be a number, not {}", json::show(&i))
                    })?;
                    usize::try_from(n)
                        .ok()
                        .and_then(|n| a.get(n))
                        .cloned()
                        .ok_or_else(|| {
                            format!("index {n} is outside the array of {} items", a.len())
                        })
                }
                (Value::Object(_), Value::String(k)) => {
                    json::get(&v, k).cloned().ok_or_else(|| {
                        format!("the object has no member '{k}' (it has: {})", keys(&v))
                    })
                }
                _ => Err(format!(
                    "cannot index {} with {}",
                    json::show(&v),
                    json::show(&i)
                )),
            }
        }
        Expr::Call { name, args } => call(name, args, scope),
    }
}

fn keys(v: &Value) -> String {
    v.as_object()
        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

fn call(name: &str, args: &[Expr], scope: &dyn Scope) -> Result<Value, String> {
    let lower = name.to_ascii_lowercase();
    // `if` evaluates only the branch it takes, as the platform does.
    if lower == "if" {
        arity(name, args, 3, 3)?;
        let c = eval(&args[0], scope)?;
        if let Some(what) = is_unknown(&c) {
            return Err(format!(
                "if(): its condition is known only at deployment ({what})"
            ));
        }
        let c = json::as_bool(&c)
            .ok_or_else(|| format!("if(): the condition {} is not a boolean", json::show(&c)))?;
        return eval(&args[if c { 1 } else { 2 }], scope);
    }
    let v: Vec<Value> = args
        .iter()
        .map(|a| eval(a, scope))
        .collect::<Result<_, _>>()?;
    // Deployment-time values flow through what they take part in.
    if lower == "reference" || lower.starts_with("list") && lower != "last" {
        let shown: Vec<String> = v.iter().map(Value::to_string).collect();
        return Ok(unknown(&format!("{name}({})", shown.join(", "))));
    }
    if let Some(what) = v.iter().find_map(is_unknown) {
        if !matches!(lower.as_str(), "createarray" | "createobject" | "coalesce") {
            return Ok(unknown(what));
        }
    }
    let f = Fn { name, args: &v };
    match lower.as_str() {
        "parameters" => {
            f.arity(1, 1)?;
            scope.parameter(f.str(0)?)
        }
        "variables" => {
            f.arity(1, 1)?;
            scope.variable(f.str(0)?)
        }
        "copyindex" => {
            f.arity(0, 2)?;
            let (loop_name, offset) = match v.as_slice() {
                [] => (None, 0),
                [Value::String(n)] => (Some(n.as_str()), 0),
                [o] => (None, f.int_of(o)?),
                [Value::String(n), o] => (Some(n.as_str()), f.int_of(o)?),
                _ => return Err(format!("{name}(): takes a loop name and an offset")),
            };
            let i = scope.copy_index(loop_name)?;
            Ok(Value::from(checked(name, i.checked_add(offset))?))
        }
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        "null" => Ok(Value::Null),
        "concat" => {
            if !v.is_empty() && v.iter().all(Value::is_array) {
                let items: Vec<Value> = v.iter().flat_map(|a| a.as_array().unwrap().clone()).collect();
                f.array(items)
            } else {
                let mut s = String::new();
                for (i, a) in v.iter().enumerate() {
                    s.push_str(&f.text(i, a)?);
                }
                f.string(s)
            }
        }
        "format" => {
            f.arity(1, usize::MAX)?;
            format(&f, f.str(0)?, &v[1..])
        }
        "string" => {
            f.arity(1, 1)?;
            f.string(to_string(&v[0]))
        }
        "int" => {
            f.arity(1, 1)?;
            json::as_int(&v[0])
                .map(Value::from)
                .ok_or_else(|| format!("{name}(): {} is not a whole number", json::show(&v[0])))
        }
        "bool" => {
            f.arity(1, 1)?;
            match &v[0] {
                Value::Number(n) => Ok(Value::Bool(n.as_i64() != Some(0))),
                o => json::as_bool(o)
                    .map(Value::Bool)
                    .ok_or_else(|| format!("{name}(): {} is not a boolean", json::show(o))),
            }
        }
        "json" => {
            f.arity(1, 1)?;
            serde_json::from_str(f.str(0)?).map_err(|e| format!("{name}(): the text is not JSON: {e}"))
        }
        "equals" => {
            f.arity(2, 2)?;
            Ok(Value::Bool(v[0] == v[1] || numbers_equal(&v[0], &v[1])))
        }
        "not" => {
            f.arity(1, 1)?;
            Ok(Value::Bool(!f.bool(0)?))
        }
        "and" | "or" => {
            f.arity(2, usize::MAX)?;
            let bools: Vec<bool> = (0..v.len()).map(|i| f.bool(i)).collect::<Result<_, _>>()?;
            Ok(Value::Bool(if lower == "and" {
                bools.iter().all(|b| *b)
            } else {
                bools.iter().any(|b| *b)
            }))
        }
        "greater" | "less" | "greaterorequals" | "lessorequals" => {
            f.arity(2, 2)?;
            let ord = match (&v[0], &v[1]) {
                (Value::String(a), Value::String(b)) => a.cmp(b),
                _ => f.int(0)?.cmp(&f.int(1)?),
            };
            use std::cmp::Ordering::*;
            Ok(Value::Bool(match lower.as_str() {
                "greater" => ord == Greater,
                "less" => ord == Less,
                "greaterorequals" => ord != Less,
                _ => ord != Greater,
            }))
        }
        "empty" => {
            f.arity(1, 1)?;
            Ok(Value::Bool(match &v[0] {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            }))
        }
        "coalesce" => Ok(v.iter().find(|x| !x.is_null()).cloned().unwrap_or(Value::Null)),
        "tolower" => {
            f.arity(1, 1)?;
            f.string(f.str(0)?.to_lowercase())
        }
        "toupper" => {
            f.arity(1, 1)?;
            f.string(f.str(0)?.to_uppercase())
        }
        "trim" => {
            f.arity(1, 1)?;
            f.string(f.str(0)?.trim().to_string())
        }
        "add" | "sub" | "mul" | "div" | "mod" => {
            f.arity(2, 2)?;
            let (a, b) = (f.int(0)?, f.int(1)?);
            let r = match lower.as_str() {
                "add" => a.checked_add(b),
                "sub" => a.checked_sub(b),
                "mul" => a.checked_mul(b),
                "div" => a.checked_div(b),
                _ => a.checked_rem(b),
            };
            Ok(Value::from(checked(name, r)?))
        }
        "min" | "max" => {
            let items: Vec<Value> = match v.as_slice() {
                [Value::Array(a)] => a.clone(),
                _ => v.clone(),
            };
            let ints: Vec<i64> = items
                .iter()
                .map(|x| f.int_of(x))
                .collect::<Result<_, _>>()?;
            let r = if lower == "min" { ints.iter().min() } else { ints.iter().max() };
            r.map(|x| Value::from(*x))
                .ok_or_else(|| format!("{name}(): needs at least one number"))
        }
        "length" => {
            f.arity(1, 1)?;
            Ok(Value::from(match &v[0] {
                Value::String(s) => s.chars().count(),
                Value::Array(a) => a.len(),
                Value::Object(o) => o.len(),
                o => return Err(format!("{name}(): {} has no length", json::show(o))),
            }))
        }
        "split" => {
            f.arity(2, 2)?;
            let s = f.str(0)?;
            let delims: Vec<String> = match &v[1] {
                Value::String(d) => vec![d.clone()],
                Value::Array(a) => a.iter().filter_map(|d| d.as_str().map(str::to_string)).collect(),
                o => return Err(format!("{name}(): the delimiter {} is not a string", json::show(o))),
            };
            if delims.iter().any(String::is_empty) {
                return Err(format!("{name}(): a delimiter is empty"));
            }
            let mut parts = vec![s.to_string()];
            for d in &delims {
                parts = parts.iter().flat_map(|p| p.split(d.as_str()).map(str::to_string).collect::<Vec<_>>()).collect();
                if parts.len() > MAX_ARRAY {
                    return Err(format!("{name}(): makes more than {MAX_ARRAY} parts"));
                }
            }
            f.array(parts.into_iter().map(Value::String).collect())
        }
        "replace" => {
            f.arity(3, 3)?;
            let (s, old, new) = (f.str(0)?, f.str(1)?, f.str(2)?);
            if old.is_empty() {
                return Err(format!("{name}(): the text to replace is empty"));
            }
            let count = s.matches(old).count();
            if s.len() + count.saturating_mul(new.len()) > MAX_STRING {
                return Err(format!("{name}(): makes a string longer than {MAX_STRING} bytes"));
            }
            f.string(s.replace(old, new))
        }
        "startswith" | "endswith" => {
            f.arity(2, 2)?;
            let (s, p) = (f.str(0)?.to_lowercase(), f.str(1)?.to_lowercase());
            Ok(Value::Bool(if lower == "startswith" { s.starts_with(&p) } else { s.ends_with(&p) }))
        }
        "indexof" | "lastindexof" => {
            f.arity(2, 2)?;
            let (s, p) = (f.str(0)?.to_lowercase(), f.str(1)?.to_lowercase());
            let at = if lower == "indexof" { s.find(&p) } else { s.rfind(&p) };
            Ok(Value::from(at.map_or(-1, |b| s[..b].chars().count() as i64)))
        }
        "substring" => {
            f.arity(1, 3)?;
            let chars: Vec<char> = f.str(0)?.chars().collect();
            let start = if v.len() > 1 { f.int(1)? } else { 0 };
            let len = if v.len() > 2 { f.int(2)? } else { chars.len() as i64 - start };
            let ok = start >= 0 && len >= 0 && start.checked_add(len).is_some_and(|e| e <= chars.len() as i64);
            if !ok {
                return Err(format!("{name}(): start {start} and length {len} do not fit a string of {} characters", chars.len()));
            }
            f.string(chars[start as usize..(start + len) as usize].iter().collect())
        }
        "padleft" => {
            f.arity(2, 3)?;
            let s = f.text(0, &v[0])?;
            let width = f.int(1)?;
            let pad = if v.len() > 2 { f.str(2)?.chars().next().unwrap_or(' ') } else { ' ' };
            if !(0..=MAX_STRING as i64).contains(&width) {
                return Err(format!("{name}(): width {width} is out of range"));
            }
            let missing = (width as usize).saturating_sub(s.chars().count());
            f.string(std::iter::repeat_n(pad, missing).chain(s.chars()).collect())
        }
        "createarray" => f.array(v.clone()),
        "array" => {
            f.arity(1, 1)?;
            match &v[0] {
                Value::Array(_) => Ok(v[0].clone()),
                o => f.array(vec![o.clone()]),
            }
        }
        "range" => {
            f.arity(2, 2)?;
            let (start, count) = (f.int(0)?, f.int(1)?);
            if !(0..=MAX_ARRAY as i64).contains(&count) || start.checked_add(count).is_none() {
                return Err(format!("{name}(): count {count} is out of range (0 to {MAX_ARRAY})"));
            }
            f.array((start..start + count).map(Value::from).collect())
        }
        "createobject" => {
            if !v.len().is_multiple_of(2) {
                return Err(format!("{name}(): takes pairs of a key and a value"));
            }
            let mut m = Map::new();
            for pair in v.chunks(2) {
                let k = pair[0]
                    .as_str()
                    .ok_or_else(|| format!("{name}(): the key {} is not a string", json::show(&pair[0])))?;
                m.insert(k.to_string(), pair[1].clone());
            }
            Ok(Value::Object(m))
        }
        "union" => {
            f.arity(1, usize::MAX)?;
            if v.iter().all(Value::is_object) {
                let mut m = Map::new();
                for o in &v {
                    for (k, x) in o.as_object().unwrap() {
                        m.insert(k.clone(), x.clone());
                    }
                }
                Ok(Value::Object(m))
            } else if v.iter().all(Value::is_array) {
                let mut out: Vec<Value> = Vec::new();
                for x in v.iter().flat_map(|a| a.as_array().unwrap()) {
                    if !out.contains(x) {
                        out.push(x.clone());
                    }
                }
                f.array(out)
            } else {
                Err(format!("{name}(): takes objects or arrays, not a mix"))
            }
        }
        "first" | "last" => {
            f.arity(1, 1)?;
            match &v[0] {
                Value::Array(a) => Ok((if lower == "first" { a.first() } else { a.last() })
                    .cloned()
                    .unwrap_or(Value::Null)),
                Value::String(s) => {
                    let c = if lower == "first" { s.chars().next() } else { s.chars().last() };
                    Ok(Value::String(c.map(String::from).unwrap_or_default()))
                }
                o => Err(format!("{name}(): {} is not an array or a string", json::show(o))),
            }
        }
        "take" | "skip" => {
            f.arity(2, 2)?;
            let n = f.int(1)?.max(0) as usize;
            match &v[0] {
                Value::Array(a) => {
                    let n = n.min(a.len());
                    Ok(Value::Array(if lower == "take" { a[..n].to_vec() } else { a[n..].to_vec() }))
                }
                Value::String(s) => {
                    let chars: Vec<char> = s.chars().collect();
                    let n = n.min(chars.len());
                    Ok(Value::String(if lower == "take" { chars[..n].iter().collect() } else { chars[n..].iter().collect() }))
                }
                o => Err(format!("{name}(): {} is not an array or a string", json::show(o))),
            }
        }
        "contains" => {
            f.arity(2, 2)?;
            Ok(Value::Bool(match &v[0] {
                Value::String(s) => s.contains(&to_string(&v[1])),
                Value::Array(a) => a.contains(&v[1]),
                Value::Object(_) => v[1].as_str().is_some_and(|k| json::get(&v[0], k).is_some()),
                o => return Err(format!("{name}(): {} is not a string, array or object", json::show(o))),
            }))
        }
        "uniquestring" => {
            f.arity(1, usize::MAX)?;
            let parts: Vec<String> = (0..v.len()).map(|i| f.text(i, &v[i])).collect::<Result<_, _>>()?;
            Ok(Value::String(unique_string(&parts)))
        }
        "guid" => {
            f.arity(1, usize::MAX)?;
            let parts: Vec<String> = (0..v.len()).map(|i| f.text(i, &v[i])).collect::<Result<_, _>>()?;
            Ok(Value::String(guid(&parts)))
        }
        "cidrsubnet" => {
            f.arity(3, 3)?;
            cidr_subnet(f.str(0)?, f.int(1)?, f.int(2)?)
                .map(Value::String)
                .map_err(|e| format!("{name}(): {e}"))
        }
        "resourcegroup" => {
            f.arity(0, 0)?;
            Ok(serde_json::json!({
                "id": format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"),
                "name": RESOURCE_GROUP,
                "type": "Microsoft.Resources/resourceGroups",
                "location": LOCATION,
                "properties": {"provisioningState": "Succeeded"},
            }))
        }
        "subscription" => {
            f.arity(0, 0)?;
            Ok(serde_json::json!({
                "id": format!("/subscriptions/{SUBSCRIPTION}"),
                "subscriptionId": SUBSCRIPTION,
                "tenantId": SUBSCRIPTION,
                "displayName": "subscription",
            }))
        }
        "resourceid" => resource_id(&f, true),
        "subscriptionresourceid" => resource_id(&f, false),
        _ => Err(format!(
            "{name}() is not among the template functions the importer evaluates (README, \"Your own design\")"
        )),
    }
}

/// The stand-ins for `subscription()` and `resourceGroup()`: a design's shape does not depend
/// on where it is deployed.
pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
pub const RESOURCE_GROUP: &str = "rg";
pub const LOCATION: &str = "westeurope";

struct Fn<'a> {
    name: &'a str,
    args: &'a [Value],
}

impl Fn<'_> {
    fn arity(&self, min: usize, max: usize) -> Result<(), String> {
        let n = self.args.len();
        if n < min || n > max {
            Err(if min == max {
                format!(
                    "{}() takes {min} argument{}, not {n}",
                    self.name,
                    if min == 1 { "" } else { "s" }
                )
            } else if max == usize::MAX {
                format!("{}() takes at least {min} arguments, not {n}", self.name)
            } else {
                format!("{}() takes {min} to {max} arguments, not {n}", self.name)
            })
        } else {
            Ok(())
        }
    }

    fn str(&self, i: usize) -> Result<&str, String> {
        self.args[i].as_str().ok_or_else(|| {
            format!(
                "{}(): argument {} ({}) is not a string",
                self.name,
                i + 1,
                json::show(&self.args[i])
            )
        })
    }

    /// A string, number or boolean as text (what `concat` and `format` accept).
    fn text(&self, i: usize, v: &Value) -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(_) | Value::Bool(_) => Ok(to_string(v)),
            o => Err(format!(
                "{}(): argument {} ({}) is not a string",
                self.name,
                i + 1,
                json::show(o)
            )),
        }
    }

    fn int(&self, i: usize) -> Result<i64, String> {
        self.int_of(&self.args[i])
    }

    fn int_of(&self, v: &Value) -> Result<i64, String> {
        json::as_int(v)
            .ok_or_else(|| format!("{}(): {} is not a whole number", self.name, json::show(v)))
    }

    fn bool(&self, i: usize) -> Result<bool, String> {
        json::as_bool(&self.args[i]).ok_or_else(|| {
            format!(
                "{}(): argument {} ({}) is not a boolean",
                self.name,
                i + 1,
                json::show(&self.args[i])
            )
        })
    }

    fn string(&self, s: String) -> Result<Value, String> {
        if s.len() > MAX_STRING {
            Err(format!(
                "{}(): makes a string longer than {MAX_STRING} bytes",
                self.name
            ))
        } else {
            Ok(Value::String(s))
        }
    }

    fn array(&self, a: Vec<Value>) -> Result<Value, String> {
        if a.len() > MAX_ARRAY {
            Err(format!(
                "{}(): makes an array longer than {MAX_ARRAY} items",
                self.name
            ))
        } else {
            Ok(Value::Array(a))
        }
    }
}

fn arity(name: &str, args: &[Expr], min: usize, max: usize) -> Result<(), String> {
    if args.len() < min || args.len() > max {
        Err(format!(
            "{name}() takes {min} arguments, not {}",
            args.len()
        ))
    } else {
        Ok(())
    }
}

fn checked(name: &str, r: Option<i64>) -> Result<i64, String> {
    r.ok_or_else(|| format!("{name}(): the result overflows or divides by zero"))
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    matches!((a, b), (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64())
}

/// `string()` as the platform writes values: text as it is, booleans `True`/`False`, objects
/// and arrays as compact JSON.
pub fn to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// .NET composite formatting as `format()` uses it: `{0}`, `{1:D3}` (zero-padded), `{{`, `}}`.
fn format(f: &Fn, fmt: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut spec = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) if spec.len() < 32 => spec.push(c),
                        _ => {
                            return Err(format!(
                                "{}(): the placeholder '{{{spec}' is not closed",
                                f.name
                            ))
                        }
                    }
                }
                let (index, pad) = match spec.split_once(':') {
                    Some((i, p)) => (i, Some(p)),
                    None => (spec.as_str(), None),
                };
                let i: usize = index
                    .trim()
                    .parse()
                    .map_err(|_| format!("{}(): '{{{spec}}}' is not a placeholder", f.name))?;
                let arg = args
                    .get(i)
                    .ok_or_else(|| format!("{}(): '{{{i}}}' has no argument", f.name))?;
                let text = f.text(i + 1, arg)?;
                match pad {
                    None => out.push_str(&text),
                    Some(p) if p.starts_with(['D', 'd']) => {
                        let width: usize = p[1..].parse().unwrap_or(0).min(64);
                        out.push_str(&format!("{text:0>width$}"));
                    }
                    Some(p) => {
                        return Err(format!(
                            "{}(): the format '{p}' is not supported (only D, zero-padding)",
                            f.name
                        ))
                    }
                }
            }
            c => out.push(c),
        }
        if out.len() > MAX_STRING {
            return Err(format!(
                "{}(): makes a string longer than {MAX_STRING} bytes",
                f.name
            ));
        }
    }
    Ok(Value::String(out))
}

/// `resourceId([subscription], [group], type, name...)` or `subscriptionResourceId`: the
/// resource's ID, with the stand-in subscription and group where none is given.
fn resource_id(f: &Fn, in_group: bool) -> Result<Value, String> {
    f.arity(2, usize::MAX)?;
    let strs: Vec<&str> = (0..f.args.len())
        .map(|i| f.str(i))
        .collect::<Result<_, _>>()?;
    let t = strs.iter().position(|s| s.contains('/')).ok_or_else(|| {
        format!(
            "{}(): no argument is a resource type (Namespace/type)",
            f.name
        )
    })?;
    let names = &strs[t + 1..];
    let types: Vec<&str> = strs[t].split('/').collect();
    if types.len() - 1 != names.len() {
        return Err(format!(
            "{}(): type '{}' needs {} name{}, given {}",
            f.name,
            strs[t],
            types.len() - 1,
            if types.len() == 2 { "" } else { "s" },
            names.len()
        ));
    }
    let (sub, group) = match (in_group, t) {
        (true, 0) => (SUBSCRIPTION, Some(RESOURCE_GROUP)),
        (true, 1) => (SUBSCRIPTION, Some(strs[0])),
        (true, 2) => (strs[0], Some(strs[1])),
        (false, 0) => (SUBSCRIPTION, None),
        (false, 1) => (strs[0], None),
        _ => return Err(format!("{}(): too many arguments before the type", f.name)),
    };
    let mut id = format!("/subscriptions/{sub}");
    if let Some(g) = group {
        id.push_str(&format!("/resourceGroups/{g}"));
    }
    id.push_str(&format!("/providers/{}", types[0]));
    for (t, n) in types[1..].iter().zip(names) {
        id.push_str(&format!("/{t}/{n}"));
    }
    f.string(id)
}

/// A 64-bit FNV-1a hash of the parts, each ended by a zero byte.
fn hash(parts: &[String], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// `uniqueString`: 13 characters from the parts, the same for the same parts. The platform's
/// hash is not published; this one is deterministic, which is what a design's shape needs.
fn unique_string(parts: &[String]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut h = hash(parts, 0);
    (0..13)
        .map(|_| {
            let c = ALPHABET[(h & 31) as usize] as char;
            h = h.rotate_right(5);
            c
        })
        .collect()
}

/// `guid`: a version-5-shaped GUID from the parts, the same for the same parts.
fn guid(parts: &[String]) -> String {
    let (a, b) = (hash(parts, 1), hash(parts, 2));
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let a = (a & !0xf000) | 0x5000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// `cidrSubnet('10.0.0.0/16', 24, 3)` is `10.0.3.0/24`.
fn cidr_subnet(network: &str, new_len: i64, index: i64) -> Result<String, String> {
    let (addr, len) = network
        .split_once('/')
        .ok_or_else(|| format!("'{network}' is not a prefix (a.b.c.d/n)"))?;
    let addr: std::net::Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("'{network}' is not an IPv4 prefix"))?;
    let len: u32 = len
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| format!("'{network}' has no valid length"))?;
    if !(i64::from(len)..=32).contains(&new_len) {
        return Err(format!(
            "the new length {new_len} must be between {len} and 32"
        ));
    }
    let count = 1u64 << (new_len as u32 - len);
    if index < 0 || index as u64 >= count {
        return Err(format!(
            "index {index} is outside the {count} subnets of /{new_len} in {network}"
        ));
    }
    let base = u32::from(addr) & (u64::from(u32::MAX) << (32 - len)) as u32;
    let sub = u64::from(base) + ((index as u64) << (32 - new_len as u32));
    Ok(format!(
        "{}/{new_len}",
        std::net::Ipv4Addr::from(sub as u32)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct S;
    impl Scope for S {
        fn parameter(&self, name: &str) -> Result<Value, String> {
            match name.to_ascii_lowercase().as_str() {
                "prefix" => Ok(json!("hub")),
                "n" => Ok(json!(3)),
                "pip" => Ok(unknown("reference('pip').ipAddress")),
                _ => Err(format!("no parameter '{name}'")),
            }
        }
        fn variable(&self, name: &str) -> Result<Value, String> {
            match name {
                "obj" => Ok(json!({"Subnets": [{"name": "a"}, {"name": "b"}]})),
                _ => Err(format!("no variable '{name}'")),
            }
        }
        fn copy_index(&self, _: Option<&str>) -> Result<i64, String> {
            Ok(2)
        }
    }

    fn ev(text: &str) -> Result<Value, String> {
        eval(&parse(text)?, &S)
    }

    #[test]
    fn the_subset_evaluates_as_the_platform_documents() {
        assert_eq!(
            ev("[concat(parameters('Prefix'), '-vnet')]").unwrap(),
            json!("hub-vnet")
        );
        assert_eq!(
            ev("[format('{0}-{1:D3}', 'gw', copyIndex(1))]").unwrap(),
            json!("gw-003")
        );
        assert_eq!(
            ev("[variables('obj').subnets[1].name]").unwrap(),
            json!("b")
        );
        assert_eq!(
            ev("[if(equals(parameters('n'), 3), 'yes', fail())]").unwrap(),
            json!("yes")
        );
        assert_eq!(
            ev("[cidrSubnet('10.0.0.0/16', 24, 3)]").unwrap(),
            json!("10.0.3.0/24")
        );
        assert_eq!(
            ev("[split('a,b;c', createArray(',', ';'))]").unwrap(),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            ev("[union(createObject('a', 1), json('{\"b\": 2}'))]").unwrap(),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(ev("[json('null')]").unwrap(), Value::Null);
        assert_eq!(
            ev("[string(and(true(), not(false())))]").unwrap(),
            json!("True")
        );
        assert_eq!(
            ev("[add(mul(2, 3), sub(10, length('abcd')))]").unwrap(),
            json!(12)
        );
        assert_eq!(
            ev("[last(skip(take(range(0, 10), 4), 1))]").unwrap(),
            json!(3)
        );
        assert_eq!(ev("[coalesce(json('null'), 'x')]").unwrap(), json!("x"));
        assert_eq!(
            ev("[contains(variables('obj'), 'subnets')]").unwrap(),
            json!(true)
        );
        assert_eq!(
            ev("[replace(toUpper('a-b'), '-', '''')]").unwrap(),
            json!("A'B")
        );
        assert_eq!(
            ev("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]").unwrap(),
            json!(format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"))
        );
        assert_eq!(
            ev("[uniqueString('a', 'b')]").unwrap(),
            ev("[uniqueString('a', 'b')]").unwrap()
        );
        assert_ne!(ev("[guid('a')]").unwrap(), ev("[guid('b')]").unwrap());
        assert_eq!(ev("[resourceGroup().name]").unwrap(), json!("rg"));
    }

    #[test]
    fn every_listed_function_is_evaluated_and_in_readme() {
        let readme = include_str!("../../../README.md");
        for f in FUNCTIONS {
            let e = ev(&format!("[{f}()]")).err().unwrap_or_default();
            assert!(!e.contains("is not among"), "{f}: {e}");
            assert!(
                *f == "reference"
                    || readme.contains(&format!("`{f}`"))
                    || readme.contains(&format!("`{f}()`")),
                "README lists {f}"
            );
        }
        let mut sorted = FUNCTIONS.to_vec();
        sorted.sort_by_key(|f| f.to_ascii_lowercase());
        sorted.dedup();
        assert_eq!(sorted.len(), FUNCTIONS.len(), "each function once");
    }

    #[test]
    fn deployment_time_values_flow_through() {
        let v = ev("[concat(parameters('pip'), '/30')]").unwrap();
        assert!(is_unknown(&v).is_some());
        let r = ev("[reference(resourceId('Microsoft.Network/publicIPAddresses', 'p')).ipAddress]")
            .unwrap();
        assert!(is_unknown(&r).unwrap().starts_with("reference("), "{r}");
    }

    #[test]
    fn errors_name_the_function() {
        assert!(ev("[utcNow()]")
            .unwrap_err()
            .contains("utcNow() is not among"));
        assert!(ev("[concat('a'").is_err());
        assert!(ev("[add(9223372036854775807, 1)]")
            .unwrap_err()
            .contains("overflows"));
        assert!(ev("[range(0, 100000000)]").is_err());
        assert!(
            ev("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v')]")
                .unwrap_err()
                .contains("needs 2 names")
        );
        let deep = format!("[{}'x'{}]", "string(".repeat(200), ")".repeat(200));
        assert!(ev(&deep).unwrap_err().contains("nests"));
        assert!(ev("['unterminated]").is_err());
        assert!(ev("[]").is_err());
    }
}
