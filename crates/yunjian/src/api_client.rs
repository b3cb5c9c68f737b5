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

pub async fn run(args: ApiArgs) -> Result<()> {
    let secret = match &args.secret_file {
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
    let base = reqwest::Url::parse(&args.url).context("--url")?;
    let url = base.join(&args.path).context("the path")?;
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => bail!("the URL has no host"),
    };
    let nonce = yunjian_gm::random_secret_hex(16);
    let time = yunjian_app::signing_time(SystemClock.now_ns());
    let headers = sign_yunjian_request(
        &args.key_id,
        &secret,
        &method,
        &host,
        url.path(),
        url.query().unwrap_or(""),
        &body,
        &time,
        &nonce,
    );
    let client = reqwest::Client::new();
    let mut request = client.request(
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
            .body(body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("{method} {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
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
