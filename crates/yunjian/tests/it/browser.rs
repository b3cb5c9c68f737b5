//! The console in a real browser: headless Chromium driven through chromedriver.
//! Runs when `YUNJIAN_BROWSER_TESTS=1` (scripts/test installs Chromium and sets it);
//! when set, a missing browser is a failure, not a skip.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::Demo;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn screenshot(client: &fantoccini::Client, name: &str) {
    if let Ok(dir) = std::env::var("YUNJIAN_SCREENSHOT_DIR") {
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png)
            .expect("write screenshot");
    }
}

#[tokio::test]
async fn a_supervisor_logs_in_and_browses_the_overview_and_a_detail_page() {
    if std::env::var("YUNJIAN_BROWSER_TESTS").as_deref() != Ok("1") {
        eprintln!("browser test not selected (scripts/test sets YUNJIAN_BROWSER_TESTS=1)");
        return;
    }
    let demo = Demo::start().await;
    let port = free_port();
    let driver = Driver(
        Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed"),
    );
    let profile = tempfile::tempdir().expect("profile dir");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--window-size=1400,1000", format!("--user-data-dir={}", profile.path().display())],
        }),
    );
    // Two rustls crypto providers are compiled in (reqwest's ring for `yunjian api`,
    // fantoccini's aws-lc-rs); pick one for this process, as rustls asks.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // chromedriver takes a moment to listen; retry the session for a bounded time.
    let mut client = None;
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .expect("tls roots")
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(connected) => {
                client = Some(connected);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let client = client.expect("a browser session starts");
    let (username, password) = demo.account("supervisor");

    client
        .goto(&format!("{}/console", demo.base))
        .await
        .expect("open the console");
    assert!(
        client
            .current_url()
            .await
            .expect("url")
            .path()
            .starts_with("/login"),
        "anonymous users go to the login page"
    );
    client
        .find(Locator::Css("#username"))
        .await
        .expect("username field")
        .send_keys(&username)
        .await
        .expect("type");
    client
        .find(Locator::Css("#password"))
        .await
        .expect("password field")
        .send_keys(&password)
        .await
        .expect("type");
    client
        .find(Locator::Css("#login"))
        .await
        .expect("login button")
        .click()
        .await
        .expect("click");

    let heading = client
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("overview heading");
    assert_eq!(heading.text().await.expect("text"), "概览");
    let body = client
        .find(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    for expected in [
        "各云服务商云主机数",
        "各网络区域VPC数",
        "信息系统等保等级分布",
        "政务外网区",
        "互联网区",
    ] {
        assert!(body.contains(expected), "overview lacks {expected}");
    }
    screenshot(&client, "overview").await;

    client
        .goto(&format!("{}/console/datacenters", demo.base))
        .await
        .expect("datacenters");
    let first = client
        .wait()
        .for_element(Locator::Css("#list tbody tr td a"))
        .await
        .expect("a datacenter row");
    first.click().await.expect("open the datacenter");
    let detail = client
        .wait()
        .for_element(Locator::Css("#detail"))
        .await
        .expect("detail page");
    let text = detail.text().await.expect("text");
    assert!(
        text.contains("接入运营商") && text.contains("纬度"),
        "{text}"
    );
    screenshot(&client, "datacenter").await;

    client
        .goto(&format!("{}/console/vms?q=web", demo.base))
        .await
        .expect("vms");
    client
        .wait()
        .for_element(Locator::Css("#list"))
        .await
        .expect("vm list");
    screenshot(&client, "vms").await;

    // A creation form, with the same fields the API validates.
    // (The supervisor registers datacenters; subnets are the providers' to build.)
    client
        .goto(&format!("{}/console/datacenters/new", demo.base))
        .await
        .expect("new datacenter form");
    let form = client
        .wait()
        .for_element(Locator::Css("#object-form"))
        .await
        .expect("form");
    let text = form.text().await.expect("text");
    assert!(
        text.contains("接入运营商") && text.contains("纬度"),
        "{text}"
    );
    screenshot(&client, "datacenter-form").await;

    // The language switch keeps the user on the page and changes every label.
    client
        .goto(&format!("{}/console", demo.base))
        .await
        .expect("overview");
    client
        .find(Locator::LinkText("English"))
        .await
        .expect("English link")
        .click()
        .await
        .expect("switch");
    let heading = client
        .wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("heading");
    assert_eq!(heading.text().await.expect("text"), "Overview");
    screenshot(&client, "overview-en").await;

    // The audit page: the records, the signed checkpoint, and "verify" (a CSRF-protected
    // form) re-checks the whole stored ledger.
    client
        .goto(&format!("{}/console/audit", demo.base))
        .await
        .expect("audit page");
    let checkpoint = client
        .wait()
        .for_element(Locator::Css("#checkpoint"))
        .await
        .expect("the current checkpoint");
    assert!(
        checkpoint.text().await.expect("text").contains("\u{2014} "),
        "a signed note"
    );
    let rows = client
        .find_all(Locator::Css("#audit tbody tr"))
        .await
        .expect("records");
    assert!(!rows.is_empty(), "the demo's own actions are on record");
    screenshot(&client, "audit").await;
    client
        .find(Locator::Css("#verify"))
        .await
        .expect("verify button")
        .click()
        .await
        .expect("click");
    let verdict = client
        .wait()
        .for_element(Locator::Css("#verified"))
        .await
        .expect("verification result");
    assert!(
        verdict.text().await.expect("text").starts_with("Verified"),
        "the stored ledger verifies"
    );
    screenshot(&client, "audit-verified").await;
    // The management unit oversees tenant authorizations, temporary privileges and
    // security events: the pages render their tables in the browser.
    for (path, table) in [
        ("/console/authorizations", "#authorizations"),
        ("/console/privileges", "#privileges"),
        ("/console/events", "#events"),
    ] {
        client
            .goto(&format!("{}{path}", demo.base))
            .await
            .expect("page");
        client
            .find(Locator::Css(table))
            .await
            .unwrap_or_else(|_| panic!("{path} shows {table}"));
    }
    screenshot(&client, "events").await;

    // Compliance (the console is in English now): the dashboard of the platform with
    // its trend, every clause in the catalog, a finding's evidence, evidence upload and
    // a waiver request through the CSRF-protected forms.
    client
        .goto(&format!("{}/console/compliance", demo.base))
        .await
        .expect("compliance");
    let counts = client
        .wait()
        .for_element(Locator::Css("#counts"))
        .await
        .expect("the run's counts");
    assert!(counts.text().await.expect("text").contains("FAIL"));
    client
        .find(Locator::Css("#trend"))
        .await
        .expect("the trend chart");
    // Who must act: providers and tenants both have open results in the demo.
    for party in ["provider", "tenant"] {
        client
            .find(Locator::Css(&format!("#acting tr[data-party={party}]")))
            .await
            .unwrap_or_else(|_| panic!("{party} has open results"));
    }
    let rows = client
        .find_all(Locator::Css("#results tbody tr"))
        .await
        .expect("results");
    assert!(
        rows.len() > 170,
        "every clause of the platform: {}",
        rows.len()
    );
    screenshot(&client, "compliance").await;
    client
        .goto(&format!("{}/console/compliance?status=FAIL", demo.base))
        .await
        .expect("filtered");
    for row in client
        .find_all(Locator::Css("#results tbody tr"))
        .await
        .expect("rows")
    {
        assert_eq!(
            row.attr("data-status").await.expect("attr").as_deref(),
            Some("FAIL")
        );
    }
    client
        .goto(&format!("{}/console/compliance/catalog", demo.base))
        .await
        .expect("catalog");
    let clauses = client
        .find_all(Locator::Css("#catalog tr[data-clause]"))
        .await
        .expect("clauses");
    assert_eq!(clauses.len(), 179);
    screenshot(&client, "compliance-catalog").await;
    client
        .goto(&format!("{}/console/compliance/clauses/7.2.2.2", demo.base))
        .await
        .expect("clause");
    let results = client
        .wait()
        .for_element(Locator::Css("#clause-results"))
        .await
        .expect("results of the clause")
        .text()
        .await
        .expect("text");
    assert!(results.contains("FAIL"), "{results}");
    // The evidence behind the failing provider's finding sits in a closed <details>.
    client
        .find(Locator::Css(
            "#clause-results tr[data-scope='provider:3'] details summary",
        ))
        .await
        .expect("evidence summary")
        .click()
        .await
        .expect("open");
    let opened = client
        .find(Locator::Css("#clause-results"))
        .await
        .expect("results")
        .text()
        .await
        .expect("text");
    assert!(opened.contains("china_telecom"), "{opened}");
    screenshot(&client, "compliance-clause").await;
    // Evidence for a management-unit clause, uploaded as a file.
    let file = profile.path().join("emergency-plan.pdf");
    std::fs::write(&file, b"%PDF-1.7 plan").expect("write");
    client
        .goto(&format!(
            "{}/console/compliance/clauses/8.2.3?scope=platform",
            demo.base
        ))
        .await
        .expect("clause 8.2.3");
    client
        .wait()
        .for_element(Locator::Css("#e-file"))
        .await
        .expect("file input")
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    client
        .find(Locator::Css("#evidence-form button[type=submit]"))
        .await
        .expect("upload button")
        .click()
        .await
        .expect("upload");
    let notice = client
        .wait()
        .for_element(Locator::Css(".alert.ok"))
        .await
        .expect("uploaded");
    assert!(notice.text().await.expect("text").contains("second person"));
    let evidence = client
        .find(Locator::Css("#clause-evidence"))
        .await
        .expect("evidence table")
        .text()
        .await
        .expect("text");
    assert!(
        evidence.contains("emergency-plan.pdf") && evidence.contains("submitted"),
        "{evidence}"
    );
    // A waiver request for the same clause.
    client
        .find(Locator::Css("#w-justification"))
        .await
        .expect("justification")
        .send_keys("The plan is being revised; the new version is due in two months.")
        .await
        .expect("type");
    client
        .find(Locator::Css("#waiver-form button[type=submit]"))
        .await
        .expect("request button")
        .click()
        .await
        .expect("request");
    client
        .wait()
        .for_element(Locator::Css(".alert.ok"))
        .await
        .expect("requested");
    // The notice may be the previous page's (the evidence upload's) while the request
    // is still on its way: look at the waivers page until the request shows, bounded.
    let mut waivers = Vec::new();
    for _ in 0..50 {
        client
            .goto(&format!("{}/console/compliance/waivers", demo.base))
            .await
            .expect("waivers");
        waivers = client
            .find_all(Locator::Css("#waivers tbody tr[data-state=requested]"))
            .await
            .expect("waivers");
        if !waivers.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(waivers.len(), 1);
    for (path, table) in [
        ("/console/compliance/reports", "#reports"),
        ("/console/compliance/parameters", "#parameters"),
        ("/console/compliance/controls", "#builtin-controls"),
        ("/console/compliance/evidence", "#evidence"),
    ] {
        client
            .goto(&format!("{}{path}", demo.base))
            .await
            .expect("page");
        client
            .find(Locator::Css(table))
            .await
            .unwrap_or_else(|_| panic!("{path} shows {table}"));
    }
    screenshot(&client, "compliance-evidence").await;
    // Run again from the dashboard, then compare the two runs.
    client
        .goto(&format!("{}/console/compliance", demo.base))
        .await
        .expect("dashboard");
    client
        .find(Locator::Css("#run-now button"))
        .await
        .expect("run now")
        .click()
        .await
        .expect("run");
    client
        .wait()
        .for_element(Locator::Css(".alert.ok"))
        .await
        .expect("the run finished");
    client
        .goto(&format!("{}/console/compliance/reports", demo.base))
        .await
        .expect("reports");
    client
        .find(Locator::Css("#runs a[href^=\"/console/compliance/diff\"]"))
        .await
        .expect("a diff link")
        .click()
        .await
        .expect("open the diff");
    client
        .wait()
        .for_element(Locator::Css("#diff"))
        .await
        .expect("the differences");

    // The provider interface: connectors and syncs, the change history, the image
    // registry, usage charts (the demo's providers have synced at start-up).
    client
        .goto(&format!("{}/console/providers/sync", demo.base))
        .await
        .expect("syncs");
    let health = client
        .wait()
        .for_element(Locator::Css("#health tbody tr"))
        .await
        .expect("a connector's health")
        .text()
        .await
        .expect("text");
    assert!(!health.is_empty());
    assert!(client
        .find(Locator::Css("#syncs tbody tr[data-state=committed]"))
        .await
        .is_ok());
    screenshot(&client, "provider-sync").await;
    client
        .goto(&format!("{}/console/providers/changes", demo.base))
        .await
        .expect("changes");
    client
        .wait()
        .for_element(Locator::Css("h1"))
        .await
        .expect("the history");
    screenshot(&client, "provider-changes").await;
    client
        .goto(&format!("{}/console/providers/images", demo.base))
        .await
        .expect("registry");
    assert!(client
        .find(Locator::Css("#registry tbody tr[data-state=active]"))
        .await
        .is_ok());
    screenshot(&client, "provider-images").await;
    client
        .goto(&format!("{}/console/providers/usage", demo.base))
        .await
        .expect("usage");
    client
        .wait()
        .for_element(Locator::Css("figure.usage-chart svg rect"))
        .await
        .expect("a usage chart");
    screenshot(&client, "provider-usage").await;

    // The security event centre: the demo's pool has sent its first round of attacks.
    client
        .goto(&format!("{}/console/soc/incidents", demo.base))
        .await
        .expect("incidents");
    let card = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(
            "#incident-board .column[data-phase=reported] .incident-card a",
        ))
        .await
        .expect("an incident reported by the demo's rules");
    assert!(client.find(Locator::Css("#alerts tbody tr")).await.is_ok());
    screenshot(&client, "soc-incidents").await;
    card.click().await.expect("open the incident");
    let note = client
        .wait()
        .for_element(Locator::Css("#advance textarea[name=note]"))
        .await
        .expect("the workflow form");
    note.send_keys("已核实：来自境外扫描器，已在防火墙封禁")
        .await
        .expect("type");
    client
        .find(Locator::Css("#advance button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    // The answer page carries a notice; the form's page had none.
    client
        .wait()
        .for_element(Locator::Css(".alert.ok"))
        .await
        .expect("the phase moved");
    let phase = client
        .find(Locator::Css("#phase"))
        .await
        .expect("the phase")
        .text()
        .await
        .expect("text");
    assert!(phase.contains("评估和决策"), "{phase}");
    assert!(client
        .find(Locator::Css("#timeline li[data-kind=phase]"))
        .await
        .is_ok());
    screenshot(&client, "soc-incident").await;
    client
        .goto(&format!("{}/console/soc", demo.base))
        .await
        .expect("situation");
    client
        .wait()
        .for_element(Locator::Css("figure.tally svg rect"))
        .await
        .expect("a tally chart");
    assert!(client
        .find(Locator::Css("figure.series svg rect"))
        .await
        .is_ok());
    screenshot(&client, "soc-situation").await;
    client
        .goto(&format!(
            "{}/console/soc/events?detector=huawei_usg.session",
            demo.base
        ))
        .await
        .expect("event search");
    client
        .wait()
        .for_element(Locator::Css(
            "#events tbody tr[data-detector='huawei_usg.session']",
        ))
        .await
        .expect("firewall events");
    screenshot(&client, "soc-events").await;
    client
        .goto(&format!("{}/console/soc/rules", demo.base))
        .await
        .expect("rules");
    client
        .find(Locator::Css("#rule-form button[value=test]"))
        .await
        .expect("the test button")
        .click()
        .await
        .expect("click");
    let hits = client
        .wait()
        .for_element(Locator::Css("#rule-hits"))
        .await
        .expect("the test result")
        .text()
        .await
        .expect("text");
    assert!(hits.contains("cq-root-login"), "{hits}");
    screenshot(&client, "soc-rules").await;
    client
        .goto(&format!("{}/console/soc/sources", demo.base))
        .await
        .expect("sources");
    client
        .wait()
        .for_element(Locator::Css("#sources tbody tr"))
        .await
        .expect("the pool's devices");
    screenshot(&client, "soc-sources").await;

    // Network isolation: the planted peering's finding, its path drawn hop by hop, a
    // VPC's segmentation.
    client
        .goto(&format!(
            "{}/console/network?invariant=cross_tenant_path",
            demo.base
        ))
        .await
        .expect("network findings");
    let first = client
        .wait()
        .for_element(Locator::Css("#network-findings tbody tr"))
        .await
        .expect("the planted peering's finding")
        .text()
        .await
        .expect("text");
    assert!(first.contains("tcp/"), "{first}");
    screenshot(&client, "network-findings").await;
    client
        .find(Locator::Css("#network-findings a.path-link"))
        .await
        .expect("a path link")
        .click()
        .await
        .expect("click");
    client
        .wait()
        .for_element(Locator::Css("svg.path-svg rect"))
        .await
        .expect("the path drawn");
    let verdict = client
        .find(Locator::Css("#network-verdict"))
        .await
        .expect("the verdict")
        .text()
        .await
        .expect("text");
    assert!(
        verdict.contains("可达") || verdict.contains("Reachable"),
        "{verdict}"
    );
    screenshot(&client, "network-path").await;
    client
        .goto(&format!("{}/console/network/vpcs", demo.base))
        .await
        .expect("VPCs");
    client
        .find(Locator::Css("#network-vpcs a"))
        .await
        .expect("a VPC")
        .click()
        .await
        .expect("click");
    client
        .wait()
        .for_element(Locator::Css("#network-segmentation tbody tr"))
        .await
        .expect("the segmentation matrix");
    screenshot(&client, "network-segmentation").await;
    // The container cluster's planted namespace: other tenants' pods reach it.
    client
        .goto(&format!(
            "{}/console/network?invariant=container_cross_tenant",
            demo.base
        ))
        .await
        .expect("container findings");
    let row = client
        .wait()
        .for_element(Locator::Css("#network-findings tbody tr"))
        .await
        .expect("a container finding")
        .text()
        .await
        .expect("text");
    assert!(row.contains("cq-k8s-01") && row.contains("5.4.3"), "{row}");
    screenshot(&client, "network-containers").await;
    client.close().await.expect("close the browser");
    drop(driver);
}
