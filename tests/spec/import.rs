//! Designs read from infrastructure code (README, "Your own design"): ARM templates evaluated
//! as the platform does, resources mapped to the cloud vocabulary, what the code cannot say
//! completed by the lab or a stated assumption, and every bad input refused naming the
//! resource and property.

use crate::common;
use hybridlab::analysis::Summarize;
use hybridlab::import;
use hybridlab::input;
use hybridlab::lab::LabError;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(path: &str) -> PathBuf {
    root().join("tests/iac").join(path)
}

/// A temporary directory with `files` written into it.
fn dir_with(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hybridlab-import-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

/// The printed lab of one file, or the error's text.
fn import_text(
    path: &Path,
    parameters: Option<&Path>,
    params: &[(&str, &str)],
) -> Result<String, String> {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    import::import_file(path, parameters, &params).map_err(|e| e.to_string())
}

/// An ARM template with `resources` (JSON text) and `parameters` declarations.
fn template(parameters: &str, variables: &str, resources: &str) -> String {
    format!(
        r#"{{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0", "parameters": {{{parameters}}}, "variables": {{{variables}}}, "resources": [{resources}]}}"#
    )
}

/// A VNet with a GatewaySubnet and a workload subnet, and a VM on it.
const VNET: &str = r#"
  {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-09-01", "name": "vnet",
   "properties": {"addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
     "subnets": [{"name": "GatewaySubnet", "properties": {"addressPrefix": "10.20.254.0/27"}},
                 {"name": "workload", "properties": {"addressPrefix": "10.20.0.0/24"}}]}},
  {"type": "Microsoft.Network/networkInterfaces", "apiVersion": "2023-09-01", "name": "vm-nic",
   "properties": {"ipConfigurations": [{"name": "c", "properties": {"privateIPAddress": "10.20.0.10",
     "subnet": {"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'workload')]"}}}]}},
  {"type": "Microsoft.Compute/virtualMachines", "apiVersion": "2023-09-01", "name": "vm",
   "properties": {"networkProfile": {"networkInterfaces": [{"id": "[resourceId('Microsoft.Network/networkInterfaces', 'vm-nic')]"}]}}}"#;

fn import_template(name: &str, text: &str, params: &[(&str, &str)]) -> Result<String, String> {
    let dir = dir_with(name, &[("t.json", text)]);
    import_text(&dir.join("t.json"), None, params)
}

#[test]
#[ignore = "takes seconds: the full pass runs it (cargo test -- --include-ignored)"]
fn the_headline_lab_read_from_its_template_or_its_terraform_state_gives_the_same_results_to_the_byte(
) {
    let json = |path: &Path| {
        let lab = input::load(path).unwrap_or_else(|e| panic!("{e}"));
        serde_json::to_string(&hybridlab::sim::run(&lab).summary(None)).unwrap()
    };
    let by_hand = json(&root().join("topologies/er-vpn-failover.ron"));
    for lab in ["er-vpn-failover-arm.ron", "er-vpn-failover-terraform.ron"] {
        let from_code = json(&root().join("topologies/iac").join(lab));
        assert!(
            by_hand == from_code,
            "{lab} differs from the lab written by hand"
        );
    }
}

#[test]
fn a_printed_lab_checks_clean_and_runs_with_a_probe_per_site_and_vnet() {
    let text = import_text(
        &fixture("arm/hub-spoke.json"),
        Some(&fixture("arm/hub-spoke.parameters.json")),
        &[],
    )
    .unwrap();
    let lab =
        input::load_str(&text, Path::new("printed.ron")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(lab.warnings.is_empty(), "{:?}", lab.warnings);
    let apps: Vec<&str> = lab.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(apps, ["er-to-spoke-1", "er-to-spoke-2"]);
    let r = hybridlab::sim::run(&lab);
    for a in &r.apps {
        let s = r.summary(None);
        let app = s.apps.iter().find(|x| x.name == a.name).unwrap();
        assert!(
            app.received > 2000 && app.received == app.figures.sent,
            "{}: {app:?}",
            a.name
        );
    }
}

#[test]
fn templates_are_evaluated_as_the_platform_does() {
    let text = import_text(
        &fixture("arm/hub-spoke.json"),
        Some(&fixture("arm/hub-spoke.parameters.json")),
        &[],
    )
    .unwrap();
    // Resource and property copy loops, variable copy, cidrSubnet, case-insensitive names
    // (`hubaddressPrefix` used as `hubAddressPrefix`), booleans as strings.
    for want in [
        r#"(name: "spoke-1", address_space: ["10.10.0.0/16"]"#,
        r#"(name: "spoke-2", address_space: ["10.11.0.0/16"]"#,
        r#"gateway_subnet: "10.0.255.0/27""#,
        r#"(name: "appliances", prefix: "10.0.1.0/24", vms: [(node: "nva", ip: "10.0.1.4")])"#,
        r#"(prefix: "10.0.0.0/8", next_hop: "10.0.1.4"), (prefix: "192.0.2.0/24", next_hop: "None")"#,
        r#"(a: "hub", b: "spoke-2", allow_gateway_transit: true, use_remote_gateways: true)"#,
        // An appliance (IP forwarding on its NIC) is a router; other VMs are hosts.
        r#"Router(name: "nva")"#,
        r#"Host(name: "spoke-1-vm""#,
        // Legacy SKU names on an ExpressRoute gateway are the ExpressRoute SKUs.
        r#"kind: ExpressRoute, sku: HighPerformance"#,
        r#"bandwidth: "2Gbps""#,
        r#"authorizations: ["hub-key"], premium: true"#,
        // The key a reference() reads is the authorization it names.
        r#"authorization: "hub-key", routing_weight: 10"#,
        // Nested deployments, inner and outer scope, are followed; what the model lacks is listed.
        "not modelled: Microsoft.Network/networkSecurityGroups hub-nsg",
        "not modelled yet: Microsoft.Network/virtualHubs hub-routeserver",
        "route 'force-tunnel' to 0.0.0.0/0 (next hop type VirtualNetworkGateway): left out",
        "not modelled: circuit 'er' peering 'MicrosoftPeering' (MicrosoftPeering)",
        "circuit 'er' private peering: VLAN 200",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    // A parameter given on the command line wins over the default, read as its type.
    let one = import_text(
        &fixture("arm/hub-spoke.json"),
        Some(&fixture("arm/hub-spoke.parameters.json")),
        &[("spokeCount", "1")],
    )
    .unwrap();
    assert!(one.contains("spoke-1") && !one.contains("spoke-2"), "{one}");
    // Without transit the peerings carry no gateway flags.
    let plain = import_text(
        &fixture("arm/hub-spoke.json"),
        Some(&fixture("arm/hub-spoke.parameters.json")),
        &[("useTransit", "false")],
    )
    .unwrap();
    assert!(plain.contains(r#"(a: "hub", b: "spoke-1")"#), "{plain}");
}

#[test]
fn values_known_only_at_deployment_become_stated_assumptions() {
    let t = template(
        "",
        "",
        &format!(
            r#"{VNET},
  {{"type": "Microsoft.Network/publicIPAddresses", "apiVersion": "2023-09-01", "name": "pip", "properties": {{}}}},
  {{"type": "Microsoft.Network/virtualNetworkGateways", "apiVersion": "2023-09-01", "name": "vpngw",
   "properties": {{"gatewayType": "Vpn", "sku": {{"name": "vpngw1az"}}, "enableBgp": "True", "bgpSettings": {{"asn": 65515}},
     "ipConfigurations": [{{"name": "c", "properties": {{"subnet": {{"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'GatewaySubnet')]"}},
       "publicIPAddress": {{"id": "[resourceId('Microsoft.Network/publicIPAddresses', 'pip')]"}}}}}}]}}}},
  {{"type": "Microsoft.Network/localNetworkGateways", "apiVersion": "2023-09-01", "name": "branch",
   "properties": {{"fqdn": "vpn.branch.example", "localNetworkAddressSpace": {{"addressPrefixes": ["10.60.0.0/16"]}}}}}},
  {{"type": "Microsoft.Network/connections", "apiVersion": "2023-09-01", "name": "to-branch",
   "properties": {{"connectionType": "IPsec", "enableBgp": false,
     "virtualNetworkGateway1": {{"id": "[resourceId('Microsoft.Network/virtualNetworkGateways', 'vpngw')]"}},
     "localNetworkGateway2": {{"id": "[resourceId('Microsoft.Network/localNetworkGateways', 'branch')]"}},
     "ipsecPolicies": [{{"ipsecEncryption": "AES256", "ipsecIntegrity": "SHA256"}}], "dpdTimeoutSeconds": 30}}}}"#
        ),
    );
    let text = import_template("deploy-time", &t, &[]).unwrap();
    for want in [
        "assumed: gateway 'vpngw' public_ip 198.51.100.1/30: its address is known only at deployment",
        "assumed: local gateway 'branch' ip 203.0.113.1: the code gives fqdn \"vpn.branch.example\"",
        "assumed: site 'branch' has host 'branch-host' on its first prefix 10.60.0.0/16",
        r#"sku: VpnGw1Az"#,
        r#"(name: "branch", device: "branch-edge", ip: "203.0.113.1", prefixes: ["10.60.0.0/16"])"#,
        r#"cipher: AesCbcSha256"#,
        r#"dpd: (timeout: "30s")"#,
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    let lab =
        input::load_str(&text, Path::new("printed.ron")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let r = hybridlab::sim::run(&lab).summary(None);
    let probe = &r.apps[0];
    assert!(probe.received > 2000, "{probe:?}");
}

#[test]
fn a_lab_with_a_design_completes_it_and_lists_its_assumptions() {
    let t = template("", "", VNET);
    let dir = dir_with(
        "design-lab",
        &[
            ("net.json", &t),
            (
                "lab.ron",
                r#"(name: "mine", duration: "10s",
    design: [Arm(template: "net.json")],
    imported: (vnets: [(name: "vnet", delay: "1ms")], vms: [(name: "vm", rate: "1Gbps")]),
    nodes: [Host(name: "vm", tcp: Rfc6298)],
)"#,
            ),
        ],
    );
    let lab = input::load(&dir.join("lab.ron")).unwrap_or_else(|e| panic!("{e}"));
    // The lab's own node of a VM's name is that VM.
    assert_eq!(lab.nodes.iter().filter(|n| n.name == "vm").count(), 1);
    assert!(lab.assumptions.is_empty(), "{:?}", lab.assumptions);
    let expanded = input::expanded(&dir.join("lab.ron"), &[]).unwrap();
    assert!(
        expanded.contains(r#"delay: "1ms", rate: "1Gbps""#),
        "{expanded}"
    );
    // An item the design lacks is named, with the near miss.
    std::fs::write(
        dir.join("bad.ron"),
        r#"(name: "mine", duration: "10s", design: [Arm(template: "net.json")],
    imported: (vnets: [(name: "vnte")]))"#,
    )
    .unwrap();
    let e = input::load(&dir.join("bad.ron")).unwrap_err().to_string();
    assert!(
        e.contains("imported.vnets 'vnte'") && e.contains("vnet"),
        "{e}"
    );
    // A cloud item written in the lab and imported too is refused.
    std::fs::write(
        dir.join("twice.ron"),
        r#"(name: "mine", duration: "10s", design: [Arm(template: "net.json")],
    vnets: [(name: "vnet", address_space: ["10.30.0.0/16"])])"#,
    )
    .unwrap();
    let e = input::load(&dir.join("twice.ron")).unwrap_err().to_string();
    assert!(
        e.contains("vnet 'vnet'") && e.contains("both imported and written"),
        "{e}"
    );
    // `imported` without a design says so.
    std::fs::write(
        dir.join("alone.ron"),
        r#"(name: "mine", duration: "10s", imported: ())"#,
    )
    .unwrap();
    let e = input::load(&dir.join("alone.ron")).unwrap_err().to_string();
    assert!(e.contains("no `design`"), "{e}");
    // A design file that is missing is a read error naming it.
    std::fs::write(
        dir.join("gone.ron"),
        r#"(name: "mine", duration: "10s", design: [Arm(template: "nowhere.json")])"#,
    )
    .unwrap();
    let e = input::load(&dir.join("gone.ron")).unwrap_err();
    assert!(
        matches!(e, LabError::Read { .. }) && e.to_string().contains("nowhere.json"),
        "{e}"
    );
}

#[test]
fn a_lab_that_leaves_the_site_out_gets_one_and_the_report_lists_the_assumptions() {
    let er = r#",
  {"type": "Microsoft.Network/virtualNetworkGateways", "apiVersion": "2023-09-01", "name": "ergw",
   "properties": {"gatewayType": "ExpressRoute", "sku": {"name": "ErGw1AZ"},
     "ipConfigurations": [{"name": "c", "properties": {"subnet": {"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'GatewaySubnet')]"}}}]}},
  {"type": "Microsoft.Network/expressRouteCircuits", "apiVersion": "2023-09-01", "name": "er", "sku": {"tier": "Standard"},
   "properties": {"serviceProviderProperties": {"peeringLocation": "Amsterdam", "bandwidthInMbps": 1000},
     "peerings": [{"name": "AzurePrivatePeering", "properties": {"peerASN": 65001, "primaryPeerAddressPrefix": "192.168.100.0/30", "secondaryPeerAddressPrefix": "192.168.100.4/30"}}]}},
  {"type": "Microsoft.Network/connections", "apiVersion": "2023-09-01", "name": "er-conn",
   "properties": {"connectionType": "ExpressRoute", "virtualNetworkGateway1": {"id": "[resourceId('Microsoft.Network/virtualNetworkGateways', 'ergw')]"},
     "peer": {"id": "[resourceId('Microsoft.Network/expressRouteCircuits', 'er')]"}}}"#;
    let t = template("", "", &format!("{VNET}{er}"));
    let dir = dir_with(
        "site",
        &[
            ("net.json", &t),
            (
                "lab.ron",
                r#"(name: "mine", duration: "8s", design: [Arm(template: "net.json")])"#,
            ),
        ],
    );
    let lab = input::load(&dir.join("lab.ron")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        lab.assumptions
            .iter()
            .any(|a| a.contains("circuit 'er' ends at router 'er-edge'")),
        "{:?}",
        lab.assumptions
    );
    assert!(
        lab.assumptions
            .iter()
            .any(|a| a.starts_with("app 'er-to-vnet'")),
        "{:?}",
        lab.assumptions
    );
    let summary = hybridlab::sim::run(&lab).summary(None);
    assert_eq!(summary.assumptions, lab.assumptions);
    let report = hybridlab::export::report::render(&summary);
    assert!(
        report.contains("assumptions (what the imported design does not say)")
            && report.contains("er-edge"),
        "{report}"
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert!(json["assumptions"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    // The one-page report lists them near the top, as its own section.
    let page = hybridlab::export::html::page(&hybridlab::export::html::Page {
        summary: &summary,
        notes: "",
        topology: "",
        charts: &[],
        report: "",
        expectations: "",
        routing: &[],
    });
    assert!(
        page.contains("<h2>Assumptions (what the imported design does not say)</h2>")
            && page.contains("<li>circuit 'er' ends at router 'er-edge'"),
        "{page}"
    );
    // The lab writes the edge: no site is assumed for it.
    std::fs::write(
        dir.join("edge.ron"),
        r#"(name: "mine", duration: "8s", design: [Arm(template: "net.json")],
    imported: (circuits: [(name: "er", ce: "edge", delay: "2ms", backbone_delay: "1ms")]),
    nodes: [Router(name: "edge", bgp: (asn: 65001, originate: ["10.1.0.0/16"]))])"#,
    )
    .unwrap();
    let lab = input::load(&dir.join("edge.ron")).unwrap_or_else(|e| panic!("{e}"));
    assert!(lab.assumptions.is_empty(), "{:?}", lab.assumptions);
    assert!(!lab.nodes.iter().any(|n| n.name == "er-edge"));
}

#[test]
fn bad_templates_are_refused_naming_the_resource_the_property_and_the_rule() {
    let cases: Vec<(String, &str)> = vec![
        (
            template("", "", r#"{"type": "Microsoft.Network/virtualNetworks", "name": "v", "properties": {"addressSpace": {"addressPrefixes": ["[utcNow()]"]}}}"#),
            "resource Microsoft.Network/virtualNetworks 'v', property properties.addressSpace.addressPrefixes[0]: the expression [utcNow()]",
        ),
        (template("", "", r#"{"type": "Microsoft.Network/virtualNetworks", "name": "v", "properties": {"addressSpace": {"addressPrefixes": ["[utcNow()]"]}}}"#), "utcNow() is not among the template functions"),
        (template(r#""site": {"type": "string"}"#, "", VNET), "parameter 'site' (string) has no default and no value: give it in the parameters file, with --param site=VALUE"),
        (template(r#""n": {"type": "int", "defaultValue": "three"}"#, "", VNET), "parameter 'n' is declared int"),
        (template(r#""sku": {"type": "string", "defaultValue": "VpnGw9", "allowedValues": ["VpnGw1"]}"#, "", VNET), "allows only \"VpnGw1\""),
        (template("", "", &VNET.replace("10.20.0.0/24", "10.20.0.0/33")), "property addressPrefix: '10.20.0.0/33' is not an IPv4 prefix"),
        (template("", "", &VNET.replace("'vm-nic'", "'other-nic'")), "refers to Microsoft.Network/networkInterfaces 'other-nic', which the design does not define"),
        (template("", "", &VNET.replace("10.20.0.10", "10.20.0.300")), "property ipConfigurations.privateIPAddress: '10.20.0.300' is not an IPv4 address"),
        (
            template("", "", &format!(r#"{VNET}, {{"type": "Microsoft.Network/virtualNetworkGateways", "name": "g", "properties": {{"gatewayType": "Vpn", "sku": {{"name": "UltraPerformance"}},
              "ipConfigurations": [{{"properties": {{"subnet": {{"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'GatewaySubnet')]"}}}}}}]}}}}"#)),
            "resource Microsoft.Network/virtualNetworkGateways 'g', property sku.name: 'UltraPerformance' is not a SKU a VPN gateway has",
        ),
        (template("", r#""a": "[variables('b')]", "b": "[variables('a')]""#, r#"{"type": "Microsoft.Network/virtualNetworks", "name": "[variables('a')]"}"#), "refers to itself"),
        (template("", "", r#"{"type": "Microsoft.Network/virtualNetworks", "name": "v", "copy": {"name": "c", "count": 100000}}"#), "outside 0 to 800"),
        (template("", "", r#"{"type": "Microsoft.Network/virtualNetworks", "name": "[copyIndex()]"}"#), "copyIndex() is used outside a copy loop"),
        ("{\"resources\": [}".to_string(), "t.json:1:16: not valid JSON"),
        (r#"{"hello": 1}"#.to_string(), "is neither an ARM template"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let e = import_template(&format!("bad{i}"), text, &[]).unwrap_err();
        assert!(e.contains(want), "case {i}: {e}\nwanted: {want}");
    }
    // A --param the template does not declare, or whose text is not of its type.
    let t = template(r#""n": {"type": "int", "defaultValue": 1}"#, "", VNET);
    let e = import_template("undeclared", &t, &[("m", "2")]).unwrap_err();
    assert!(
        e.contains("parameter 'm'") && e.contains("does not declare it (it declares: n)"),
        "{e}"
    );
    let e = import_template("wrongtype", &t, &[("n", "two")]).unwrap_err();
    assert!(
        e.contains("is declared int and 'two' does not read as one"),
        "{e}"
    );
}

#[test]
fn one_design_as_a_template_as_resource_json_and_as_terraform_imports_to_the_same_lab() {
    // The template with its parameters; the resources it deployed as the platform returns
    // them (`az network ...` writes properties beside the name, `az resource show` under
    // `properties`); `terraform show -json` of the state of the same design built with
    // azurerm (spokes in a child module, for_each, separate subnets and route table
    // associations); and of a plan before anything exists, where every ID is known only after
    // apply and is followed through the configuration's references and module variables.
    let from_arm = import_text(
        &fixture("arm/hub-spoke.json"),
        Some(&fixture("arm/hub-spoke.parameters.json")),
        &[],
    )
    .unwrap();
    // Everything but the first line, which names the file.
    let body = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    for form in ["resources", "terraform", "terraform-plan"] {
        let text = import_text(&fixture(&format!("{form}/hub-spoke.json")), None, &[])
            .unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(body(&from_arm), body(&text), "{form}");
    }
}

#[test]
fn terraform_json_that_is_not_read_is_refused_with_the_versions_that_are() {
    let e =
        import_template("tf-new", r#"{"format_version": "2.0", "values": {}}"#, &[]).unwrap_err();
    assert!(
        e.contains("format_version: '2.0' is not a version read here (0.x and 1.x"),
        "{e}"
    );
    let e = import_template(
        "tf-old",
        r#"{"version": 3, "terraform_version": "0.11.14", "resources": []}"#,
        &[],
    )
    .unwrap_err();
    assert!(
        e.contains("version: 3 is not a state version read here (4"),
        "{e}"
    );
    // A raw state file (version 4), with a type the model has no meaning for and a data source.
    let state = r#"{"version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "x", "outputs": {},
      "resources": [
        {"mode": "managed", "type": "azurerm_virtual_network", "name": "v",
         "instances": [{"schema_version": 0, "attributes": {"name": "vnet", "resource_group_name": "rg", "address_space": ["10.20.0.0/16"],
           "subnet": [{"name": "workload", "address_prefixes": ["10.20.0.0/24"]}, {"name": "GatewaySubnet", "address_prefix": "10.20.254.0/27"}]}}]},
        {"mode": "managed", "type": "azurerm_storage_account", "name": "logs", "instances": [{"attributes": {"name": "logs"}}]},
        {"mode": "data", "type": "azurerm_client_config", "name": "current", "instances": [{"attributes": {}}]}
      ]}"#;
    let text = import_template("tfstate", state, &[]).unwrap();
    for want in [
        r#"(name: "vnet", address_space: ["10.20.0.0/16"], subnets: [(name: "workload", prefix: "10.20.0.0/24")], gateway_subnet: "10.20.254.0/27")"#,
        "not modelled: azurerm_storage_account azurerm_storage_account.logs",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    assert!(
        !text.contains("client_config"),
        "data sources are not resources of the design"
    );
}

#[test]
fn routing_weight_on_a_connection_makes_the_gateway_prefer_that_circuit() {
    // One edge on two circuits announces its prefix over both; the gateway sends the VNet's
    // traffic by the circuit whose connection weighs more, whichever it is.
    let lab_with = |w1: u32, w2: u32| {
        format!(
            r#"(name: "weights", duration: "12s",
    nodes: [Host(name: "h", gateway: "10.1.0.1"), Router(name: "ce", bgp: (asn: 65001, originate: ["10.1.0.0/16"])), Host(name: "vm")],
    links: [(name: "lan", a: (node: "h", ip: "10.1.0.10/24"), b: (node: "ce", ip: "10.1.0.1/24"))],
    vnets: [(name: "vnet", address_space: ["10.20.0.0/16"], gateway_subnet: "10.20.254.0/27",
             subnets: [(name: "w", prefix: "10.20.0.0/24", vms: [(node: "vm")])])],
    gateways: [(name: "ergw", vnet: "vnet", kind: ExpressRoute, sku: ErGw1Az)],
    circuits: [
        (name: "c1", ce: "ce", bandwidth: "1Gbps", primary: "192.168.1.0/30", secondary: "192.168.1.4/30", peering_location: "A"),
        (name: "c2", ce: "ce", bandwidth: "1Gbps", primary: "192.168.2.0/30", secondary: "192.168.2.4/30", peering_location: "B"),
    ],
    connections: [
        ExpressRoute(name: "k1", gateway: "ergw", circuit: "c1", routing_weight: {w1}),
        ExpressRoute(name: "k2", gateway: "ergw", circuit: "c2", routing_weight: {w2}),
    ],
    apps: [(name: "p", from: "vm", to: "h", start: "6s", traffic: UdpProbe(interval: "100ms"))],
)"#
        )
    };
    // Packets the MSEEs of each circuit deliver to the edge.
    let towards_edge = |w1, w2| {
        let s = common::run(&lab_with(w1, w2)).summary(None);
        let by = |c: &str| {
            s.links
                .iter()
                .filter(|x| x.link.starts_with(c) && x.to == "ce")
                .map(|x| x.stats.delivered_packets)
                .sum::<u64>()
        };
        (by("c1-"), by("c2-"))
    };
    // The 60 probes go one way or the other; BGP and BFD packets go both ways in both runs.
    let (a1, a2) = towards_edge(10, 0);
    let (b1, b2) = towards_edge(0, 10);
    assert!(
        a1 >= b1 + 55 && b2 >= a2 + 55,
        "weight on c1: {a1} {a2}; on c2: {b1} {b2}"
    );
}

/// Runs a printed lab and requires every probe delivered (a few may be in flight at the end).
fn runs_with_every_probe_delivered(text: &str) {
    let lab =
        input::load_str(text, Path::new("printed.ron")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let s = hybridlab::sim::run(&lab).summary(None);
    assert!(!s.apps.is_empty(), "{text}");
    for app in &s.apps {
        assert!(
            app.figures.sent > 2000
                && app.figures.lost == 0
                && app.received + app.figures.in_flight == app.figures.sent,
            "{}: {app:?}",
            app.name
        );
    }
}

#[test]
fn a_hybrid_design_as_a_template_a_terraform_plan_and_a_terraform_state_imports_to_the_same_lab() {
    // tests/iac/*/hybrid.json: an active-active VPN gateway with BGP to a data centre given by
    // FQDN and static routes to an office, an IPsec policy and DPD timeout, a point-to-site
    // pool, a VNet-to-VNet pair, a circuit with an authorization and a routing weight, and a
    // VMware private cloud reached by an authorized connection and by Global Reach. The
    // template has copy loops (resources and properties) and a nested deployment; the plan
    // knows no ID, address or key, and follows the configuration's references to them.
    let arm = import_text(&fixture("arm/hybrid.json"), None, &[]).unwrap();
    let plan = import_text(&fixture("terraform-plan/hybrid.json"), None, &[]).unwrap();
    let state = import_text(&fixture("terraform/hybrid.json"), None, &[]).unwrap();
    // The template and the plan leave the same values to deployment, and say so in their own
    // words: what they make of them is the same.
    let same = |t: &str| {
        t.lines()
            .skip(1)
            .filter(|l| !l.contains("known only at deployment"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(same(&arm), same(&plan));
    assert_eq!(
        arm.lines()
            .filter(|l| l.contains("known only at deployment"))
            .count(),
        3,
        "{arm}"
    );
    // The state knows the addresses the template leaves to deployment (the same ones here) and
    // the private cloud's management network: the same lab, fewer assumptions.
    let lab_only = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(lab_only(&arm), lab_only(&state));
    assert!(
        !state.contains("known only at deployment")
            && !state.contains("management network 10.90.0.0/26: the first"),
        "{state}"
    );
    for want in [
        r#"(name: "vpngw", vnet: "hub", kind: Vpn, sku: VpnGw2Az, public_ip: "198.51.100.5/30""#,
        r#"active_active: true, second_public_ip: "198.51.100.9/30", p2s_pool: "172.16.200.0/24")"#,
        r#"(name: "dc", device: "dc-edge", ip: "203.0.113.1", bgp: (asn: 65001, ip: "172.16.255.1"))"#,
        r#"(name: "office", device: "office-edge", ip: "203.0.113.20", prefixes: ["10.50.0.0/24"])"#,
        r#"VnetToVnet(name: "branch-to-hub", a: "branchgw", b: "vpngw""#,
        r#"SiteToSite(name: "s2s-dc", gateway: "vpngw", local: "dc", cipher: AesGcm, mss_clamp: 1350, dpd: (timeout: "45s"))"#,
        r#"ExpressRoute(name: "er-conn", gateway: "ergw", circuit: "er-onprem", authorization: "hub-key", routing_weight: 10)"#,
        r#"ExpressRoute(name: "hub-avs", gateway: "ergw", circuit: "avs-er", authorization: "hub-avs-key")"#,
        r#"(name: "avs", generation: Gen1, segments: [], management: (name: "management", prefix: "10.90.0.0/26", vms: [(node: "avs-vcenter")]), peering_location: "avs (westeurope)", authorizations: ["hub-avs-key"])"#,
        r#"(name: "onprem-avs", circuit: "er-onprem", peer: "avs-er", subnet: "192.168.50.0/29")"#,
        "gateway 'vpngw' offers point-to-site over OpenVPN, IkeV2",
    ] {
        assert!(arm.contains(want), "missing {want} in\n{arm}");
    }
    runs_with_every_probe_delivered(&state);
}

/// An ExpressRoute gateway in `vnet` (the VNET fixture's GatewaySubnet) and a circuit `er`
/// with a private peering and an authorization `gr-key`.
const ER: &str = r#",
  {"type": "Microsoft.Network/virtualNetworkGateways", "apiVersion": "2023-09-01", "name": "ergw",
   "properties": {"gatewayType": "ExpressRoute", "sku": {"name": "ErGw1AZ"},
     "ipConfigurations": [{"name": "c", "properties": {"subnet": {"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', 'GatewaySubnet')]"}}}]}},
  {"type": "Microsoft.Network/expressRouteCircuits", "apiVersion": "2023-09-01", "name": "er", "sku": {"tier": "Standard"},
   "properties": {"serviceProviderProperties": {"peeringLocation": "London", "bandwidthInMbps": 1000},
     "authorizations": [{"name": "gr-key", "properties": {"authorizationKey": "k-123"}}],
     "peerings": [{"name": "AzurePrivatePeering", "properties": {"peerASN": 65001, "primaryPeerAddressPrefix": "192.168.100.0/30", "secondaryPeerAddressPrefix": "192.168.100.4/30"}}]}},
  {"type": "Microsoft.Network/connections", "apiVersion": "2023-09-01", "name": "er-conn",
   "properties": {"connectionType": "ExpressRoute", "virtualNetworkGateway1": {"id": "[resourceId('Microsoft.Network/virtualNetworkGateways', 'ergw')]"},
     "peer": {"id": "[resourceId('Microsoft.Network/expressRouteCircuits', 'er')]"}}}"#;

#[test]
fn private_clouds_are_read_with_their_segments_authorizations_and_global_reach() {
    // Gen 1, as a deployed private cloud returns it (its management network stated), with an
    // NSX segment, and Global Reach made from its side with the customer circuit's key.
    let gen1 = template(
        "",
        "",
        &format!(
            r#"{VNET}{ER},
  {{"type": "Microsoft.AVS/privateClouds", "apiVersion": "2023-09-01", "name": "pc1", "location": "northeurope", "sku": {{"name": "av36"}},
   "properties": {{"networkBlock": "10.90.0.0/22", "managementNetwork": "10.90.0.0/24"}}}},
  {{"type": "Microsoft.AVS/privateClouds/workloadNetworks/segments", "apiVersion": "2023-09-01", "name": "pc1/default/app",
   "properties": {{"subnet": {{"gatewayAddress": "10.100.7.1/24"}}}}}},
  {{"type": "Microsoft.AVS/privateClouds/globalReachConnections", "apiVersion": "2023-09-01", "name": "pc1/to-onprem",
   "properties": {{"peerExpressRouteCircuit": "[resourceId('Microsoft.Network/expressRouteCircuits', 'er')]", "authorizationKey": "k-123"}}}},
  {{"type": "Microsoft.AVS/privateClouds/clusters", "apiVersion": "2023-09-01", "name": "pc1/cluster-2", "properties": {{"clusterSize": 3}}}}"#
        ),
    );
    let text = import_template("avs-gen1", &gen1, &[]).unwrap();
    for want in [
        r#"(name: "pc1", generation: Gen1, segments: [(name: "app", prefix: "10.100.7.0/24", vms: [(node: "pc1-app-vm")])], management: (name: "management", prefix: "10.90.0.0/24", vms: [(node: "pc1-vcenter")]), peering_location: "pc1 (northeurope)")"#,
        r#"(name: "to-onprem", circuit: "pc1-er", peer: "er", subnet: "10.90.1.0/29", authorization: "gr-key")"#,
        // The Global Reach range the management network (stated: a /24) leaves free.
        "the platform takes the /29 from private cloud 'pc1''s networkBlock 10.90.0.0/22",
        "not modelled: Microsoft.AVS/privateClouds/clusters pc1/cluster-2",
        "app 'er-to-pc1': UDP probes from 'er-host' to 'pc1-app-vm'",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    assert!(!text.contains("management network 10.90.0.0"), "{text}");
    runs_with_every_probe_delivered(&text);
    // Gen 2, in its VNet: the management network is carved from the block in the VNet.
    let gen2 = template(
        "",
        "",
        &format!(
            r#"{VNET}{ER},
  {{"type": "Microsoft.AVS/privateClouds", "apiVersion": "2024-09-01", "name": "pc2", "sku": {{"name": "av64"}},
   "properties": {{"networkBlock": "10.20.4.0/22", "virtualNetworkId": "[resourceId('Microsoft.Network/virtualNetworks', 'vnet')]"}}}}"#
        ),
    );
    let text = import_template("avs-gen2", &gen2, &[]).unwrap();
    for want in [
        r#"(name: "pc2", generation: Gen2, segments: [], management: (name: "management", prefix: "10.20.4.0/26", vms: [(node: "pc2-vcenter")]), vnet: "vnet", block: "10.20.4.0/22")"#,
        "assumed: private cloud 'pc2' management network 10.20.4.0/26: the first /26 of its networkBlock",
        "app 'er-to-pc2': UDP probes from 'er-host' to 'pc2-vcenter'",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    runs_with_every_probe_delivered(&text);
    // The lab states what the platform decides: no assumption is left for it.
    let dir = dir_with(
        "avs-lab",
        &[
            ("net.json", &gen2),
            (
                "lab.ron",
                r#"(name: "mine", duration: "8s", design: [Arm(template: "net.json")],
    imported: (private_clouds: [(name: "pc2", asn: 4200000001, management: "10.20.5.0/24")]))"#,
            ),
        ],
    );
    let lab = input::load(&dir.join("lab.ron")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !lab.assumptions
            .iter()
            .any(|a| a.contains("management network")),
        "{:?}",
        lab.assumptions
    );
    let expanded = input::expanded(&dir.join("lab.ron"), &[]).unwrap();
    assert!(
        expanded.contains("asn: 4200000001") && expanded.contains("10.20.5.0/24"),
        "{expanded}"
    );
}

#[test]
fn designs_that_do_not_hold_together_are_refused_or_noted_naming_the_resource() {
    let avs = |props: &str, more: &str| {
        template(
            "",
            "",
            &format!(
                r#"{VNET}{ER},
  {{"type": "Microsoft.AVS/privateClouds", "apiVersion": "2023-09-01", "name": "pc", "properties": {props}}}{more}"#
            ),
        )
    };
    let gw = |subnet: &str| {
        template(
            "",
            "",
            &format!(
                r#"{VNET}, {{"type": "Microsoft.Network/virtualNetworkGateways", "name": "g", "properties": {{"gatewayType": "ExpressRoute", "sku": {{"name": "ErGw1AZ"}},
              "ipConfigurations": [{{"properties": {{"subnet": {{"id": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'vnet', '{subnet}')]"}}}}}}]}}}}"#
            ),
        )
    };
    let refused: Vec<(String, &str)> = vec![
        (avs("{}", ""), "resource Microsoft.AVS/privateClouds 'pc': has no networkBlock"),
        (avs(r#"{"networkBlock": "10.90.0.0/23"}"#, ""), "property networkBlock: '10.90.0.0/23' is not a network of at least a /22"),
        (
            avs(r#"{"networkBlock": "10.90.0.0/22"}"#, r#", {"type": "Microsoft.AVS/privateClouds/workloadNetworks/segments", "name": "pc/default/s", "properties": {}}"#),
            "segments 'pc/default/s': has no subnet.gatewayAddress",
        ),
        (
            avs(r#"{"networkBlock": "10.20.4.0/22", "virtualNetworkId": "[resourceId('Microsoft.Network/virtualNetworks', 'vnet')]"}"#,
                r#", {"type": "Microsoft.Network/connections", "name": "to-pc", "properties": {"connectionType": "ExpressRoute",
                   "virtualNetworkGateway1": {"id": "[resourceId('Microsoft.Network/virtualNetworkGateways', 'ergw')]"},
                   "peer": {"id": "[reference(resourceId('Microsoft.AVS/privateClouds', 'pc')).circuit.expressRouteID]"}}}"#),
            "resource Microsoft.Network/connections 'to-pc': refers to private cloud 'pc''s circuit, but it is Gen 2 (in a VNet) and has none",
        ),
        (
            avs(r#"{"networkBlock": "10.90.0.0/22"}"#, r#", {"type": "Microsoft.AVS/privateClouds/globalReachConnections", "name": "other/gr", "properties": {}}"#),
            "globalReachConnections 'other/gr': belongs to private cloud 'other', which the design does not define",
        ),
        (gw("workload"), "'g'"),
        (
            template("", "", &format!(r#"{VNET}, {{"type": "Microsoft.Network/connections", "name": "c", "properties": {{"connectionType": "Vnet2Vnet",
               "virtualNetworkGateway1": {{"id": "[resourceId('Microsoft.Network/virtualNetworkGateways', 'nowhere')]"}}, "virtualNetworkGateway2": {{"id": "[resourceId('Microsoft.Network/virtualNetworkGateways', 'g')]"}}}}}}"#)),
            "property virtualNetworkGateway1: refers to Microsoft.Network/virtualNetworkGateways 'nowhere', which the design does not define",
        ),
    ];
    for (i, (text, want)) in refused.iter().enumerate() {
        let e = import_template(&format!("refused{i}"), text, &[]).unwrap_err();
        assert!(e.contains(want), "case {i}: {e}\nwanted: {want}");
    }
    // Half of something the platform makes of two resources is noted, not connected.
    let peering = |from: &str, to: &str| {
        format!(
            r#"{{"type": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings", "name": "{from}/to-{to}",
          "properties": {{"remoteVirtualNetwork": {{"id": "[resourceId('Microsoft.Network/virtualNetworks', '{to}')]"}}}}}}"#
        )
    };
    let two = template(
        "",
        "",
        &format!(
            r#"{VNET}, {{"type": "Microsoft.Network/virtualNetworks", "name": "other", "properties": {{"addressSpace": {{"addressPrefixes": ["10.30.0.0/16"]}}}}}}, {}"#,
            peering("vnet", "other")
        ),
    );
    let text = import_template("half-peering", &two, &[]).unwrap();
    assert!(
        text.contains("not connected") && text.contains("other"),
        "{text}"
    );
    assert!(!text.contains("peerings: ["), "{text}");
    // A plan whose reference leads nowhere: the value is known only after apply, and said so.
    let plan = r#"{"format_version": "1.2", "resource_changes": [
      {"address": "azurerm_virtual_network.v", "mode": "managed", "type": "azurerm_virtual_network",
       "change": {"actions": ["create"], "after": {"name": "v", "address_space": ["10.1.0.0/16"]}, "after_unknown": {"id": true}}},
      {"address": "azurerm_virtual_network_peering.p", "mode": "managed", "type": "azurerm_virtual_network_peering",
       "change": {"actions": ["create"], "after": {"name": "p", "virtual_network_name": "v"}, "after_unknown": {"id": true, "remote_virtual_network_id": true}}}],
      "configuration": {"root_module": {"resources": [{"address": "azurerm_virtual_network_peering.p",
        "expressions": {"remote_virtual_network_id": {"references": ["data.azurerm_virtual_network.elsewhere.id"]}}}]}}}"#;
    let e = import_template("plan-ref", plan, &[]).unwrap_err();
    assert!(
        e.contains(
            "azurerm_virtual_network_peering.p.remote_virtual_network_id (known after apply)"
        ),
        "{e}"
    );
}
