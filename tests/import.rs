//! Designs read from infrastructure code (README, "Your own design"): ARM templates evaluated
//! as the platform does, resources mapped to the cloud vocabulary, what the code cannot say
//! completed by the lab or a stated assumption, and every bad input refused naming the
//! resource and property.

mod common;
use hybridlab::import;
use hybridlab::lab::{self, LabError};
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
fn the_headline_lab_read_from_its_template_or_its_terraform_state_gives_the_same_results_to_the_byte(
) {
    let json = |path: &Path| {
        let lab = lab::load(path).unwrap_or_else(|e| panic!("{e}"));
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
        lab::load_str(&text, Path::new("printed.ron")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(lab.warnings.is_empty(), "{:?}", lab.warnings);
    let apps: Vec<&str> = lab.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(apps, ["er-to-spoke-1", "er-to-spoke-2"]);
    let r = hybridlab::sim::run(&lab);
    for a in &r.apps {
        let s = r.summary(None);
        let app = s.apps.iter().find(|x| x.name == a.name).unwrap();
        assert!(
            app.received > 2000 && app.received == app.sent,
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
        lab::load_str(&text, Path::new("printed.ron")).unwrap_or_else(|e| panic!("{e}\n{text}"));
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
    let lab = lab::load(&dir.join("lab.ron")).unwrap_or_else(|e| panic!("{e}"));
    // The lab's own node of a VM's name is that VM.
    assert_eq!(lab.nodes.iter().filter(|n| n.name == "vm").count(), 1);
    assert!(lab.assumptions.is_empty(), "{:?}", lab.assumptions);
    let expanded = lab::expanded(&dir.join("lab.ron"), &[]).unwrap();
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
    let e = lab::load(&dir.join("bad.ron")).unwrap_err().to_string();
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
    let e = lab::load(&dir.join("twice.ron")).unwrap_err().to_string();
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
    let e = lab::load(&dir.join("alone.ron")).unwrap_err().to_string();
    assert!(e.contains("no `design`"), "{e}");
    // A design file that is missing is a read error naming it.
    std::fs::write(
        dir.join("gone.ron"),
        r#"(name: "mine", duration: "10s", design: [Arm(template: "nowhere.json")])"#,
    )
    .unwrap();
    let e = lab::load(&dir.join("gone.ron")).unwrap_err();
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
    let lab = lab::load(&dir.join("lab.ron")).unwrap_or_else(|e| panic!("{e}"));
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
    let report = hybridlab::report::render(&summary);
    assert!(
        report.contains("assumptions (what the imported design does not say)")
            && report.contains("er-edge"),
        "{report}"
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert!(json["assumptions"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    // The lab writes the edge: no site is assumed for it.
    std::fs::write(
        dir.join("edge.ron"),
        r#"(name: "mine", duration: "8s", design: [Arm(template: "net.json")],
    imported: (circuits: [(name: "er", ce: "edge", delay: "2ms", backbone_delay: "1ms")]),
    nodes: [Router(name: "edge", bgp: (asn: 65001, originate: ["10.1.0.0/16"]))])"#,
    )
    .unwrap();
    let lab = lab::load(&dir.join("edge.ron")).unwrap_or_else(|e| panic!("{e}"));
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
