//! One Azure resource as the platform's resource model has it (`type`, `name`, `properties`,
//! `sku`): what an evaluated template deploys, what `az resource list` returns, and what the
//! Terraform reader translates azurerm resources into, so one mapping serves every format.

use super::json;
use serde_json::Value;

/// A resource: its full type (`Microsoft.Network/virtualNetworks/subnets`) and full name
/// (`hub/GatewaySubnet` for a child), and the rest of its JSON, expressions evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub kind: String,
    pub name: String,
    pub body: Value,
}

impl Resource {
    pub fn new(kind: &str, name: &str, body: Value) -> Resource {
        Resource {
            kind: kind.to_string(),
            name: name.to_string(),
            body,
        }
    }

    /// Whether the resource is of `kind`, compared without case.
    pub fn is(&self, kind: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind)
    }

    /// The last segment of the name (a subnet's own name).
    pub fn short_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// The name of the parent resource (`hub` for `hub/GatewaySubnet`).
    pub fn parent_name(&self) -> &str {
        self.name.rsplit_once('/').map_or("", |p| p.0)
    }

    /// A property under `properties`, by dotted path, without case.
    pub fn prop(&self, path: &str) -> Option<&Value> {
        json::at(json::props(&self.body), path)
    }

    /// A member of the resource itself (`sku.name`), by dotted path.
    pub fn field(&self, path: &str) -> Option<&Value> {
        json::at(&self.body, path)
    }

    /// How messages name it.
    pub fn label(&self) -> String {
        format!("resource {} '{}'", self.kind, self.name)
    }
}

/// A resource ID's type and name: `/subscriptions/S/resourceGroups/G/providers/Microsoft.Network/
/// virtualNetworks/hub/subnets/GatewaySubnet` is (`Microsoft.Network/virtualNetworks/subnets`,
/// `hub/GatewaySubnet`). Any subscription and group: a design is one deployment's shape.
pub fn parse_id(id: &str) -> Option<(String, String)> {
    let lower = id.to_ascii_lowercase();
    let at = lower.rfind("/providers/")?;
    let rest: Vec<&str> = id[at + "/providers/".len()..]
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if rest.len() < 3 || rest.len().is_multiple_of(2) {
        return None;
    }
    let mut kind = rest[0].to_string();
    let mut names = Vec::new();
    for pair in rest[1..].chunks(2) {
        kind.push('/');
        kind.push_str(pair[0]);
        names.push(pair[1]);
    }
    Some((kind, names.join("/")))
}

/// The `id` member of a reference (`{"id": "..."}`) or the string itself, parsed.
pub fn reference(v: &Value) -> Option<(String, String)> {
    match v {
        Value::String(s) => parse_id(s),
        other => json::get(other, "id")
            .and_then(Value::as_str)
            .and_then(parse_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_give_type_and_name() {
        assert_eq!(
            parse_id("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/hub/subnets/GatewaySubnet"),
            Some(("Microsoft.Network/virtualNetworks/subnets".into(), "hub/GatewaySubnet".into()))
        );
        assert_eq!(
            parse_id("/subscriptions/x/providers/Microsoft.Network/expressRouteCircuits/er"),
            Some(("Microsoft.Network/expressRouteCircuits".into(), "er".into()))
        );
        assert_eq!(parse_id("/subscriptions/x/resourceGroups/rg"), None);
        assert_eq!(parse_id("not an id"), None);
    }
}
