//! Resource JSON as the platform returns it (`az resource show`, `az network vnet show`, `az
//! resource list` with properties, an array of those, or the REST API's `{"value": [...]}`):
//! the resource model without expressions, so a user can feed what is deployed today. The
//! `az network` commands write a resource's properties beside its name instead of under
//! `properties`; both shapes are read. A resource's type and full name come from its `id`
//! where it has one (a subnet shown alone names only itself).

use super::json;
use super::resource::{parse_id, Resource};
use serde_json::{Map, Value};

/// Members that belong to the resource, not to its properties, in the flattened shape.
const ENVELOPE: &[&str] = &[
    "id",
    "name",
    "type",
    "location",
    "etag",
    "tags",
    "resourceGroup",
    "zones",
    "extendedLocation",
    "identity",
    "kind",
    "managedBy",
];

/// Whether `v` looks like resource JSON (one resource, an array of them, or `{"value": [...]}`).
pub fn is_resources(v: &Value) -> bool {
    let one = |r: &Value| {
        json::get(r, "type").is_some_and(Value::is_string)
            && (json::get(r, "id").is_some() || json::get(r, "name").is_some())
    };
    match v {
        Value::Array(a) => !a.is_empty() && a.iter().all(one),
        Value::Object(_) => {
            one(v)
                || json::get(v, "value")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().all(one))
        }
        _ => false,
    }
}

/// The resources in resource JSON; an entry that is not one is an error naming its position.
pub fn resources(v: &Value) -> Result<Vec<Resource>, (String, String)> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) if json::get(v, "type").is_some() => vec![v],
        Value::Object(_) => json::get(v, "value")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        _ => vec![],
    };
    list.into_iter()
        .enumerate()
        .map(|(i, r)| {
            one(r).ok_or_else(|| {
                (
                    format!("resource #{}", i + 1),
                    "has no type and name, or an id that is not a resource ID".to_string(),
                )
            })
        })
        .collect()
}

fn one(r: &Value) -> Option<Resource> {
    let id = json::get(r, "id")
        .and_then(Value::as_str)
        .and_then(parse_id);
    let (kind, name) = match id {
        Some(k) => k,
        None => (
            json::get(r, "type")?.as_str()?.to_string(),
            json::get(r, "name")?.as_str()?.to_string(),
        ),
    };
    let mut body = Map::new();
    if let Some(sku) = json::get(r, "sku") {
        body.insert("sku".to_string(), sku.clone());
    }
    match json::get(r, "properties") {
        Some(p) if p.is_object() => {
            body.insert("properties".to_string(), p.clone());
        }
        _ => {
            // Flattened: everything but the envelope is a property.
            let props: Map<String, Value> = r
                .as_object()?
                .iter()
                .filter(|(k, _)| !ENVELOPE.iter().any(|e| e.eq_ignore_ascii_case(k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            body.insert("properties".to_string(), Value::Object(props));
        }
    }
    Some(Resource::new(&kind, &name, Value::Object(body)))
}
