//! The provider interface's records: project mappings, staged snapshots and their
//! chunks, resource change history, set-aside objects, pull connectors and their health,
//! the approved image registry, and usage samples.

use sqlx::Row;

use crate::compliance::ResultScope;
use crate::error::{Result, StoreError};
use crate::open::{Backend, Store, WriteTx};
use crate::read::{Bind, Cell, CellType};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("provider records: {what}"))
}

fn int(cells: &[Cell], index: usize, what: &str) -> Result<i64> {
    cells[index].int().ok_or_else(|| corrupt(what))
}

fn float(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Float(value) => Some(*value),
        Cell::Int(value) => Some(*value as f64),
        _ => None,
    }
}

fn text(cells: &mut [Cell], index: usize, what: &str) -> Result<String> {
    cells[index].take_text().ok_or_else(|| corrupt(what))
}

/// Which tenant owns one of a provider's projects.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectMapping {
    pub provider_id: i64,
    pub project: String,
    pub tenant_id: i64,
    pub mapped_by: Option<i64>,
    pub mapped_at_ns: i64,
}

/// One snapshot, pushed or pulled.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncRecord {
    pub id: i64,
    pub provider_id: i64,
    pub request_id: String,
    /// `full` or `incremental`.
    pub mode: String,
    /// `push` or `pull`.
    pub origin: String,
    /// `open`, `committed` or `refused`.
    pub state: String,
    pub opened_by: Option<i64>,
    pub opened_at_ns: i64,
    pub finished_at_ns: Option<i64>,
    pub objects: i64,
    pub created: i64,
    pub changed: i64,
    pub deleted: i64,
    pub unchanged: i64,
    pub unassigned: i64,
    pub digest: Option<String>,
    /// JSON list of problems, when refused.
    pub problems: Option<String>,
}

const SYNC_COLUMNS: &str = "id, provider_id, request_id, mode, origin, state, opened_by, \
    opened_at_ns, finished_at_ns, objects, created, changed, deleted, unchanged, unassigned, \
    digest, problems";
const SYNC_TYPES: &[CellType] = &[
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
];

fn decode_sync(cells: &mut [Cell]) -> Result<SyncRecord> {
    Ok(SyncRecord {
        id: int(cells, 0, "sync id")?,
        provider_id: int(cells, 1, "sync provider")?,
        request_id: text(cells, 2, "sync request")?,
        mode: text(cells, 3, "sync mode")?,
        origin: text(cells, 4, "sync origin")?,
        state: text(cells, 5, "sync state")?,
        opened_by: cells[6].int(),
        opened_at_ns: int(cells, 7, "sync opened")?,
        finished_at_ns: cells[8].int(),
        objects: int(cells, 9, "sync objects")?,
        created: int(cells, 10, "sync created")?,
        changed: int(cells, 11, "sync changed")?,
        deleted: int(cells, 12, "sync deleted")?,
        unchanged: int(cells, 13, "sync unchanged")?,
        unassigned: int(cells, 14, "sync unassigned")?,
        digest: cells[15].take_text(),
        problems: cells[16].take_text(),
    })
}

/// A staged chunk, without its body.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkRecord {
    pub seq: i64,
    pub objects: i64,
    pub digest: String,
}

fn decode_chunk(cells: &mut [Cell]) -> Result<ChunkRecord> {
    Ok(ChunkRecord {
        seq: int(cells, 0, "chunk seq")?,
        objects: int(cells, 1, "chunk objects")?,
        digest: text(cells, 2, "chunk digest")?,
    })
}

/// What a commit finished with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncOutcome {
    pub objects: i64,
    pub created: i64,
    pub changed: i64,
    pub deleted: i64,
    pub unchanged: i64,
    pub unassigned: i64,
    pub digest: Option<String>,
    pub problems: Option<String>,
}

/// One resource change a commit made (7.5.10.6).
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRecord {
    pub id: i64,
    pub sync_id: i64,
    pub provider_id: i64,
    pub tenant_id: Option<i64>,
    pub kind: String,
    pub object_id: i64,
    pub external_id: String,
    pub name: Option<String>,
    /// `created`, `changed` or `deleted`.
    pub change: String,
    /// JSON: the values, or `{field: {from, to}}`.
    pub detail: String,
    pub at_ns: i64,
}

pub struct NewChange {
    pub provider_id: i64,
    pub tenant_id: Option<i64>,
    pub kind: &'static str,
    pub object_id: i64,
    pub external_id: String,
    pub name: Option<String>,
    pub change: &'static str,
    pub detail: String,
}

/// Narrowing of a change history query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangeFilter {
    pub provider_id: Option<i64>,
    pub kind: Option<String>,
    pub object_id: Option<i64>,
    pub sync_id: Option<i64>,
    /// Keyset paging: only changes older than this id.
    pub before_id: Option<i64>,
}

const CHANGE_COLUMNS: &str = "id, sync_id, provider_id, tenant_id, kind, object_id, external_id, \
    name, change, detail, at_ns";
const CHANGE_TYPES: &[CellType] = &[
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Int,
];

fn decode_change(cells: &mut [Cell]) -> Result<ChangeRecord> {
    Ok(ChangeRecord {
        id: int(cells, 0, "change id")?,
        sync_id: int(cells, 1, "change sync")?,
        provider_id: int(cells, 2, "change provider")?,
        tenant_id: cells[3].int(),
        kind: text(cells, 4, "change kind")?,
        object_id: int(cells, 5, "change object")?,
        external_id: text(cells, 6, "change external id")?,
        name: cells[7].take_text(),
        change: text(cells, 8, "change")?,
        detail: text(cells, 9, "change detail")?,
        at_ns: int(cells, 10, "change time")?,
    })
}

/// An object set aside for want of an owner.
#[derive(Clone, Debug, PartialEq)]
pub struct UnassignedRecord {
    pub provider_id: i64,
    pub kind: String,
    pub external_id: String,
    pub project: Option<String>,
    pub reason: String,
    pub sync_id: i64,
}

/// A pull connector's configuration; the secret stays sealed.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorRecord {
    pub id: i64,
    pub provider_id: i64,
    /// `openstack`, `kubernetes` or `prometheus`.
    pub kind: String,
    pub endpoint: String,
    /// JSON.
    pub settings: String,
    /// Sealed (SM4-GCM), base64.
    pub secret: Option<String>,
    pub interval_s: i64,
    pub enabled: bool,
    pub created_by: Option<i64>,
    pub created_at_ns: i64,
}

const CONNECTOR_COLUMNS: &str =
    "id, provider_id, kind, endpoint, settings, secret, interval_s, enabled, created_by, created_at_ns";
const CONNECTOR_TYPES: &[CellType] = &[
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
];

fn decode_connector(cells: &mut [Cell]) -> Result<ConnectorRecord> {
    Ok(ConnectorRecord {
        id: int(cells, 0, "connector id")?,
        provider_id: int(cells, 1, "connector provider")?,
        kind: text(cells, 2, "connector kind")?,
        endpoint: text(cells, 3, "connector endpoint")?,
        settings: text(cells, 4, "connector settings")?,
        secret: cells[5].take_text(),
        interval_s: int(cells, 6, "connector interval")?,
        enabled: int(cells, 7, "connector enabled")? != 0,
        created_by: cells[8].int(),
        created_at_ns: int(cells, 9, "connector created")?,
    })
}

pub struct NewConnector<'a> {
    pub provider_id: i64,
    pub kind: &'a str,
    pub endpoint: &'a str,
    pub settings: &'a str,
    pub secret: Option<&'a str>,
    pub interval_s: i64,
    pub created_by: Option<i64>,
}

/// How a provider's connector (or its push) is doing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthRecord {
    pub provider_id: i64,
    /// `push`, or a connector's `kind:id`.
    pub connector: String,
    pub last_attempt_at_ns: Option<i64>,
    pub last_success_at_ns: Option<i64>,
    pub latency_ms: Option<f64>,
    pub last_error: Option<String>,
    pub failures: i64,
    pub next_attempt_at_ns: Option<i64>,
    pub objects: i64,
}

const HEALTH_COLUMNS: &str = "provider_id, connector, last_attempt_at_ns, last_success_at_ns, \
    latency_ms, last_error, failures, next_attempt_at_ns, objects";
const HEALTH_TYPES: &[CellType] = &[
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Float,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
];

fn decode_health(cells: &mut [Cell]) -> Result<HealthRecord> {
    Ok(HealthRecord {
        provider_id: int(cells, 0, "health provider")?,
        connector: text(cells, 1, "health connector")?,
        last_attempt_at_ns: cells[2].int(),
        last_success_at_ns: cells[3].int(),
        latency_ms: float(&cells[4]),
        last_error: cells[5].take_text(),
        failures: int(cells, 6, "health failures")?,
        next_attempt_at_ns: cells[7].int(),
        objects: int(cells, 8, "health objects")?,
    })
}

/// An approved image or template.
#[derive(Clone, Debug, PartialEq)]
pub struct RegistryEntry {
    pub id: i64,
    /// The provider it is approved for; `None`: for every provider.
    pub provider_id: Option<i64>,
    pub name: String,
    pub os: Option<String>,
    pub sm3_digest: Option<String>,
    pub provider_digest: Option<String>,
    pub note: Option<String>,
    pub approved_by: Option<i64>,
    pub approved_at_ns: i64,
    pub revoked_by: Option<i64>,
    pub revoked_at_ns: Option<i64>,
}

pub struct NewRegistryEntry<'a> {
    pub provider_id: Option<i64>,
    pub name: &'a str,
    pub os: Option<&'a str>,
    pub sm3_digest: Option<&'a str>,
    pub provider_digest: Option<&'a str>,
    pub note: Option<&'a str>,
    pub approved_by: Option<i64>,
}

const REGISTRY_COLUMNS: &str = "id, provider_id, name, os, sm3_digest, provider_digest, note, \
    approved_by, approved_at_ns, revoked_by, revoked_at_ns";
const REGISTRY_TYPES: &[CellType] = &[
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Int,
];

fn decode_registry(cells: &mut [Cell]) -> Result<RegistryEntry> {
    Ok(RegistryEntry {
        id: int(cells, 0, "registry id")?,
        provider_id: cells[1].int(),
        name: text(cells, 2, "registry name")?,
        os: cells[3].take_text(),
        sm3_digest: cells[4].take_text(),
        provider_digest: cells[5].take_text(),
        note: cells[6].take_text(),
        approved_by: cells[7].int(),
        approved_at_ns: int(cells, 8, "registry approved")?,
        revoked_by: cells[9].int(),
        revoked_at_ns: cells[10].int(),
    })
}

/// One usage measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageSample {
    pub provider_id: i64,
    pub tenant_id: Option<i64>,
    pub zone_id: Option<i64>,
    /// `vcpus`, `memory_gib`, `storage_gib`, `bandwidth_mbps`, `cpu_utilization`, …
    pub metric: String,
    pub at_ns: i64,
    pub value: f64,
}

/// `(?, ?, …)` on SQLite (numbered parameters bind quadratically there, see
/// `Params::many`), `($n, …)` on PostgreSQL.
pub(crate) fn tuple(backend: Backend, base: usize, width: usize) -> String {
    let marks: Vec<String> = (1..=width)
        .map(|offset| match backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${}", base + offset),
        })
        .collect();
    format!("({})", marks.join(", "))
}

pub(crate) fn owner_binds(scope: ResultScope) -> (Bind, Bind) {
    match scope {
        ResultScope::All => (Bind::Int(None), Bind::Int(None)),
        ResultScope::Tenant(id) => (Bind::Int(Some(id)), Bind::Int(None)),
        ResultScope::Provider(id) => (Bind::Int(None), Bind::Int(Some(id))),
    }
}

impl Store {
    /// Mappings in the reader's scope (a tenant its own, a provider its own).
    pub async fn project_mappings(&self, scope: ResultScope) -> Result<Vec<ProjectMapping>> {
        let (tenant, provider_id) = owner_binds(scope);
        self.read_decoded(
            "SELECT provider_id, project, tenant_id, mapped_by, mapped_at_ns FROM provider_projects \
             WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR provider_id = $2) \
             ORDER BY provider_id, project"
                .to_owned(),
            vec![tenant, provider_id],
            &[
                CellType::Int,
                CellType::Text,
                CellType::Int,
                CellType::Int,
                CellType::Int,
            ],
            |cells| {
                Ok(ProjectMapping {
                    provider_id: int(cells, 0, "mapping provider")?,
                    project: text(cells, 1, "mapping project")?,
                    tenant_id: int(cells, 2, "mapping tenant")?,
                    mapped_by: cells[3].int(),
                    mapped_at_ns: int(cells, 4, "mapping time")?,
                })
            },
        )
        .await
    }

    pub async fn sync(&self, id: i64) -> Result<Option<SyncRecord>> {
        Ok(self
            .read_decoded(
                format!("SELECT {SYNC_COLUMNS} FROM provider_syncs WHERE id = $1"),
                vec![Bind::Int(Some(id))],
                SYNC_TYPES,
                decode_sync,
            )
            .await?
            .pop())
    }

    /// Snapshots newest first, for one provider or all.
    pub async fn syncs(&self, provider_id: Option<i64>, limit: i64) -> Result<Vec<SyncRecord>> {
        self.read_decoded(
            format!(
                "SELECT {SYNC_COLUMNS} FROM provider_syncs WHERE ($1 IS NULL OR provider_id = $1) \
                 ORDER BY id DESC LIMIT $2"
            ),
            vec![Bind::Int(provider_id), Bind::Int(Some(limit))],
            SYNC_TYPES,
            decode_sync,
        )
        .await
    }

    pub async fn sync_chunks(&self, sync_id: i64) -> Result<Vec<ChunkRecord>> {
        self.read_decoded(
            "SELECT seq, objects, digest FROM provider_sync_chunks \
             WHERE sync_id = $1 ORDER BY seq"
                .to_owned(),
            vec![Bind::Int(Some(sync_id))],
            &[CellType::Int, CellType::Int, CellType::Text],
            decode_chunk,
        )
        .await
    }

    /// The staged chunks' bodies in order.
    pub async fn sync_chunk_bodies(&self, sync_id: i64) -> Result<Vec<(ChunkRecord, String)>> {
        self.read_decoded(
            "SELECT seq, objects, digest, body FROM provider_sync_chunks \
             WHERE sync_id = $1 ORDER BY seq"
                .to_owned(),
            vec![Bind::Int(Some(sync_id))],
            &[CellType::Int, CellType::Int, CellType::Text, CellType::Text],
            |cells| Ok((decode_chunk(cells)?, text(cells, 3, "chunk body")?)),
        )
        .await
    }

    /// Change history in the reader's scope, newest first.
    pub async fn resource_changes(
        &self,
        scope: ResultScope,
        filter: &ChangeFilter,
        limit: i64,
    ) -> Result<Vec<ChangeRecord>> {
        let (tenant, provider) = owner_binds(scope);
        self.read_decoded(
            format!(
                "SELECT {CHANGE_COLUMNS} FROM resource_changes \
                 WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR provider_id = $2) \
                 AND ($3 IS NULL OR provider_id = $3) AND ($4 IS NULL OR kind = $4) \
                 AND ($5 IS NULL OR object_id = $5) AND ($6 IS NULL OR sync_id = $6) \
                 AND ($7 IS NULL OR id < $7) ORDER BY id DESC LIMIT $8"
            ),
            vec![
                tenant,
                provider,
                Bind::Int(filter.provider_id),
                Bind::Text(filter.kind.clone()),
                Bind::Int(filter.object_id),
                Bind::Int(filter.sync_id),
                Bind::Int(filter.before_id),
                Bind::Int(Some(limit)),
            ],
            CHANGE_TYPES,
            decode_change,
        )
        .await
    }

    pub async fn unassigned_objects(
        &self,
        provider_id: Option<i64>,
    ) -> Result<Vec<UnassignedRecord>> {
        self.read_decoded(
            "SELECT provider_id, kind, external_id, project, reason, sync_id FROM provider_unassigned \
             WHERE ($1 IS NULL OR provider_id = $1) ORDER BY provider_id, kind, external_id"
                .to_owned(),
            vec![Bind::Int(provider_id)],
            &[
                CellType::Int,
                CellType::Text,
                CellType::Text,
                CellType::Text,
                CellType::Text,
                CellType::Int,
            ],
            |cells| {
                Ok(UnassignedRecord {
                    provider_id: int(cells, 0, "unassigned provider")?,
                    kind: text(cells, 1, "unassigned kind")?,
                    external_id: text(cells, 2, "unassigned id")?,
                    project: cells[3].take_text(),
                    reason: text(cells, 4, "unassigned reason")?,
                    sync_id: int(cells, 5, "unassigned sync")?,
                })
            },
        )
        .await
    }

    pub async fn connectors(&self, provider_id: Option<i64>) -> Result<Vec<ConnectorRecord>> {
        self.read_decoded(
            format!(
                "SELECT {CONNECTOR_COLUMNS} FROM provider_connectors \
                 WHERE ($1 IS NULL OR provider_id = $1) ORDER BY id"
            ),
            vec![Bind::Int(provider_id)],
            CONNECTOR_TYPES,
            decode_connector,
        )
        .await
    }

    pub async fn connector_health(&self, provider_id: Option<i64>) -> Result<Vec<HealthRecord>> {
        self.read_decoded(
            format!(
                "SELECT {HEALTH_COLUMNS} FROM connector_health \
                 WHERE ($1 IS NULL OR provider_id = $1) ORDER BY provider_id, connector"
            ),
            vec![Bind::Int(provider_id)],
            HEALTH_TYPES,
            decode_health,
        )
        .await
    }

    pub async fn image_registry(&self) -> Result<Vec<RegistryEntry>> {
        self.read_decoded(
            format!("SELECT {REGISTRY_COLUMNS} FROM image_registry ORDER BY id"),
            Vec::new(),
            REGISTRY_TYPES,
            decode_registry,
        )
        .await
    }

    /// Samples of a metric since a time, in the reader's scope, oldest first.
    pub async fn usage_samples(
        &self,
        scope: ResultScope,
        metric: Option<&str>,
        since_ns: i64,
        until_ns: i64,
    ) -> Result<Vec<UsageSample>> {
        let (tenant, provider) = owner_binds(scope);
        self.read_decoded(
            "SELECT provider_id, tenant_id, zone_id, metric, at_ns, value FROM usage_samples \
             WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR provider_id = $2) \
             AND ($3 IS NULL OR metric = $3) AND at_ns >= $4 AND at_ns < $5 \
             ORDER BY at_ns, provider_id, tenant_id, metric"
                .to_owned(),
            vec![
                tenant,
                provider,
                Bind::Text(metric.map(str::to_owned)),
                Bind::Int(Some(since_ns)),
                Bind::Int(Some(until_ns)),
            ],
            &[
                CellType::Int,
                CellType::Int,
                CellType::Int,
                CellType::Text,
                CellType::Int,
                CellType::Float,
            ],
            |cells| {
                Ok(UsageSample {
                    provider_id: int(cells, 0, "usage provider")?,
                    tenant_id: cells[1].int(),
                    zone_id: cells[2].int(),
                    metric: text(cells, 3, "usage metric")?,
                    at_ns: int(cells, 4, "usage time")?,
                    value: float(&cells[5]).ok_or_else(|| corrupt("usage value"))?,
                })
            },
        )
        .await
    }
}

impl WriteTx {
    /// Maps a project to a tenant; answers the tenant it was mapped to before.
    pub async fn map_project(
        &mut self,
        provider_id: i64,
        project: &str,
        tenant_id: i64,
        by: Option<i64>,
        now_ns: i64,
    ) -> Result<Option<i64>> {
        let previous = self.unmap_project(provider_id, project).await?;
        sqlx::query(
            "INSERT INTO provider_projects (provider_id, project, tenant_id, mapped_by, mapped_at_ns) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(provider_id)
        .bind(project)
        .bind(tenant_id)
        .bind(by)
        .bind(now_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(previous)
    }

    pub async fn unmap_project(&mut self, provider_id: i64, project: &str) -> Result<Option<i64>> {
        let previous = sqlx::query(
            "SELECT tenant_id FROM provider_projects WHERE provider_id = $1 AND project = $2",
        )
        .bind(provider_id)
        .bind(project)
        .fetch_optional(&mut *self.transaction)
        .await?
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()?;
        sqlx::query("DELETE FROM provider_projects WHERE provider_id = $1 AND project = $2")
            .bind(provider_id)
            .bind(project)
            .execute(&mut *self.transaction)
            .await?;
        Ok(previous)
    }

    /// Opens a snapshot, or answers the one already opened with this request id.
    /// Answers the id and whether it is new.
    pub async fn open_sync(
        &mut self,
        provider_id: i64,
        request_id: &str,
        mode: &str,
        origin: &str,
        by: Option<i64>,
        now_ns: i64,
    ) -> Result<(i64, bool)> {
        let found =
            sqlx::query("SELECT id FROM provider_syncs WHERE provider_id = $1 AND request_id = $2")
                .bind(provider_id)
                .bind(request_id)
                .fetch_optional(&mut *self.transaction)
                .await?;
        if let Some(row) = found {
            return Ok((row.try_get(0)?, false));
        }
        let row = sqlx::query(
            "INSERT INTO provider_syncs (provider_id, request_id, mode, origin, state, opened_by, opened_at_ns) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
        )
        .bind(provider_id)
        .bind(request_id)
        .bind(mode)
        .bind(origin)
        .bind(by)
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok((row.try_get(0)?, true))
    }

    /// Stages a chunk. Answers the digest already staged under this number, if any (the
    /// caller decides whether a repeat is the same chunk).
    pub async fn stage_chunk(
        &mut self,
        sync_id: i64,
        chunk: &ChunkRecord,
        body: &str,
        now_ns: i64,
    ) -> Result<Option<String>> {
        let found =
            sqlx::query("SELECT digest FROM provider_sync_chunks WHERE sync_id = $1 AND seq = $2")
                .bind(sync_id)
                .bind(chunk.seq)
                .fetch_optional(&mut *self.transaction)
                .await?;
        if let Some(row) = found {
            return Ok(Some(row.try_get(0)?));
        }
        sqlx::query(
            "INSERT INTO provider_sync_chunks (sync_id, seq, objects, digest, body, received_at_ns) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(sync_id)
        .bind(chunk.seq)
        .bind(chunk.objects)
        .bind(&chunk.digest)
        .bind(body)
        .bind(now_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(None)
    }

    /// Closes a snapshot as committed or refused, if it is still open. The staged
    /// bodies go: what was applied is in the change records and the digest.
    pub async fn finish_sync(
        &mut self,
        sync_id: i64,
        state: &str,
        outcome: &SyncOutcome,
        now_ns: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE provider_syncs SET state = $1, finished_at_ns = $2, objects = $3, created = $4, \
             changed = $5, deleted = $6, unchanged = $7, unassigned = $8, digest = $9, problems = $10 \
             WHERE id = $11 AND state = 'open'",
        )
        .bind(state)
        .bind(now_ns)
        .bind(outcome.objects)
        .bind(outcome.created)
        .bind(outcome.changed)
        .bind(outcome.deleted)
        .bind(outcome.unchanged)
        .bind(outcome.unassigned)
        .bind(outcome.digest.clone())
        .bind(outcome.problems.clone())
        .bind(sync_id)
        .execute(&mut *self.transaction)
        .await?;
        if state == "committed" {
            sqlx::query("UPDATE provider_sync_chunks SET body = '' WHERE sync_id = $1")
                .bind(sync_id)
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(done.rows_affected() == 1)
    }

    /// Records changes in multi-row statements.
    pub async fn insert_changes(
        &mut self,
        sync_id: i64,
        changes: &[NewChange],
        now_ns: i64,
    ) -> Result<()> {
        for chunk in changes.chunks(150) {
            let mut binds = Vec::with_capacity(chunk.len() * 10);
            let mut tuples = Vec::with_capacity(chunk.len());
            for change in chunk {
                let base = binds.len();
                tuples.push(tuple(self.backend, base, 10));
                binds.extend([
                    Bind::Int(Some(sync_id)),
                    Bind::Int(Some(change.provider_id)),
                    Bind::Int(change.tenant_id),
                    Bind::Text(Some(change.kind.to_owned())),
                    Bind::Int(Some(change.object_id)),
                    Bind::Text(Some(change.external_id.clone())),
                    Bind::Text(change.name.clone()),
                    Bind::Text(Some(change.change.to_owned())),
                    Bind::Text(Some(change.detail.clone())),
                    Bind::Int(Some(now_ns)),
                ]);
            }
            let sql = format!(
                "INSERT INTO resource_changes (sync_id, provider_id, tenant_id, kind, object_id, \
                 external_id, name, change, detail, at_ns) VALUES {}",
                tuples.join(", ")
            );
            crate::read::bind_sqlx(&binds, sqlx::query(&sql))
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(())
    }

    /// Replaces a provider's set-aside objects with those of its latest commit.
    pub async fn replace_unassigned(
        &mut self,
        provider_id: i64,
        sync_id: i64,
        objects: &[(String, String, Option<String>, String)],
    ) -> Result<()> {
        sqlx::query("DELETE FROM provider_unassigned WHERE provider_id = $1")
            .bind(provider_id)
            .execute(&mut *self.transaction)
            .await?;
        for (kind, external_id, project, reason) in objects {
            sqlx::query(
                "INSERT INTO provider_unassigned (provider_id, kind, external_id, project, reason, sync_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(provider_id)
            .bind(kind)
            .bind(external_id)
            .bind(project.clone())
            .bind(reason)
            .bind(sync_id)
            .execute(&mut *self.transaction)
            .await?;
        }
        Ok(())
    }

    pub async fn insert_connector(
        &mut self,
        connector: &NewConnector<'_>,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO provider_connectors (provider_id, kind, endpoint, settings, secret, interval_s, \
             enabled, created_by, created_at_ns) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) RETURNING id",
        )
        .bind(connector.provider_id)
        .bind(connector.kind)
        .bind(connector.endpoint)
        .bind(connector.settings)
        .bind(connector.secret)
        .bind(connector.interval_s)
        .bind(connector.created_by)
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn set_connector_enabled(&mut self, id: i64, enabled: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE provider_connectors SET enabled = $1 WHERE id = $2")
            .bind(i64::from(enabled))
            .bind(id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn put_health(&mut self, health: &HealthRecord) -> Result<()> {
        sqlx::query("DELETE FROM connector_health WHERE provider_id = $1 AND connector = $2")
            .bind(health.provider_id)
            .bind(&health.connector)
            .execute(&mut *self.transaction)
            .await?;
        sqlx::query(
            "INSERT INTO connector_health (provider_id, connector, last_attempt_at_ns, last_success_at_ns, \
             latency_ms, last_error, failures, next_attempt_at_ns, objects) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        // A float parameter: never cached (see `read::bind_sqlx`).
        .persistent(false)
        .bind(health.provider_id)
        .bind(&health.connector)
        .bind(health.last_attempt_at_ns)
        .bind(health.last_success_at_ns)
        .bind(health.latency_ms)
        .bind(health.last_error.clone())
        .bind(health.failures)
        .bind(health.next_attempt_at_ns)
        .bind(health.objects)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    pub async fn insert_registry_entry(
        &mut self,
        entry: &NewRegistryEntry<'_>,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO image_registry (provider_id, name, os, sm3_digest, provider_digest, note, \
             approved_by, approved_at_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(entry.provider_id)
        .bind(entry.name)
        .bind(entry.os)
        .bind(entry.sm3_digest)
        .bind(entry.provider_digest)
        .bind(entry.note)
        .bind(entry.approved_by)
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn revoke_registry_entry(&mut self, id: i64, by: i64, now_ns: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE image_registry SET revoked_by = $1, revoked_at_ns = $2 WHERE id = $3 AND revoked_at_ns IS NULL",
        )
        .bind(by)
        .bind(now_ns)
        .bind(id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_usage(&mut self, samples: &[UsageSample]) -> Result<()> {
        for chunk in samples.chunks(300) {
            let mut binds = Vec::with_capacity(chunk.len() * 6);
            let mut tuples = Vec::with_capacity(chunk.len());
            for sample in chunk {
                let base = binds.len();
                tuples.push(tuple(self.backend, base, 6));
                binds.extend([
                    Bind::Int(Some(sample.provider_id)),
                    Bind::Int(sample.tenant_id),
                    Bind::Int(sample.zone_id),
                    Bind::Text(Some(sample.metric.clone())),
                    Bind::Int(Some(sample.at_ns)),
                    Bind::Float(Some(sample.value)),
                ]);
            }
            let sql = format!(
                "INSERT INTO usage_samples (provider_id, tenant_id, zone_id, metric, at_ns, value) VALUES {}",
                tuples.join(", ")
            );
            crate::read::bind_sqlx(&binds, sqlx::query(&sql))
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(())
    }
}
