//! The event centre over HTTP: a provider's integration sends its devices' lines in a
//! signed batch; the rules raise a graded incident; each party reads its own scope;
//! a tenant cannot push; rules are tested through the API; the intake counters reach
//! /metrics; the handling report downloads with its SM3.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::access::{member, provider_id};
use super::signed::{make_key, signed_request};
use super::{api, login, send, server, step_up};

#[tokio::test]
async fn a_signed_batch_of_device_lines_becomes_an_incident_read_in_each_scope() {
    let s = server().await;
    let provider = provider_id(&s).await;
    let operator = member(
        &s,
        "soc-op",
        "provider_operator",
        json!({"provider_id": provider}),
    )
    .await;
    step_up(&s.door, "soc-op", &operator).await;
    let key = make_key(&s, &operator).await;
    let lines: Vec<String> = (0..12)
        .map(|n| format!("<38>Nov 24 10:00:{n:02} web-01 sshd[2211]: Failed password for invalid user admin{n} from 203.0.113.7 port {} ssh2", 50_000 + n))
        .collect();
    let body = json!({"format": "syslog", "lines": lines}).to_string();
    let pushed = send(
        &s.router,
        signed_request(
            &s,
            &key,
            Method::POST,
            "/api/v1/events/batches",
            body.as_bytes(),
            body.as_bytes(),
            0,
            "events-nonce-0001-abcdef",
        ),
    )
    .await;
    assert_eq!(pushed.status, StatusCode::ACCEPTED, "{}", pushed.text);
    let summary = pushed.json();
    assert_eq!(summary["events"], json!(12));
    assert_eq!(summary["decoded"], json!(12));
    assert_eq!(summary["alerts"], json!(1), "{summary}");
    assert_eq!(summary["incidents_opened"], json!(1));

    // A tenant does not push events; the refusal is an error naming no internals.
    let tenant = member(
        &s,
        "soc-tenant",
        "tenant_admin",
        json!({"tenant_id": s.tenants[0]}),
    )
    .await;
    let refused = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/events/batches",
            Some(&tenant),
            Some(json!({"format": "syslog", "lines": ["x"]})),
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    // Bad input: not a list of strings.
    let bad = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/events/batches",
            Some(&operator),
            Some(json!({"format": "syslog", "lines": [1, 2]})),
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);

    // The security administrator sees the events and the incident.
    let secadmin = login(&s.door, "secadmin", &s.secadmin_password).await;
    let events = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/events?detector=openssh.failed",
            Some(&secadmin),
            None,
        ),
    )
    .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text);
    let found = events.json()["events"].as_array().expect("events").clone();
    assert_eq!(found.len(), 12);
    assert_eq!(found[0]["provider_id"], json!(provider));
    assert_eq!(found[0]["gbz2007"], json!("NAI/ONAI"));
    let incidents = send(
        &s.router,
        api(
            Method::GET,
            "/api/v1/incidents?open=true",
            Some(&secadmin),
            None,
        ),
    )
    .await
    .json();
    let incident = incidents["incidents"][0].clone();
    assert_eq!(incident["title"], json!("SSH brute force"));
    assert_eq!(incident["gbt2023"], json!("NA/NACRED"));
    assert_eq!(incident["assignee"], json!("provider"));
    let id = incident["id"].as_i64().expect("id");
    // The provider reads its own; a tenant it does not concern reads nothing.
    let own = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&operator),
            None,
        ),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert!(own.json()["timeline"].as_array().expect("timeline").len() >= 2);
    let hidden = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/incidents/{id}"),
            Some(&tenant),
            None,
        ),
    )
    .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let tenant_events = send(
        &s.router,
        api(Method::GET, "/api/v1/events", Some(&tenant), None),
    )
    .await
    .json();
    assert_eq!(tenant_events["events"], json!([]));
    // The provider handles it; the security administrator re-grades it.
    let moved = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/incidents/{id}/phase"),
            Some(&operator),
            Some(json!({"phase": "assessing", "note": "来源已在边界封禁"})),
        ),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let regraded = send(
        &s.router,
        api(
            Method::POST,
            &format!("/api/v1/incidents/{id}/grade"),
            Some(&secadmin),
            Some(json!({"importance": "important", "loss": "serious", "impact": "ordinary", "reason": "涉及身份认证系统"})),
        ),
    )
    .await;
    assert_eq!(regraded.status, StatusCode::OK, "{}", regraded.text);
    assert_eq!(regraded.json()["grade"], json!("III"));
    let report = send(
        &s.router,
        api(
            Method::GET,
            &format!("/api/v1/incidents/{id}/report?format=json"),
            Some(&secadmin),
            None,
        ),
    )
    .await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.headers.contains_key("x-yunjian-sm3"));
    assert!(report.text.contains("涉及身份认证系统"));

    // A rule tested against samples through the API.
    let tested = send(
        &s.router,
        api(
            Method::POST,
            "/api/v1/detection-rules/test",
            Some(&secadmin),
            Some(json!({"yaml": "", "samples": [
                {"format": "syslog", "line": "<131>Nov 24 10:00:00 av-01 clamd[1]: /srv/a.doc: Doc.Dropper.Agent-1 FOUND"}
            ]})),
        ),
    )
    .await;
    assert_eq!(tested.status, StatusCode::OK, "{}", tested.text);
    assert_eq!(
        tested.json()["hits"][0]["rule_id"],
        json!("yunjian-malware")
    );

    // The intake counters reach /metrics.
    let metrics = send(&s.router, api(Method::GET, "/metrics", None, None)).await;
    assert!(
        metrics
            .text
            .contains("yunjian_events_total{stage=\"stored\"} 12"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.trim_end().ends_with("# EOF"));
}
