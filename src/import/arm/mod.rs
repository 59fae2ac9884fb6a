//! ARM templates (what Bicep compiles to and `az group export` writes), evaluated into the
//! resources they deploy: parameters (defaults, a deployment-parameters file, `--param`),
//! variables (with `copy`), `condition`, resource and property `copy` loops with `copyIndex`,
//! child resources nested or top level, and nested deployments with an inline template (inner
//! or outer scope). `dependsOn` is ignored: order does not change what a design is. Names of
//! parameters, variables, functions and properties are compared without case, as the platform
//! does.
//!
//! Limits that keep any input finite: a copy loop has at most [`MAX_COPY`] iterations (the
//! platform's limit), deployments nest at most [`MAX_NESTING`] deep, and a template deploys at
//! most [`MAX_RESOURCES`] resources.

pub mod expr;

use super::json;
use super::resource::Resource;
use expr::Scope;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// The most iterations of one copy loop (the platform allows 800).
pub const MAX_COPY: i64 = 800;
/// How deep nested deployments may go.
pub const MAX_NESTING: usize = 10;
/// The most resources one import evaluates.
pub const MAX_RESOURCES: usize = 20_000;

/// A template evaluation error: the item (resource and property, or parameter) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub item: String,
    pub reason: String,
}

fn err(item: impl Into<String>, reason: impl Into<String>) -> EvalError {
    EvalError {
        item: item.into(),
        reason: reason.into(),
    }
}

/// A value given for a parameter: JSON (a parameters file) or text (`--param NAME=VALUE`,
/// read according to the parameter's declared type).
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    Json(Value),
    Text(String),
}

/// Values given for a template's parameters, in the order given (a later one wins).
pub type Parameters = Vec<(String, Given)>;

/// Reads a deployment-parameters file (`{"parameters": {"name": {"value": ...}}}`).
/// `reference` (Key Vault) entries stand for secrets, which a design's shape never needs.
pub fn parameters_file(v: &Value) -> Result<Parameters, EvalError> {
    let params = json::get(v, "parameters")
        .ok_or_else(|| err("parameters file", "has no \"parameters\" object (the deployment-parameters format: {\"parameters\": {\"NAME\": {\"value\": ...}}})"))?;
    let map = params
        .as_object()
        .ok_or_else(|| err("parameters file", "\"parameters\" is not an object"))?;
    let mut out = Vec::new();
    for (name, entry) in map {
        if let Some(value) = json::get(entry, "value") {
            out.push((name.clone(), Given::Json(value.clone())));
        } else if json::get(entry, "reference").is_some() {
            out.push((
                name.clone(),
                Given::Json(Value::String("<secret from Key Vault>".into())),
            ));
        } else {
            return Err(err(
                format!("parameters file, parameter '{name}'"),
                "has no \"value\"",
            ));
        }
    }
    Ok(out)
}

/// Evaluates a template with the given parameter values into the resources it deploys, in
/// template order (children after their parent). `notes` gains what was seen but not followed.
pub fn evaluate(
    template: &Value,
    given: &Parameters,
    notes: &mut Vec<String>,
) -> Result<Vec<Resource>, EvalError> {
    let t = Template::new(template, given, None)?;
    t.check_parameters("")?;
    let mut out = Vec::new();
    t.resources(template, "", 0, &mut out, notes)?;
    Ok(out)
}

/// One template's parameters and variables, evaluated on demand, and the copy loops being run.
struct Template {
    declared: Map<String, Value>,
    given: BTreeMap<String, Value>,
    variables: Map<String, Value>,
    cache: RefCell<BTreeMap<String, Value>>,
    resolving: RefCell<Vec<String>>,
    loops: RefCell<Vec<(String, i64)>>,
}

impl Template {
    fn new(
        template: &Value,
        given: &Parameters,
        nested_in: Option<&str>,
    ) -> Result<Template, EvalError> {
        if !template.is_object() {
            return Err(err("template", "is not a JSON object"));
        }
        let declared = object(template, "parameters")?;
        let mut variables = object(template, "variables")?;
        // Variable copy loops define one variable each.
        if let Some(loops) = variables.remove("copy") {
            for l in loops.as_array().into_iter().flatten() {
                let name = json::get(l, "name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err("variables.copy", "a loop has no \"name\""))?;
                let mut marker = Map::new();
                marker.insert("$copyLoop".to_string(), l.clone());
                variables.insert(name.to_string(), Value::Object(marker));
            }
        }
        let mut values = BTreeMap::new();
        let where_ = nested_in.map_or(String::new(), |d| format!(" of nested deployment '{d}'"));
        for (name, g) in given {
            let (key, decl) = json::get_map(&declared, name).ok_or_else(|| {
                let names: Vec<&str> = declared.keys().map(String::as_str).collect();
                err(
                    format!("parameter '{name}'"),
                    format!(
                        "is given a value but the template{where_} does not declare it (it declares: {})",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ),
                )
            })?;
            let ty = json::get(decl, "type")
                .and_then(Value::as_str)
                .unwrap_or("string");
            let v = match g {
                Given::Json(v) => v.clone(),
                Given::Text(t)
                    if ty.eq_ignore_ascii_case("string")
                        || ty.eq_ignore_ascii_case("securestring") =>
                {
                    Value::String(t.clone())
                }
                Given::Text(t) => serde_json::from_str(t).map_err(|_| {
                    err(
                        format!("parameter '{key}'"),
                        format!("is declared {ty} and '{t}' does not read as one"),
                    )
                })?,
            };
            values.insert(key.to_ascii_lowercase(), v);
        }
        Ok(Template {
            declared,
            given: values,
            variables,
            cache: RefCell::default(),
            resolving: RefCell::default(),
            loops: RefCell::default(),
        })
    }

    /// Every declared parameter has a value of its type, as the platform checks before it
    /// deploys, whether or not a resource uses it.
    fn check_parameters(&self, within: &str) -> Result<(), EvalError> {
        for name in self.declared.keys() {
            self.parameter(name)
                .map_err(|m| err(format!("{within}parameter '{name}'"), m))?;
        }
        Ok(())
    }

    /// Evaluates every JSON string expression inside `v`, and property `copy` loops.
    fn value(&self, v: &Value) -> Result<Value, String> {
        self.value_at(v, "")
    }

    /// [`Self::value`], naming in an error the path below the property (`.subnets[1].name`).
    fn value_at(&self, v: &Value, path: &str) -> Result<Value, String> {
        let at = |m: String| {
            if path.is_empty() {
                m
            } else {
                format!("{}: {m}", path.trim_start_matches('.'))
            }
        };
        match v {
            Value::String(s) if expr::is_expression(s) => {
                let e = expr::parse(s).map_err(|m| at(format!("the expression {s} {m}")))?;
                expr::eval(&e, self).map_err(|m| at(format!("the expression {s}: {m}")))
            }
            Value::String(s) => Ok(Value::String(expr::literal(s).to_string())),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| self.value_at(x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, x) in o {
                    if k.eq_ignore_ascii_case("copy") && x.is_array() {
                        for l in x.as_array().unwrap() {
                            let (name, items) = self.copy_loop(l).map_err(at)?;
                            out.insert(name, Value::Array(items));
                        }
                    } else {
                        out.insert(k.clone(), self.value_at(x, &format!("{path}.{k}"))?);
                    }
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// A property or variable copy loop: its name and the evaluated items.
    fn copy_loop(&self, l: &Value) -> Result<(String, Vec<Value>), String> {
        let name = json::get(l, "name")
            .and_then(Value::as_str)
            .ok_or("a copy loop has no \"name\"")?
            .to_string();
        let count = self.count(json::get(l, "count"), &name)?;
        let input =
            json::get(l, "input").ok_or_else(|| format!("copy loop '{name}' has no \"input\""))?;
        let mut items = Vec::new();
        for i in 0..count {
            self.loops.borrow_mut().push((name.clone(), i));
            let r = self.value(input);
            self.loops.borrow_mut().pop();
            items.push(r?);
        }
        Ok((name, items))
    }

    fn count(&self, count: Option<&Value>, name: &str) -> Result<i64, String> {
        let c = count.ok_or_else(|| format!("copy loop '{name}' has no \"count\""))?;
        let c = self.value(c)?;
        if let Some(what) = expr::is_unknown(&c) {
            return Err(format!(
                "copy loop '{name}': its count is known only at deployment ({what})"
            ));
        }
        let n = json::as_int(&c).ok_or_else(|| {
            format!(
                "copy loop '{name}': count {} is not a whole number",
                json::show(&c)
            )
        })?;
        if !(0..=MAX_COPY).contains(&n) {
            return Err(format!(
                "copy loop '{name}': count {n} is outside 0 to {MAX_COPY} (the platform's limit)"
            ));
        }
        Ok(n)
    }

    /// Evaluates the template's resources (an array, or an object keyed by symbolic name as
    /// language version 2.0 writes them) into `out`.
    fn resources(
        &self,
        template: &Value,
        source: &str,
        depth: usize,
        out: &mut Vec<Resource>,
        notes: &mut Vec<String>,
    ) -> Result<(), EvalError> {
        let list: Vec<&Value> = match json::get(template, "resources") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.iter().collect(),
            Some(Value::Object(o)) => o.values().collect(),
            Some(_) => {
                return Err(err(
                    "template",
                    "\"resources\" is neither an array nor an object",
                ))
            }
        };
        for (i, r) in list.into_iter().enumerate() {
            self.resource(
                r,
                None,
                &format!("{source}resource #{}", i + 1),
                depth,
                out,
                notes,
            )?;
        }
        Ok(())
    }

    /// One resource declaration, with its copy loop and condition, then its children.
    fn resource(
        &self,
        r: &Value,
        parent: Option<(&str, &str)>,
        label: &str,
        depth: usize,
        out: &mut Vec<Resource>,
        notes: &mut Vec<String>,
    ) -> Result<(), EvalError> {
        if !r.is_object() {
            return Err(err(label, "is not a JSON object"));
        }
        if json::get(r, "existing").and_then(json::as_bool) == Some(true) {
            return Ok(()); // declared elsewhere: this template only refers to it
        }
        match json::get(r, "copy") {
            Some(copy) if copy.is_object() => {
                let name = json::get(copy, "name")
                    .and_then(Value::as_str)
                    .unwrap_or("copy")
                    .to_string();
                let n = self
                    .count(json::get(copy, "count"), &name)
                    .map_err(|m| err(label, m))?;
                for i in 0..n {
                    self.loops.borrow_mut().push((name.clone(), i));
                    let result = self.one(r, parent, label, depth, out, notes);
                    self.loops.borrow_mut().pop();
                    result?;
                }
                Ok(())
            }
            _ => self.one(r, parent, label, depth, out, notes),
        }
    }

    fn one(
        &self,
        r: &Value,
        parent: Option<(&str, &str)>,
        label: &str,
        depth: usize,
        out: &mut Vec<Resource>,
        notes: &mut Vec<String>,
    ) -> Result<(), EvalError> {
        let field = |key: &str| -> Result<Option<Value>, EvalError> {
            json::get(r, key)
                .map(|v| {
                    self.value(v)
                        .map_err(|m| err(format!("{label}, property {key}"), m))
                })
                .transpose()
        };
        if let Some(c) = field("condition")? {
            let keep = json::as_bool(&c).ok_or_else(|| {
                err(
                    format!("{label}, property condition"),
                    format!("{} is not a boolean", json::show(&c)),
                )
            })?;
            if !keep {
                return Ok(());
            }
        }
        let text = |v: Option<Value>, key: &str| -> Result<String, EvalError> {
            match v {
                Some(Value::String(s)) => Ok(s),
                Some(other) => Err(err(
                    format!("{label}, property {key}"),
                    match expr::is_unknown(&other) {
                        Some(what) => format!(
                            "is known only at deployment ({what}); a name must be known before"
                        ),
                        None => format!("{} is not a string", json::show(&other)),
                    },
                )),
                None => Err(err(label, format!("has no \"{key}\""))),
            }
        };
        let mut kind = text(field("type")?, "type")?;
        let mut name = text(field("name")?, "name")?;
        if let Some((pk, pn)) = parent {
            if !kind.contains('/') {
                kind = format!("{pk}/{kind}");
            }
            if name.matches('/').count() < kind.matches('/').count() - 1 {
                name = format!("{pn}/{name}");
            }
        }
        let label = format!("resource {kind} '{name}'");
        if kind.eq_ignore_ascii_case("Microsoft.Resources/deployments") {
            return self.deployment(r, &name, &label, depth, out, notes);
        }
        let mut body = Map::new();
        if let Some(o) = r.as_object() {
            for (k, v) in o {
                let skip = [
                    "type",
                    "name",
                    "copy",
                    "condition",
                    "dependsOn",
                    "resources",
                    "apiVersion",
                    "comments",
                ];
                if skip.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                    continue;
                }
                // The error names the path inside the property: `properties.subnets[1].name`.
                let v = self.value_at(v, k).map_err(|m| match m.split_once(": ") {
                    Some((path, rest)) if path.starts_with(k.as_str()) => {
                        err(format!("{label}, property {path}"), rest)
                    }
                    _ => err(format!("{label}, property {k}"), m),
                })?;
                body.insert(k.clone(), v);
            }
        }
        if out.len() >= MAX_RESOURCES {
            return Err(err(
                label,
                format!("is past the {MAX_RESOURCES} resources an import evaluates"),
            ));
        }
        out.push(Resource::new(&kind, &name, Value::Object(body)));
        if let Some(children) = json::get(r, "resources").and_then(Value::as_array) {
            for (i, c) in children.iter().enumerate() {
                self.resource(
                    c,
                    Some((&kind, &name)),
                    &format!("{label}, child #{}", i + 1),
                    depth,
                    out,
                    notes,
                )?;
            }
        }
        Ok(())
    }

    /// A nested deployment: its inline template, evaluated in its own scope (`inner`, with the
    /// parameters the deployment passes) or in this one (`outer`, the default).
    fn deployment(
        &self,
        r: &Value,
        name: &str,
        label: &str,
        depth: usize,
        out: &mut Vec<Resource>,
        notes: &mut Vec<String>,
    ) -> Result<(), EvalError> {
        if depth >= MAX_NESTING {
            return Err(err(
                label,
                format!("nests deployments more than {MAX_NESTING} deep"),
            ));
        }
        let props = json::get(r, "properties").cloned().unwrap_or(Value::Null);
        let Some(inner) = json::get(&props, "template") else {
            let link = json::at(&props, "templateLink.uri")
                .or_else(|| json::at(&props, "templateLink.relativePath"))
                .or_else(|| json::at(&props, "templateLink.id"))
                .map(json::show)
                .unwrap_or_default();
            notes.push(format!(
                "not followed: {label} links its template ({link}); import that template as a design entry of its own"
            ));
            return Ok(());
        };
        let source = format!("deployment '{name}', ");
        let scope = json::at(&props, "expressionEvaluationOptions.scope")
            .and_then(Value::as_str)
            .unwrap_or("outer");
        if scope.eq_ignore_ascii_case("inner") {
            let mut given = Parameters::new();
            if let Some(p) = json::get(&props, "parameters").and_then(Value::as_object) {
                for (k, entry) in p {
                    let v = json::get(entry, "value").ok_or_else(|| {
                        err(format!("{label}, parameter {k}"), "has no \"value\"")
                    })?;
                    let v = self
                        .value(v)
                        .map_err(|m| err(format!("{label}, parameter {k}"), m))?;
                    given.push((k.clone(), Given::Json(v)));
                }
            }
            let t = Template::new(inner, &given, Some(name))
                .map_err(|e| err(format!("{label}: {}", e.item), e.reason))?;
            t.check_parameters(&format!("{label}: "))?;
            t.resources(inner, &source, depth + 1, out, notes)
        } else {
            self.resources(inner, &source, depth + 1, out, notes)
        }
    }

    /// Evaluates a lazily resolved parameter default or variable, refusing cycles.
    fn resolve(&self, key: String, what: &str, raw: &Value) -> Result<Value, String> {
        if let Some(v) = self.cache.borrow().get(&key) {
            return Ok(v.clone());
        }
        if self.resolving.borrow().contains(&key) {
            return Err(format!("{what} refers to itself"));
        }
        self.resolving.borrow_mut().push(key.clone());
        // A variable or default sees no resource's copy loop.
        let loops = std::mem::take(&mut *self.loops.borrow_mut());
        let v = match json::get(raw, "$copyLoop") {
            Some(l) => self.copy_loop(l).map(|(_, items)| Value::Array(items)),
            None => self.value(raw),
        };
        *self.loops.borrow_mut() = loops;
        self.resolving.borrow_mut().pop();
        let v = v.map_err(|m| format!("{what}: {m}"))?;
        self.cache.borrow_mut().insert(key, v.clone());
        Ok(v)
    }
}

fn object(template: &Value, key: &str) -> Result<Map<String, Value>, EvalError> {
    match json::get(template, key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(_) => Err(err("template", format!("\"{key}\" is not an object"))),
    }
}

impl Scope for Template {
    fn parameter(&self, name: &str) -> Result<Value, String> {
        let (key, decl) = json::get_map(&self.declared, name).ok_or_else(|| {
            let names: Vec<&str> = self.declared.keys().map(String::as_str).collect();
            format!(
                "parameters('{name}'): the template declares no such parameter (it declares: {})",
                names.join(", ")
            )
        })?;
        let ty = json::get(decl, "type")
            .and_then(Value::as_str)
            .unwrap_or("string")
            .to_string();
        let v = match self.given.get(&key.to_ascii_lowercase()) {
            Some(v) => v.clone(),
            None => match json::get(decl, "defaultValue") {
                Some(d) => self.resolve(format!("p:{}", key.to_ascii_lowercase()), &format!("the default of parameter '{key}'"), d)?,
                None => {
                    return Err(format!(
                        "parameter '{key}' ({ty}) has no default and no value: give it in the parameters file, with --param {key}=VALUE (emulate import), or in the design's params"
                    ))
                }
            },
        };
        check_parameter(key, &ty, decl, &v)?;
        Ok(v)
    }

    fn variable(&self, name: &str) -> Result<Value, String> {
        let (key, raw) = json::get_map(&self.variables, name).ok_or_else(|| {
            let names: Vec<&str> = self.variables.keys().map(String::as_str).collect();
            format!(
                "variables('{name}'): the template declares no such variable (it declares: {})",
                names.join(", ")
            )
        })?;
        self.resolve(
            format!("v:{}", key.to_ascii_lowercase()),
            &format!("variable '{key}'"),
            raw,
        )
    }

    fn copy_index(&self, name: Option<&str>) -> Result<i64, String> {
        let loops = self.loops.borrow();
        match name {
            None => loops
                .last()
                .map(|l| l.1)
                .ok_or_else(|| "copyIndex() is used outside a copy loop".to_string()),
            Some(n) => loops
                .iter()
                .rev()
                .find(|l| l.0.eq_ignore_ascii_case(n))
                .map(|l| l.1)
                .ok_or_else(|| {
                    format!("copyIndex('{n}'): no copy loop named '{n}' is running here")
                }),
        }
    }
}

/// A parameter's value against its declaration: type, allowed values, bounds.
fn check_parameter(name: &str, ty: &str, decl: &Value, v: &Value) -> Result<(), String> {
    if expr::is_unknown(v).is_some() {
        return Ok(());
    }
    let fits = match ty.to_ascii_lowercase().as_str() {
        "string" | "securestring" => v.is_string(),
        "int" => json::as_int(v).is_some() && !v.is_string(),
        "bool" => v.is_boolean(),
        "object" | "secureobject" => v.is_object(),
        "array" => v.is_array(),
        _ => true,
    };
    if !fits {
        return Err(format!(
            "parameter '{name}' is declared {ty} but its value {} is not one",
            json::show(v)
        ));
    }
    if let Some(allowed) = json::get(decl, "allowedValues").and_then(Value::as_array) {
        if !allowed.contains(v) {
            let shown: Vec<String> = allowed.iter().map(json::show).collect();
            return Err(format!(
                "parameter '{name}' is {} but allows only {}",
                json::show(v),
                shown.join(", ")
            ));
        }
    }
    let bound = |k: &str| json::get(decl, k).and_then(json::as_int);
    let n = match v {
        Value::String(s) => Some(s.chars().count() as i64),
        Value::Array(a) => Some(a.len() as i64),
        _ => None,
    };
    if let (Some(n), Some(min)) = (n, bound("minLength")) {
        if n < min {
            return Err(format!(
                "parameter '{name}' has length {n}, below its minLength {min}"
            ));
        }
    }
    if let (Some(n), Some(max)) = (n, bound("maxLength")) {
        if n > max {
            return Err(format!(
                "parameter '{name}' has length {n}, above its maxLength {max}"
            ));
        }
    }
    if let Some(i) = v.as_i64() {
        if bound("minValue").is_some_and(|m| i < m) || bound("maxValue").is_some_and(|m| i > m) {
            return Err(format!(
                "parameter '{name}' is {i}, outside its minValue/maxValue"
            ));
        }
    }
    Ok(())
}
