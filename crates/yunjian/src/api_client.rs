//! `yunjian api`: a small client that signs requests with an API key (YJ1-HMAC-SM3,
//! docs/api-signing.md) and prints the answer. The secret comes from a file or the
//! environment, never from the command line (where `ps` would show it).

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use yunjian_app::{Clock, SystemClock};
use yunjian_gm::request_signing::sign_yunjian_request;

#[derive(Args)]
pub struct ApiArgs {
    /// HTTP method: GET, POST, PATCH, DELETE.
    pub method: String,
    /// Path with an optional query, e.g. /api/v1/vpcs?page=2.
    pub path: String,
    /// Base URL of the server.
    #[arg(long, env = "YUNJIAN_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Access key id (YJAK…).
    #[arg(long, env = "YUNJIAN_ACCESS_KEY_ID")]
    pub key_id: String,
    /// File holding the secret (first line). Otherwise YUNJIAN_API_SECRET.
    #[arg(long)]
    pub secret_file: Option<PathBuf>,
    /// JSON body (or @file to read it from a file).
    #[arg(long)]
    pub data: Option<String>,
}

/// Reads an API secret from a file's first line, or from YUNJIAN_API_SECRET.
pub fn read_secret(file: Option<&std::path::Path>) -> Result<String> {
    let secret = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned(),
        None => std::env::var("YUNJIAN_API_SECRET")
            .context("give --secret-file or set YUNJIAN_API_SECRET")?,
    };
    if secret.is_empty() {
        bail!("the API secret is empty");
    }
    Ok(secret)
}

/// Sends requests signed with an API key (YJ1-HMAC-SM3), a fresh nonce each.
pub struct Signer {
    client: reqwest::Client,
    base: reqwest::Url,
    key_id: String,
    secret: String,
}

impl Signer {
    pub fn new(base: &str, key_id: &str, secret: String) -> Result<Signer> {
        Ok(Signer {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(300))
                .build()
                .context("an HTTP client")?,
            base: reqwest::Url::parse(base).context("the server's URL")?,
            key_id: key_id.to_owned(),
            secret,
        })
    }

    /// Answers the status and the body's text.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(reqwest::StatusCode, String)> {
        let url = self.base.join(path).context("the path")?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => bail!("the URL has no host"),
        };
        let nonce = yunjian_gm::random_secret_hex(16);
        let time = yunjian_app::signing_time(SystemClock.now_ns());
        let headers = sign_yunjian_request(
            &self.key_id,
            &self.secret,
            method,
            &host,
            url.path(),
            url.query().unwrap_or(""),
            body,
            &time,
            &nonce,
        );
        let mut request = self.client.request(
            reqwest::Method::from_bytes(method.as_bytes()).context("method")?,
            url.clone(),
        );
        for (name, value) in headers {
            // reqwest sets Host itself from the URL (the same value).
            if name != "host" {
                request = request.header(name, value);
            }
        }
        if !body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        Ok((status, response.text().await.unwrap_or_default()))
    }
}

pub async fn run(args: ApiArgs) -> Result<()> {
    let secret = read_secret(args.secret_file.as_deref())?;
    let body = match args.data.as_deref() {
        None => Vec::new(),
        Some(text) if text.starts_with('@') => {
            std::fs::read(&text[1..]).with_context(|| format!("reading {}", &text[1..]))?
        }
        Some(text) => text.as_bytes().to_vec(),
    };
    if !body.is_empty() {
        serde_json::from_slice::<serde_json::Value>(&body).context("--data is not JSON")?;
    }
    let method = args.method.to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "POST" | "PATCH" | "PUT" | "DELETE") {
        bail!("unknown method {method}");
    }
    if !args.path.starts_with('/') {
        bail!("the path starts with '/', e.g. /api/v1/vpcs");
    }
    let signer = Signer::new(&args.url, &args.key_id, secret)?;
    let (status, text) = signer.send(&method, &args.path, &body).await?;
    let pretty = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or(text);
    println!("{pretty}");
    if !status.is_success() {
        bail!("{method} {} answered {status}", args.path);
    }
    Ok(())
}
