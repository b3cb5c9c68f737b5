//! The audit ledger through the real binary: `audit export` and the offline `audit
//! verify` (exit codes, tampering named, `--previous`), archives whose SM3 openssl
//! confirms, pruning refused inside retention, and the crash test: kill -9 under load,
//! then every acknowledged action is in a bundle that verifies against the last
//! checkpoint seen before the crash.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::binary;

/// Store arguments for the backend under test: SQLite in `data`, or a fresh PostgreSQL
/// database (the sealing key file still lives in `data`).
async fn store_args(data: &Path) -> Vec<String> {
    let mut args = vec!["--data".to_owned(), data.display().to_string()];
    if yunjian_testkit::postgres_selected() {
        args.push("--database-url".into());
        args.push(yunjian_testkit::fresh_postgres_database().await);
    }
    args
}

fn run(args: &[&str], store: &[String]) -> Output {
    Command::new(binary())
        .args(args)
        .args(store)
        .output()
        .expect("the binary runs")
}

fn run_plain(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// admin init; returns (sysadmin password, secauditor password, verifier key).
fn admin_init(store: &[String]) -> (String, String, String) {
    let text = ok(&run(&["admin", "init"], store));
    let password = |user: &str| {
        text.lines()
            .find(|line| line.starts_with(user))
            .and_then(|line| line.split_whitespace().nth(2))
            .unwrap_or_else(|| panic!("no password for {user} in {text}"))
            .to_owned()
    };
    let key = text
        .lines()
        .last()
        .expect("the key is printed last")
        .trim()
        .to_owned();
    assert!(key.contains('+'), "{key}");
    (password("sysadmin"), password("secauditor"), key)
}

/// Flips one byte of the first record's action in a bundle (same length, so the tar
/// stays readable): what an intruder editing an exported file would do.
fn tamper(bundle: &Path) {
    let mut bytes = std::fs::read(bundle).expect("read");
    let at = bytes
        .windows(10)
        .position(|window| window == b"\"action\":\"")
        .expect("a record")
        + 10;
    bytes[at] ^= 0x01;
    std::fs::write(bundle, bytes).expect("write");
}

#[tokio::test]
async fn exports_verify_offline_and_tampering_is_named_with_a_failing_exit() {
    let data = tempfile::tempdir().expect("dir");
    let store = store_args(data.path()).await;
    let (_, _, key) = admin_init(&store);
    let checkpoint = ok(&run(&["audit", "checkpoint"], &store));
    let (bundle, key_file, previous, verified) =
        export_and_verify(data.path(), &store, &key, &checkpoint);
    assert!(verified.starts_with("VERIFIED"), "{verified}");
    assert!(
        verified.contains("consistent with the previous checkpoint"),
        "{verified}"
    );
    assert!(!verified.contains("WARNING"));
    // Without the auditor's own key, it says whose key it trusted.
    let unkeyed = ok(&run_plain(&[
        "audit",
        "verify",
        bundle.to_str().expect("path"),
    ]));
    assert!(unkeyed.contains("WARNING"), "{unkeyed}");
    // A garbage previous checkpoint is refused with a failing exit.
    std::fs::write(&previous, "not a checkpoint\n").expect("write");
    let refused = run_plain(&[
        "audit",
        "verify",
        bundle.to_str().expect("path"),
        "--public-key",
        key_file.to_str().expect("path"),
        "--previous",
        previous.to_str().expect("path"),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    // One flipped byte in a record: exit 1, and the record is named.
    tamper(&bundle);
    let failed = run_plain(&[
        "audit",
        "verify",
        bundle.to_str().expect("path"),
        "--public-key",
        key_file.to_str().expect("path"),
    ]);
    assert_eq!(failed.status.code(), Some(1));
    let text = String::from_utf8_lossy(&failed.stdout);
    assert!(
        text.starts_with("FAILED") && text.contains("seq 0"),
        "{text}"
    );
    // A missing file is an error, not a pass.
    assert!(!run_plain(&["audit", "verify", "/nonexistent.tar"])
        .status
        .success());
}

#[tokio::test]
async fn archives_carry_an_sm3_digest_openssl_agrees_with_and_pruning_waits_for_retention() {
    let data = tempfile::tempdir().expect("dir");
    let store = store_args(data.path()).await;
    admin_init(&store);
    let out = data.path().join("archives");
    let tomorrow = "2200-01-01";
    let archived = ok(&run(
        &[
            "audit",
            "archive",
            "--before",
            tomorrow,
            "--out",
            out.to_str().expect("path"),
        ],
        &store,
    ));
    assert!(archived.contains("archive 1:"), "{archived}");
    let name = "yunjian-audit-archive-before-2200-01-01.tar";
    let sidecar = std::fs::read_to_string(out.join(format!("{name}.sm3"))).expect("digest file");
    let openssl = Command::new("openssl")
        .args(["dgst", "-sm3", "-r"])
        .arg(out.join(name))
        .output()
        .expect("openssl");
    let theirs = String::from_utf8_lossy(&openssl.stdout);
    assert_eq!(
        sidecar.split_whitespace().next(),
        theirs.split_whitespace().next(),
        "our SM3 of the archive equals openssl's"
    );
    ok(&run_plain(&[
        "audit",
        "verify",
        out.join(name).to_str().expect("path"),
    ]));
    // The records are minutes old: pruning them is refused, and they stay.
    let prune = run(&["audit", "prune", "--archive", "1"], &store);
    assert!(!prune.status.success());
    assert!(
        String::from_utf8_lossy(&prune.stderr).contains("retention"),
        "{}",
        String::from_utf8_lossy(&prune.stderr)
    );
    // Archiving the same range again finds nothing new, and never overwrites.
    let again = run(
        &[
            "audit",
            "archive",
            "--before",
            tomorrow,
            "--out",
            out.to_str().expect("path"),
        ],
        &store,
    );
    assert!(!again.status.success());
}

/// kill -9 while clients change the world and fail logins; afterwards every action the
/// server acknowledged is in the ledger, and the ledger verifies against the last signed
/// checkpoint a client saw before the crash.
#[tokio::test]
async fn kill_9_under_load_loses_no_acknowledged_action() {
    let data = tempfile::tempdir().expect("dir");
    let store = store_args(data.path()).await;
    let (password, auditor_password, key) = admin_init(&store);
    let config = data.path().join("yunjian.toml");
    std::fs::write(
        &config,
        "[audit]\ncheckpoint_records = 20\ncheckpoint_interval_seconds = 1\n",
    )
    .expect("config");
    let mut child = Command::new(binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
            config.to_str().expect("path"),
        ])
        .args(&store)
        .env("YUNJIAN_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, receiver) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                if value["message"] == "serving" {
                    let _ = sender.send(value["address"].as_str().unwrap_or("").to_owned());
                }
            }
        }
    });
    let address = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("serve logs its address");
    let base = format!("http://{address}");
    let client = reqwest::Client::new();
    let login = |user: &'static str, password: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let answer: Value = client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"username": user, "password": password}))
                .send()
                .await
                .expect("login")
                .json()
                .await
                .expect("json");
            answer["token"].as_str().expect("token").to_owned()
        }
    };
    let admin = login("sysadmin", password.clone()).await;
    let auditor = login("secauditor", auditor_password.clone()).await;
    // admin init's one-time passwords are changed at first login before anything else.
    for (token, current) in [(&admin, &password), (&auditor, &auditor_password)] {
        let changed = client
            .post(format!("{base}/api/v1/auth/password"))
            .bearer_auth(token)
            .json(
                &json!({"current_password": current, "new_password": "Quiet-Harbor#7215-Lantern"}),
            )
            .send()
            .await
            .expect("password change");
        assert_eq!(changed.status(), 204);
        // Administrators must enrol a second factor before anything else.
        let enrolment: Value = client
            .post(format!("{base}/api/v1/auth/totp/enrol"))
            .bearer_auth(token)
            .send()
            .await
            .expect("enrol")
            .json()
            .await
            .expect("json");
        let totp = yunjian_gm::Totp::from_base32(enrolment["secret"].as_str().expect("secret"))
            .expect("base32");
        let now = std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .expect("clock")
            .as_secs();
        let confirmed = client
            .post(format!("{base}/api/v1/auth/totp/confirm"))
            .bearer_auth(token)
            .json(&json!({ "code": totp.code_at(now) }))
            .send()
            .await
            .expect("confirm");
        assert_eq!(confirmed.status(), 200);
    }

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let failed_logins = Arc::new(Mutex::new(Vec::<String>::new()));
    let checkpoints = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for worker in 0..12 {
        let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
        let (acknowledged, failed_logins, stop) =
            (acknowledged.clone(), failed_logins.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                if worker % 4 == 3 {
                    let name = format!("probe-{worker}-{i}");
                    let answer = client
                        .post(format!("{base}/api/v1/auth/login"))
                        .json(&json!({"username": name, "password": "wrong-password-123"}))
                        .send()
                        .await;
                    if matches!(&answer, Ok(response) if response.status() == 401) {
                        failed_logins.lock().expect("lock").push(name);
                    }
                } else {
                    let name = format!("zone-{worker}-{i}");
                    let answer = client
                        .post(format!("{base}/api/v1/zones"))
                        .bearer_auth(&admin)
                        .json(&json!({"name": name, "zone_kind": "extranet"}))
                        .send()
                        .await;
                    if matches!(&answer, Ok(response) if response.status() == 201) {
                        acknowledged.lock().expect("lock").push(name);
                    }
                }
            }
        }));
    }
    {
        let (client, base, auditor, checkpoints, stop) = (
            client.clone(),
            base.clone(),
            auditor.clone(),
            checkpoints.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(response) = client
                    .get(format!("{base}/api/v1/audit/checkpoint"))
                    .bearer_auth(&auditor)
                    .send()
                    .await
                {
                    if response.status() == 200 {
                        if let Ok(text) = response.text().await {
                            checkpoints.lock().expect("lock").push(text);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The crash: no chance to flush or finish anything.
    assert!(Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill")
        .success());
    let _ = child.wait();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let failed_logins = failed_logins.lock().expect("lock").clone();
    let last_checkpoint = checkpoints
        .lock()
        .expect("lock")
        .last()
        .cloned()
        .expect("a checkpoint was read during the load");
    assert!(
        acknowledged.len() > 20,
        "the load made progress: {} creates",
        acknowledged.len()
    );
    assert!(!failed_logins.is_empty());

    // After the crash: export everything and verify against the last checkpoint seen.
    let (bundle, _, _, verified) = export_and_verify(data.path(), &store, &key, &last_checkpoint);
    assert!(
        verified.contains("consistent with the previous checkpoint"),
        "{verified}"
    );
    let records = extract(&bundle, "records.jsonl");
    assert!(
        records
            .lines()
            .any(|line| line.contains("\"action\":\"server.start\"")
                && line.contains("\"checkpoint_records\":20")),
        "the instance's start and settings are on record"
    );
    for name in &acknowledged {
        let needle = format!("\"name\":\"{name}\"");
        assert!(
            records
                .lines()
                .any(|line| line.contains("\"action\":\"world.create\"") && line.contains(&needle)),
            "acknowledged create of {name} has no record"
        );
    }
    for name in &failed_logins {
        let needle = format!("\"username\":\"{name}\"");
        assert!(
            records
                .lines()
                .any(|line| line.contains("\"action\":\"auth.login\"") && line.contains(&needle)),
            "acknowledged failed login {name} has no record"
        );
    }
}

/// `audit export` of the whole ledger, then the offline `audit verify` with the auditor's
/// own copy of the key and an earlier checkpoint; returns the files and the verdict.
fn export_and_verify(
    dir: &Path,
    store: &[String],
    key: &str,
    previous_note: &str,
) -> (PathBuf, PathBuf, PathBuf, String) {
    let key_file = dir.join("key.txt");
    std::fs::write(&key_file, format!("{key}\n")).expect("key");
    let previous = dir.join("previous.txt");
    std::fs::write(&previous, previous_note).expect("checkpoint");
    let bundle = dir.join("bundle.tar");
    let path = |file: &Path| file.to_str().expect("path").to_owned();
    ok(&run(&["audit", "export", "--out", &path(&bundle)], store));
    let verified = ok(&run_plain(&[
        "audit",
        "verify",
        &path(&bundle),
        "--public-key",
        &path(&key_file),
        "--previous",
        &path(&previous),
    ]));
    (bundle, key_file, previous, verified)
}

fn extract(bundle: &Path, name: &str) -> String {
    let output = Command::new("tar")
        .args(["-xOf"])
        .arg(bundle)
        .arg(name)
        .output()
        .expect("tar");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("utf-8")
}
