//! The audit ledger's storage: records as the leaves of an append-only Merkle log, the
//! perfect subtree nodes, the head, signing keys, checkpoints and archives.
//!
//! Appending: the first append of a write transaction locks the one `ledger_head` row
//! (PostgreSQL `FOR UPDATE`; SQLite has one writer anyway), so sequence numbers are
//! dense and in commit order across server instances. Records, nodes and the new head are
//! buffered and written at commit in multi-row statements: a change and its records
//! commit together or not at all (invariant 1), and a batch of records costs one commit.

use std::collections::HashMap;

use sqlx::Row;
use yunjian_core::audit::{parse_line, record_line};
use yunjian_core::ledger::{
    consistency_proof_nodes, inclusion_proof_nodes, perfect_nodes, Frontier, Hash, NodeId,
    ProofNodes, TreeHasher,
};
use yunjian_gm::LedgerHash;

pub use yunjian_core::audit::{AuditOutcome, NewAuditRecord};

use crate::error::{Result, StoreError};
use crate::open::{Backend, Store, WriteTx};
use crate::read::{Bind, Cell, CellType, Statement};

/// The ledger's fixed configuration and current head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerHead {
    pub hash: LedgerHash,
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// A stored record with its place in the log.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub seq: u64,
    pub record: NewAuditRecord,
    /// The canonical line; `None` once archived and pruned.
    pub line: Option<String>,
    pub leaf_hash: Hash,
}

/// Which records to list: all filters combine; newest first, `before_seq` pages on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub tenant_id: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object_kind: Option<String>,
    pub object_id: Option<i64>,
    pub outcome: Option<AuditOutcome>,
    pub from_ns: Option<i64>,
    pub to_ns: Option<i64>,
    pub before_seq: Option<u64>,
    pub limit: u32,
}

/// A signed checkpoint as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub at_ns: i64,
    pub key_id: i64,
    pub note: String,
}

/// A checkpoint signing key as stored: public part and the sealed private part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLedgerKey {
    pub id: i64,
    pub name: String,
    pub verifier_key: String,
    pub sealed_secret: String,
    pub created_at_ns: i64,
}

/// An archive bundle written out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerArchive {
    pub id: i64,
    pub from_seq: u64,
    pub to_seq: u64,
    pub before_ns: i64,
    pub checkpoint_size: u64,
    pub bundle_sm3: String,
    pub file_name: String,
    pub created_at_ns: i64,
    pub pruned_at_ns: Option<i64>,
}

pub(crate) struct PendingAppends {
    hash: LedgerHash,
    frontier: Frontier,
    records: Vec<PendingRecord>,
    nodes: Vec<(NodeId, Hash)>,
}

/// What a record's row holds: the line, its hash and the columns queries filter on.
struct PendingRecord {
    seq: u64,
    at_ns: i64,
    actor_username: Option<String>,
    action: String,
    object_kind: Option<String>,
    object_id: Option<i64>,
    tenant_id: Option<i64>,
    outcome: AuditOutcome,
    line: String,
    leaf: Hash,
}

const RECORD_COLUMNS: &str =
    "seq, at_ns, actor_username, action, object_kind, object_id, tenant_id, outcome, line, leaf_hash";

const RECORD_TYPES: [CellType; 10] = [
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
];

fn parse_hash(text: &str) -> Result<Hash> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| Hash::try_from(bytes).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("not a hash: {text:?}")))
}

fn encode_frontier(frontier: &Frontier) -> String {
    frontier.hashes().iter().map(hex::encode).collect()
}

fn decode_frontier(size: i64, text: &str) -> Result<Frontier> {
    let size = u64::try_from(size).map_err(|_| StoreError::Corrupt("negative size".into()))?;
    if !text.len().is_multiple_of(64) {
        return Err(StoreError::Corrupt("frontier length".into()));
    }
    let hashes = (0..text.len() / 64)
        .map(|i| {
            text.get(i * 64..(i + 1) * 64).map_or_else(
                || Err(StoreError::Corrupt("frontier is not hex".into())),
                parse_hash,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Frontier::from_parts(size, hashes)
        .ok_or_else(|| StoreError::Corrupt("frontier does not match the size".into()))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored record: decoded from its line, or, once pruned, the filter columns that stay.
fn record_from_cells(cells: &[Cell]) -> Result<AuditRecord> {
    let seq = cells[0]
        .int()
        .and_then(|seq| u64::try_from(seq).ok())
        .ok_or_else(|| StoreError::Corrupt("audit record without a sequence number".into()))?;
    let line = cells[8].text().map(str::to_owned);
    let record = match &line {
        Some(line) => {
            let (line_seq, record) = parse_line(line)
                .map_err(|error| StoreError::Corrupt(format!("audit record {seq}: {error}")))?;
            if line_seq != seq {
                return Err(StoreError::Corrupt(format!(
                    "audit record {seq} holds the line of {line_seq}"
                )));
            }
            record
        }
        None => {
            let outcome = cells[7].text().unwrap_or_default();
            let mut record = NewAuditRecord::new(
                cells[1].int().unwrap_or_default(),
                cells[3].text().unwrap_or_default(),
                AuditOutcome::parse(outcome)
                    .ok_or_else(|| StoreError::Corrupt(format!("outcome {outcome:?}")))?,
            );
            record.object_kind = cells[4].text().map(str::to_owned);
            record.object_id = cells[5].int();
            record.tenant_id = cells[6].int();
            record
        }
    };
    Ok(AuditRecord {
        seq,
        record,
        line,
        leaf_hash: parse_hash(cells[9].text().unwrap_or_default())?,
    })
}

impl WriteTx {
    /// Appends an audit record to the ledger; returns its sequence number. The record is
    /// written when the transaction commits, together with everything else in it.
    pub async fn append_audit(&mut self, record: &NewAuditRecord) -> Result<u64> {
        if self.ledger.is_none() {
            let lock = match self.backend {
                Backend::Postgres => " FOR UPDATE",
                Backend::Sqlite => "",
            };
            let row = sqlx::query(&format!(
                "SELECT hash_algorithm, size, frontier FROM ledger_head WHERE id = 1{lock}"
            ))
            .fetch_optional(&mut *self.transaction)
            .await?
            .ok_or_else(|| {
                StoreError::Ledger("not initialized (run `yunjian admin init`)".into())
            })?;
            let algorithm: String = row.try_get(0)?;
            let hash = LedgerHash::parse(&algorithm)
                .ok_or_else(|| StoreError::Corrupt(format!("hash algorithm {algorithm:?}")))?;
            let frontier = decode_frontier(row.try_get(1)?, &row.try_get::<String, _>(2)?)?;
            self.ledger = Some(PendingAppends {
                hash,
                frontier,
                records: Vec::new(),
                nodes: Vec::new(),
            });
        }
        let pending = self.ledger.as_mut().expect("loaded above");
        let seq = pending.frontier.size();
        let line = record_line(seq, record);
        let leaf = pending.hash.leaf(line.as_bytes());
        let PendingAppends {
            hash,
            frontier,
            nodes,
            ..
        } = pending;
        frontier.push(&*hash, leaf, |id, node| nodes.push((id, node)));
        pending.records.push(PendingRecord {
            seq,
            at_ns: record.at_ns,
            actor_username: record.actor_username.clone(),
            action: record.action.clone(),
            object_kind: record.object_kind.clone(),
            object_id: record.object_id,
            tenant_id: record.tenant_id,
            outcome: record.outcome,
            line,
            leaf,
        });
        Ok(seq)
    }

    pub(crate) async fn flush_ledger(&mut self) -> Result<()> {
        let Some(pending) = self.ledger.take() else {
            return Ok(());
        };
        if pending.records.is_empty() {
            return Ok(());
        }
        // SQLite gets anonymous `?` placeholders: sqlx looks up the name of every numbered
        // parameter, and SQLite's lookup is a linear scan, so numbered parameters made a
        // many-row insert quadratic (a third of the append benchmark's CPU).
        let sqlite = self.backend == Backend::Sqlite;
        let placeholder = |n: usize| {
            if sqlite {
                "?".to_owned()
            } else {
                format!("${n}")
            }
        };
        // 10 parameters a row; 100 rows stay far below both backends' limits.
        for chunk in pending.records.chunks(100) {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|row| {
                    let cols: Vec<String> =
                        (1..=10).map(|col| placeholder(row * 10 + col)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO audit_records ({RECORD_COLUMNS}) VALUES {}",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for record in chunk {
                query = query
                    .bind(to_i64(record.seq))
                    .bind(record.at_ns)
                    .bind(record.actor_username.as_deref())
                    .bind(record.action.as_str())
                    .bind(record.object_kind.as_deref())
                    .bind(record.object_id)
                    .bind(record.tenant_id)
                    .bind(record.outcome.as_str())
                    .bind(record.line.as_str())
                    .bind(hex::encode(record.leaf));
            }
            query.execute(&mut *self.transaction).await?;
        }
        for chunk in pending.nodes.chunks(300) {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|row| {
                    format!(
                        "({}, {}, {})",
                        placeholder(row * 3 + 1),
                        placeholder(row * 3 + 2),
                        placeholder(row * 3 + 3)
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO ledger_nodes (level, idx, hash) VALUES {}",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (id, hash) in chunk {
                query = query
                    .bind(i64::from(id.level))
                    .bind(to_i64(id.index))
                    .bind(hex::encode(hash));
            }
            query.execute(&mut *self.transaction).await?;
        }
        sqlx::query("UPDATE ledger_head SET size = $1, frontier = $2 WHERE id = 1")
            .bind(to_i64(pending.frontier.size()))
            .bind(encode_frontier(&pending.frontier))
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }

    pub async fn insert_ledger_key(
        &mut self,
        name: &str,
        verifier_key: &str,
        sealed_secret: &str,
        at_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO ledger_keys (name, verifier_key, sealed_secret, created_at_ns) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(verifier_key)
        .bind(sealed_secret)
        .bind(at_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn insert_archive(&mut self, archive: &LedgerArchive) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO ledger_archives (from_seq, to_seq, before_ns, checkpoint_size, \
             bundle_sm3, file_name, created_at_ns) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id",
        )
        .bind(to_i64(archive.from_seq))
        .bind(to_i64(archive.to_seq))
        .bind(archive.before_ns)
        .bind(to_i64(archive.checkpoint_size))
        .bind(archive.bundle_sm3.as_str())
        .bind(archive.file_name.as_str())
        .bind(archive.created_at_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Removes the content of archived records before `to_seq` (their leaf hashes stay,
    /// so proofs for later records still work). Returns how many records were pruned.
    pub async fn prune_archived(
        &mut self,
        archive_id: i64,
        to_seq: u64,
        at_ns: i64,
    ) -> Result<u64> {
        let result = sqlx::query(
            "UPDATE audit_records SET line = NULL, actor_username = NULL, archive_id = $1 \
             WHERE seq < $2 AND line IS NOT NULL",
        )
        .bind(archive_id)
        .bind(to_i64(to_seq))
        .execute(&mut *self.transaction)
        .await?;
        sqlx::query("UPDATE ledger_archives SET pruned_at_ns = $1 WHERE id = $2")
            .bind(at_ns)
            .bind(archive_id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(result.rows_affected())
    }

    /// Stores a signed checkpoint unless one of that size exists; returns whether stored.
    pub async fn insert_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> Result<bool> {
        let result = sqlx::query(
            "INSERT INTO ledger_checkpoints (size, root, at_ns, key_id, note) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING",
        )
        .bind(to_i64(checkpoint.size))
        .bind(hex::encode(checkpoint.root))
        .bind(checkpoint.at_ns)
        .bind(checkpoint.key_id)
        .bind(checkpoint.note.as_str())
        .execute(&mut *self.transaction)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

fn checkpoint_from_row(row: &sqlx::any::AnyRow) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or_default(),
        root: parse_hash(&row.try_get::<String, _>(1)?)?,
        at_ns: row.try_get(2)?,
        key_id: row.try_get(3)?,
        note: row.try_get(4)?,
    })
}

fn archive_from_row(row: &sqlx::any::AnyRow) -> Result<LedgerArchive> {
    let seq = |i: usize| -> Result<u64> {
        Ok(u64::try_from(row.try_get::<i64, _>(i)?).unwrap_or_default())
    };
    Ok(LedgerArchive {
        id: row.try_get(0)?,
        from_seq: seq(1)?,
        to_seq: seq(2)?,
        before_ns: row.try_get(3)?,
        checkpoint_size: seq(4)?,
        bundle_sm3: row.try_get(5)?,
        file_name: row.try_get(6)?,
        created_at_ns: row.try_get(7)?,
        pruned_at_ns: row.try_get(8)?,
    })
}

impl Store {
    /// Creates the ledger head on first use; afterwards checks that the configured hash
    /// is the one the ledger was made with (a log cannot change its hash).
    pub async fn init_ledger(&self, hash: LedgerHash, origin: &str) -> Result<LedgerHead> {
        if let Some(head) = self.ledger_head().await? {
            if head.hash != hash {
                return Err(StoreError::Ledger(format!(
                    "this ledger hashes with {}, the configuration asks for {}; a ledger's \
                     hash is fixed when it is created",
                    head.hash.name(),
                    hash.name()
                )));
            }
            return Ok(head);
        }
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO ledger_head (id, hash_algorithm, origin, size, frontier) \
             VALUES (1, $1, $2, 0, '') ON CONFLICT (id) DO NOTHING",
        )
        .bind(hash.name())
        .bind(origin)
        .execute(&mut *tx.transaction)
        .await?;
        tx.commit().await?;
        self.ledger_head()
            .await?
            .ok_or_else(|| StoreError::Ledger("head vanished after creation".into()))
    }

    pub async fn ledger_head(&self) -> Result<Option<LedgerHead>> {
        let row = sqlx::query(
            "SELECT hash_algorithm, origin, size, frontier FROM ledger_head WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let algorithm: String = row.try_get(0)?;
        let hash = LedgerHash::parse(&algorithm)
            .ok_or_else(|| StoreError::Corrupt(format!("hash algorithm {algorithm:?}")))?;
        let frontier = decode_frontier(row.try_get(2)?, &row.try_get::<String, _>(3)?)?;
        Ok(Some(LedgerHead {
            hash,
            origin: row.try_get(1)?,
            size: frontier.size(),
            root: frontier.root(&hash),
        }))
    }

    async fn require_head(&self) -> Result<LedgerHead> {
        self.ledger_head()
            .await?
            .ok_or_else(|| StoreError::Ledger("not initialized (run `yunjian admin init`)".into()))
    }

    /// Appends records in one transaction (group commit): one sync for the batch.
    pub async fn append_audit_batch(&self, records: &[NewAuditRecord]) -> Result<Vec<u64>> {
        let mut tx = self.begin_write().await?;
        let mut seqs = Vec::with_capacity(records.len());
        for record in records {
            seqs.push(tx.append_audit(record).await?);
        }
        tx.commit().await?;
        Ok(seqs)
    }

    /// Records newest first.
    pub async fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut clauses = Vec::new();
        let mut binds = Vec::new();
        let mut add = |clause: &str, bind: Bind| {
            binds.push(bind);
            clauses.push(clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(tenant) = filter.tenant_id {
            add("tenant_id = ?", Bind::Int(Some(tenant)));
        }
        if let Some(actor) = &filter.actor {
            add("actor_username = ?", Bind::Text(Some(actor.clone())));
        }
        if let Some(action) = &filter.action {
            add("action = ?", Bind::Text(Some(action.clone())));
        }
        if let Some(kind) = &filter.object_kind {
            add("object_kind = ?", Bind::Text(Some(kind.clone())));
        }
        if let Some(id) = filter.object_id {
            add("object_id = ?", Bind::Int(Some(id)));
        }
        if let Some(outcome) = filter.outcome {
            add("outcome = ?", Bind::Text(Some(outcome.as_str().to_owned())));
        }
        if let Some(from) = filter.from_ns {
            add("at_ns >= ?", Bind::Int(Some(from)));
        }
        if let Some(to) = filter.to_ns {
            add("at_ns < ?", Bind::Int(Some(to)));
        }
        if let Some(before) = filter.before_seq {
            add("seq < ?", Bind::Int(Some(to_i64(before))));
        }
        let where_clause = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let limit = filter.limit.clamp(1, 1000);
        let statement = Statement {
            sql: format!(
                "SELECT {RECORD_COLUMNS} FROM audit_records{where_clause} ORDER BY seq DESC LIMIT {limit}"
            ),
            binds,
            types: RECORD_TYPES.to_vec(),
        };
        let rows = self.read(vec![statement]).await?.pop().unwrap_or_default();
        rows.iter().map(|cells| record_from_cells(cells)).collect()
    }

    pub async fn audit_record(&self, seq: u64) -> Result<Option<AuditRecord>> {
        let statement = Statement {
            sql: format!("SELECT {RECORD_COLUMNS} FROM audit_records WHERE seq = $1"),
            binds: vec![Bind::Int(Some(to_i64(seq)))],
            types: RECORD_TYPES.to_vec(),
        };
        let rows = self.read(vec![statement]).await?.pop().unwrap_or_default();
        rows.first()
            .map(|cells| record_from_cells(cells))
            .transpose()
    }

    /// Records `[from, to)` in order (at most `limit`), for exports.
    pub async fn audit_range(&self, from: u64, to: u64, limit: u32) -> Result<Vec<AuditRecord>> {
        self.records_in(None, from, to, limit).await
    }

    /// A tenant's records in `[from, to)` in order (at most `limit`), for slice exports.
    pub async fn audit_tenant_range(
        &self,
        tenant_id: i64,
        from: u64,
        to: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>> {
        self.records_in(Some(tenant_id), from, to, limit).await
    }

    async fn records_in(
        &self,
        tenant_id: Option<i64>,
        from: u64,
        to: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>> {
        let mut binds = vec![Bind::Int(Some(to_i64(from))), Bind::Int(Some(to_i64(to)))];
        let tenant = match tenant_id {
            Some(tenant) => {
                binds.push(Bind::Int(Some(tenant)));
                " AND tenant_id = $3"
            }
            None => "",
        };
        let statement = Statement {
            sql: format!(
                "SELECT {RECORD_COLUMNS} FROM audit_records WHERE seq >= $1 AND seq < $2{tenant} \
                 ORDER BY seq LIMIT {}",
                limit.max(1)
            ),
            binds,
            types: RECORD_TYPES.to_vec(),
        };
        let rows = self.read(vec![statement]).await?.pop().unwrap_or_default();
        rows.iter().map(|cells| record_from_cells(cells)).collect()
    }

    pub async fn audit_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM audit_records")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The first sequence number at or after `at_ns` (the log's size when none is).
    pub async fn audit_seq_at(&self, at_ns: i64) -> Result<u64> {
        let row = sqlx::query("SELECT MIN(seq) FROM audit_records WHERE at_ns >= $1")
            .bind(at_ns)
            .fetch_one(&self.pool)
            .await?;
        match row.try_get::<Option<i64>, _>(0)? {
            Some(seq) => Ok(u64::try_from(seq).unwrap_or_default()),
            None => Ok(self.require_head().await?.size),
        }
    }

    /// Stored perfect-subtree hashes by id; a missing one is an error (the store is
    /// incomplete or the id is beyond the log).
    pub async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
        let mut statements = Vec::new();
        let leaves: Vec<i64> = ids
            .iter()
            .filter(|id| id.level == 0)
            .map(|id| to_i64(id.index))
            .collect();
        let inner: Vec<&NodeId> = ids.iter().filter(|id| id.level > 0).collect();
        for chunk in leaves.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            statements.push(Statement {
                sql: format!(
                    "SELECT 0, seq, leaf_hash FROM audit_records WHERE seq IN ({})",
                    placeholders.join(", ")
                ),
                binds: chunk.iter().map(|seq| Bind::Int(Some(*seq))).collect(),
                types: vec![CellType::Int, CellType::Int, CellType::Text],
            });
        }
        for chunk in inner.chunks(250) {
            let clauses: Vec<String> = (0..chunk.len())
                .map(|i| format!("(level = ${} AND idx = ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            statements.push(Statement {
                sql: format!(
                    "SELECT level, idx, hash FROM ledger_nodes WHERE {}",
                    clauses.join(" OR ")
                ),
                binds: chunk
                    .iter()
                    .flat_map(|id| {
                        [
                            Bind::Int(Some(i64::from(id.level))),
                            Bind::Int(Some(to_i64(id.index))),
                        ]
                    })
                    .collect(),
                types: vec![CellType::Int, CellType::Int, CellType::Text],
            });
        }
        let mut found = HashMap::with_capacity(ids.len());
        for rows in self.read(statements).await? {
            for cells in rows {
                let level = cells[0].int().unwrap_or_default();
                let index = cells[1].int().unwrap_or_default();
                let id = NodeId {
                    level: u32::try_from(level).unwrap_or_default(),
                    index: u64::try_from(index).unwrap_or_default(),
                };
                found.insert(id, parse_hash(cells[2].text().unwrap_or_default())?);
            }
        }
        if let Some(missing) = ids.iter().find(|id| !found.contains_key(id)) {
            return Err(StoreError::Ledger(format!(
                "node {}/{} is not stored",
                missing.level, missing.index
            )));
        }
        Ok(found)
    }

    /// The ledger's hash, read once.
    async fn ledger_hash(&self) -> Result<LedgerHash> {
        if let Some(hash) = self.ledger_hash.get() {
            return Ok(*hash);
        }
        let head = self.require_head().await?;
        Ok(*self.ledger_hash.get_or_init(|| head.hash))
    }

    /// Fetches a proof's nodes. The head is not read first (a proof is then one round of
    /// primary-key reads): a tree larger than the log lacks the nodes covering its last
    /// leaf, which is told apart from a damaged store only on that error path.
    async fn assemble(&self, size: u64, plan: &ProofNodes) -> Result<Vec<Hash>> {
        let hash = self.ledger_hash().await?;
        let nodes = match self.ledger_nodes(&plan.needed()).await {
            Ok(nodes) => nodes,
            Err(error) => {
                let head = self.require_head().await?;
                Store::check_size(&head, size)?;
                return Err(error);
            }
        };
        plan.assemble(&hash, |id| nodes.get(&id).copied())
            .map_err(|id| {
                StoreError::Ledger(format!("node {}/{} is not stored", id.level, id.index))
            })
    }

    fn check_size(head: &LedgerHead, size: u64) -> Result<()> {
        if size > head.size {
            return Err(StoreError::Ledger(format!(
                "tree size {size} is beyond the log's {}",
                head.size
            )));
        }
        Ok(())
    }

    /// The inclusion proof of record `index` in the tree of `size` records.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        let plan = inclusion_proof_nodes(index, size).ok_or_else(|| {
            StoreError::Ledger(format!("index {index} is not inside a tree of {size}"))
        })?;
        self.assemble(size, &plan).await
    }

    /// The consistency proof from the tree of `old_size` records to that of `size`.
    pub async fn consistency_proof(&self, old_size: u64, size: u64) -> Result<Vec<Hash>> {
        let plan = consistency_proof_nodes(old_size, size).ok_or_else(|| {
            StoreError::Ledger(format!("no consistency proof from {old_size} to {size}"))
        })?;
        self.assemble(size, &plan).await
    }

    /// The perfect-subtree hashes that make up `[start, end)` (for export bundles).
    pub async fn range_nodes(&self, start: u64, end: u64) -> Result<Vec<Hash>> {
        let ids = perfect_nodes(start, end);
        let nodes = self.ledger_nodes(&ids).await?;
        Ok(ids.iter().map(|id| nodes[id]).collect())
    }

    /// The tree head of the first `size` records.
    pub async fn root_at(&self, size: u64) -> Result<Hash> {
        let head = self.require_head().await?;
        Store::check_size(&head, size)?;
        let hashes = self.range_nodes(0, size).await?;
        Ok(Frontier::from_parts(size, hashes)
            .ok_or_else(|| StoreError::Corrupt("range nodes".into()))?
            .root(&head.hash))
    }

    pub async fn ledger_signing_key(&self) -> Result<Option<StoredLedgerKey>> {
        let row = sqlx::query(
            "SELECT id, name, verifier_key, sealed_secret, created_at_ns FROM ledger_keys \
             WHERE retired_at_ns IS NULL ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(StoredLedgerKey {
                id: row.try_get(0)?,
                name: row.try_get(1)?,
                verifier_key: row.try_get(2)?,
                sealed_secret: row.try_get(3)?,
                created_at_ns: row.try_get(4)?,
            })
        })
        .transpose()
    }

    /// Every key that ever signed, by id: auditors need retired ones to check old
    /// checkpoints.
    pub async fn ledger_verifier_keys(&self) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query("SELECT id, verifier_key FROM ledger_keys ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let row = sqlx::query(
            "SELECT size, root, at_ns, key_id, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(checkpoint_from_row).transpose()
    }

    /// Checkpoints with `from ≤ size ≤ to`, oldest first (at most `limit`).
    pub async fn checkpoints_between(
        &self,
        from: u64,
        to: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>> {
        let rows = sqlx::query(&format!(
            "SELECT size, root, at_ns, key_id, note FROM ledger_checkpoints \
             WHERE size >= $1 AND size <= $2 ORDER BY size LIMIT {}",
            limit.max(1)
        ))
        .bind(to_i64(from))
        .bind(to_i64(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(checkpoint_from_row).collect()
    }

    pub async fn ledger_archives(&self) -> Result<Vec<LedgerArchive>> {
        let rows = sqlx::query(
            "SELECT id, from_seq, to_seq, before_ns, checkpoint_size, bundle_sm3, file_name, \
             created_at_ns, pruned_at_ns FROM ledger_archives ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(archive_from_row).collect()
    }
}
