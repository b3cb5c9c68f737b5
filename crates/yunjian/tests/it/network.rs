//! Issue 8's "done when" against the real binary: the demo's planted network flaws — a
//! peering between two tenants with neither approval nor firewall rules, a bastion that
//! reaches the other tenant's VPC over it, SSH, RDP, a database port and an any-to-any
//! rule open to the world, an internet-zone VM on a host of the extranet zone, a
//! container namespace without NetworkPolicies — are each found, and no other violation
//! is (the approved exchange behind both firewalls, the other bastions, the ACLs, the
//! segmented namespaces are clean). `yunjian network check` says the same offline.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use yunjian_core::demo::{generate, Scale};
use yunjian_core::schema::Kind;

use crate::{binary, Demo};

fn rule_of(finding: &Value) -> i64 {
    finding["subject"]["rule_id"].as_i64().unwrap_or(-1)
}

fn vpcs_of(finding: &Value) -> BTreeSet<i64> {
    finding["vpcs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect()
}

#[tokio::test]
async fn the_demos_planted_network_flaws_are_found_and_nothing_else() {
    // The demo's default seed (DEFAULT_SEED in the binary).
    let world = generate(Scale::Small, 20_261_123);
    let planted = |kind: Kind| -> Vec<(i64, &str)> {
        world
            .planted
            .iter()
            .filter(|flaw| flaw.kind == kind)
            .map(|flaw| (flaw.id, flaw.what))
            .collect()
    };
    let demo = Demo::start().await;
    let client = reqwest::Client::new();
    let (username, password) = demo.account("supervisor");
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", demo.base))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("JSON");
    let token = login["token"].as_str().expect("token").to_owned();
    let get = |path: String| {
        let client = client.clone();
        let token = token.clone();
        let base = demo.base.clone();
        async move {
            let response = client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("answer");
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            response.json::<Value>().await.expect("JSON")
        }
    };
    let answer = get("/api/v1/network/findings?limit=1000".into()).await;
    let findings = answer["findings"].as_array().expect("findings").clone();
    let of = |invariant: &str| -> Vec<Value> {
        findings
            .iter()
            .filter(|f| f["invariant"] == invariant)
            .cloned()
            .collect()
    };

    // The planted peering: its two VPCs are the only ones with cross-tenant paths and
    // management reach, both ways for the paths.
    let peering = planted(Kind::VpcPeering);
    assert_eq!(peering.len(), 1, "{:?}", world.planted);
    let row = get(format!("/api/v1/vpc_peerings/{}", peering[0].0)).await;
    let pair: BTreeSet<i64> = [
        row["vpc_id"].as_i64().expect("vpc"),
        row["peer_vpc_id"].as_i64().expect("peer"),
    ]
    .into();
    let cross = of("cross_tenant_path");
    assert!(!cross.is_empty(), "the planted peering is found");
    assert!(cross.iter().all(|f| vpcs_of(f) == pair), "{cross:#?}");
    let directions: BTreeSet<i64> = cross
        .iter()
        .map(|f| f["subject"]["source"]["vpc_id"].as_i64().expect("source"))
        .collect();
    assert_eq!(directions, pair, "paths both ways");

    // The bastion reaches the partner's app tier by SSH through the planted rule.
    let ssh_rule = planted(Kind::SecurityGroupRule)
        .into_iter()
        .find(|(_, what)| what.contains("bastion"))
        .expect("planted SSH rule")
        .0;
    let reach = of("management_reach");
    assert!(reach.iter().all(|f| vpcs_of(f) == pair), "{reach:#?}");
    let ssh = reach
        .iter()
        .find(|f| f["ports_text"] == "tcp/22")
        .expect("the bastion's SSH reach");
    assert!(
        ssh["verdict"]["hops"]
            .as_array()
            .expect("hops")
            .iter()
            .any(|hop| hop["decided_by"]
                == serde_json::json!({"kind": "group_rule", "id": ssh_rule})),
        "{ssh:#}"
    );

    // Rules open to the world: exactly the planted ones.
    let open: BTreeSet<i64> = of("management_open_to_all")
        .iter()
        .chain(of("any_to_any").iter())
        .map(rule_of)
        .collect();
    let planted_open: BTreeSet<i64> = planted(Kind::SecurityGroupRule)
        .into_iter()
        .filter(|(_, what)| what.contains("0.0.0.0/0") || what.contains("any-to-any"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(open, planted_open);

    // The internet-zone VM on an extranet host: the one shared host.
    let shared = of("shared_host");
    assert_eq!(shared.len(), 1, "{shared:#?}");
    let vm = planted(Kind::Vm)[0].0;
    assert!(shared[0]["subject"]["vms"]
        .as_array()
        .expect("vms")
        .contains(&Value::from(vm)));

    // The container cluster: the planted namespace without NetworkPolicies is the one
    // unsegmented namespace, and the only destination other tenants' pods reach; the
    // two namespaces with the same-namespace default are closed to each other.
    let pod = planted(Kind::ContainerWorkload)[0].0;
    let unsegmented = of("container_unsegmented");
    assert_eq!(unsegmented.len(), 1, "{unsegmented:#?}");
    assert!(unsegmented[0]["subject"]["pods"]
        .as_array()
        .expect("pods")
        .contains(&Value::from(pod)));
    let namespace = unsegmented[0]["subject"]["namespace"].clone();
    let pods = of("container_cross_tenant");
    assert_eq!(pods.len(), 2, "{pods:#?}");
    assert!(pods
        .iter()
        .all(|finding| finding["subject"]["destination_namespace"] == namespace));

    // Nothing else is a violation: no zone crossings, and every violation above is
    // one of the planted flaws.
    assert!(of("zone_separation").is_empty());
    let violations = findings.iter().filter(|f| f["violation"] == true).count();
    assert_eq!(
        violations,
        cross.len() + reach.len() + open.len() + shared.len() + unsegmented.len() + pods.len(),
        "{findings:#?}"
    );

    // The compliance engine has the verdict: 7.5.12 fails for exactly the two tenants
    // of the planted peering, with the finding as evidence.
    let mut pair_tenants = BTreeSet::new();
    for vpc in &pair {
        let row = get(format!("/api/v1/vpcs/{vpc}")).await;
        pair_tenants.insert(row["tenant_id"].as_i64().expect("tenant"));
    }
    let results = get("/api/v1/compliance/results?limit=10000".into()).await;
    let failing: BTreeSet<i64> = results["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|row| {
            row["clause"] == "7.5.12"
                && row["scope_kind"] == "tenant"
                && row["status"] == "FAIL"
                && row["message_en"]
                    .as_str()
                    .is_some_and(|text| text.contains("isolation checks fail"))
        })
        .filter_map(|row| row["scope_id"].as_i64())
        .collect();
    assert_eq!(failing, pair_tenants);

    // Offline, the same verdict: the check exits 2 and names the peering's VPCs.
    let (data, url) = demo.store_args();
    let mut command = Command::new(binary());
    command.args([
        "network",
        "check",
        "--json",
        "--invariant",
        "cross_tenant_path",
    ]);
    // The data directory holds the demo's keys; on PostgreSQL the rows are elsewhere.
    command.args(["--data", &data]);
    if let Some(url) = url {
        command.args(["--database-url", &url]);
    }
    let output = command.output().expect("yunjian network check");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), cross.len());
    assert!(lines.iter().all(|f| vpcs_of(f) == pair));
}
