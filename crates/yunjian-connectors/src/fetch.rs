//! Fetching from providers' platforms: the only IO in this crate. Every request has a
//! timeout and a body cap; pages are followed only on the endpoint's own origin. A
//! failed or unreadable list fails the whole pull (a full snapshot with a list missing
//! would read as everything in it deleted); an unreadable object is that object's
//! problem only.

use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::kubernetes;
use crate::openstack::{self, Token, TokenError};
use crate::prometheus::{self, Samples};
use crate::Observed;

/// Bounds on one pull.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            max_body_bytes: 64 * 1024 * 1024,
            max_pages: 1_000,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdapterError {
    #[error("{url}: no answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("{url}: unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: the answer exceeds {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("{url}: {reason}")]
    Body { url: String, reason: String },
    #[error("authentication: {0}")]
    Token(#[from] TokenError),
    #[error("the service catalog has no {0} endpoint")]
    NoEndpoint(String),
    #[error("{url}: more than {limit} pages")]
    TooManyPages { url: String, limit: usize },
}

/// How to sign in to an OpenStack cloud (Keystone v3, password, project-scoped). The
/// password is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenStackCredentials {
    /// Keystone's base, e.g. `https://keystone.example:5000` (with or without `/v3`).
    pub auth_url: String,
    pub username: String,
    pub password: String,
    pub user_domain: String,
    pub project: String,
    pub project_domain: String,
    pub region: Option<String>,
    /// `public`, `internal` or `admin`.
    pub interface: String,
}

impl std::fmt::Debug for OpenStackCredentials {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OpenStackCredentials")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("project", &self.project)
            .finish()
    }
}

fn failure(url: &str, limits: &Limits, error: reqwest::Error) -> AdapterError {
    if error.is_timeout() {
        AdapterError::Timeout {
            url: url.to_owned(),
            seconds: limits.timeout.as_secs(),
        }
    } else {
        AdapterError::Unreachable {
            url: url.to_owned(),
            reason: error.to_string(),
        }
    }
}

/// Reads a response body up to the limit.
async fn capped(
    url: &str,
    mut response: reqwest::Response,
    limits: &Limits,
) -> Result<Vec<u8>, AdapterError> {
    let status = response.status();
    if !status.is_success() {
        return Err(AdapterError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| failure(url, limits, error))?
    {
        if body.len() + chunk.len() > limits.max_body_bytes {
            return Err(AdapterError::TooLarge {
                url: url.to_owned(),
                limit: limits.max_body_bytes,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A client with the pull's timeout on every request.
pub fn client(limits: &Limits) -> Result<reqwest::Client, AdapterError> {
    reqwest::Client::builder()
        .timeout(limits.timeout)
        .connect_timeout(limits.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| AdapterError::Unreachable {
            url: String::new(),
            reason: error.to_string(),
        })
}

/// Signs in and answers the token with its catalog.
pub async fn openstack_token(
    client: &reqwest::Client,
    credentials: &OpenStackCredentials,
    limits: &Limits,
) -> Result<Token, AdapterError> {
    let base = credentials.auth_url.trim_end_matches('/');
    let base = base.strip_suffix("/v3").unwrap_or(base);
    let url = format!("{base}/v3/auth/tokens");
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": credentials.username, "domain": {"name": credentials.user_domain},
            "password": credentials.password,
        }}},
        "scope": {"project": {"name": credentials.project, "domain": {"name": credentials.project_domain}}},
    }});
    let response = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|error| failure(&url, limits, error))?;
    let subject = response
        .headers()
        .get("x-subject-token")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let bytes = capped(&url, response, limits).await?;
    Ok(openstack::parse_token(subject.as_deref(), &bytes)?)
}

fn origin(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    Some(parsed.origin().ascii_serialization())
}

/// The next page of a list: Nova, Neutron and Cinder say `<key>_links` with `rel:
/// next`; Glance says `next`, relative to the endpoint's root. Only pages on the
/// endpoint's own origin are followed.
fn next_page(body: &Json, key: &str, endpoint: &str) -> Option<String> {
    let href = body[format!("{key}_links")]
        .as_array()
        .and_then(|links| links.iter().find(|link| link["rel"] == "next"))
        .and_then(|link| link["href"].as_str())
        .or_else(|| body["next"].as_str())?;
    let base = reqwest::Url::parse(endpoint).ok()?;
    let next = base.join(href).ok()?;
    (Some(next.origin().ascii_serialization()) == origin(endpoint)).then(|| next.to_string())
}

/// A parser of one list's answer.
type Parser = fn(&[u8]) -> Observed;

/// One page of a list: fetched, capped and parsed. A body that cannot be read as the
/// list (not JSON, no list) fails the pull; a bad item is that item's problem.
async fn get_list(
    request: reqwest::RequestBuilder,
    url: &str,
    parse: Parser,
    limits: &Limits,
) -> Result<(Vec<u8>, Observed), AdapterError> {
    let response = request
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|error| failure(url, limits, error))?;
    let bytes = capped(url, response, limits).await?;
    let found = parse(&bytes);
    if let Some(problem) = found
        .problems
        .iter()
        .find(|problem| problem.index.is_none())
    {
        return Err(AdapterError::Body {
            url: url.to_owned(),
            reason: problem.reason.clone(),
        });
    }
    Ok((bytes, found))
}

/// Fetches every page of one list and parses it.
async fn list(
    client: &reqwest::Client,
    token: &Token,
    url: String,
    key: &str,
    parse: Parser,
    limits: &Limits,
) -> Result<Observed, AdapterError> {
    let mut observed = Observed::default();
    let mut next = Some(url.clone());
    let mut pages = 0;
    while let Some(page) = next.take() {
        pages += 1;
        if pages > limits.max_pages {
            return Err(AdapterError::TooManyPages {
                url,
                limit: limits.max_pages,
            });
        }
        let request = client.get(&page).header("x-auth-token", &token.token);
        let (bytes, found) = get_list(request, &page, parse, limits).await?;
        observed.merge(found);
        if let Ok(json) = serde_json::from_slice::<Json>(&bytes) {
            next = next_page(&json, key, &page);
        }
    }
    Ok(observed)
}

/// The whole inventory of an OpenStack cloud, as an administrator sees it (every
/// project; hosts of servers need admin rights).
pub async fn pull_openstack(
    client: &reqwest::Client,
    credentials: &OpenStackCredentials,
    limits: &Limits,
) -> Result<Observed, AdapterError> {
    let token = openstack_token(client, credentials, limits).await?;
    let region = credentials.region.as_deref();
    let endpoint = |service: &str| {
        token
            .endpoint(service, &credentials.interface, region)
            .map(|url| url.trim_end_matches('/').to_owned())
            .ok_or_else(|| AdapterError::NoEndpoint(service.to_owned()))
    };
    let compute = endpoint("compute")?;
    let network = endpoint("network")?;
    let image = endpoint("image")?;
    let volume = endpoint("volumev3")
        .or_else(|_| endpoint("block-storage"))
        .or_else(|_| endpoint("volume"))?;
    let network = if network.ends_with("/v2.0") {
        network
    } else {
        format!("{network}/v2.0")
    };
    let image = if image.ends_with("/v2") {
        image
    } else {
        format!("{image}/v2")
    };
    let lists: [(String, &str, Parser); 11] = [
        (
            format!("{compute}/os-hypervisors/detail?with_servers=true"),
            "hypervisors",
            openstack::parse_hypervisors,
        ),
        (
            format!("{compute}/servers/detail?all_tenants=1"),
            "servers",
            openstack::parse_servers,
        ),
        (
            format!("{network}/networks"),
            "networks",
            openstack::parse_networks,
        ),
        (
            format!("{network}/subnets"),
            "subnets",
            openstack::parse_subnets,
        ),
        (format!("{network}/ports"), "ports", openstack::parse_ports),
        (
            format!("{network}/security-groups"),
            "security_groups",
            openstack::parse_security_groups,
        ),
        (
            format!("{volume}/volumes/detail?all_tenants=1"),
            "volumes",
            openstack::parse_volumes,
        ),
        (
            format!("{volume}/snapshots/detail?all_tenants=1"),
            "snapshots",
            openstack::parse_snapshots,
        ),
        (
            format!("{volume}/backups/detail?all_tenants=1"),
            "backups",
            openstack::parse_backups,
        ),
        (format!("{image}/images"), "images", openstack::parse_images),
        (
            format!("{network}/security-group-rules"),
            "security_group_rules",
            openstack::parse_security_group_rules,
        ),
    ];
    let mut observed = Observed::default();
    // Which zone each host is in; a cloud without the extension answers 404, and then
    // every host is in the connector's default placement.
    let zones_url = format!("{compute}/os-availability-zone/detail");
    let response = client
        .get(&zones_url)
        .header("x-auth-token", &token.token)
        .send()
        .await
        .map_err(|error| failure(&zones_url, limits, error))?;
    if response.status() != reqwest::StatusCode::NOT_FOUND {
        let bytes = capped(&zones_url, response, limits).await?;
        observed.host_zones =
            openstack::parse_availability_zones(&bytes).map_err(|problem| AdapterError::Body {
                url: zones_url.clone(),
                reason: problem.reason,
            })?;
    }
    for (url, key, parse) in lists {
        observed.merge(list(client, &token, url, key, parse, limits).await?);
    }
    // Extensions a cloud may lack (answering 404): the L3 router and FWaaS v2.
    let optional: [(&'static str, String, &str, Parser); 4] = [
        (
            "routers",
            format!("{network}/routers"),
            "routers",
            openstack::parse_routers,
        ),
        (
            "fwaas",
            format!("{network}/fwaas/firewall_groups"),
            "firewall_groups",
            openstack::parse_firewall_groups,
        ),
        (
            "fwaas",
            format!("{network}/fwaas/firewall_policies"),
            "firewall_policies",
            openstack::parse_firewall_policies,
        ),
        (
            "fwaas",
            format!("{network}/fwaas/firewall_rules"),
            "firewall_rules",
            openstack::parse_firewall_rules,
        ),
    ];
    let mut lacking = std::collections::BTreeSet::new();
    for (extension, url, key, parse) in optional {
        if lacking.contains(extension) {
            continue;
        }
        match list(client, &token, url, key, parse, limits).await {
            Ok(found) => {
                observed.merge(found);
                observed.extensions.insert(extension);
            }
            Err(AdapterError::Status { status: 404, .. }) => {
                lacking.insert(extension);
            }
            Err(error) => return Err(error),
        }
    }
    // An extension is answered only when every one of its lists was.
    observed
        .extensions
        .retain(|extension| !lacking.contains(extension));
    // Rules come inline with their groups and again from their own list: keep one.
    let mut seen = std::collections::HashSet::new();
    observed
        .objects
        .retain(|object| seen.insert((object.kind, object.external_id.clone())));
    Ok(observed)
}

/// One instant query against a Prometheus HTTP API.
pub async fn prometheus_query(
    client: &reqwest::Client,
    base: &str,
    query: &str,
    limits: &Limits,
) -> Result<Samples, AdapterError> {
    let url = format!("{}/api/v1/query", base.trim_end_matches('/'));
    let response = client
        .get(&url)
        .query(&[("query", query)])
        .send()
        .await
        .map_err(|error| failure(&url, limits, error))?;
    let bytes = capped(&url, response, limits).await?;
    let samples = prometheus::parse_query(&bytes);
    if let Some(problem) = samples
        .problems
        .iter()
        .find(|problem| problem.index.is_none())
    {
        return Err(AdapterError::Body {
            url,
            reason: problem.reason.clone(),
        });
    }
    Ok(samples)
}

/// Every page of one Kubernetes list (`limit` and `continue`).
async fn kubernetes_list(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    parse: Parser,
    limits: &Limits,
) -> Result<Observed, AdapterError> {
    let mut observed = Observed::default();
    let mut next: Option<String> = None;
    for _ in 0..limits.max_pages {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let mut request = client
            .get(&url)
            .bearer_auth(token)
            .query(&[("limit", "500")]);
        if let Some(page) = &next {
            request = request.query(&[("continue", page)]);
        }
        let (bytes, found) = get_list(request, &url, parse, limits).await?;
        observed.merge(found);
        next = serde_json::from_slice::<Json>(&bytes)
            .ok()
            .and_then(|body| kubernetes::continue_token(&body));
        if next.is_none() {
            return Ok(observed);
        }
    }
    Err(AdapterError::TooManyPages {
        url: format!("{base}{path}"),
        limit: limits.max_pages,
    })
}

/// A Kubernetes cluster's namespaces, pods and NetworkPolicies, read with a bearer
/// token (a service account with cluster-wide read of those three).
pub async fn pull_kubernetes(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    limits: &Limits,
) -> Result<Observed, AdapterError> {
    let mut observed = Observed::default();
    for (path, parse) in [
        ("/api/v1/namespaces", kubernetes::parse_namespaces as Parser),
        ("/api/v1/pods", kubernetes::parse_pods),
        (
            "/apis/networking.k8s.io/v1/networkpolicies",
            kubernetes::parse_network_policies,
        ),
    ] {
        observed.merge(kubernetes_list(client, base, token, path, parse, limits).await?);
    }
    Ok(observed)
}
