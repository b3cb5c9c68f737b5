//! Pull connectors (guide 3.2, 5.1.2, 5.1.5): the management unit configures, per
//! provider, an OpenStack cloud or a Prometheus server to read; `serve` pulls each on
//! its interval, backs off after failures, and raises an alert when a provider's data
//! goes stale. A pulled inventory goes through the same plan and commit as a push.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value as Json};
use yunjian_connectors::fetch::{self, AdapterError, Limits, OpenStackCredentials};
use yunjian_connectors::sync::Mode;
use yunjian_connectors::translate::{self, Placement};
use yunjian_core::ids::ProviderId;
use yunjian_core::schema::Kind;
use yunjian_policy::{Action, Relation};
use yunjian_store::{
    AuditOutcome, ConnectorRecord, NewConnector, ResultScope, SecurityEvent, UsageSample,
};

use crate::authz::stamp;
use crate::error::AppError;
use crate::provider::{CommitSummary, Snapshot, PUSH_CONNECTOR, PUSH_STALE_NS};
use crate::{App, Context};

/// Kinds of connector.
pub const CONNECTOR_KINDS: [&str; 3] = ["openstack", "kubernetes", "prometheus"];
const SECRET_CONTEXT: &[u8] = b"yunjian connector secret v1";

/// A connector to configure.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectorInput {
    pub provider_id: i64,
    pub kind: String,
    pub endpoint: String,
    /// Non-secret settings (see docs/provider-api.md, "Pull connectors").
    pub settings: Map<String, Json>,
    /// The password or token; sealed at rest, never answered.
    pub secret: Option<String>,
    pub interval_s: i64,
}

/// What one pull did.
#[derive(Clone, Debug, PartialEq)]
pub struct PullOutcome {
    pub connector: i64,
    pub provider_id: i64,
    pub result: Result<String, String>,
}

fn connector_name(connector: &ConnectorRecord) -> String {
    format!("{}:{}", connector.kind, connector.id)
}

fn text(settings: &Map<String, Json>, key: &str) -> Option<String> {
    settings
        .get(key)
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// The connector's placement settings: `zone` and `datacenter_id` (defaults),
/// `datacenters` ({id: fields}, or one `datacenter` object), `availability_zones`
/// ({name: {zone, datacenter_id, backup_kind}}), `backup_kind`.
fn placement(settings: &Map<String, Json>) -> Result<Placement, String> {
    let zone = text(settings, "zone").ok_or("settings.zone: the default zone's name")?;
    let datacenter_id = text(settings, "datacenter_id")
        .ok_or("settings.datacenter_id: the default datacenter's id")?;
    let mut datacenters: Vec<(String, Map<String, Json>)> = match settings.get("datacenters") {
        Some(Json::Object(map)) => map
            .iter()
            .map(|(id, fields)| {
                fields
                    .as_object()
                    .map(|fields| (id.clone(), fields.clone()))
                    .ok_or_else(|| format!("settings.datacenters.{id}: the datacenter's fields"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("settings.datacenters: {id: fields}".into()),
        None => Vec::new(),
    };
    if let Some(fields) = settings.get("datacenter").and_then(Json::as_object) {
        datacenters.push((datacenter_id.clone(), fields.clone()));
    }
    if !datacenters.iter().any(|(id, _)| *id == datacenter_id) {
        return Err(format!(
            "settings: the fields of datacenter {datacenter_id} (datacenters.{datacenter_id})"
        ));
    }
    let mut availability_zones = std::collections::BTreeMap::new();
    for (name, entry) in settings
        .get("availability_zones")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
    {
        let entry = entry.as_object().ok_or_else(|| {
            format!("settings.availability_zones.{name}: {{zone, datacenter_id, backup_kind}}")
        })?;
        availability_zones.insert(
            name.clone(),
            translate::ZonePlacement {
                zone: text(entry, "zone"),
                datacenter_id: text(entry, "datacenter_id"),
                backup_kind: text(entry, "backup_kind"),
            },
        );
    }
    Ok(Placement {
        zone,
        datacenter_id,
        datacenters,
        availability_zones,
        backup_kind: text(settings, "backup_kind").unwrap_or_else(|| "local".into()),
    })
}

fn credentials(
    endpoint: &str,
    settings: &Map<String, Json>,
    secret: String,
) -> Result<OpenStackCredentials, String> {
    Ok(OpenStackCredentials {
        auth_url: endpoint.to_owned(),
        username: text(settings, "username").ok_or("settings.username")?,
        password: secret,
        user_domain: text(settings, "user_domain").unwrap_or_else(|| "Default".into()),
        project: text(settings, "project").ok_or("settings.project")?,
        project_domain: text(settings, "project_domain").unwrap_or_else(|| "Default".into()),
        region: text(settings, "region"),
        interface: text(settings, "interface").unwrap_or_else(|| "public".into()),
    })
}

/// Checks a connector's settings before it is stored, so a mistake shows at once.
fn check_settings(input: &ConnectorInput) -> Result<(), AppError> {
    let invalid =
        |field: &str, message: String| AppError::invalid(field, "invalid_setting", message);
    if !CONNECTOR_KINDS.contains(&input.kind.as_str()) {
        return Err(invalid(
            "kind",
            format!("one of {}", CONNECTOR_KINDS.join(", ")),
        ));
    }
    let url = reqwest::Url::parse(input.endpoint.trim())
        .map_err(|_| invalid("endpoint", "an http(s) URL".into()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("endpoint", "an http(s) URL".into()));
    }
    if !(60..=86_400).contains(&input.interval_s) {
        return Err(invalid("interval_s", "60 to 86400 seconds".into()));
    }
    match input.kind.as_str() {
        "openstack" => {
            placement(&input.settings).map_err(|message| invalid("settings", message))?;
            credentials(&input.endpoint, &input.settings, String::new())
                .map_err(|message| invalid("settings", message))?;
            if input.secret.as_deref().is_none_or(str::is_empty) {
                return Err(invalid("secret", "the OpenStack user's password".into()));
            }
        }
        "kubernetes" => {
            if text(&input.settings, "cluster").is_none() {
                return Err(invalid("settings", "cluster: the cluster's name".into()));
            }
            if input.secret.as_deref().is_none_or(str::is_empty) {
                return Err(invalid("secret", "a service account's bearer token".into()));
            }
        }
        _ => {
            let queries = input.settings.get("queries").and_then(Json::as_object);
            let known = crate::provider::METRICS
                .iter()
                .map(|(name, _, _)| *name)
                .collect::<Vec<_>>();
            match queries {
                Some(queries) if !queries.is_empty() => {
                    for (metric, query) in queries {
                        if !known.contains(&metric.as_str()) || !query.is_string() {
                            return Err(invalid(
                                "settings",
                                format!(
                                    "queries: metric names ({}) to PromQL text",
                                    known.join(", ")
                                ),
                            ));
                        }
                    }
                }
                _ => return Err(invalid("settings", "queries: {metric: PromQL}".into())),
            }
        }
    }
    Ok(())
}

impl App {
    /// Configuring connectors: the management unit and the system administrator.
    async fn authorize_connectors(
        &self,
        context: &Context,
        action: &str,
        id: Option<i64>,
    ) -> Result<yunjian_policy::Decision, AppError> {
        let question = self.question(
            context,
            Action::ProviderConfigure,
            yunjian_policy::Target {
                family: "provider",
                kind: "provider_connectors",
                group: "",
            },
            Relation::Any,
        );
        let mut refusal = self.record(context, action, AuditOutcome::Denied);
        refusal.object_kind = Some("provider_connector".into());
        refusal.object_id = id;
        self.authorize(context, question, refusal).await
    }

    pub async fn connectors(&self, context: &Context) -> Result<Vec<ConnectorRecord>, AppError> {
        let question = self.question(
            context,
            Action::ProviderRead,
            yunjian_policy::Target::family("provider"),
            match crate::compliance::result_scope(context) {
                ResultScope::All => Relation::Any,
                ResultScope::Tenant(_) => Relation::OwnTenant,
                ResultScope::Provider(_) => Relation::OwnProvider,
            },
        );
        let refusal = self.record(context, "provider.read", AuditOutcome::Denied);
        self.authorize(context, question, refusal).await?;
        let mut all =
            match crate::provider::provider_filter(crate::compliance::result_scope(context)) {
                Some(provider) => self.store.connectors(provider).await?,
                None => Vec::new(),
            };
        for connector in &mut all {
            connector.secret = connector.secret.as_ref().map(|_| "<sealed>".to_owned());
        }
        Ok(all)
    }

    /// Configures a pull connector for a provider (the management unit or the system
    /// administrator; audited without the secret).
    pub async fn add_connector(
        &self,
        context: &Context,
        input: &ConnectorInput,
    ) -> Result<i64, AppError> {
        let decision = self
            .authorize_connectors(context, "provider.connector.add", None)
            .await?;
        check_settings(input)?;
        let sealed = match &input.secret {
            Some(secret) if !secret.is_empty() => {
                let sealing = self.sealing.as_deref().ok_or_else(|| AppError::Conflict {
                    field: None,
                    message: "connector secrets need the sealing key (run `yunjian admin init`)"
                        .into(),
                })?;
                Some(sealing.seal(secret.as_bytes(), SECRET_CONTEXT))
            }
            _ => None,
        };
        let settings = Json::Object(input.settings.clone()).to_string();
        let mut tx = self.store.begin_write().await?;
        if tx
            .get(
                Kind::Provider,
                input.provider_id,
                yunjian_store::ReadScope::All,
            )
            .await?
            .is_none()
        {
            return Err(AppError::invalid(
                "provider_id",
                "unknown_reference",
                format!("no provider {}", input.provider_id),
            ));
        }
        let now = self.now_ns();
        let id = tx
            .insert_connector(
                &NewConnector {
                    provider_id: input.provider_id,
                    kind: &input.kind,
                    endpoint: input.endpoint.trim(),
                    settings: &settings,
                    secret: sealed.as_deref(),
                    interval_s: input.interval_s,
                    created_by: Some(context.principal.account_id.0),
                },
                now,
            )
            .await?;
        let mut record = self.record(context, "provider.connector.add", AuditOutcome::Succeeded);
        record.object_kind = Some("provider_connector".into());
        record.object_id = Some(id);
        record.detail = Some(json!({
            "provider_id": input.provider_id, "kind": input.kind, "endpoint": input.endpoint,
            "settings": input.settings, "interval_s": input.interval_s,
            "secret": input.secret.as_ref().map(|_| "<sealed>"),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_connector_enabled(
        &self,
        context: &Context,
        id: i64,
        enabled: bool,
    ) -> Result<(), AppError> {
        let decision = self
            .authorize_connectors(context, "provider.connector.enable", Some(id))
            .await?;
        let mut tx = self.store.begin_write().await?;
        if !tx.set_connector_enabled(id, enabled).await? {
            return Err(AppError::NotFound);
        }
        let mut record = self.record(
            context,
            "provider.connector.enable",
            AuditOutcome::Succeeded,
        );
        record.object_kind = Some("provider_connector".into());
        record.object_id = Some(id);
        record.detail = Some(json!({ "enabled": enabled }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Pulls one connector now (on demand, audited as the caller's action).
    pub async fn run_connector(&self, context: &Context, id: i64) -> Result<PullOutcome, AppError> {
        let decision = self
            .authorize_connectors(context, "provider.connector.run", Some(id))
            .await?;
        let connector = self
            .store
            .connectors(None)
            .await?
            .into_iter()
            .find(|connector| connector.id == id)
            .ok_or(AppError::NotFound)?;
        let mut record = self.record(context, "provider.sync.commit", AuditOutcome::Succeeded);
        stamp(&mut record, &decision);
        Ok(self.pull(&connector, record, &Limits::default()).await)
    }

    /// Pulls every enabled connector that is due, concurrently: one hanging or failing
    /// provider delays no other.
    pub async fn run_due_connectors(&self) -> Result<Vec<PullOutcome>, AppError> {
        let now = self.now_ns();
        let health = self.store.connector_health(None).await?;
        let due: Vec<ConnectorRecord> = self
            .store
            .connectors(None)
            .await?
            .into_iter()
            .filter(|connector| connector.enabled)
            .filter(|connector| {
                let name = connector_name(connector);
                match health.iter().find(|record| record.connector == name) {
                    None => true,
                    Some(record) => record.next_attempt_at_ns.is_none_or(|at| at <= now),
                }
            })
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for connector in due {
            let app = self.clone();
            tasks.spawn(async move {
                let mut record = crate::ledger::local_record(app.now_ns(), "provider.sync.commit");
                record.actor_username = Some("yunjian-serve".into());
                app.pull(&connector, record, &Limits::default()).await
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) => {
                    tracing::error!(%error, "a connector's pull panicked or was cancelled")
                }
            }
        }
        Ok(outcomes)
    }

    async fn pull(
        &self,
        connector: &ConnectorRecord,
        record: yunjian_store::NewAuditRecord,
        limits: &Limits,
    ) -> PullOutcome {
        let started = Instant::now();
        let name = connector_name(connector);
        let counted: Result<(String, Option<i64>), String> = match connector.kind.as_str() {
            "openstack" | "kubernetes" => {
                let pulled = if connector.kind == "openstack" {
                    self.pull_openstack(connector, record, limits).await
                } else {
                    self.pull_kubernetes(connector, record, limits).await
                };
                pulled.map(|summary| {
                    let sync = &summary.sync;
                    (
                        format!(
                            "sync {}: {} created, {} changed, {} deleted, {} unchanged, {} set aside",
                            sync.id, sync.created, sync.changed, sync.deleted, sync.unchanged, sync.unassigned
                        ),
                        Some(sync.objects),
                    )
                })
            }
            "prometheus" => self
                .pull_prometheus(connector, limits)
                .await
                .map(|stored| (format!("{stored} usage samples"), None)),
            other => Err(format!("no adapter for {other}")),
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1e3;
        let objects = counted.as_ref().ok().and_then(|(_, objects)| *objects);
        let result = counted.map(|(summary, _)| summary);
        self.note_pull(connector, &name, &result, objects, latency_ms)
            .await;
        PullOutcome {
            connector: connector.id,
            provider_id: connector.provider_id,
            result,
        }
    }

    fn connector_secret(&self, connector: &ConnectorRecord) -> Result<String, String> {
        let sealed = connector.secret.as_deref().ok_or("no secret configured")?;
        let sealing = self
            .sealing
            .as_deref()
            .ok_or("no sealing key to open the secret")?;
        let opened = sealing
            .open(sealed, SECRET_CONTEXT)
            .map_err(|_| "the sealed secret does not open with this sealing key".to_owned())?;
        String::from_utf8(opened.to_vec()).map_err(|_| "the secret is not UTF-8".to_owned())
    }

    async fn pull_openstack(
        &self,
        connector: &ConnectorRecord,
        record: yunjian_store::NewAuditRecord,
        limits: &Limits,
    ) -> Result<CommitSummary, String> {
        let settings: Map<String, Json> = serde_json::from_str(&connector.settings)
            .map_err(|error| format!("settings: {error}"))?;
        let placement = placement(&settings)?;
        let credentials = credentials(
            &connector.endpoint,
            &settings,
            self.connector_secret(connector)?,
        )?;
        let client = fetch::client(limits).map_err(|error| error.to_string())?;
        let observed = fetch::pull_openstack(&client, &credentials, limits)
            .await
            .map_err(|error: AdapterError| error.to_string())?;
        let translated = translate::openstack(&observed, &placement);
        self.commit_pull(connector, &observed, translated, record)
            .await
    }

    async fn pull_kubernetes(
        &self,
        connector: &ConnectorRecord,
        record: yunjian_store::NewAuditRecord,
        limits: &Limits,
    ) -> Result<CommitSummary, String> {
        let settings: Map<String, Json> = serde_json::from_str(&connector.settings)
            .map_err(|error| format!("settings: {error}"))?;
        let cluster = text(&settings, "cluster").ok_or("settings.cluster: the cluster's name")?;
        let token = self.connector_secret(connector)?;
        let client = fetch::client(limits).map_err(|error| error.to_string())?;
        let observed = fetch::pull_kubernetes(&client, &connector.endpoint, &token, limits)
            .await
            .map_err(|error: AdapterError| error.to_string())?;
        let translated = translate::kubernetes(
            &observed,
            &cluster,
            text(&settings, "project_label").as_deref(),
        );
        self.commit_pull(connector, &observed, translated, record)
            .await
    }

    /// A pulled inventory through the same plan and commit as a push, its problems in
    /// the audit record.
    async fn commit_pull(
        &self,
        connector: &ConnectorRecord,
        observed: &yunjian_connectors::Observed,
        translated: translate::Translated,
        record: yunjian_store::NewAuditRecord,
    ) -> Result<CommitSummary, String> {
        let mut problems: Vec<String> = observed
            .problems
            .iter()
            .chain(&translated.problems)
            .map(|problem| {
                format!(
                    "{} {}: {}",
                    problem.source,
                    problem.external_id.as_deref().unwrap_or("-"),
                    problem.reason
                )
            })
            .collect();
        problems.truncate(200);
        let now = self.now_ns();
        let request_id = format!("pull-{}-{now}", connector.id);
        let sync_id = {
            let mut tx = self
                .store
                .begin_write()
                .await
                .map_err(|error| error.to_string())?;
            let (id, _) = tx
                .open_sync(
                    connector.provider_id,
                    &request_id,
                    "full",
                    "pull",
                    None,
                    now,
                )
                .await
                .map_err(|error| error.to_string())?;
            tx.commit().await.map_err(|error| error.to_string())?;
            id
        };
        let mut record = record;
        record.actor_provider_id = Some(connector.provider_id);
        record.detail = Some(json!({
            "connector": connector_name(connector),
            "problems": problems.len(),
            "first_problems": problems.iter().take(20).collect::<Vec<_>>(),
        }));
        let digest = yunjian_gm::Sm3Digest::of(
            format!(
                "{:?}",
                translated
                    .objects
                    .iter()
                    .map(|object| (&object.kind, &object.external_id))
                    .collect::<Vec<_>>()
            )
            .as_bytes(),
        )
        .to_hex();
        let coverage = translated.coverage();
        let snapshot = Snapshot {
            provider: connector.provider_id,
            sync_id,
            mode: Mode::Full,
            objects: translated.objects,
            digest,
            connector: connector_name(connector),
            coverage,
        };
        self.apply_snapshot(snapshot, record)
            .await
            .map_err(|error| error.to_string())
    }

    async fn pull_prometheus(
        &self,
        connector: &ConnectorRecord,
        limits: &Limits,
    ) -> Result<usize, String> {
        let settings: Map<String, Json> = serde_json::from_str(&connector.settings)
            .map_err(|error| format!("settings: {error}"))?;
        let project_label = text(&settings, "project_label").unwrap_or_else(|| "project".into());
        let queries = settings
            .get("queries")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        let projects: std::collections::HashMap<String, i64> = self
            .store
            .project_mappings(ResultScope::Provider(connector.provider_id))
            .await
            .map_err(|error| error.to_string())?
            .into_iter()
            .map(|mapping| (mapping.project, mapping.tenant_id))
            .collect();
        let client = fetch::client(limits).map_err(|error| error.to_string())?;
        let now = self.now_ns();
        let mut samples = Vec::new();
        for (metric, query) in &queries {
            let Some(query) = query.as_str() else {
                continue;
            };
            let answer = fetch::prometheus_query(&client, &connector.endpoint, query, limits)
                .await
                .map_err(|error| error.to_string())?;
            let bound = crate::provider::METRICS
                .iter()
                .find(|(name, _, _)| name == metric)
                .map_or((0.0, f64::MAX), |(_, min, max)| (*min, *max));
            for series in answer.series {
                let Some((at, value)) = series.points.last().copied() else {
                    continue;
                };
                if !value.is_finite() || value < bound.0 || value > bound.1 {
                    continue;
                }
                samples.push(UsageSample {
                    provider_id: connector.provider_id,
                    tenant_id: series
                        .labels
                        .get(&project_label)
                        .and_then(|project| projects.get(project).copied()),
                    zone_id: None,
                    metric: metric.clone(),
                    at_ns: if at > 0.0 { (at * 1e9) as i64 } else { now },
                    value,
                });
            }
        }
        let mut tx = self
            .store
            .begin_write()
            .await
            .map_err(|error| error.to_string())?;
        tx.insert_usage(&samples)
            .await
            .map_err(|error| error.to_string())?;
        tx.commit().await.map_err(|error| error.to_string())?;
        Ok(samples.len())
    }

    /// Health after a pull: back-off doubles the interval per failure (at most six
    /// hours); a success resets it.
    async fn note_pull(
        &self,
        connector: &ConnectorRecord,
        name: &str,
        result: &Result<String, String>,
        objects: Option<i64>,
        latency_ms: f64,
    ) {
        let outcome = match result {
            Ok(_) => Ok(objects),
            Err(error) => Err(error.as_str()),
        };
        self.note_health(
            connector.provider_id,
            name,
            outcome,
            latency_ms,
            Some(connector.interval_s * 1_000_000_000),
        )
        .await;
        if let Err(error) = result {
            tracing::warn!(connector = name, provider = connector.provider_id, %error, "a pull failed");
        }
    }

    /// Raises one alert per provider, connector and day whose data is stale (5.1.5):
    /// pushes older than a day, pulls older than three intervals.
    pub async fn alert_stale_providers(&self) -> Result<usize, AppError> {
        let now = self.now_ns();
        let connectors = self.store.connectors(None).await?;
        let mut raised = 0;
        let mut tx = self.store.begin_write().await?;
        for health in self.store.connector_health(None).await? {
            let limit = if health.connector == PUSH_CONNECTOR {
                PUSH_STALE_NS
            } else {
                match connectors
                    .iter()
                    .find(|connector| connector_name(connector) == health.connector)
                {
                    Some(connector) if connector.enabled => {
                        3 * connector.interval_s * 1_000_000_000
                    }
                    _ => continue,
                }
            };
            let last = health.last_success_at_ns.unwrap_or(0);
            if now - last <= limit {
                continue;
            }
            let day = crate::compliance::beijing_date(now);
            let event = SecurityEvent {
                id: 0,
                at_ns: now,
                source: "provider_health".into(),
                kind: "provider.stale".into(),
                severity: "medium".into(),
                summary: format!(
                    "云服务商 {} 的 {} 数据已过期（最近成功 {}）/ provider data is stale",
                    health.provider_id,
                    health.connector,
                    health.last_success_at_ns.map_or_else(
                        || "从未 never".to_owned(),
                        |at| chrono::DateTime::from_timestamp_nanos(at).to_rfc3339()
                    )
                ),
                account: None,
                username: None,
                tenant: None,
                provider: Some(ProviderId(health.provider_id)),
                source_address: None,
                first_at_ns: now,
                last_at_ns: now,
                first_seq: None,
                last_seq: None,
                event_count: 1,
                dedupe_key: format!("stale:{}:{}:{day}", health.provider_id, health.connector),
            };
            if tx.insert_security_event(&event).await?.is_some() {
                raised += 1;
            }
        }
        tx.commit().await?;
        Ok(raised)
    }

    /// The pulls and stale checks of `serve`, every minute.
    pub async fn run_connectors_loop(self) {
        let mut ticker = tokio::time::interval(Duration::from_secs(60));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match self.run_due_connectors().await {
                Ok(outcomes) => {
                    for outcome in outcomes {
                        if let Ok(summary) = outcome.result {
                            tracing::info!(connector = outcome.connector, provider = outcome.provider_id, %summary, "pulled");
                        }
                    }
                }
                Err(error) => tracing::error!(%error, "could not run the connectors"),
            }
            if let Err(error) = self.alert_stale_providers().await {
                tracing::error!(%error, "could not check providers' freshness");
            }
        }
    }
}
