//! Audit records, written in the same transaction as the change they describe.
//!
//! This is the record store; the tamper-evident Merkle ledger over these records, its
//! signed checkpoints and the offline verifier are built on top of it.

use sqlx::Row;

use crate::error::Result;
use crate::open::{Store, WriteTx};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditOutcome {
    Succeeded,
    Denied,
    Failed,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Succeeded => "succeeded",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<AuditOutcome> {
        [
            AuditOutcome::Succeeded,
            AuditOutcome::Denied,
            AuditOutcome::Failed,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }
}

/// A record to append. `detail` is a JSON object; it never holds a secret.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditRecord {
    pub at_ns: i64,
    pub actor_account_id: Option<i64>,
    pub actor_username: Option<String>,
    pub actor_role: Option<String>,
    pub actor_tenant_id: Option<i64>,
    pub actor_provider_id: Option<i64>,
    pub source_address: Option<String>,
    pub request_id: Option<String>,
    pub action: String,
    pub object_kind: Option<String>,
    pub object_id: Option<i64>,
    /// The tenant that owns the object, so tenants can be shown their own slice.
    pub tenant_id: Option<i64>,
    pub outcome: AuditOutcome,
    pub reason: Option<String>,
    pub detail: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub seq: i64,
    pub record: NewAuditRecord,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub tenant_id: Option<i64>,
    pub action: Option<String>,
    pub object_kind: Option<String>,
    pub object_id: Option<i64>,
    pub limit: u32,
}

impl WriteTx {
    pub async fn append_audit(&mut self, record: &NewAuditRecord) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO audit_records (at_ns, actor_account_id, actor_username, actor_role, \
             actor_tenant_id, actor_provider_id, source_address, request_id, action, object_kind, \
             object_id, tenant_id, outcome, reason, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING seq",
        )
        .bind(record.at_ns)
        .bind(record.actor_account_id)
        .bind(record.actor_username.as_deref())
        .bind(record.actor_role.as_deref())
        .bind(record.actor_tenant_id)
        .bind(record.actor_provider_id)
        .bind(record.source_address.as_deref())
        .bind(record.request_id.as_deref())
        .bind(record.action.as_str())
        .bind(record.object_kind.as_deref())
        .bind(record.object_id)
        .bind(record.tenant_id)
        .bind(record.outcome.as_str())
        .bind(record.reason.as_deref())
        .bind(record.detail.as_ref().map(|detail| detail.to_string()))
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }
}

impl Store {
    /// The newest records first.
    pub async fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut clauses = Vec::new();
        let mut index = 0;
        let mut next = || {
            index += 1;
            format!("${index}")
        };
        if filter.tenant_id.is_some() {
            clauses.push(format!("tenant_id = {}", next()));
        }
        if filter.action.is_some() {
            clauses.push(format!("action = {}", next()));
        }
        if filter.object_kind.is_some() {
            clauses.push(format!("object_kind = {}", next()));
        }
        if filter.object_id.is_some() {
            clauses.push(format!("object_id = {}", next()));
        }
        let limit = next();
        let where_clause = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT seq, at_ns, actor_account_id, actor_username, actor_role, actor_tenant_id, \
             actor_provider_id, source_address, request_id, action, object_kind, object_id, \
             tenant_id, outcome, reason, detail FROM audit_records{where_clause} \
             ORDER BY seq DESC LIMIT {limit}"
        );
        let mut query = sqlx::query(&sql);
        if let Some(tenant) = filter.tenant_id {
            query = query.bind(tenant);
        }
        if let Some(action) = &filter.action {
            query = query.bind(action.clone());
        }
        if let Some(kind) = &filter.object_kind {
            query = query.bind(kind.clone());
        }
        if let Some(id) = filter.object_id {
            query = query.bind(id);
        }
        query = query.bind(i64::from(filter.limit.clamp(1, 1000)));
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let outcome: String = row.try_get("outcome")?;
                let detail: Option<String> = row.try_get("detail")?;
                Ok(AuditRecord {
                    seq: row.try_get("seq")?,
                    record: NewAuditRecord {
                        at_ns: row.try_get("at_ns")?,
                        actor_account_id: row.try_get("actor_account_id")?,
                        actor_username: row.try_get("actor_username")?,
                        actor_role: row.try_get("actor_role")?,
                        actor_tenant_id: row.try_get("actor_tenant_id")?,
                        actor_provider_id: row.try_get("actor_provider_id")?,
                        source_address: row.try_get("source_address")?,
                        request_id: row.try_get("request_id")?,
                        action: row.try_get("action")?,
                        object_kind: row.try_get("object_kind")?,
                        object_id: row.try_get("object_id")?,
                        tenant_id: row.try_get("tenant_id")?,
                        outcome: AuditOutcome::parse(&outcome).unwrap_or(AuditOutcome::Failed),
                        reason: row.try_get("reason")?,
                        detail: detail.and_then(|text| serde_json::from_str(&text).ok()),
                    },
                })
            })
            .collect()
    }

    pub async fn audit_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM audit_records")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}
