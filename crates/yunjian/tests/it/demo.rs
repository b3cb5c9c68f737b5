use std::collections::{BTreeSet, HashSet};
use std::process::Command;

use serde_json::{json, Value};

use crate::{binary, Demo};

async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    login_with(client, base, username, password, None).await
}

/// Login with the account's second factor when it has one: the code computed from the
/// demo's `totp_secret`, as a tester would with oathtool.
async fn login_with(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
    totp_secret: Option<&str>,
) -> String {
    let mut body = json!({"username": username, "password": password});
    if let Some(secret) = totp_secret {
        let unix = std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .expect("clock")
            .as_secs();
        body["totp"] = json!(yunjian_gm::Totp::from_base32(secret)
            .expect("base32")
            .code_at(unix));
    }
    let answer: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login answers")
        .json()
        .await
        .expect("JSON");
    answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login failed: {answer}"))
        .to_owned()
}

/// The "done when", against the real binary over TCP: the demo serves the whole
/// simulated cloud, unauthenticated calls get 401, a tenant administrator cannot read
/// another tenant's VPC, a classified system is refused.
#[tokio::test]
async fn the_demo_serves_a_realistic_cloud_and_enforces_the_rules() {
    let demo = Demo::start().await;
    let client = reqwest::Client::new();
    let base = &demo.base;

    // One account per role, tenant administrators of two different tenants.
    let roles: BTreeSet<&str> = demo
        .accounts
        .iter()
        .filter_map(|a| a["role"].as_str())
        .collect();
    assert_eq!(
        roles,
        BTreeSet::from([
            "auditor",
            "provider_operator",
            "security_admin",
            "security_auditor",
            "supervisor",
            "system_admin",
            "tenant_admin"
        ])
    );
    let tenant_admins: Vec<&Value> = demo
        .accounts
        .iter()
        .filter(|a| a["role"] == "tenant_admin")
        .collect();
    let tenants: HashSet<String> = tenant_admins
        .iter()
        .map(|a| a["tenant"].to_string())
        .collect();
    assert!(
        tenant_admins.len() >= 2 && tenants.len() >= 2,
        "{tenant_admins:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(demo.data.path().join("demo-accounts.json"))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the accounts file is private");
    }

    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
    assert_eq!(
        client
            .get(format!("{base}/api/v1/vpcs"))
            .send()
            .await
            .expect("vpcs")
            .status(),
        401
    );

    let (username, password) = demo.account("supervisor");
    let supervisor = login(&client, base, &username, &password).await;
    let overview: Value = client
        .get(format!("{base}/api/v1/overview"))
        .bearer_auth(&supervisor)
        .send()
        .await
        .expect("overview")
        .json()
        .await
        .expect("json");
    assert_eq!(overview["totals"]["vms"], json!(5000));
    assert_eq!(overview["totals"]["providers"], json!(3));
    assert_eq!(overview["totals"]["tenants"], json!(40));
    assert_eq!(overview["vpcs_by_zone"].as_array().map(Vec::len), Some(2));
    let levels: Vec<&str> = overview["systems_by_mlps_level"]
        .as_array()
        .expect("levels")
        .iter()
        .filter_map(|l| l["key"].as_str())
        .collect();
    assert_eq!(levels, ["2", "3"]);

    // Tenant isolation: each tenant administrator reads its VPCs and not the other's.
    // Tenant administrators come with a second factor: without the code, login asks for it.
    let asked: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": tenant_admins[0]["username"], "password": tenant_admins[0]["password"]}))
        .send()
        .await
        .expect("login answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(asked["error"]["code"], "totp_required", "{asked}");
    let first_token = login_with(
        &client,
        base,
        tenant_admins[0]["username"].as_str().expect("name"),
        tenant_admins[0]["password"].as_str().expect("pw"),
        tenant_admins[0]["totp_secret"].as_str(),
    )
    .await;
    let second_token = login_with(
        &client,
        base,
        tenant_admins[1]["username"].as_str().expect("name"),
        tenant_admins[1]["password"].as_str().expect("pw"),
        tenant_admins[1]["totp_secret"].as_str(),
    )
    .await;
    let second_vpcs: Value = client
        .get(format!("{base}/api/v1/vpcs"))
        .bearer_auth(&second_token)
        .send()
        .await
        .expect("vpcs")
        .json()
        .await
        .expect("json");
    let foreign_vpc = second_vpcs["items"][0]["id"]
        .as_i64()
        .expect("the second tenant has a VPC");
    let answer = client
        .get(format!("{base}/api/v1/vpcs/{foreign_vpc}"))
        .bearer_auth(&first_token)
        .send()
        .await
        .expect("vpc");
    assert_eq!(answer.status(), 404);
    let own = client
        .get(format!("{base}/api/v1/vpcs/{foreign_vpc}"))
        .bearer_auth(&second_token)
        .send()
        .await
        .expect("vpc");
    assert_eq!(own.status(), 200);

    // An API key made right after the login with a code (which counts as a step-up),
    // used by `yunjian api` to sign a request: the key acts as the tenant administrator.
    let key: Value = client
        .post(format!("{base}/api/v1/auth/api-keys"))
        .bearer_auth(&second_token)
        .json(&json!({"label": "monitoring"}))
        .send()
        .await
        .expect("api key")
        .json()
        .await
        .expect("json");
    let secret = key["secret"].as_str().unwrap_or_else(|| panic!("{key}"));
    let signed = Command::new(binary())
        .args(["api", "GET", "/api/v1/vpcs?per_page=5", "--url", base])
        .args(["--key-id", key["access_key_id"].as_str().expect("id")])
        .env("YUNJIAN_API_SECRET", secret)
        .output()
        .expect("yunjian api runs");
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let listed: Value = serde_json::from_slice(&signed.stdout).expect("JSON on stdout");
    assert_eq!(
        listed["items"][0]["id"], second_vpcs["items"][0]["id"],
        "{listed}"
    );
    let wrong = Command::new(binary())
        .args(["api", "GET", "/api/v1/vpcs", "--url", base])
        .args(["--key-id", key["access_key_id"].as_str().expect("id")])
        .env("YUNJIAN_API_SECRET", "not-the-secret")
        .output()
        .expect("yunjian api runs");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("unauthenticated"));

    // A classified system is refused, with the clause named.
    let tenant_id = tenant_admins[0]["tenant_id"].as_i64().expect("tenant id");
    let refused = client
        .post(format!("{base}/api/v1/information_systems"))
        .bearer_auth(&first_token)
        .json(&json!({"tenant_id": tenant_id, "name": "涉密测试", "classification": "classified", "mlps_level": 3,
                      "sensitivity": "sensitive", "importance": "critical", "service_model": "iaas", "deployment_model": "dedicated"}))
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(
        body["error"]["fields"][0]["code"],
        json!("classified_system_refused")
    );

    // The console is served, in Chinese by default.
    let login_page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("text");
    assert!(login_page.contains("政务云监管系统"));
}

#[test]
fn admin_init_creates_the_three_separated_administrators_once() {
    let data = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        let mut command = Command::new(binary());
        command.args(args).arg("--data").arg(data.path());
        command.output().expect("the binary runs")
    };
    let migrated = run(&["migrate"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let first = run(&["admin", "init"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = String::from_utf8_lossy(&first.stdout);
    for role in ["system_admin", "security_admin", "security_auditor"] {
        assert!(text.contains(role), "{text}");
    }
    let second = run(&["admin", "init"]);
    assert!(!second.status.success(), "admin init runs once");
    assert!(String::from_utf8_lossy(&second.stderr).contains("already exist"));
}

#[test]
fn config_example_prints_a_file_that_serve_accepts_and_help_is_complete() {
    let output = Command::new(binary())
        .args(["config", "example"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        text.contains("[server]")
            && text.contains("[store]")
            && text.contains("YUNJIAN_DATABASE_URL")
    );
    let help = Command::new(binary()).arg("--help").output().expect("runs");
    let help = String::from_utf8_lossy(&help.stdout);
    for command in ["serve", "demo", "admin", "config", "migrate"] {
        assert!(help.contains(command), "{help}");
    }
    let bad = Command::new(binary())
        .args(["serve", "--config", "/nonexistent/yunjian.toml"])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot read the configuration file"));
}

/// `serve` over a migrated, initialised store: JSON log lines on stderr (with the bound
/// address), answers over TCP, and on SIGTERM finishes and exits 0.
#[tokio::test]
async fn serve_logs_json_and_stops_gracefully_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let data = tempfile::tempdir().expect("temp dir");
    let init = Command::new(binary())
        .args(["admin", "init", "--data"])
        .arg(data.path())
        .output()
        .expect("runs");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut child = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .env_remove("YUNJIAN_LOG_FORMAT")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, receiver) = std::sync::mpsc::channel::<Value>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let parsed: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
            let _ = sender.send(parsed);
        }
    });
    let address = loop {
        let line = receiver
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("serve logs its address");
        if line["message"] == "serving" {
            break line["address"].as_str().expect("address").to_owned();
        }
    };
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let login = client
        .post(format!("http://{address}/api/v1/auth/login"))
        .json(&json!({"username": "sysadmin", "password": "not-the-password"}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 401);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("serve exits");
    assert!(
        status.success(),
        "serve exits 0 after SIGTERM, not {status}"
    );
    reader.join().expect("every log line was JSON");
    let messages: Vec<String> = receiver
        .try_iter()
        .filter_map(|line| line["message"].as_str().map(str::to_owned))
        .collect();
    assert!(
        messages.iter().any(|m| m == "shutting down") && messages.iter().any(|m| m == "stopped"),
        "{messages:?}"
    );
    assert!(
        !messages.iter().any(|m| m.contains("not-the-password")),
        "secrets never reach the log"
    );
}

/// Running the demo again replaces the previous demo database; a database that is not a
/// demo's is never touched.
#[test]
fn the_demo_replaces_only_its_own_database() {
    let data = tempfile::tempdir().expect("temp dir");
    let demo = |dir: &std::path::Path| {
        Command::new(binary())
            .args(["demo", "--no-serve", "--seed", "7", "--data"])
            .arg(dir)
            .output()
            .expect("runs")
    };
    for _ in 0..2 {
        let run = demo(data.path());
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let real = tempfile::tempdir().expect("temp dir");
    let migrated = Command::new(binary())
        .args(["migrate", "--data"])
        .arg(real.path())
        .output()
        .expect("runs");
    assert!(migrated.status.success());
    let refused = demo(real.path());
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a demo"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // Nothing was loaded or written beside it, and the database is still there.
    assert!(real.path().join("yunjian.db").exists());
    assert!(!real.path().join("demo-accounts.json").exists());
    let again = Command::new(binary())
        .args(["admin", "init", "--data"])
        .arg(real.path())
        .output()
        .expect("runs");
    assert!(
        again.status.success(),
        "the untouched store has no accounts yet: {}",
        String::from_utf8_lossy(&again.stderr)
    );
}
