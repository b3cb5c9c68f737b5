//! End-to-end tests of the `yunjian` binary: the demo served for real over TCP, the
//! administrative commands, and (when `YUNJIAN_BROWSER_TESTS=1`, as `scripts/test` sets)
//! the console in headless Chromium.

mod browser;
mod compliance;
mod demo;
mod ledger;
mod network;
mod provider;
mod tidy;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running `yunjian demo`, killed on drop.
pub struct Demo {
    child: Child,
    pub base: String,
    pub accounts: Vec<Value>,
    pub data: tempfile::TempDir,
    /// The PostgreSQL database the demo runs on, when the suite runs on PostgreSQL.
    pub database_url: Option<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_yunjian"))
}

impl Demo {
    /// Starts the demo on a free port (SQLite in a temp dir, or a fresh PostgreSQL
    /// database when the suite runs on PostgreSQL) and waits for it to print its URL.
    pub async fn start() -> Demo {
        Demo::start_with(&[]).await
    }

    /// Starts the demo with extra environment variables.
    pub async fn start_with(environment: &[(&str, &str)]) -> Demo {
        let data = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(binary());
        command.envs(environment.iter().copied());
        command
            .args(["demo", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let database_url = if yunjian_testkit::postgres_selected() {
            let url = yunjian_testkit::fresh_postgres_database().await;
            command.args(["--database-url", &url]);
            Some(url)
        } else {
            None
        };
        let mut child = command.spawn().expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("console: ") {
                    let _ = sender.send(url.trim_end_matches("/console").to_owned());
                }
            }
        });
        let base = match receiver.recv_timeout(Duration::from_secs(180)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!("the demo did not print its console address");
            }
        };
        let accounts_text = std::fs::read_to_string(data.path().join("demo-accounts.json"))
            .expect("demo-accounts.json");
        let accounts: Vec<Value> = serde_json::from_str(&accounts_text).expect("accounts JSON");
        Demo {
            child,
            base,
            accounts,
            data,
            database_url,
        }
    }

    /// What a CLI command needs to open the demo's store: its data directory and, on
    /// PostgreSQL, the database URL.
    pub fn store_args(&self) -> (String, Option<String>) {
        (
            self.data.path().display().to_string(),
            self.database_url.clone(),
        )
    }

    pub fn account(&self, username: &str) -> (String, String) {
        let account = self
            .accounts
            .iter()
            .find(|account| account["username"] == username)
            .unwrap_or_else(|| panic!("no demo account {username}"));
        (
            username.to_owned(),
            account["password"].as_str().expect("password").to_owned(),
        )
    }
}
