//! Network isolation verification over HTTP: two tenants' VPCs built through the API,
//! a peering opens a path no exchange rule approves and the findings name it with the
//! deciding rules; an approval and both tenants' firewall rules close it on the
//! approved port only; queries explain their verdicts; what-if shows a change's effect
//! before it is made; each tenant sees its own findings and policy-change log and
//! cannot ask about the other's VMs; bad input gets a stable code.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::access::{member, provider_id};
use super::{api, send, server, Server};

async fn create(s: &Server, token: &str, path: &str, body: Value) -> i64 {
    let answer = send(&s.router, api(Method::POST, path, Some(token), Some(body))).await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "{path}: {}",
        answer.text
    );
    answer.json()["id"].as_i64().expect("id")
}

async fn get(s: &Server, token: &str, path: &str) -> (StatusCode, Value) {
    let answer = send(&s.router, api(Method::GET, path, Some(token), None)).await;
    let status = answer.status;
    (
        status,
        serde_json::from_str(&answer.text).unwrap_or(Value::Null),
    )
}

async fn post(s: &Server, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let answer = send(&s.router, api(Method::POST, path, Some(token), Some(body))).await;
    let status = answer.status;
    (
        status,
        serde_json::from_str(&answer.text).unwrap_or(Value::Null),
    )
}

/// A VPC with one subnet, one group (the tenant's own, 7.2.4.7) and one VM; returns
/// (vpc, group, vm).
async fn tenant_network(
    s: &Server,
    tenant_token: &str,
    tenant: i64,
    provider: i64,
    octet: u8,
) -> (i64, i64, i64) {
    let admin = &s.admin_token;
    let zone = get(s, admin, "/api/v1/zones").await.1["items"][0]["id"]
        .as_i64()
        .expect("zone");
    let vpc = create(
        s,
        admin,
        "/api/v1/vpcs",
        json!({"tenant_id": tenant, "provider_id": provider, "zone_id": zone,
               "name": format!("vpc-{octet}"), "cidrs": [format!("10.{octet}.0.0/16")]}),
    )
    .await;
    let subnet = create(
        s,
        admin,
        "/api/v1/subnets",
        json!({"vpc_id": vpc, "name": "web", "cidr": format!("10.{octet}.1.0/24")}),
    )
    .await;
    let group = create(
        s,
        tenant_token,
        "/api/v1/security_groups",
        json!({"vpc_id": vpc, "name": "sg-web"}),
    )
    .await;
    let vm = create(
        s,
        admin,
        "/api/v1/vms",
        json!({"vpc_id": vpc, "subnet_id": subnet, "name": format!("web-{octet}"), "vcpus": 2,
               "memory_mib": 4096, "status": "running",
               "ip_addresses": [format!("10.{octet}.1.10")], "security_group_ids": [group]}),
    )
    .await;
    (vpc, group, vm)
}

fn cross_tenant(findings: &Value) -> Vec<Value> {
    findings["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["invariant"] == "cross_tenant_path")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_peering_opens_a_path_the_findings_name_and_approval_with_firewalls_closes() {
    let s = server().await;
    let provider = provider_id(&s).await;
    let admin = s.admin_token.clone();
    let tenant_a = member(
        &s,
        "net-a",
        "tenant_admin",
        json!({"tenant_id": s.tenants[0]}),
    )
    .await;
    let tenant_b = member(
        &s,
        "net-b",
        "tenant_admin",
        json!({"tenant_id": s.tenants[1]}),
    )
    .await;
    let (vpc_a, _group_a, vm_a) = tenant_network(&s, &tenant_a, s.tenants[0], provider, 31).await;
    let (vpc_b, group_b, vm_b) = tenant_network(&s, &tenant_b, s.tenants[1], provider, 32).await;
    // B lets the private range in on SSH and HTTPS.
    let mut rules = Vec::new();
    for (port, description) in [(22, "运维"), (443, "HTTPS")] {
        rules.push(
            create(
                &s,
                &tenant_b,
                "/api/v1/security_group_rules",
                json!({"security_group_id": group_b, "direction": "ingress", "priority": 10,
                       "action": "allow", "protocol": "tcp", "port_from": port, "port_to": port,
                       "remote_cidr": "10.0.0.0/8", "description": description}),
            )
            .await,
        );
    }
    let ask =
        json!({"from": format!("vm:{vm_a}"), "to": {"vm": vm_b}, "protocol": "tcp", "port": 443});
    let (status, answer) = post(&s, &admin, "/api/v1/network/query", ask.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["allowed"], json!(false), "{answer}");
    assert_eq!(answer["answers"][0]["hops"][1]["stage"], "peering");
    let (_, findings) = get(&s, &admin, "/api/v1/network/findings").await;
    assert!(cross_tenant(&findings).is_empty(), "{findings}");

    // A peering between the two tenants: both ports open, nothing approved.
    create(
        &s,
        &admin,
        "/api/v1/vpc_peerings",
        json!({"vpc_id": vpc_a, "peer_vpc_id": vpc_b, "name": "pcx-test"}),
    )
    .await;
    let (_, answer) = post(&s, &admin, "/api/v1/network/query", ask.clone()).await;
    assert_eq!(answer["allowed"], json!(true), "{answer}");
    let hops = answer["answers"][0]["hops"].as_array().expect("hops");
    assert_eq!(
        hops.last().expect("hop")["decided_by"],
        json!({"kind": "group_rule", "id": rules[1]})
    );
    assert!(hops.last().expect("hop")["rule"]
        .as_str()
        .expect("words")
        .contains("HTTPS"));
    let (_, findings) = get(&s, &admin, "/api/v1/network/findings").await;
    let paths = cross_tenant(&findings);
    assert_eq!(paths.len(), 1, "{findings}");
    assert_eq!(paths[0]["ports_text"], "tcp/22, tcp/443");
    assert_eq!(paths[0]["reason"], "no exchange rule allows this flow");
    assert_eq!(paths[0]["example"]["port"], json!(22));
    assert!(paths[0]["verdict"]["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .any(|hop| hop["decided_by"] == json!({"kind": "group_rule", "id": rules[0]})));

    // Each tenant sees it (it concerns both); neither may ask about the other's VMs.
    for token in [&tenant_a, &tenant_b] {
        let (status, seen) = get(
            &s,
            token,
            "/api/v1/network/findings?invariant=cross_tenant_path",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(seen["total"], json!(1), "{seen}");
    }
    let (status, refused) = post(&s, &tenant_a, "/api/v1/network/query", ask.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
    let (status, _) = get(
        &s,
        &tenant_a,
        &format!("/api/v1/network/vpcs/{vpc_b}/segmentation"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, own) = get(
        &s,
        &tenant_b,
        &format!("/api/v1/network/vpcs/{vpc_b}/segmentation"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{own}");

    // The console: findings page, the path drawn hop by hop, segmentation; escaped.
    let page = super::console_get(
        &s.router,
        "/console/network?invariant=cross_tenant_path",
        &tenant_a,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("tcp/22, tcp/443") && page.text.contains("web-31"),
        "{}",
        page.text
    );
    let path = format!("/console/network/query?from=vm:{vm_a}&to=vm:{vm_b}&protocol=tcp&port=443");
    let page = super::console_get(&s.router, &path, &admin).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("<svg") && page.text.contains("HTTPS"),
        "{}",
        page.text
    );
    let page = super::console_get(&s.router, &path, &tenant_a).await;
    assert_eq!(
        page.status,
        StatusCode::NOT_FOUND,
        "tenant A cannot draw B's VM"
    );
    let page = super::console_get(
        &s.router,
        &format!("/console/network/vpcs/{vpc_b}"),
        &tenant_b,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("sg-web"), "{}", page.text);

    // What-if: B asks what dropping its SSH rule would do, before doing it.
    let (status, effect) = post(
        &s,
        &tenant_b,
        "/api/v1/network/what-if",
        json!({"kind": "security_group_rule", "id": rules[0], "delete": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{effect}");
    assert_eq!(effect["disappeared"][0]["ports_text"], "tcp/22, tcp/443");
    assert_eq!(effect["appeared"][0]["ports_text"], "tcp/443");
    // The same through the console's form.
    let page = super::console_get(
        &s.router,
        &format!(
            "/console/network/what-if?kind=security_group_rule&id={}&delete=1",
            rules[0]
        ),
        &tenant_b,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("what-if-disappeared") && page.text.contains("tcp/22, tcp/443"),
        "{}",
        page.text
    );
    // A tenant cannot propose changes to the other tenant's rules.
    let (status, _) = post(
        &s,
        &tenant_a,
        "/api/v1/network/what-if",
        json!({"kind": "security_group_rule", "id": rules[0], "delete": true}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, unchanged) = get(
        &s,
        &admin,
        "/api/v1/network/findings?invariant=cross_tenant_path",
    )
    .await;
    assert_eq!(
        unchanged["findings"][0]["ports_text"], "tcp/22, tcp/443",
        "what-if changed nothing"
    );

    // The management unit approves HTTPS; both tenants' firewalls allow it explicitly.
    create(
        &s,
        &admin,
        "/api/v1/exchange_rules",
        json!({"from_vpc_id": vpc_a, "to_vpc_id": vpc_b, "protocol": "tcp", "port_from": 443,
               "port_to": 443, "approval": "渝数据交换〔2026〕1号"}),
    )
    .await;
    let (_, findings) = get(
        &s,
        &admin,
        "/api/v1/network/findings?invariant=cross_tenant_path",
    )
    .await;
    let reasons: Vec<(&str, &str)> = findings["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["ports_text"].as_str().unwrap_or(""),
                f["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("tcp/22", "no exchange rule allows this flow")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(ports, reason)| *ports == "tcp/443" && reason.contains("firewall")),
        "{reasons:?}"
    );
    for (token, tenant) in [(&tenant_a, s.tenants[0]), (&tenant_b, s.tenants[1])] {
        create(
            &s,
            token,
            "/api/v1/firewall_rules",
            json!({"tenant_id": tenant, "provider_id": provider, "name": "共享HTTPS", "position": 10,
                   "action": "allow", "protocol": "tcp", "port_from": 443, "port_to": 443,
                   "source_cidr": "10.31.0.0/16", "destination_cidr": "10.32.0.0/16"}),
        )
        .await;
    }
    let (_, findings) = get(
        &s,
        &admin,
        "/api/v1/network/findings?invariant=cross_tenant_path",
    )
    .await;
    // The firewalls now stand on the path: SSH is refused by them, HTTPS is approved.
    assert_eq!(findings["total"], json!(0), "{findings}");

    // The policy-change log: each tenant sees its own firewall change and what it did.
    let (status, log_a) = get(&s, &tenant_a, "/api/v1/network/changes").await;
    assert_eq!(status, StatusCode::OK, "{log_a}");
    let rows = log_a["changes"].as_array().expect("rows");
    assert!(!rows.is_empty(), "{log_a}");
    assert!(
        rows.iter()
            .all(|row| row["tenant_id"] == json!(s.tenants[0])),
        "{log_a}"
    );
    assert!(
        rows.iter().any(|row| row["kind"] == "firewall_rule"),
        "{log_a}"
    );
    let page = super::console_get(&s.router, "/console/network/changes", &tenant_a).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("firewall_rule"), "{}", page.text);
    let (_, log_all) = get(&s, &admin, "/api/v1/network/changes").await;
    let closing = log_all["changes"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|row| row["kind"] == "firewall_rule" && row["tenant_id"] == json!(s.tenants[1]))
        .cloned()
        .expect("tenant B's firewall change");
    // A's firewall, first on the path, already refused SSH; B's closed the HTTPS gap.
    assert_eq!(closing["disappeared"], json!(1), "{closing}");
    assert_eq!(
        closing["detail"]["disappeared"][0]["ports"], "tcp/443",
        "{closing}"
    );
    let opening = rows
        .iter()
        .find(|row| row["kind"] == "firewall_rule")
        .expect("A's firewall change");
    assert_eq!(
        opening["detail"]["disappeared"][0]["ports"], "tcp/22",
        "{opening}"
    );
    let provider_operator = member(
        &s,
        "net-op",
        "provider_operator",
        json!({"provider_id": provider}),
    )
    .await;
    let (status, _) = get(&s, &provider_operator, "/api/v1/network/changes").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad input: a stable code naming the field.
    let (status, bad) = post(
        &s,
        &admin,
        "/api/v1/network/query",
        json!({"from": "vm:x", "to": "vm:1", "protocol": "tcp", "port": 22}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["fields"][0]["field"], "from", "{bad}");
    let (status, _) = post(
        &s,
        &admin,
        "/api/v1/network/query",
        json!({"from": format!("vm:{vm_a}"), "to": format!("vm:{vm_b}"), "protocol": "any", "port": 22}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = get(&s, &admin, "/api/v1/network/findings?invariant=nonsense").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = post(
        &s,
        &admin,
        "/api/v1/network/what-if",
        json!({"kind": "tenant", "id": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
