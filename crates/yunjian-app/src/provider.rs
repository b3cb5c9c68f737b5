//! The provider interface (guide 3.2, 5.1.2, 5.1.5, 7.1.5, 7.3.1.4, 7.5.7, 7.5.10.6):
//! snapshots pushed through the standard API or pulled by connectors, staged in chunks
//! and committed whole; change history; project mappings; connector health; the image
//! registry and its tamper alerts; usage samples. See docs/provider-api.md and
//! docs/decisions/0011-provider-sync.md.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use serde_json::{json, Value as Json};
use yunjian_connectors::sync::{self, BatchError, Current, Existing, Mode, Plan, PushedObject};
use yunjian_core::ids::{ProviderId, TenantId};
use yunjian_core::role::Role;
use yunjian_core::schema::{FieldType, Kind};
use yunjian_core::value::{Value, Values};
use yunjian_policy::{Action, Relation, Target};
use yunjian_store::{
    AuditOutcome, ChangeFilter, ChangeRecord, ChunkRecord, Conditional, HealthRecord,
    NewAuditRecord, NewChange, NewRegistryEntry, ProjectMapping, RegistryEntry, ResultScope,
    SecurityEvent, SyncOutcome, SyncRecord, UnassignedRecord, UsageSample, WriteTx,
};

use crate::authz::stamp;
use crate::compliance::result_scope;
use crate::error::AppError;
use crate::{App, Context};

/// The connector name under which pushes report their health.
pub const PUSH_CONNECTOR: &str = "push";
/// A chunk's body at most (10,000 objects of about 1 KiB).
pub const MAX_CHUNK_BYTES: usize = 16 * 1024 * 1024;
/// Chunks in one snapshot at most (with 10,000 objects each: ten million objects).
pub const MAX_CHUNKS: i64 = 1_000;
/// A pushing provider is stale when its last good push is older than this (5.1.5).
pub const PUSH_STALE_NS: i64 = 24 * 3_600 * 1_000_000_000;
/// Allocation is sampled at most this often per provider.
const USAGE_INTERVAL_NS: i64 = 3_600 * 1_000_000_000;
/// Back-off after failures of a pull: the interval doubled per failure, at most this.
const MAX_BACKOFF_NS: i64 = 6 * 3_600 * 1_000_000_000;
/// Conditional writes that found a row changed meanwhile are planned again this often.
const APPLY_ATTEMPTS: usize = 3;

/// Metrics a provider may push, with their bounds.
pub const METRICS: &[(&str, f64, f64)] = &[
    ("vcpus", 0.0, 1e9),
    ("memory_gib", 0.0, 1e12),
    ("storage_gib", 0.0, 1e15),
    ("bandwidth_mbps", 0.0, 1e9),
    ("cpu_utilization", 0.0, 100.0),
    ("memory_utilization", 0.0, 100.0),
    ("storage_utilization", 0.0, 100.0),
    ("bandwidth_utilization", 0.0, 100.0),
];

/// What a commit did.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitSummary {
    pub sync: SyncRecord,
    /// Security events raised (unknown or changed image digests).
    pub alerts: usize,
    pub plan_ms: f64,
    pub apply_ms: f64,
}

/// A snapshot's objects ready to apply.
pub(crate) struct Snapshot {
    pub provider: i64,
    pub sync_id: i64,
    pub mode: Mode,
    pub objects: Vec<PushedObject>,
    /// SM3 over what was received, for the audit record.
    pub digest: String,
    /// Whose health the outcome updates: `push` or a connector.
    pub connector: String,
    /// What a full snapshot speaks for.
    pub coverage: sync::Coverage,
}

/// An approved image or template to register.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegistryInput {
    pub provider_id: Option<i64>,
    pub name: String,
    pub os: Option<String>,
    pub sm3_digest: Option<String>,
    pub provider_digest: Option<String>,
    pub note: Option<String>,
}

/// A digest as the registry compares them: `algorithm:hex`, lower case.
pub fn normalize_digest(text: &str) -> Option<String> {
    yunjian_core::value::parse_digest(text.trim())
}

fn sm3_hex(data: &[u8]) -> String {
    yunjian_gm::Sm3Digest::of(data).to_hex()
}

impl App {
    fn provider_question(
        &self,
        context: &Context,
        action: Action,
        kind: &'static str,
        relation: Relation,
    ) -> yunjian_policy::Question<'static> {
        self.question(
            context,
            action,
            Target {
                family: "provider",
                kind,
                group: "",
            },
            relation,
        )
    }

    async fn authorize_provider(
        &self,
        context: &Context,
        action: Action,
        kind: &'static str,
        relation: Relation,
    ) -> Result<yunjian_policy::Decision, AppError> {
        let question = self.provider_question(context, action, kind, relation);
        let mut refusal = self.record(context, action.as_str(), AuditOutcome::Denied);
        refusal.object_kind = Some(kind.to_owned());
        self.authorize(context, question, refusal).await
    }

    /// The pushing provider: the key's own, never one named in the request.
    async fn pushing_provider(
        &self,
        context: &Context,
    ) -> Result<(i64, yunjian_policy::Decision), AppError> {
        let relation = match (context.principal.role, context.principal.provider) {
            (Role::ProviderOperator, Some(_)) => Relation::OwnProvider,
            _ => Relation::Hidden,
        };
        let decision = self
            .authorize_provider(context, Action::ProviderPush, "provider_sync", relation)
            .await?;
        let provider = context
            .principal
            .provider
            .map(|ProviderId(id)| id)
            .ok_or_else(|| AppError::Forbidden("only a provider's integration pushes".into()))?;
        Ok((provider, decision))
    }

    async fn read_scope_for_provider(
        &self,
        context: &Context,
        kind: &'static str,
    ) -> Result<ResultScope, AppError> {
        let scope = result_scope(context);
        let relation = match scope {
            ResultScope::All => Relation::Any,
            ResultScope::Tenant(_) => Relation::OwnTenant,
            ResultScope::Provider(_) => Relation::OwnProvider,
        };
        self.authorize_provider(context, Action::ProviderRead, kind, relation)
            .await?;
        Ok(scope)
    }

    async fn own_sync(
        &self,
        context: &Context,
        provider: i64,
        sync_id: i64,
    ) -> Result<SyncRecord, AppError> {
        match self.store.sync(sync_id).await? {
            Some(sync) if sync.provider_id == provider => Ok(sync),
            Some(_) => {
                // Another provider's snapshot: not found, and on record.
                let mut record = self.record(context, "provider.push", AuditOutcome::Denied);
                record.object_kind = Some("provider_sync".into());
                record.object_id = Some(sync_id);
                self.record_denial(record, "another provider's snapshot")
                    .await;
                Err(AppError::NotFound)
            }
            None => Err(AppError::NotFound),
        }
    }

    /// Opens a snapshot (idempotent on the provider's request id).
    pub async fn open_snapshot(
        &self,
        context: &Context,
        request_id: &str,
        mode: &str,
    ) -> Result<SyncRecord, AppError> {
        let (provider, decision) = self.pushing_provider(context).await?;
        let request_id = request_id.trim();
        if request_id.is_empty()
            || request_id.len() > 128
            || request_id.chars().any(char::is_control)
        {
            return Err(AppError::invalid(
                "request_id",
                "invalid_request_id",
                "your id of this snapshot: 1 to 128 printable characters (it makes retries safe)",
            ));
        }
        let mode = Mode::parse(mode)
            .ok_or_else(|| AppError::invalid("mode", "invalid_mode", "'full' or 'incremental'"))?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let (id, new) = tx
            .open_sync(
                provider,
                request_id,
                mode.as_str(),
                "push",
                Some(context.principal.account_id.0),
                now,
            )
            .await?;
        if new {
            let mut record = self.record(context, "provider.sync.open", AuditOutcome::Succeeded);
            record.object_kind = Some("provider_sync".into());
            record.object_id = Some(id);
            record.detail = Some(json!({ "request_id": request_id, "mode": mode.as_str() }));
            stamp(&mut record, &decision);
            tx.append_audit(&record).await?;
            tx.commit().await?;
        } else {
            drop(tx);
        }
        let sync = self.store.sync(id).await?.ok_or(AppError::NotFound)?;
        if sync.mode != mode.as_str() {
            return Err(AppError::Conflict {
                field: Some("mode".into()),
                message: format!(
                    "request id {request_id} already opened a {} snapshot",
                    sync.mode
                ),
            });
        }
        Ok(sync)
    }

    /// Stages chunk `seq` (from 1) of an open snapshot after checking every object in
    /// it. Sending the same chunk again is harmless; a different body under the same
    /// number is a conflict.
    pub async fn stage_chunk(
        &self,
        context: &Context,
        sync_id: i64,
        seq: i64,
        body: &[u8],
    ) -> Result<ChunkRecord, AppError> {
        let (provider, _) = self.pushing_provider(context).await?;
        let sync = self.own_sync(context, provider, sync_id).await?;
        if !(1..=MAX_CHUNKS).contains(&seq) {
            return Err(AppError::invalid(
                "seq",
                "invalid_chunk_number",
                format!("chunks are numbered 1 to {MAX_CHUNKS}"),
            ));
        }
        if body.len() > MAX_CHUNK_BYTES {
            return Err(AppError::invalid(
                "body",
                "chunk_too_large",
                format!("a chunk is at most {MAX_CHUNK_BYTES} bytes"),
            ));
        }
        let digest = sm3_hex(body);
        if sync.state != "open" {
            // A retry after the commit: the same chunk is fine, anything else is late.
            let staged = self.store.sync_chunks(sync_id).await?;
            return match staged.into_iter().find(|chunk| chunk.seq == seq) {
                Some(chunk) if chunk.digest == digest => Ok(chunk),
                _ => Err(AppError::Conflict {
                    field: None,
                    message: format!(
                        "snapshot {sync_id} is {} and takes no more chunks",
                        sync.state
                    ),
                }),
            };
        }
        let objects = sync::parse_chunk(0, body).map_err(AppError::BatchRefused)?;
        let text = std::str::from_utf8(body)
            .map_err(|_| AppError::invalid("body", "invalid_utf8", "a chunk is UTF-8 JSON"))?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let chunk = ChunkRecord {
            seq,
            objects: objects.len() as i64,
            digest,
        };
        match tx.stage_chunk(sync_id, &chunk, text, now).await? {
            Some(existing) if existing != chunk.digest => {
                return Err(AppError::Conflict {
                    field: Some("seq".into()),
                    message: format!("chunk {seq} was already sent with other content"),
                })
            }
            Some(_) => drop(tx),
            None => tx.commit().await?,
        }
        Ok(chunk)
    }

    /// The snapshot and the chunks staged so far (what a resumed push still has to send).
    pub async fn snapshot_status(
        &self,
        context: &Context,
        sync_id: i64,
    ) -> Result<(SyncRecord, Vec<ChunkRecord>), AppError> {
        let sync = match context.principal.role {
            Role::ProviderOperator => {
                let (provider, _) = self.pushing_provider(context).await?;
                self.own_sync(context, provider, sync_id).await?
            }
            _ => {
                let scope = self
                    .read_scope_for_provider(context, "provider_sync")
                    .await?;
                if matches!(scope, ResultScope::Tenant(_)) {
                    return Err(AppError::NotFound);
                }
                self.store.sync(sync_id).await?.ok_or(AppError::NotFound)?
            }
        };
        let chunks = self.store.sync_chunks(sync_id).await?;
        Ok((sync, chunks))
    }

    /// Applies a staged snapshot: all of it, or (refused) nothing.
    pub async fn commit_snapshot(
        &self,
        context: &Context,
        sync_id: i64,
        chunks_expected: Option<i64>,
    ) -> Result<CommitSummary, AppError> {
        let (provider, decision) = self.pushing_provider(context).await?;
        let sync = self.own_sync(context, provider, sync_id).await?;
        if sync.state == "committed" {
            // A retried commit answers the first one's outcome.
            return Ok(CommitSummary {
                sync,
                alerts: 0,
                plan_ms: 0.0,
                apply_ms: 0.0,
            });
        }
        if sync.state != "open" {
            return Err(AppError::Conflict {
                field: None,
                message: format!("snapshot {sync_id} was refused; open a new one"),
            });
        }
        let staged = self.store.sync_chunk_bodies(sync_id).await?;
        let numbers: Vec<i64> = staged.iter().map(|(chunk, _)| chunk.seq).collect();
        let contiguous = numbers
            .iter()
            .enumerate()
            .all(|(index, seq)| *seq == index as i64 + 1);
        if !contiguous || chunks_expected.is_some_and(|expected| expected != numbers.len() as i64) {
            let missing: Vec<i64> = (1..=chunks_expected
                .unwrap_or(numbers.last().copied().unwrap_or(0)))
                .filter(|seq| !numbers.contains(seq))
                .collect();
            return Err(AppError::Conflict {
                field: Some("chunks".into()),
                message: format!(
                    "chunks missing: {missing:?}; send them and commit again (nothing was applied)"
                ),
            });
        }
        let mut objects = Vec::new();
        let mut digests = yunjian_gm::Sm3Stream::new();
        let mut first = 0usize;
        for (chunk, body) in &staged {
            digests.update(chunk.digest.as_bytes());
            let parsed =
                sync::parse_chunk(first, body.as_bytes()).map_err(AppError::BatchRefused)?;
            first += parsed.len();
            objects.extend(parsed);
        }
        let digest = digests.finish().to_hex();
        let mode = Mode::parse(&sync.mode).unwrap_or(Mode::Full);
        let mut record = self.record(context, "provider.sync.commit", AuditOutcome::Succeeded);
        stamp(&mut record, &decision);
        let snapshot = Snapshot {
            provider,
            sync_id,
            mode,
            objects,
            digest,
            connector: PUSH_CONNECTOR.to_owned(),
            coverage: sync::Coverage::everything(),
        };
        self.apply_snapshot(snapshot, record).await
    }

    /// Plans and applies a snapshot's objects in one transaction with one audit record.
    /// A refused plan closes the snapshot as refused (with its problems, audited) and
    /// answers them. Used by pushes and by the pull connectors.
    pub(crate) async fn apply_snapshot(
        &self,
        snapshot: Snapshot,
        mut record: NewAuditRecord,
    ) -> Result<CommitSummary, AppError> {
        let Snapshot {
            provider,
            sync_id,
            mode,
            objects,
            digest,
            connector,
            coverage,
        } = snapshot;
        let connector = connector.as_str();
        let started = Instant::now();
        let count = objects.len() as i64;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let plan_started = Instant::now();
            let current = self.current_state(provider).await?;
            let plan = match sync::plan(&current, mode, &objects, &coverage) {
                Ok(plan) => plan,
                Err(problems) => {
                    self.refuse_snapshot(provider, sync_id, count, &problems, connector, record)
                        .await?;
                    return Err(AppError::BatchRefused(problems));
                }
            };
            let plan_ms = plan_started.elapsed().as_secs_f64() * 1e3;
            let apply_started = Instant::now();
            match self
                .write_plan(provider, sync_id, &current, &plan, count, &digest, &mut record)
                .await?
            {
                Some(alerts) => {
                    let apply_ms = apply_started.elapsed().as_secs_f64() * 1e3;
                    if connector == PUSH_CONNECTOR {
                        // Pulls note their health with their schedule (connectors.rs).
                        self.note_health(
                            provider,
                            connector,
                            Ok(Some(count)),
                            started.elapsed().as_secs_f64() * 1e3,
                            None,
                        )
                        .await;
                    }
                    self.overviews.clear();
                    let sync = self.store.sync(sync_id).await?.ok_or(AppError::NotFound)?;
                    return Ok(CommitSummary {
                        sync,
                        alerts,
                        plan_ms,
                        apply_ms,
                    });
                }
                None if attempt < APPLY_ATTEMPTS => continue,
                None => {
                    return Err(AppError::Conflict {
                        field: None,
                        message: "the provider's objects kept changing while this snapshot was applied; commit again".into(),
                    })
                }
            }
        }
    }

    async fn refuse_snapshot(
        &self,
        provider: i64,
        sync_id: i64,
        count: i64,
        problems: &[BatchError],
        connector: &str,
        mut record: NewAuditRecord,
    ) -> Result<(), AppError> {
        let outcome = SyncOutcome {
            objects: count,
            problems: Some(serde_json::to_string(problems).unwrap_or_default()),
            ..SyncOutcome::default()
        };
        let mut tx = self.store.begin_write().await?;
        tx.finish_sync(sync_id, "refused", &outcome, self.now_ns())
            .await?;
        record.action = "provider.sync.commit".into();
        record.outcome = AuditOutcome::Failed;
        record.object_kind = Some("provider_sync".into());
        record.object_id = Some(sync_id);
        record.actor_provider_id = record.actor_provider_id.or(Some(provider));
        record.reason = problems.first().map(ToString::to_string);
        let mut detail = record.detail.take().unwrap_or_else(|| json!({}));
        detail["problems"] = json!(problems.len());
        detail["objects"] = json!(count);
        record.detail = Some(detail);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        let reason = problems
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        if connector == PUSH_CONNECTOR {
            self.note_health(provider, connector, Err(&reason), 0.0, None)
                .await;
        }
        Ok(())
    }

    /// What the store holds for a provider, as a plan needs it.
    pub async fn current_state(&self, provider: i64) -> Result<Current, AppError> {
        let rows = self
            .store
            .provider_objects(&sync::PUSHED_KINDS, provider)
            .await?
            .into_iter()
            .map(|object| Existing {
                id: object.id,
                revision: object.revision,
                kind: object.kind,
                external_id: object
                    .values
                    .get("external_id")
                    .and_then(Value::as_text)
                    .unwrap_or_default()
                    .to_owned(),
                values: object.values,
            })
            .collect();
        let zones = self
            .store
            .scan_all(Kind::Zone)
            .await?
            .into_iter()
            .map(|zone| (zone.display_name(), zone.id))
            .collect();
        let projects = self
            .store
            .project_mappings(ResultScope::Provider(provider))
            .await?
            .into_iter()
            .map(|mapping| (mapping.project, mapping.tenant_id))
            .collect();
        Ok(Current {
            provider_id: provider,
            rows,
            zones,
            projects,
        })
    }

    /// Writes a plan. `None` when a row changed since it was read (plan again).
    #[allow(clippy::too_many_arguments)]
    async fn write_plan(
        &self,
        provider: i64,
        sync_id: i64,
        current: &Current,
        plan: &Plan,
        count: i64,
        digest: &str,
        record: &mut NewAuditRecord,
    ) -> Result<Option<usize>, AppError> {
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let mut changes =
            Vec::with_capacity(plan.deletes.len() + plan.updates.len() + plan.creates.len());
        for delete in &plan.deletes {
            match tx
                .delete_if_revision(delete.kind, delete.id, delete.revision)
                .await
            {
                Ok(Conditional::Done) => {}
                Ok(Conditional::Stale) => return Ok(None),
                Err(yunjian_store::StoreError::Conflict(detail)) => {
                    tracing::info!(%detail, "a provider's deletion is still referenced");
                    return Err(AppError::Conflict {
                        field: None,
                        message: format!(
                            "{} {} is gone from the snapshot but records entered by hand still refer to it; \
                             change them first (nothing was applied)",
                            delete.kind.spec().id,
                            delete.external_id
                        ),
                    });
                }
                Err(error) => return Err(error.into()),
            }
            changes.push(NewChange {
                provider_id: provider,
                tenant_id: delete.values.get("tenant_id").and_then(Value::as_int),
                kind: delete.kind.spec().id,
                object_id: delete.id,
                external_id: delete.external_id.clone(),
                name: delete
                    .values
                    .get("name")
                    .and_then(Value::as_text)
                    .map(str::to_owned),
                change: "deleted",
                detail: crate::world::values_json(&delete.values).to_string(),
            });
        }
        for update in &plan.updates {
            match tx
                .update_if_revision(update.kind, update.id, update.revision, &update.values, now)
                .await?
            {
                Conditional::Done => {}
                Conditional::Stale => return Ok(None),
            }
            let spec = update.kind.spec();
            if update.changes.iter().any(|change| {
                spec.field(change.field)
                    .is_some_and(|field| matches!(field.ty, FieldType::RefList(_)))
            }) {
                tx.replace_links(update.kind, update.id, &update.values)
                    .await?;
            }
            let diff: serde_json::Map<String, Json> = update
                .changes
                .iter()
                .map(|change| {
                    (
                        change.field.to_owned(),
                        json!({ "from": change.before.to_json(), "to": change.after.to_json() }),
                    )
                })
                .collect();
            changes.push(NewChange {
                provider_id: provider,
                tenant_id: update.values.get("tenant_id").and_then(Value::as_int),
                kind: update.kind.spec().id,
                object_id: update.id,
                external_id: update.external_id.clone(),
                name: update
                    .values
                    .get("name")
                    .and_then(Value::as_text)
                    .map(str::to_owned),
                change: "changed",
                detail: Json::Object(diff).to_string(),
            });
        }
        // Creations kind by kind, referenced kinds first; provisional ids become real.
        let mut real: HashMap<i64, i64> = HashMap::with_capacity(plan.creates.len());
        let mut created_values: Vec<(Kind, i64, &str, Values)> =
            Vec::with_capacity(plan.creates.len());
        let mut start = 0;
        while start < plan.creates.len() {
            let kind = plan.creates[start].kind;
            let end = plan.creates[start..]
                .iter()
                .position(|create| create.kind != kind)
                .map_or(plan.creates.len(), |offset| start + offset);
            let batch: Vec<Values> = plan.creates[start..end]
                .iter()
                .map(|create| {
                    let mut values = create.values.clone();
                    let real_id = |id: i64| real.get(&id).copied().unwrap_or(id);
                    for field in kind.spec().fields {
                        match (field.ty, values.get_mut(field.name)) {
                            (FieldType::Ref(_), Some(Value::Int(id))) => *id = real_id(*id),
                            (FieldType::RefList(_), Some(Value::IdList(ids))) => {
                                ids.iter_mut().for_each(|id| *id = real_id(*id));
                                ids.sort_unstable();
                            }
                            _ => {}
                        }
                    }
                    values
                })
                .collect();
            let refs: Vec<&Values> = batch.iter().collect();
            let inserted = match tx.insert_returning_external(kind, &refs, now).await {
                Ok(inserted) => inserted,
                Err(yunjian_store::StoreError::Conflict(detail)) => {
                    tracing::info!(%detail, "a provider's new object conflicts");
                    return Err(AppError::Conflict {
                        field: None,
                        message: format!(
                            "a new {} conflicts with a stored one (a name already used in the same VPC, tenant or provider); nothing was applied",
                            kind.spec().id
                        ),
                    });
                }
                Err(error) => return Err(error.into()),
            };
            let by_external: HashMap<&str, i64> = inserted
                .iter()
                .map(|(id, external)| (external.as_str(), *id))
                .collect();
            let mut links: Vec<Vec<(i64, i64)>> =
                vec![Vec::new(); kind.spec().link_fields().count()];
            for (create, values) in plan.creates[start..end].iter().zip(batch) {
                let id = by_external
                    .get(create.external_id.as_str())
                    .copied()
                    .ok_or_else(|| {
                        AppError::Internal("an inserted row's id was not returned".into())
                    })?;
                real.insert(create.provisional, id);
                for ((field, _), rows) in kind.spec().link_fields().zip(&mut links) {
                    if let Some(Value::IdList(targets)) = values.get(field.name) {
                        rows.extend(targets.iter().map(|target| (id, *target)));
                    }
                }
                created_values.push((kind, id, create.external_id.as_str(), values));
            }
            for ((_, link), rows) in kind.spec().link_fields().zip(&links) {
                tx.insert_links(link, rows).await?;
            }
            start = end;
        }
        for (kind, id, external_id, values) in &created_values {
            changes.push(NewChange {
                provider_id: provider,
                tenant_id: values.get("tenant_id").and_then(Value::as_int),
                kind: kind.spec().id,
                object_id: *id,
                external_id: (*external_id).to_owned(),
                name: values
                    .get("name")
                    .and_then(Value::as_text)
                    .map(str::to_owned),
                change: "created",
                detail: crate::world::values_json(values).to_string(),
            });
        }
        tx.insert_changes(sync_id, &changes, now).await?;
        let unassigned: Vec<(String, String, Option<String>, String)> = plan
            .unassigned
            .iter()
            .map(|object| {
                (
                    object.kind.to_owned(),
                    object.external_id.clone(),
                    object.project.clone(),
                    object.reason.clone(),
                )
            })
            .collect();
        tx.replace_unassigned(provider, sync_id, &unassigned)
            .await?;
        let alerts = self
            .image_alerts(&mut tx, provider, plan, &created_values, now)
            .await?;
        self.sample_allocation(&mut tx, provider, current, plan, &created_values, now)
            .await?;
        let outcome = SyncOutcome {
            objects: count,
            created: plan.creates.len() as i64,
            changed: plan.updates.len() as i64,
            deleted: plan.deletes.len() as i64,
            unchanged: plan.unchanged as i64,
            unassigned: plan.unassigned.len() as i64,
            digest: Some(digest.to_owned()),
            problems: None,
        };
        if !tx.finish_sync(sync_id, "committed", &outcome, now).await? {
            // Committed (or refused) by a concurrent request meanwhile.
            return Err(AppError::Conflict {
                field: None,
                message: format!("snapshot {sync_id} is no longer open"),
            });
        }
        let mut record = record.clone();
        record.at_ns = now;
        record.object_kind = Some("provider_sync".into());
        record.object_id = Some(sync_id);
        record.actor_provider_id = record.actor_provider_id.or(Some(provider));
        record.after_digest = Some(format!("sm3:{digest}"));
        let mut detail = record.detail.take().unwrap_or_else(|| json!({}));
        for (key, value) in [
            ("objects", json!(count)),
            ("created", json!(outcome.created)),
            ("changed", json!(outcome.changed)),
            ("deleted", json!(outcome.deleted)),
            ("unchanged", json!(outcome.unchanged)),
            ("unassigned", json!(outcome.unassigned)),
            ("image_alerts", json!(alerts)),
        ] {
            detail[key] = value;
        }
        record.detail = Some(detail);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(Some(alerts))
    }

    /// Images created or changed whose digest the registry does not approve raise a
    /// security event each (7.5.7): a changed digest under the same id is tampering.
    async fn image_alerts(
        &self,
        tx: &mut WriteTx,
        provider: i64,
        plan: &Plan,
        created: &[(Kind, i64, &str, Values)],
        now: i64,
    ) -> Result<usize, AppError> {
        let registry = self.store.image_registry().await?;
        let approved = approved_digests(&registry, provider);
        let mut alerts = 0;
        let mut seen = Vec::new();
        for (kind, id, external_id, values) in created {
            if *kind == Kind::Image {
                seen.push((*id, *external_id, None, values));
            }
        }
        for update in &plan.updates {
            if update.kind == Kind::Image
                && update.changes.iter().any(|change| change.field == "digest")
            {
                let before = update.before.get("digest").and_then(Value::as_text);
                seen.push((
                    update.id,
                    update.external_id.as_str(),
                    before,
                    &update.values,
                ));
            }
        }
        for (id, external_id, before, values) in seen {
            let digest = values
                .get("digest")
                .and_then(Value::as_text)
                .unwrap_or_default();
            if approved.contains(&normalize_digest(digest).unwrap_or_default()) {
                continue;
            }
            let name = values
                .get("name")
                .and_then(Value::as_text)
                .unwrap_or_default();
            let (kind, summary) = match before {
                Some(before) => (
                    "image.digest_changed",
                    format!("镜像 {name}（{external_id}）摘要由 {before} 变为 {digest}，不在登记库中 / image digest changed and is not approved"),
                ),
                None => (
                    "image.unknown_digest",
                    format!("镜像 {name}（{external_id}）摘要 {digest} 不在登记库中 / image digest is not approved"),
                ),
            };
            let event = SecurityEvent {
                id: 0,
                at_ns: now,
                source: "provider_sync".into(),
                kind: kind.into(),
                severity: if before.is_some() { "high" } else { "medium" }.into(),
                summary,
                account: None,
                username: None,
                tenant: values
                    .get("tenant_id")
                    .and_then(Value::as_int)
                    .map(TenantId),
                provider: Some(ProviderId(provider)),
                source_address: None,
                first_at_ns: now,
                last_at_ns: now,
                first_seq: None,
                last_seq: None,
                event_count: 1,
                dedupe_key: format!("image:{provider}:{id}:{digest}"),
            };
            if tx.insert_security_event(&event).await?.is_some() {
                alerts += 1;
            }
        }
        // Container workloads (5.4.3): every image digest the kubelet pulled must be
        // approved too.
        let workloads = created
            .iter()
            .filter(|(kind, ..)| *kind == Kind::ContainerWorkload)
            .map(|(_, id, external_id, values)| (*id, *external_id, values))
            .chain(
                plan.updates
                    .iter()
                    .filter(|update| update.kind == Kind::ContainerWorkload)
                    .filter(|update| {
                        update
                            .changes
                            .iter()
                            .any(|change| change.field == "image_digests")
                    })
                    .map(|update| (update.id, update.external_id.as_str(), &update.values)),
            );
        for (id, external_id, values) in workloads {
            let Some(Value::TextList(digests)) = values.get("image_digests") else {
                continue;
            };
            for digest in digests {
                if approved.contains(&normalize_digest(digest).unwrap_or_default()) {
                    continue;
                }
                let name = values
                    .get("name")
                    .and_then(Value::as_text)
                    .unwrap_or_default();
                let namespace = values
                    .get("namespace")
                    .and_then(Value::as_text)
                    .unwrap_or_default();
                let event = SecurityEvent {
                    id: 0,
                    at_ns: now,
                    source: "provider_sync".into(),
                    kind: "container.image_unapproved".into(),
                    severity: "medium".into(),
                    summary: format!(
                        "容器 {namespace}/{name}（{external_id}）运行的镜像 {digest} 不在登记库中 / a container runs an image that is not approved"
                    ),
                    account: None,
                    username: None,
                    tenant: values.get("tenant_id").and_then(Value::as_int).map(TenantId),
                    provider: Some(ProviderId(provider)),
                    source_address: None,
                    first_at_ns: now,
                    last_at_ns: now,
                    first_seq: None,
                    last_seq: None,
                    event_count: 1,
                    dedupe_key: format!("container:{provider}:{id}:{digest}"),
                };
                if tx.insert_security_event(&event).await?.is_some() {
                    alerts += 1;
                }
            }
        }
        Ok(alerts)
    }

    /// Allocation per tenant and zone after the plan (7.1.5), at most hourly.
    async fn sample_allocation(
        &self,
        tx: &mut WriteTx,
        provider: i64,
        current: &Current,
        plan: &Plan,
        created: &[(Kind, i64, &str, Values)],
        now: i64,
    ) -> Result<(), AppError> {
        let last = self
            .store
            .usage_samples(
                ResultScope::Provider(provider),
                Some("vcpus"),
                now - USAGE_INTERVAL_NS,
                now + 1,
            )
            .await?;
        if !last.is_empty() && plan.is_empty() {
            return Ok(());
        }
        if !last.is_empty()
            && last
                .iter()
                .any(|sample| sample.at_ns > now - USAGE_INTERVAL_NS / 4)
        {
            return Ok(());
        }
        let deleted: HashSet<(Kind, i64)> = plan
            .deletes
            .iter()
            .map(|delete| (delete.kind, delete.id))
            .collect();
        let updated: HashMap<(Kind, i64), &Values> = plan
            .updates
            .iter()
            .map(|update| ((update.kind, update.id), &update.values))
            .collect();
        let mut rows: Vec<(Kind, i64, &Values)> = Vec::new();
        for row in &current.rows {
            if matches!(row.kind, Kind::Vpc | Kind::Vm | Kind::Volume)
                && !deleted.contains(&(row.kind, row.id))
            {
                let values = updated
                    .get(&(row.kind, row.id))
                    .copied()
                    .unwrap_or(&row.values);
                rows.push((row.kind, row.id, values));
            }
        }
        for (kind, id, _, values) in created {
            if matches!(kind, Kind::Vpc | Kind::Vm | Kind::Volume) {
                rows.push((*kind, *id, values));
            }
        }
        let zone_of_vpc: HashMap<i64, i64> = rows
            .iter()
            .filter(|(kind, _, _)| *kind == Kind::Vpc)
            .filter_map(|(_, id, values)| Some((*id, values.get("zone_id")?.as_int()?)))
            .collect();
        let mut sums: BTreeMap<(Option<i64>, Option<i64>, &str), f64> = BTreeMap::new();
        for (kind, _, values) in &rows {
            let int = |field: &str| values.get(field).and_then(Value::as_int).unwrap_or(0) as f64;
            let tenant = values.get("tenant_id").and_then(Value::as_int);
            match kind {
                Kind::Vm => {
                    let zone = values
                        .get("vpc_id")
                        .and_then(Value::as_int)
                        .and_then(|vpc| zone_of_vpc.get(&vpc).copied());
                    *sums.entry((tenant, zone, "vcpus")).or_default() += int("vcpus");
                    *sums.entry((tenant, zone, "memory_gib")).or_default() +=
                        int("memory_mib") / 1024.0;
                }
                Kind::Volume => {
                    *sums.entry((tenant, None, "storage_gib")).or_default() += int("size_gib");
                }
                _ => {}
            }
        }
        let samples: Vec<UsageSample> = sums
            .into_iter()
            .map(|((tenant, zone, metric), value)| UsageSample {
                provider_id: provider,
                tenant_id: tenant,
                zone_id: zone,
                metric: metric.to_owned(),
                at_ns: now,
                value,
            })
            .collect();
        tx.insert_usage(&samples).await?;
        Ok(())
    }

    /// Records a connector's (or the push's) attempt; a failure only logs if the health
    /// record itself cannot be written (the sync's own outcome is already stored).
    pub(crate) async fn note_health(
        &self,
        provider: i64,
        connector: &str,
        outcome: Result<Option<i64>, &str>,
        latency_ms: f64,
        interval_ns: Option<i64>,
    ) {
        let now = self.now_ns();
        let result = async {
            let previous = self
                .store
                .connector_health(Some(provider))
                .await?
                .into_iter()
                .find(|health| health.connector == connector)
                .unwrap_or_default();
            let mut health = HealthRecord {
                provider_id: provider,
                connector: connector.to_owned(),
                last_attempt_at_ns: Some(now),
                last_success_at_ns: previous.last_success_at_ns,
                latency_ms: Some(latency_ms),
                last_error: None,
                failures: 0,
                next_attempt_at_ns: interval_ns.map(|interval| now + interval),
                objects: previous.objects,
            };
            match outcome {
                Ok(objects) => {
                    health.last_success_at_ns = Some(now);
                    health.objects = objects.unwrap_or(previous.objects);
                }
                Err(error) => {
                    health.last_error = Some(error.chars().take(500).collect());
                    health.failures = previous.failures + 1;
                    // Back off: the interval doubled per failure, at most six hours.
                    health.next_attempt_at_ns = interval_ns.map(|interval| {
                        now + interval
                            .saturating_mul(1 << health.failures.clamp(0, 16))
                            .min(MAX_BACKOFF_NS)
                    });
                }
            }
            let mut tx = self.store.begin_write().await?;
            tx.put_health(&health).await?;
            tx.commit().await?;
            Ok::<(), AppError>(())
        }
        .await;
        if let Err(error) = result {
            tracing::error!(%error, provider, connector, "could not record connector health");
        }
    }

    /// Snapshots in the reader's scope (tenants see none: they read changes).
    pub async fn syncs(&self, context: &Context, limit: i64) -> Result<Vec<SyncRecord>, AppError> {
        let scope = self
            .read_scope_for_provider(context, "provider_sync")
            .await?;
        match provider_filter(scope) {
            Some(provider) => Ok(self.store.syncs(provider, limit).await?),
            None => Ok(Vec::new()),
        }
    }

    /// Resource change history in the reader's scope (7.5.10.6, 7.2.4.7).
    pub async fn resource_changes(
        &self,
        context: &Context,
        filter: &ChangeFilter,
        limit: i64,
    ) -> Result<Vec<ChangeRecord>, AppError> {
        let scope = self
            .read_scope_for_provider(context, "resource_changes")
            .await?;
        Ok(self
            .store
            .resource_changes(scope, filter, limit.clamp(1, 1_000))
            .await?)
    }

    pub async fn connector_health(&self, context: &Context) -> Result<Vec<HealthRecord>, AppError> {
        let scope = self
            .read_scope_for_provider(context, "connector_health")
            .await?;
        match provider_filter(scope) {
            Some(provider) => Ok(self.store.connector_health(provider).await?),
            None => Ok(Vec::new()),
        }
    }

    pub async fn unassigned_objects(
        &self,
        context: &Context,
    ) -> Result<Vec<UnassignedRecord>, AppError> {
        let scope = self
            .read_scope_for_provider(context, "provider_unassigned")
            .await?;
        match provider_filter(scope) {
            Some(provider) => Ok(self.store.unassigned_objects(provider).await?),
            None => Ok(Vec::new()),
        }
    }

    pub async fn project_mappings(
        &self,
        context: &Context,
    ) -> Result<Vec<ProjectMapping>, AppError> {
        let scope = self
            .read_scope_for_provider(context, "provider_projects")
            .await?;
        Ok(self.store.project_mappings(scope).await?)
    }

    /// Maps a provider's project to a tenant (or, with `None`, removes the mapping).
    /// Objects of the project are assigned at the provider's next sync.
    pub async fn map_project(
        &self,
        context: &Context,
        provider: i64,
        project: &str,
        tenant: Option<i64>,
    ) -> Result<Option<i64>, AppError> {
        let decision = self
            .authorize_provider(
                context,
                Action::ProviderConfigure,
                "provider_projects",
                Relation::Any,
            )
            .await?;
        let project = project.trim();
        if project.is_empty() || project.len() > 128 {
            return Err(AppError::invalid(
                "project",
                "invalid_project",
                "the provider's project id: 1 to 128 characters",
            ));
        }
        let mut tx = self.store.begin_write().await?;
        if tx
            .get(Kind::Provider, provider, yunjian_store::ReadScope::All)
            .await?
            .is_none()
        {
            return Err(AppError::invalid(
                "provider_id",
                "unknown_reference",
                format!("no provider {provider}"),
            ));
        }
        if let Some(tenant) = tenant {
            if tx
                .get(Kind::Tenant, tenant, yunjian_store::ReadScope::All)
                .await?
                .is_none()
            {
                return Err(AppError::invalid(
                    "tenant_id",
                    "unknown_reference",
                    format!("no tenant {tenant}"),
                ));
            }
        }
        let now = self.now_ns();
        let previous = match tenant {
            Some(tenant) => {
                tx.map_project(
                    provider,
                    project,
                    tenant,
                    Some(context.principal.account_id.0),
                    now,
                )
                .await?
            }
            None => tx.unmap_project(provider, project).await?,
        };
        let mut record = self.record(context, "provider.project.map", AuditOutcome::Succeeded);
        record.object_kind = Some("provider_project".into());
        record.tenant_id = tenant.or(previous);
        record.detail = Some(json!({
            "provider_id": provider, "project": project, "tenant_id": tenant, "previous": previous,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(previous)
    }

    pub async fn image_registry(&self, context: &Context) -> Result<Vec<RegistryEntry>, AppError> {
        self.read_scope_for_provider(context, "image_registry")
            .await?;
        Ok(self.store.image_registry().await?)
    }

    /// Approves an image or template with its digests (7.5.7.1).
    pub async fn register_image(
        &self,
        context: &Context,
        input: &RegistryInput,
    ) -> Result<RegistryEntry, AppError> {
        let decision = self
            .authorize_provider(
                context,
                Action::ProviderConfigure,
                "image_registry",
                Relation::Any,
            )
            .await?;
        let mut errors = Vec::new();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 128 {
            errors.push(yunjian_core::value::FieldError::new(
                "name",
                "required",
                "a name of 1 to 128 characters",
            ));
        }
        let sm3 = match input
            .sm3_digest
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
        {
            None => None,
            Some(text) => {
                match normalize_digest(text).filter(|digest| digest.starts_with("sm3:")) {
                    Some(digest) => Some(digest),
                    None => {
                        errors.push(yunjian_core::value::FieldError::new(
                            "sm3_digest",
                            "invalid_digest",
                            "'sm3:' followed by 64 hex digits",
                        ));
                        None
                    }
                }
            }
        };
        let provider_digest = match input
            .provider_digest
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
        {
            None => None,
            Some(text) => match normalize_digest(text) {
                Some(digest) if !digest.starts_with("md5:") => Some(digest),
                _ => {
                    errors.push(yunjian_core::value::FieldError::new(
                        "provider_digest",
                        "invalid_digest",
                        "the provider's own hash: sha256:, sha512: or sm3: and its hex digits (MD5 is too weak to approve by)",
                    ));
                    None
                }
            },
        };
        if sm3.is_none() && provider_digest.is_none() && errors.is_empty() {
            errors.push(yunjian_core::value::FieldError::new(
                "sm3_digest",
                "required",
                "give the image's SM3 digest, the provider's own hash, or both",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let mut tx = self.store.begin_write().await?;
        if let Some(provider) = input.provider_id {
            if tx
                .get(Kind::Provider, provider, yunjian_store::ReadScope::All)
                .await?
                .is_none()
            {
                return Err(AppError::invalid(
                    "provider_id",
                    "unknown_reference",
                    format!("no provider {provider}"),
                ));
            }
        }
        let now = self.now_ns();
        let id = tx
            .insert_registry_entry(
                &NewRegistryEntry {
                    provider_id: input.provider_id,
                    name,
                    os: input.os.as_deref(),
                    sm3_digest: sm3.as_deref(),
                    provider_digest: provider_digest.as_deref(),
                    note: input.note.as_deref(),
                    approved_by: Some(context.principal.account_id.0),
                },
                now,
            )
            .await?;
        let mut record = self.record(context, "provider.image.approve", AuditOutcome::Succeeded);
        record.object_kind = Some("image_registry".into());
        record.object_id = Some(id);
        record.detail = Some(json!({
            "name": name, "provider_id": input.provider_id, "sm3_digest": sm3,
            "provider_digest": provider_digest,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .image_registry()
            .await?
            .into_iter()
            .find(|entry| entry.id == id)
            .ok_or(AppError::NotFound)
    }

    pub async fn revoke_image(&self, context: &Context, id: i64) -> Result<(), AppError> {
        let decision = self
            .authorize_provider(
                context,
                Action::ProviderConfigure,
                "image_registry",
                Relation::Any,
            )
            .await?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        if !tx
            .revoke_registry_entry(id, context.principal.account_id.0, now)
            .await?
        {
            return Err(AppError::NotFound);
        }
        let mut record = self.record(context, "provider.image.revoke", AuditOutcome::Succeeded);
        record.object_kind = Some("image_registry".into());
        record.object_id = Some(id);
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Utilization and allocation samples a provider pushes (7.1.5, 8.3.2):
    /// `{"samples": [{"metric", "value", "at"?, "project"?, "zone"?}]}`, all or nothing.
    /// A sample of an unmapped project counts for the provider as a whole.
    pub async fn push_usage(&self, context: &Context, body: &[u8]) -> Result<usize, AppError> {
        let (provider, decision) = self.pushing_provider(context).await?;
        let now = self.now_ns();
        let projects: HashMap<String, i64> = self
            .store
            .project_mappings(ResultScope::Provider(provider))
            .await?
            .into_iter()
            .map(|mapping| (mapping.project, mapping.tenant_id))
            .collect();
        let zones: HashMap<String, i64> = self
            .store
            .scan_all(Kind::Zone)
            .await?
            .into_iter()
            .map(|zone| (zone.display_name(), zone.id))
            .collect();
        let samples =
            parse_usage(body, provider, now, &projects, &zones).map_err(AppError::BatchRefused)?;
        let mut tx = self.store.begin_write().await?;
        tx.insert_usage(&samples).await?;
        let mut record = self.record(context, "provider.usage.push", AuditOutcome::Succeeded);
        record.object_kind = Some("usage_samples".into());
        record.actor_provider_id = Some(provider);
        record.detail = Some(json!({ "samples": samples.len(), "sm3": sm3_hex(body) }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(samples.len())
    }

    /// Usage samples in the reader's scope over a time range.
    pub async fn usage(
        &self,
        context: &Context,
        metric: Option<&str>,
        since_ns: i64,
        until_ns: i64,
    ) -> Result<Vec<UsageSample>, AppError> {
        let scope = self
            .read_scope_for_provider(context, "usage_samples")
            .await?;
        Ok(self
            .store
            .usage_samples(scope, metric, since_ns, until_ns)
            .await?)
    }
}

/// The provider filter of a provider-side read: all (`Some(None)`), one provider's, or
/// nothing for a tenant (`None`: syncs, health and set-aside objects are the providers').
pub(crate) fn provider_filter(scope: ResultScope) -> Option<Option<i64>> {
    match scope {
        ResultScope::All => Some(None),
        ResultScope::Provider(id) => Some(Some(id)),
        ResultScope::Tenant(_) => None,
    }
}

/// Digests the registry approves for a provider: every active entry's SM3 and
/// provider hash.
pub(crate) fn approved_digests(registry: &[RegistryEntry], provider: i64) -> HashSet<String> {
    registry
        .iter()
        .filter(|entry| entry.revoked_at_ns.is_none())
        .filter(|entry| entry.provider_id.is_none_or(|id| id == provider))
        .flat_map(|entry| [entry.sm3_digest.clone(), entry.provider_digest.clone()])
        .flatten()
        .collect()
}

fn parse_usage(
    body: &[u8],
    provider: i64,
    now: i64,
    projects: &HashMap<String, i64>,
    zones: &HashMap<String, i64>,
) -> Result<Vec<UsageSample>, Vec<BatchError>> {
    let problem =
        |index: usize, field: Option<&str>, code: &'static str, reason: String| BatchError {
            index,
            kind: Some("usage".into()),
            external_id: None,
            field: field.map(str::to_owned),
            code,
            reason,
        };
    let json: Json = serde_json::from_slice(body).map_err(|error| {
        vec![problem(
            0,
            None,
            "invalid_json",
            format!("not JSON: {error}"),
        )]
    })?;
    let Some(items) = json.get("samples").and_then(Json::as_array) else {
        return Err(vec![problem(
            0,
            Some("samples"),
            "invalid_batch",
            "'samples' must be a list".into(),
        )]);
    };
    if items.len() > sync::MAX_OBJECTS_PER_CHUNK {
        return Err(vec![problem(
            0,
            Some("samples"),
            "batch_too_large",
            format!("at most {} samples a request", sync::MAX_OBJECTS_PER_CHUNK),
        )]);
    }
    let mut samples = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let metric = item
            .get("metric")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let Some((name, min, max)) = METRICS.iter().find(|(name, _, _)| *name == metric) else {
            let known: Vec<&str> = METRICS.iter().map(|(name, _, _)| *name).collect();
            problems.push(problem(
                index,
                Some("metric"),
                "unknown_metric",
                format!("one of {}", known.join(", ")),
            ));
            continue;
        };
        let value = item.get("value").and_then(Json::as_f64);
        let Some(value) = value.filter(|value| value.is_finite() && (*min..=*max).contains(value))
        else {
            problems.push(problem(
                index,
                Some("value"),
                "out_of_range",
                format!("a number from {min} to {max}"),
            ));
            continue;
        };
        let at_ns = match item.get("at") {
            None | Some(Json::Null) => now,
            Some(Json::String(text)) => match chrono::DateTime::parse_from_rfc3339(text) {
                Ok(at) => at.timestamp_nanos_opt().unwrap_or(now),
                Err(_) => {
                    problems.push(problem(
                        index,
                        Some("at"),
                        "invalid_time",
                        "an RFC 3339 time".into(),
                    ));
                    continue;
                }
            },
            Some(_) => {
                problems.push(problem(
                    index,
                    Some("at"),
                    "invalid_time",
                    "an RFC 3339 time".into(),
                ));
                continue;
            }
        };
        if at_ns > now + crate::MAX_SKEW_NS {
            problems.push(problem(
                index,
                Some("at"),
                "in_the_future",
                "a sample from the future".into(),
            ));
            continue;
        }
        let tenant = item
            .get("project")
            .and_then(Json::as_str)
            .and_then(|project| projects.get(project).copied());
        let zone = match item.get("zone").and_then(Json::as_str) {
            None => None,
            Some(name) => match zones.get(name) {
                Some(id) => Some(*id),
                None => {
                    problems.push(problem(
                        index,
                        Some("zone"),
                        "unknown_zone",
                        format!("no zone named '{name}'"),
                    ));
                    continue;
                }
            },
        };
        samples.push(UsageSample {
            provider_id: provider,
            tenant_id: tenant,
            zone_id: zone,
            metric: (*name).to_owned(),
            at_ns,
            value,
        });
    }
    if problems.is_empty() {
        Ok(samples)
    } else {
        problems.truncate(sync::MAX_ERRORS);
        Err(problems)
    }
}

impl App {
    /// The demo's provider interface: each provider's projects mapped to the tenants it
    /// hosts (as `demo::project_of` names them) and its images approved with their
    /// digests, so the simulator's first sync changes nothing and a tampered image
    /// stands out. One audit record.
    pub async fn seed_demo_provider_interface(&self) -> Result<(usize, usize), AppError> {
        let now = self.now_ns();
        let mut owners: std::collections::BTreeSet<(i64, i64)> = std::collections::BTreeSet::new();
        for kind in [Kind::Vpc, Kind::Volume, Kind::Backup, Kind::Image] {
            for object in self.store.scan_all(kind).await? {
                if let (Some(provider), Some(tenant)) = (
                    object.values.get("provider_id").and_then(Value::as_int),
                    object.values.get("tenant_id").and_then(Value::as_int),
                ) {
                    owners.insert((provider, tenant));
                }
            }
        }
        let images = self.store.scan_all(Kind::Image).await?;
        let mut tx = self.store.begin_write().await?;
        for (provider, tenant) in &owners {
            tx.map_project(
                *provider,
                &yunjian_core::demo::project_of(*tenant),
                *tenant,
                None,
                now,
            )
            .await?;
        }
        for image in &images {
            let digest = image.values.get("digest").and_then(Value::as_text);
            tx.insert_registry_entry(
                &NewRegistryEntry {
                    provider_id: image.values.get("provider_id").and_then(Value::as_int),
                    name: &image.display_name(),
                    os: image.values.get("os").and_then(Value::as_text),
                    sm3_digest: digest.filter(|digest| digest.starts_with("sm3:")),
                    provider_digest: digest.filter(|digest| !digest.starts_with("sm3:")),
                    note: Some("演示：随演示云登记 / registered with the demo cloud"),
                    approved_by: None,
                },
                now,
            )
            .await?;
        }
        let mut record = crate::ledger::local_record(now, "provider.demo.seed");
        record.detail =
            Some(json!({ "project_mappings": owners.len(), "approved_images": images.len() }));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok((owners.len(), images.len()))
    }
}

impl App {
    /// Applies objects as a snapshot of `provider` from the command line (benchmarks,
    /// imports): the same plan and commit as a push, recorded as the local tool's.
    pub async fn apply_local_snapshot(
        &self,
        provider: i64,
        mode: Mode,
        objects: Vec<PushedObject>,
    ) -> Result<CommitSummary, AppError> {
        let now = self.now_ns();
        let request_id = format!("local-{now}-{}", yunjian_gm::random_secret_hex(4));
        let sync_id = {
            let mut tx = self.store.begin_write().await?;
            let (id, _) = tx
                .open_sync(provider, &request_id, mode.as_str(), "push", None, now)
                .await?;
            tx.commit().await?;
            id
        };
        let digest = sm3_hex(request_id.as_bytes());
        let record = crate::ledger::local_record(now, "provider.sync.commit");
        let snapshot = Snapshot {
            provider,
            sync_id,
            mode,
            objects,
            digest,
            connector: "local".to_owned(),
            coverage: sync::Coverage::everything(),
        };
        self.apply_snapshot(snapshot, record).await
    }
}
