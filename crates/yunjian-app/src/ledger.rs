//! The audit ledger as a use-case: group commit of records that stand alone, signed
//! checkpoints, reading with role and tenant scope, proofs, exports, archives, the
//! anomaly report and an online re-verification.
//!
//! Who reads what: security auditors, third-party auditors and the management unit see
//! every record; a tenant administrator sees the records of its own tenant (and can
//! export them as a slice with inclusion proofs); everyone signed in may read the
//! checkpoint, the public key and consistency proofs, which reveal no record.

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use yunjian_bundle::{BundleWriter, Manifest, Proof, Scope};
use yunjian_core::anomaly::{self, Anomaly, Thresholds};
use yunjian_core::audit::format_time;
use yunjian_core::ledger::{
    inclusion_proof_nodes, Checkpoint, Frontier, Hash, NodeId, ProofNodes, TreeHasher,
};
use yunjian_gm::{
    open_note, sign_note, LedgerHash, NoteSigner, NoteVerifierKey, SealingKey, SoftwareSm2Signer,
    DEFAULT_DISTID,
};
use yunjian_store::{
    AuditFilter, AuditOutcome, AuditRecord, LedgerArchive, LedgerHead, NewAuditRecord, Store,
    StoredCheckpoint,
};

use yunjian_policy::{Action, Relation, Target};

use crate::authz::unit_relation;
use crate::error::AppError;
use crate::{App, Context};

/// The guide's floor for keeping audit records online (7.1.4, 7.5.10.2).
pub const RETENTION_FLOOR_MONTHS: u32 = 6;

/// Associated data for sealing the signing key: a sealed value made for anything else
/// does not open as this key.
const KEY_SEAL_CONTEXT: &[u8] = b"yunjian ledger checkpoint signing key v1";

/// The largest export the API builds in memory; the CLI has no limit.
pub const API_EXPORT_LIMIT: u64 = 1_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerSettings {
    pub hash: LedgerHash,
    /// The log's name in checkpoints and the signing key's name.
    pub origin: String,
    /// Sign a checkpoint at least this often while records arrive…
    pub checkpoint_interval_ns: i64,
    /// …or as soon as this many records are unsigned.
    pub checkpoint_records: u64,
    pub retention_months: u32,
}

impl Default for LedgerSettings {
    fn default() -> LedgerSettings {
        LedgerSettings {
            hash: LedgerHash::Sm3,
            origin: "yunjian.local/audit/sm3".into(),
            checkpoint_interval_ns: 60 * 1_000_000_000,
            checkpoint_records: 1000,
            retention_months: RETENTION_FLOOR_MONTHS,
        }
    }
}

type Job = (NewAuditRecord, oneshot::Sender<Result<u64, String>>);

/// The largest group commit.
const BATCH: usize = 1024;
/// How long a batch waits for company when the previous one had some.
const LINGER: Duration = Duration::from_millis(2);

/// Records that stand alone (failed logins, denials, exports) share commits: the
/// committer takes whatever is queued, up to 1,024, and commits it as one transaction,
/// so a burst costs one sync per batch instead of one per record. Callers wait for the
/// commit: a request is answered only once its record is durable.
#[derive(Default)]
pub(crate) struct GroupCommitter {
    sender: OnceLock<mpsc::Sender<Job>>,
}

impl GroupCommitter {
    fn sender(&self, store: &Store) -> mpsc::Sender<Job> {
        self.sender
            .get_or_init(|| {
                let (sender, mut receiver) = mpsc::channel::<Job>(16_384);
                let store = store.clone();
                tokio::spawn(async move {
                    let mut jobs: Vec<Job> = Vec::with_capacity(BATCH);
                    let mut last_batch = 0;
                    while receiver.recv_many(&mut jobs, BATCH).await > 0 {
                        // Under concurrency (the last batch had company), linger briefly
                        // so the writers woken by that commit can join this one: until
                        // as many as last time are here, or LINGER passes. A lone
                        // request never waits.
                        if last_batch > 1 {
                            let deadline = tokio::time::Instant::now() + LINGER;
                            while jobs.len() < last_batch {
                                let room = BATCH - jobs.len();
                                match tokio::time::timeout_at(
                                    deadline,
                                    receiver.recv_many(&mut jobs, room),
                                )
                                .await
                                {
                                    Ok(0) | Err(_) => break,
                                    Ok(_) => {}
                                }
                            }
                        }
                        last_batch = jobs.len();
                        let (records, waiters): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
                        match store.append_audit_batch(&records).await {
                            Ok(seqs) => {
                                for (waiter, seq) in waiters.into_iter().zip(seqs) {
                                    let _ = waiter.send(Ok(seq));
                                }
                            }
                            Err(error) => {
                                let message = error.to_string();
                                for waiter in waiters {
                                    let _ = waiter.send(Err(message.clone()));
                                }
                            }
                        }
                    }
                });
                sender
            })
            .clone()
    }
}

/// Who may see which records.
enum View {
    All,
    Tenant(i64),
}

/// What `audit_records` filters on (the tenant filter is the caller's scope, not input).
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object_kind: Option<String>,
    pub object_id: Option<i64>,
    pub tenant_id: Option<i64>,
    pub outcome: Option<AuditOutcome>,
    pub from_ns: Option<i64>,
    pub to_ns: Option<i64>,
    pub before_seq: Option<u64>,
    pub limit: u32,
}

/// What to export: by sequence numbers, or by time (the first record at or after each).
#[derive(Clone, Debug, Default)]
pub struct ExportRange {
    pub from_seq: Option<u64>,
    pub to_seq: Option<u64>,
    pub from_ns: Option<i64>,
    pub to_ns: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExportSummary {
    pub scope: &'static str,
    pub from: u64,
    pub to: u64,
    pub tree_size: u64,
    pub records: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct OnlineVerification {
    pub records_checked: u64,
    pub pruned_records: u64,
    pub checkpoints_checked: u64,
    pub tree_size: u64,
    pub root: String,
    pub problems: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AnomalyReport {
    pub from: String,
    pub to: String,
    pub records_examined: usize,
    pub truncated: bool,
    pub anomalies: Vec<Anomaly>,
}

/// Runs file writing that may take a while (a large export) without stalling the other
/// tasks of a multi-threaded runtime's worker; inline on a single-threaded one (tests).
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// A record of an action taken on the server's own machine (the CLI, or the server
/// itself): no account, source "local".
pub(crate) fn local_record(now: i64, action: &str) -> NewAuditRecord {
    let mut record = NewAuditRecord::new(now, action, AuditOutcome::Succeeded);
    record.actor_username = Some("yunjian-cli".into());
    record.source_address = Some("local".into());
    record
}

/// The Beijing-time (UTC+8) day that ended last before `now_ns`: its date and its
/// bounds in UTC nanoseconds.
fn last_complete_day(now_ns: i64) -> (String, i64, i64) {
    const DAY_NS: i64 = 86_400 * 1_000_000_000;
    const OFFSET_NS: i64 = 8 * 3_600 * 1_000_000_000;
    let today_start = (now_ns + OFFSET_NS).div_euclid(DAY_NS) * DAY_NS - OFFSET_NS;
    let start = today_start - DAY_NS;
    let date = chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(start + OFFSET_NS)
        .format("%Y-%m-%d")
        .to_string();
    (date, start, today_start)
}

fn hex_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

impl App {
    /// Sets how the ledger is kept and the key that signs its checkpoints.
    pub fn with_ledger(
        mut self,
        settings: LedgerSettings,
        signer: Option<Arc<dyn NoteSigner>>,
    ) -> App {
        self.ledger = Arc::new(settings);
        self.signer = signer;
        self
    }

    pub fn ledger_settings(&self) -> &LedgerSettings {
        &self.ledger
    }

    /// Creates the ledger head if this store has none; refuses a different hash.
    pub async fn init_ledger(&self) -> Result<LedgerHead, AppError> {
        self.store
            .init_ledger(self.ledger.hash, &self.ledger.origin)
            .await
            .map_err(|error| AppError::Internal(error.to_string()))
    }

    /// Makes the checkpoint signing key (SM2), sealed under `sealing`; returns the
    /// verifier key. Refused when a key exists (rotation is a later feature).
    pub async fn create_signing_key(&self, sealing: &SealingKey) -> Result<String, AppError> {
        if self.store.ledger_signing_key().await?.is_some() {
            return Err(AppError::Conflict {
                field: None,
                message: "the ledger already has a signing key".into(),
            });
        }
        let head = self.init_ledger().await?;
        let signer = SoftwareSm2Signer::generate(&head.origin, DEFAULT_DISTID)
            .map_err(|error| AppError::Internal(error.to_string()))?;
        let verifier = signer.verifier_key().to_text();
        let sealed = sealing.seal(&signer.secret_bytes(), KEY_SEAL_CONTEXT);
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let id = tx
            .insert_ledger_key(&head.origin, &verifier, &sealed, now)
            .await?;
        let mut record = local_record(now, "audit.key.create");
        record.object_kind = Some("ledger_key".into());
        record.object_id = Some(id);
        record.detail = Some(json!({ "verifier_key": verifier, "algorithm": "sm2-sm3" }));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(verifier)
    }

    /// The stored signing key, unsealed; `None` when the store has none yet.
    pub async fn load_signer(
        store: &Store,
        sealing: &SealingKey,
    ) -> Result<Option<Arc<dyn NoteSigner>>, AppError> {
        let Some(stored) = store.ledger_signing_key().await? else {
            return Ok(None);
        };
        let secret = sealing
            .open(&stored.sealed_secret, KEY_SEAL_CONTEXT)
            .map_err(|error| AppError::Internal(format!("ledger signing key: {error}")))?;
        let verifier = NoteVerifierKey::parse(&stored.verifier_key)
            .map_err(|error| AppError::Internal(format!("ledger verifier key: {error}")))?;
        let signer = SoftwareSm2Signer::from_secret(verifier.name(), verifier.distid(), &secret)
            .map_err(|error| AppError::Internal(format!("ledger signing key: {error}")))?;
        if signer.verifier_key() != &verifier {
            return Err(AppError::Internal(
                "the unsealed signing key does not match its stored public key".into(),
            ));
        }
        Ok(Some(Arc::new(signer)))
    }

    /// Appends a record that stands alone through the group committer and waits until
    /// it is durable.
    pub async fn append_audit_grouped(&self, record: NewAuditRecord) -> Result<u64, AppError> {
        let (sender, receiver) = oneshot::channel();
        self.committer
            .sender(&self.store)
            .send((record, sender))
            .await
            .map_err(|_| AppError::Internal("the audit committer stopped".into()))?;
        receiver
            .await
            .map_err(|_| AppError::Internal("the audit committer stopped".into()))?
            .map_err(AppError::Internal)
    }

    /// Records that a server instance started and with which settings: configuration
    /// changes take effect at start, so this is where they enter the ledger. `detail`
    /// holds no secret (the caller passes settings, never URLs with passwords or keys).
    pub async fn record_startup(&self, detail: serde_json::Value) -> Result<u64, AppError> {
        let mut record = local_record(self.now_ns(), "server.start");
        record.actor_username = Some("yunjian-serve".into());
        record.detail = Some(detail);
        self.append_audit_grouped(record).await
    }

    /// Appends records as one batch (benchmarks and bulk tools).
    pub async fn append_audit_batch(
        &self,
        records: &[NewAuditRecord],
    ) -> Result<Vec<u64>, AppError> {
        Ok(self.store.append_audit_batch(records).await?)
    }

    fn signer(&self) -> Result<&Arc<dyn NoteSigner>, AppError> {
        self.signer.as_ref().ok_or_else(|| AppError::Conflict {
            field: None,
            message: "the audit ledger has no signing key loaded yet; an administrator runs \
                      `yunjian admin init`"
                .into(),
        })
    }

    async fn head(&self) -> Result<LedgerHead, AppError> {
        self.store
            .ledger_head()
            .await?
            .ok_or_else(|| AppError::Internal("the ledger is not initialized".into()))
    }

    /// Signs a checkpoint of the current head when one is due (or `force`), and returns
    /// it; `None` when nothing needed signing.
    pub async fn checkpoint(&self, force: bool) -> Result<Option<StoredCheckpoint>, AppError> {
        let head = self.head().await?;
        let latest = self.store.latest_checkpoint().await?;
        let now = self.now_ns();
        let due = match &latest {
            None => true,
            Some(latest) if latest.size >= head.size => false,
            Some(latest) => {
                force
                    || head.size - latest.size >= self.ledger.checkpoint_records
                    || now - latest.at_ns >= self.ledger.checkpoint_interval_ns
            }
        };
        if !due {
            return Ok(None);
        }
        let signer = self.signer()?;
        let stored_key = self
            .store
            .ledger_signing_key()
            .await?
            .ok_or_else(|| AppError::Internal("no signing key is stored".into()))?;
        let text = Checkpoint {
            origin: head.origin.clone(),
            size: head.size,
            root: head.root,
        }
        .to_text();
        let note = sign_note(signer.as_ref(), &text)
            .map_err(|error| AppError::Internal(format!("signing a checkpoint: {error}")))?;
        let checkpoint = StoredCheckpoint {
            size: head.size,
            root: head.root,
            at_ns: now,
            key_id: stored_key.id,
            note,
        };
        let mut tx = self.store.begin_write().await?;
        let stored = tx.insert_checkpoint(&checkpoint).await?;
        tx.commit().await?;
        Ok(stored.then_some(checkpoint))
    }

    /// A checkpoint covering every record appended so far.
    pub async fn current_checkpoint(&self) -> Result<StoredCheckpoint, AppError> {
        self.checkpoint(true).await?;
        self.store
            .latest_checkpoint()
            .await?
            .ok_or_else(|| AppError::Internal("no checkpoint could be made".into()))
    }

    /// Signs checkpoints as they come due until the task is dropped.
    pub async fn run_checkpointer(self) {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        loop {
            ticker.tick().await;
            if let Err(error) = self.checkpoint(false).await {
                tracing::error!(%error, "could not sign a ledger checkpoint");
            }
            if ticks.is_multiple_of(60) {
                if let Err(error) = self.monitor_api().await {
                    tracing::error!(%error, "the API monitor could not run");
                }
                if let Err(error) = self.reap_grants().await {
                    tracing::error!(%error, "could not expire temporary privileges and authorizations");
                }
                if let Err(error) = self.daily_anomaly_report().await {
                    tracing::error!(%error, "could not write the daily anomaly report");
                }
                if let Err(error) = self.scheduled_compliance_run().await {
                    tracing::error!(%error, "the scheduled compliance run failed");
                }
            }
            ticks += 1;
        }
    }

    /// The periodic anomaly report (7.5.10.3): once per Beijing-time day, the report of
    /// the day before goes into the ledger itself as an `audit.anomaly_report` record, so
    /// the report is as tamper-evident as what it reports on. Returns its sequence
    /// number, or `None` when that day's report exists.
    pub async fn daily_anomaly_report(&self) -> Result<Option<u64>, AppError> {
        const KEY: &str = "audit.anomaly_report.last_day";
        let (day, from, to) = last_complete_day(self.now_ns());
        if self.store.meta(KEY).await?.is_some_and(|last| last >= day) {
            return Ok(None);
        }
        let report = self.anomaly_report(from, to).await?;
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for anomaly in &report.anomalies {
            *counts.entry(anomaly.kind.label(false)).or_default() += 1;
        }
        let now = self.now_ns();
        let mut record = local_record(now, "audit.anomaly_report");
        record.actor_username = Some("yunjian-serve".into());
        record.detail = Some(json!({
            "day": day, "from": report.from, "to": report.to,
            "records_examined": report.records_examined, "truncated": report.truncated,
            "counts": counts,
            "anomalies": report.anomalies.iter().take(100).collect::<Vec<_>>(),
        }));
        let mut tx = self.store.begin_write().await?;
        // Several instances may race for the same day: the meta row's key is unique, so
        // one of them fails here and writes nothing.
        tx.set_meta(KEY, &day).await?;
        let seq = tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(Some(seq))
    }

    /// What of the ledger the caller sees, after the PDP allowed `action` (recorded as
    /// `audit_action` when refused): all of it, or its tenant's slice.
    async fn audit_view(
        &self,
        context: &Context,
        action: Action,
        audit_action: &str,
    ) -> Result<View, AppError> {
        let relation = unit_relation(&context.principal);
        let question = self.question(context, action, Target::family("audit"), relation);
        let record = self.record(context, audit_action, AuditOutcome::Denied);
        self.authorize(context, question, record).await?;
        match (relation, context.principal.tenant) {
            (Relation::OwnTenant, Some(tenant)) => Ok(View::Tenant(tenant.0)),
            (Relation::Any, _) => Ok(View::All),
            // The PDP allows nothing else; refuse rather than widen.
            _ => Err(AppError::Forbidden("no view of the audit trail".into())),
        }
    }

    pub async fn audit_records(
        &self,
        context: &Context,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, AppError> {
        let tenant_id = match self
            .audit_view(context, Action::AuditRead, "audit.read")
            .await?
        {
            View::All => query.tenant_id,
            View::Tenant(own) => {
                if query.tenant_id.is_some_and(|asked| asked != own) {
                    return Ok(Vec::new());
                }
                Some(own)
            }
        };
        let filter = AuditFilter {
            tenant_id,
            actor: query.actor.clone(),
            action: query.action.clone(),
            object_kind: query.object_kind.clone(),
            object_id: query.object_id,
            outcome: query.outcome,
            from_ns: query.from_ns,
            to_ns: query.to_ns,
            before_seq: query.before_seq,
            limit: query.limit,
        };
        Ok(self.store.audit_records(&filter).await?)
    }

    /// One record; another tenant's record is "not found", not "forbidden".
    pub async fn audit_record(&self, context: &Context, seq: u64) -> Result<AuditRecord, AppError> {
        let view = self
            .audit_view(context, Action::AuditRead, "audit.read")
            .await?;
        let record = self
            .store
            .audit_record(seq)
            .await?
            .ok_or(AppError::NotFound)?;
        match view {
            View::Tenant(own) if record.record.tenant_id != Some(own) => Err(AppError::NotFound),
            _ => Ok(record),
        }
    }

    pub async fn audit_checkpoint(&self) -> Result<StoredCheckpoint, AppError> {
        match self.store.latest_checkpoint().await? {
            Some(checkpoint) => Ok(checkpoint),
            None => self.current_checkpoint().await,
        }
    }

    /// The verifier key of the current signing key.
    pub async fn audit_public_key(&self) -> Result<String, AppError> {
        self.store
            .ledger_signing_key()
            .await?
            .map(|key| key.verifier_key)
            .ok_or(AppError::NotFound)
    }

    pub async fn audit_inclusion_proof(
        &self,
        context: &Context,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, AppError> {
        // Tenants prove their own records only; the record's existence is otherwise
        // not revealed.
        if let View::Tenant(own) = self
            .audit_view(context, Action::AuditRead, "audit.proof")
            .await?
        {
            let record = self
                .store
                .audit_record(index)
                .await?
                .ok_or(AppError::NotFound)?;
            if record.record.tenant_id != Some(own) {
                return Err(AppError::NotFound);
            }
        }
        self.store
            .inclusion_proof(index, size)
            .await
            .map_err(|error| AppError::invalid("index", "bad_proof_request", error.to_string()))
    }

    pub async fn audit_consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, AppError> {
        self.store
            .consistency_proof(from, to)
            .await
            .map_err(|error| AppError::invalid("from", "bad_proof_request", error.to_string()))
    }

    /// The range asked for: `to` is `None` when open-ended (up to the checkpoint the
    /// bundle ships with, which includes the export's own record); and how many records
    /// that is, counting the export's own record when open-ended.
    async fn resolve_range(
        &self,
        range: &ExportRange,
    ) -> Result<(u64, Option<u64>, u64), AppError> {
        let size = self.store.ledger_head().await?.map_or(0, |head| head.size);
        let from = match (range.from_seq, range.from_ns) {
            (Some(seq), _) => seq,
            (None, Some(ns)) => self.store.audit_seq_at(ns).await?,
            (None, None) => 0,
        };
        let to = match (range.to_seq, range.to_ns) {
            (Some(seq), _) => Some(seq),
            (None, Some(ns)) => Some(self.store.audit_seq_at(ns).await?),
            (None, None) => None,
        };
        if from > to.unwrap_or(size) || to.unwrap_or(0) > size || from > size {
            return Err(AppError::invalid(
                "to",
                "bad_range",
                format!(
                    "the range [{from}, {}) does not fit the ledger's {size} records",
                    to.map_or("end".into(), |to| to.to_string())
                ),
            ));
        }
        Ok((from, to, to.unwrap_or(size + 1) - from))
    }

    /// Exports a bundle for the caller: a range for auditors, the tenant's slice for a
    /// tenant. The export itself is recorded (and inside the checkpoint it ships with).
    pub async fn audit_export(
        &self,
        context: &Context,
        range: &ExportRange,
        out: impl Write,
    ) -> Result<ExportSummary, AppError> {
        let view = self
            .audit_view(context, Action::AuditExport, "audit.export")
            .await?;
        let tenant = match view {
            View::All => None,
            View::Tenant(own) => Some(own),
        };
        let mut record = self.record(context, "audit.export", AuditOutcome::Succeeded);
        let (from, to, count) = self.resolve_range(range).await?;
        if tenant.is_none() && count > API_EXPORT_LIMIT {
            return Err(AppError::invalid(
                "to",
                "export_too_large",
                format!("the API exports at most {API_EXPORT_LIMIT} records; use `yunjian audit export`"),
            ));
        }
        record.tenant_id = tenant;
        record.detail = Some(
            json!({ "from": from, "to": to, "records": count, "scope": if tenant.is_some() { "slice" } else { "range" } }),
        );
        self.append_audit_grouped(record).await?;
        self.write_bundle(from, to, tenant, out).await
    }

    /// The CLI's export: the operator on the server's machine, a range.
    pub async fn audit_export_local(
        &self,
        range: &ExportRange,
        out: impl Write,
    ) -> Result<ExportSummary, AppError> {
        let (from, to, count) = self.resolve_range(range).await?;
        let mut record = local_record(self.now_ns(), "audit.export");
        record.detail = Some(json!({ "from": from, "to": to, "records": count, "scope": "range" }));
        self.append_audit_grouped(record).await?;
        self.write_bundle(from, to, None, out).await
    }

    async fn write_bundle(
        &self,
        from: u64,
        to: Option<u64>,
        tenant: Option<i64>,
        out: impl Write,
    ) -> Result<ExportSummary, AppError> {
        let checkpoint = self.current_checkpoint().await?;
        let head = self.head().await?;
        let size = checkpoint.size;
        let to = to.unwrap_or(size).min(size);
        let from = from.min(to);
        let verifier_key = self.audit_public_key().await?;
        let internal = |error: yunjian_bundle::WriteError| AppError::Internal(error.to_string());
        let mut writer = BundleWriter::new().map_err(internal)?;
        let mut proof = Proof::default();
        let mut next = from;
        while next < to {
            let chunk = match tenant {
                None => self.store.audit_range(next, to, 10_000).await?,
                Some(own) => self.store.audit_tenant_range(own, next, to, 10_000).await?,
            };
            let Some(last) = chunk.last() else {
                break;
            };
            next = last.seq + 1;
            blocking(|| {
                for record in &chunk {
                    let line = record.line.as_deref().ok_or_else(|| {
                        AppError::invalid(
                            "from",
                            "archived",
                            format!(
                                "record {} is archived and pruned; export from a later record or use its archive bundle",
                                record.seq
                            ),
                        )
                    })?;
                    writer
                        .push(record.seq, line, &record.leaf_hash)
                        .map_err(internal)?;
                }
                Ok::<_, AppError>(())
            })?;
            if tenant.is_some() {
                // One round of node reads for the chunk's proofs, not one per record.
                let plans: Vec<ProofNodes> = chunk
                    .iter()
                    .filter_map(|record| inclusion_proof_nodes(record.seq, size))
                    .collect();
                let mut needed: Vec<NodeId> = plans.iter().flat_map(ProofNodes::needed).collect();
                needed.sort_unstable();
                needed.dedup();
                let nodes = self.store.ledger_nodes(&needed).await?;
                for plan in &plans {
                    let path = plan
                        .assemble(&head.hash, |id| nodes.get(&id).copied())
                        .map_err(|id| {
                            AppError::Internal(format!("node {}/{} missing", id.level, id.index))
                        })?;
                    proof.inclusion.push(hex_hashes(&path));
                }
            }
        }
        let scope = if tenant.is_some() {
            Scope::Slice
        } else {
            Scope::Range
        };
        if tenant.is_none() {
            proof.left = hex_hashes(&self.store.range_nodes(0, from).await?);
            proof.right = hex_hashes(&self.store.range_nodes(to, size).await?);
            proof.checkpoints = self
                .store
                .checkpoints_between(from.max(1), to, 10_000)
                .await?
                .into_iter()
                .filter(|stored| stored.size != size)
                .map(|stored| stored.note)
                .collect();
        }
        let records = writer.count();
        let manifest = Manifest::new(
            &head.origin,
            head.hash.name(),
            scope,
            from,
            to,
            size,
            &format_time(self.now_ns()),
            tenant,
        );
        blocking(|| writer.finish(manifest, &checkpoint.note, &verifier_key, &proof, out))
            .map_err(internal)?;
        Ok(ExportSummary {
            scope: if tenant.is_some() { "slice" } else { "range" },
            from,
            to,
            tree_size: size,
            records,
        })
    }

    /// The earliest time records may be pruned: `retention_months` calendar months
    /// before now.
    pub fn retention_cutoff_ns(&self) -> i64 {
        use chrono::{DateTime, Months, Utc};
        let now = DateTime::<Utc>::from_timestamp_nanos(self.now_ns());
        now.checked_sub_months(Months::new(
            self.ledger.retention_months.max(RETENTION_FLOOR_MONTHS),
        ))
        .and_then(|cutoff| cutoff.timestamp_nanos_opt())
        .unwrap_or(i64::MIN)
    }

    /// Writes the archive bundle of every record before `before_ns` not yet archived,
    /// records it, and returns it (CLI; the operator on the server's machine). Pruning
    /// is a separate step.
    pub async fn audit_archive(
        &self,
        before_ns: i64,
        out: &mut std::fs::File,
        file_name: &str,
    ) -> Result<LedgerArchive, AppError> {
        let archives = self.store.ledger_archives().await?;
        let from = archives
            .iter()
            .map(|archive| archive.to_seq)
            .max()
            .unwrap_or(0);
        let to = self.store.audit_seq_at(before_ns).await?;
        if to <= from {
            return Err(AppError::invalid(
                "before",
                "nothing_to_archive",
                format!("no unarchived records before {}", format_time(before_ns)),
            ));
        }
        let summary = self
            .audit_export_local(
                &ExportRange {
                    from_seq: Some(from),
                    to_seq: Some(to),
                    ..ExportRange::default()
                },
                &mut *out,
            )
            .await?;
        out.sync_all()
            .map_err(|error| AppError::Internal(format!("syncing the archive: {error}")))?;
        let digest = {
            use std::io::{Read, Seek, SeekFrom};
            out.seek(SeekFrom::Start(0))
                .map_err(|error| AppError::Internal(error.to_string()))?;
            let mut stream = yunjian_gm::Sm3Stream::new();
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                let read = out
                    .read(&mut buffer)
                    .map_err(|error| AppError::Internal(error.to_string()))?;
                if read == 0 {
                    break;
                }
                stream.update(&buffer[..read]);
            }
            format!("sm3:{}", stream.finish().to_hex())
        };
        let now = self.now_ns();
        let mut archive = LedgerArchive {
            id: 0,
            from_seq: summary.from,
            to_seq: summary.to,
            before_ns,
            checkpoint_size: summary.tree_size,
            bundle_sm3: digest,
            file_name: file_name.to_owned(),
            created_at_ns: now,
            pruned_at_ns: None,
        };
        let mut tx = self.store.begin_write().await?;
        archive.id = tx.insert_archive(&archive).await?;
        let mut record = local_record(now, "audit.archive");
        record.object_kind = Some("ledger_archive".into());
        record.object_id = Some(archive.id);
        record.detail = Some(json!({
            "from": archive.from_seq, "to": archive.to_seq, "file": file_name,
            "bundle_sm3": archive.bundle_sm3, "checkpoint_size": archive.checkpoint_size,
        }));
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(archive)
    }

    /// Prunes the online copy of archived records, only when every record pruned is
    /// older than the retention cutoff. Returns the archive and how many were pruned.
    pub async fn audit_prune(&self, archive_id: i64) -> Result<(LedgerArchive, u64), AppError> {
        let archive = self
            .store
            .ledger_archives()
            .await?
            .into_iter()
            .find(|archive| archive.id == archive_id)
            .ok_or(AppError::NotFound)?;
        let cutoff = self.retention_cutoff_ns();
        if archive.before_ns > cutoff {
            return Err(AppError::invalid(
                "archive",
                "inside_retention",
                format!(
                    "archive {} holds records up to {}, younger than the {}-month retention (cutoff {}); they stay online",
                    archive.id,
                    format_time(archive.before_ns),
                    self.ledger.retention_months.max(RETENTION_FLOOR_MONTHS),
                    format_time(cutoff)
                ),
            ));
        }
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let pruned = tx.prune_archived(archive.id, archive.to_seq, now).await?;
        let mut record = local_record(now, "audit.prune");
        record.object_kind = Some("ledger_archive".into());
        record.object_id = Some(archive.id);
        record.detail = Some(
            json!({ "pruned": pruned, "to": archive.to_seq, "bundle_sm3": archive.bundle_sm3 }),
        );
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok((archive, pruned))
    }

    /// Re-checks the stored ledger: every stored line against its leaf hash, the tree
    /// against every stored checkpoint, every checkpoint's signature. For the console's
    /// "verify" action; an auditor who trusts nothing verifies an export offline.
    pub async fn audit_verify_online(
        &self,
        context: &Context,
    ) -> Result<OnlineVerification, AppError> {
        if !matches!(
            self.audit_view(context, Action::AuditVerify, "audit.verify")
                .await?,
            View::All
        ) {
            return Err(AppError::Forbidden(
                "the whole ledger is verified by auditors".into(),
            ));
        }
        let report = self.verify_stored().await?;
        let mut record = self.record(context, "audit.verify", AuditOutcome::Succeeded);
        record.detail = Some(json!({
            "records": report.records_checked, "checkpoints": report.checkpoints_checked,
            "problems": report.problems.len(), "tree_size": report.tree_size,
        }));
        if !report.problems.is_empty() {
            record.outcome = AuditOutcome::Failed;
            record.reason = report.problems.first().cloned();
        }
        self.append_audit_grouped(record).await?;
        Ok(report)
    }

    pub(crate) async fn verify_stored(&self) -> Result<OnlineVerification, AppError> {
        let head = self.head().await?;
        let keys = self.store.ledger_verifier_keys().await?;
        let checkpoints = self
            .store
            .checkpoints_between(0, head.size, u32::MAX)
            .await?;
        let mut report = OnlineVerification {
            tree_size: head.size,
            ..OnlineVerification::default()
        };
        let hash: LedgerHash = head.hash;
        let mut frontier = Frontier::new();
        let mut pending = checkpoints.iter().peekable();
        let check_at =
            |frontier: &Frontier,
             report: &mut OnlineVerification,
             pending: &mut std::iter::Peekable<std::slice::Iter<StoredCheckpoint>>| {
                while let Some(checkpoint) = pending.next_if(|c| c.size == frontier.size()) {
                    report.checkpoints_checked += 1;
                    if frontier.root(&hash) != checkpoint.root {
                        report.problems.push(format!(
                            "checkpoint {} does not match the stored tree",
                            checkpoint.size
                        ));
                    }
                    let key = keys
                        .iter()
                        .find(|(id, _)| *id == checkpoint.key_id)
                        .and_then(|(_, key)| NoteVerifierKey::parse(key).ok());
                    let valid = key
                        .map(|key| {
                            open_note(&key, &checkpoint.note)
                                .ok()
                                .and_then(|text| Checkpoint::parse(&text).ok())
                        })
                        .is_some_and(|parsed| {
                            parsed.is_some_and(|p| {
                                p.size == checkpoint.size && p.root == checkpoint.root
                            })
                        });
                    if !valid {
                        report.problems.push(format!(
                            "checkpoint {}: its signature or text does not verify",
                            checkpoint.size
                        ));
                    }
                }
            };
        check_at(&frontier, &mut report, &mut pending);
        let mut next = 0;
        while next < head.size {
            let chunk = self.store.audit_range(next, head.size, 20_000).await?;
            let Some(last) = chunk.last() else {
                report
                    .problems
                    .push(format!("records from {next} are missing"));
                break;
            };
            for record in &chunk {
                if record.seq != frontier.size() {
                    report
                        .problems
                        .push(format!("record {} is missing", frontier.size()));
                    return Ok(report);
                }
                match &record.line {
                    Some(line) => {
                        report.records_checked += 1;
                        if hash.leaf(line.as_bytes()) != record.leaf_hash
                            && report.problems.len() < 100
                        {
                            report
                                .problems
                                .push(format!("record {} was altered in the store", record.seq));
                        }
                    }
                    None => report.pruned_records += 1,
                }
                frontier.push(&hash, record.leaf_hash, |_, _| {});
                check_at(&frontier, &mut report, &mut pending);
            }
            next = last.seq + 1;
        }
        if frontier.root(&hash) != head.root {
            report
                .problems
                .push("the stored head does not match the records".into());
        }
        report.root = hex::encode(frontier.root(&hash));
        Ok(report)
    }

    /// The anomaly report over `[from_ns, to_ns)` (at most 200,000 records examined).
    pub async fn audit_anomalies(
        &self,
        context: &Context,
        from_ns: i64,
        to_ns: i64,
    ) -> Result<AnomalyReport, AppError> {
        if !matches!(
            self.audit_view(context, Action::AuditAnomalies, "audit.anomalies")
                .await?,
            View::All
        ) {
            return Err(AppError::Forbidden(
                "the anomaly report is for auditors and the management unit".into(),
            ));
        }
        self.anomaly_report(from_ns, to_ns).await
    }

    pub(crate) async fn anomaly_report(
        &self,
        from_ns: i64,
        to_ns: i64,
    ) -> Result<AnomalyReport, AppError> {
        const LIMIT: usize = 200_000;
        let window = self.records_between(from_ns, to_ns, None, LIMIT).await?;
        let history = self
            .records_between(
                from_ns - 30 * 86_400 * 1_000_000_000,
                from_ns,
                Some("auth.login"),
                LIMIT,
            )
            .await?;
        let anomalies = anomaly::detect(&window, &history, &Thresholds::default());
        Ok(AnomalyReport {
            from: format_time(from_ns),
            to: format_time(to_ns),
            records_examined: window.len(),
            truncated: window.len() >= LIMIT,
            anomalies,
        })
    }

    async fn records_between(
        &self,
        from_ns: i64,
        to_ns: i64,
        action: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(u64, NewAuditRecord)>, AppError> {
        let mut out = Vec::new();
        let mut before = None;
        while out.len() < limit {
            let page = self
                .store
                .audit_records(&AuditFilter {
                    action: action.map(str::to_owned),
                    from_ns: Some(from_ns),
                    to_ns: Some(to_ns),
                    before_seq: before,
                    limit: 1000,
                    ..AuditFilter::default()
                })
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            before = Some(last.seq);
            out.extend(page.into_iter().map(|record| (record.seq, record.record)));
        }
        out.truncate(limit);
        Ok(out)
    }
}
