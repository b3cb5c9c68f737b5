//! Issue 6's "done when", against the real binary over TCP: the demo's three providers
//! sync (two push through the standard API, one is pulled from its OpenStack API),
//! changes appear in the history, a tampered image is caught, usage reports come out
//! per tenant; and `yunjian simulate` drives the push API with an API key.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{binary, Demo};

async fn login(client: &reqwest::Client, demo: &Demo, username: &str) -> String {
    let account = demo
        .accounts
        .iter()
        .find(|account| account["username"] == username)
        .unwrap_or_else(|| panic!("no demo account {username}"));
    let mut body = json!({"username": username, "password": account["password"]});
    if let Some(secret) = account["totp_secret"].as_str() {
        let unix = std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .expect("clock")
            .as_secs();
        body["totp"] = json!(yunjian_gm::Totp::from_base32(secret)
            .expect("base32")
            .code_at(unix));
    }
    let answer: Value = client
        .post(format!("{}/api/v1/auth/login", demo.base))
        .json(&body)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("JSON");
    answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

async fn get(client: &reqwest::Client, demo: &Demo, token: &str, path: &str) -> Value {
    let response = client
        .get(format!("{}{path}", demo.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("answer");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn the_demo_providers_sync_live_and_simulate_pushes_with_a_key() {
    let demo = Demo::start_with(&[("YUNJIAN_DEMO_ROUND_SECONDS", "2")]).await;
    let client = reqwest::Client::new();
    let supervisor = login(&client, &demo, "supervisor").await;

    // Pushes and the pull commit; rounds change VMs; the third round tampers an image.
    let started = Instant::now();
    let (syncs, events) = loop {
        let syncs = get(
            &client,
            &demo,
            &supervisor,
            "/api/v1/provider/syncs?limit=200",
        )
        .await;
        let events = get(&client, &demo, &supervisor, "/api/v1/security-events").await;
        let committed = |origin: &str| {
            syncs["syncs"]
                .as_array()
                .expect("syncs")
                .iter()
                .filter(|sync| sync["origin"] == origin && sync["state"] == "committed")
                .count()
        };
        if committed("pull") >= 1
            && committed("push") >= 6
            && events.to_string().contains("image.digest_changed")
        {
            break (syncs, events);
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{syncs}\n{events}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let providers: std::collections::BTreeSet<i64> = syncs["syncs"]
        .as_array()
        .expect("syncs")
        .iter()
        .filter_map(|sync| sync["provider_id"].as_i64())
        .collect();
    assert_eq!(providers.len(), 3, "{syncs}");
    assert!(events.to_string().contains("image.digest_changed"));
    let health = get(&client, &demo, &supervisor, "/api/v1/provider/health").await;
    let connectors: Vec<&str> = health["connectors"]
        .as_array()
        .expect("connectors")
        .iter()
        .filter_map(|record| record["connector"].as_str())
        .collect();
    assert!(
        connectors.contains(&"push")
            && connectors.iter().any(|name| name.starts_with("openstack:")),
        "{health}"
    );
    let changes = get(
        &client,
        &demo,
        &supervisor,
        "/api/v1/provider/changes?kind=vm&limit=50",
    )
    .await;
    let kinds: Vec<&str> = changes["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["change"].as_str())
        .collect();
    assert!(
        kinds.contains(&"changed") && kinds.contains(&"created"),
        "{changes}"
    );

    // A tenant's monthly usage report, and only its own.
    let tenant = demo
        .accounts
        .iter()
        .find(|account| account["role"] == "tenant_admin")
        .expect("tenant admin");
    let tenant_token = login(&client, &demo, tenant["username"].as_str().expect("name")).await;
    let own = tenant["tenant_id"].as_i64().expect("tenant id");
    let report = client
        .get(format!(
            "{}/api/v1/provider/usage-report?scope=tenant:{own}&format=csv",
            demo.base
        ))
        .bearer_auth(&tenant_token)
        .send()
        .await
        .expect("report");
    assert!(report.status().is_success(), "{}", report.status());
    let text = report.text().await.expect("csv");
    assert!(
        text.contains("vCPU") && text.contains("资源使用情况月报"),
        "{text}"
    );
    let other = client
        .get(format!(
            "{}/api/v1/provider/usage-report?scope=tenant:{}&format=csv",
            demo.base,
            own + 1
        ))
        .bearer_auth(&tenant_token)
        .send()
        .await
        .expect("report");
    assert!(other.status().is_client_error(), "{}", other.status());
    // The console pages render for the supervisor.
    for path in [
        "/console/providers/sync",
        "/console/providers/changes",
        "/console/providers/images",
        "/console/providers/usage",
    ] {
        let page = client
            .get(format!("{}{path}", demo.base))
            .header("cookie", format!("yj_session={supervisor}"))
            .send()
            .await
            .expect("page");
        assert!(page.status().is_success(), "{path}: {}", page.status());
        let html = page.text().await.expect("html");
        assert!(html.contains("<h1>"), "{path}");
    }

    // The provider's operator makes a key, and `yunjian simulate` pushes with it.
    let operator = login(&client, &demo, "provider1").await;
    let key: Value = client
        .post(format!("{}/api/v1/auth/api-keys", demo.base))
        .bearer_auth(&operator)
        .json(&json!({"label": "simulate"}))
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("JSON");
    let provider_name = syncs["syncs"].as_array().expect("syncs").len();
    assert!(provider_name > 0);
    let output = Command::new(binary())
        .args([
            "simulate",
            "--provider",
            "电信政务云",
            "--target",
            &demo.base,
            "--rounds",
            "2",
            "--interval",
            "0",
            "--changes",
            "--key",
        ])
        .arg(
            key["access_key_id"]
                .as_str()
                .unwrap_or_else(|| panic!("{key}")),
        )
        .env(
            "YUNJIAN_API_SECRET",
            key["secret"].as_str().expect("secret"),
        )
        .output()
        .expect("simulate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("round 2: sync"), "{stdout}");
    // A wrong secret: refused, and the command says so.
    let refused = Command::new(binary())
        .args([
            "simulate",
            "--provider",
            "电信政务云",
            "--target",
            &demo.base,
            "--key",
        ])
        .arg(key["access_key_id"].as_str().expect("id"))
        .env("YUNJIAN_API_SECRET", "not-the-secret")
        .output()
        .expect("simulate runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
