//! The "done when", against the real binary: the demo's planted findings show up
//! with the right party to act, every clause of the guide has a platform result, a PDF
//! report in Chinese reads back in a real PDF reader, and an evidence package verifies
//! offline with `yunjian evidence verify` and fails when altered.

use std::process::Command;

use serde_json::Value;

use crate::{binary, Demo};

async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let answer: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
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

#[tokio::test]
async fn the_demo_findings_reports_and_evidence_packages() {
    let demo = Demo::start().await;
    let client = reqwest::Client::new();
    let base = &demo.base;
    // The supervisor (the management unit) needs no second factor.
    let (username, password) = demo.account("supervisor");
    let token = login(&client, base, &username, &password).await;
    let get = |path: String| {
        let client = client.clone();
        let token = token.clone();
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
            response.bytes().await.expect("body").to_vec()
        }
    };
    // The demo ran every control when it loaded.
    let results: Value =
        serde_json::from_slice(&get("/api/v1/compliance/results?limit=10000".into()).await)
            .expect("JSON");
    let items = results["items"].as_array().expect("items");
    let find = |clause: &str, kind: &str, status: &str| {
        items
            .iter()
            .filter(|row| {
                row["clause"] == clause && row["scope_kind"] == kind && row["status"] == status
            })
            .cloned()
            .collect::<Vec<Value>>()
    };
    // Single carrier (7.2.2.2) and the expired platform assessment (7.1.11): providers act.
    // And a stale temporary privilege, renewed back to back past three months (7.5.3.5).
    for clause in ["7.2.2.2", "7.1.11", "7.1.2", "7.5.3.5"] {
        let rows = find(clause, "provider", "FAIL");
        assert!(!rows.is_empty(), "{clause}");
        assert!(
            rows.iter().all(|row| row["must_act"] == "provider"),
            "{clause}: {rows:?}"
        );
    }
    // Security groups open to the world (7.2.3.1): tenants act.
    // Where the tenant's own rules fail, the tenant must act (the provider may also
    // have its part of the same clause open).
    let rows: Vec<Value> = find("7.2.3.1", "tenant", "FAIL")
        .into_iter()
        .filter(|row| {
            row["detail"]["outcomes"]
                .as_array()
                .is_some_and(|outcomes| {
                    outcomes.iter().any(|outcome| {
                        outcome["control"] == "network.security_group_exposure"
                            && outcome["verdict"] == "FAIL"
                    })
                })
        })
        .collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|row| row["must_act"].as_str().expect("party").contains("tenant")),
        "{rows:?}"
    );
    // The stale restore test (7.5.6.3) of a system.
    assert!(!find("7.5.6.3", "system", "FAIL").is_empty());
    // Every clause of the guide has a platform result.
    let catalog: Value =
        serde_json::from_slice(&get("/api/v1/compliance/catalog?source=guide".into()).await)
            .expect("JSON");
    let platform: Vec<&Value> = items
        .iter()
        .filter(|row| row["scope_kind"] == "platform")
        .collect();
    assert_eq!(
        platform.len(),
        catalog["clauses"].as_array().expect("clauses").len()
    );

    // A PDF report in Chinese reads correctly.
    let pdf = get("/api/v1/compliance/reports/compliance?scope=platform&format=pdf".into()).await;
    let dir = tempfile::tempdir().expect("tmp");
    let pdf_path = dir.path().join("platform.pdf");
    std::fs::write(&pdf_path, &pdf).expect("write");
    let text = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&pdf_path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let text: String = String::from_utf8(text.stdout)
        .expect("utf-8")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(text.contains("政务云安全合规报告"), "{text}");
    assert!(
        text.contains("应当接入两家以上运营商")
            || text.contains("政务云平台应当接入两家以上运营商的网络"),
        "{}",
        &text[..text.len().min(2000)]
    );

    // An evidence package verifies offline with the deployment's key, and not once altered.
    let package = get("/api/v1/compliance/evidence-package/compliance?scope=platform".into()).await;
    let package_path = dir.path().join("package.tar");
    std::fs::write(&package_path, &package).expect("write");
    let key = demo.data.path().join("ledger-public-key.txt");
    let verify = |path: &std::path::Path| {
        Command::new(binary())
            .args(["evidence", "verify"])
            .arg(path)
            .arg("--public-key")
            .arg(&key)
            .output()
            .expect("runs")
    };
    let ok = verify(&package_path);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK "));
    let mut altered = package.clone();
    let at = altered
        .windows(7)
        .position(|w| w == b"7.2.2.2")
        .expect("a clause in the package");
    altered[at + 6] = b'9';
    let altered_path = dir.path().join("altered.tar");
    std::fs::write(&altered_path, &altered).expect("write");
    let failed = verify(&altered_path);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("FAILED"));
}
