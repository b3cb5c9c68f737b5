//! The policy-change log of network isolation verification (7.2.4.7): what each audited
//! change to a network object did to the findings, one row per audit record, written by
//! whichever instance verified it first.

use crate::error::{Result, StoreError};
use crate::events::{types, Cells};
use crate::open::Store;
use crate::read::{Bind, Cell};

/// One row of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkChange {
    pub audit_seq: i64,
    pub at_ns: i64,
    pub kind: String,
    pub object_id: Option<i64>,
    pub action: String,
    pub tenant_id: Option<i64>,
    pub appeared: i64,
    pub disappeared: i64,
    /// JSON: the findings that appeared and disappeared (summaries).
    pub detail: String,
}

const COLUMNS: &str =
    "audit_seq, at_ns, kind, object_id, action, tenant_id, appeared, disappeared, detail";

fn decode(cells: &mut [Cell]) -> Result<NetworkChange> {
    let mut row = Cells::new(cells, "network_changes");
    Ok(NetworkChange {
        audit_seq: row.int()?,
        at_ns: row.int()?,
        kind: row.text()?,
        object_id: row.opt_int(),
        action: row.text()?,
        tenant_id: row.opt_int(),
        appeared: row.int()?,
        disappeared: row.int()?,
        detail: row.text()?,
    })
}

impl Store {
    /// Records what changes did, once each (a row already written by another instance
    /// stays as it is).
    pub async fn record_network_changes(&self, changes: &[NetworkChange]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for change in changes {
            sqlx::query(
                "INSERT INTO network_changes (audit_seq, at_ns, kind, object_id, action, \
                 tenant_id, appeared, disappeared, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (audit_seq) DO NOTHING",
            )
            .bind(change.audit_seq)
            .bind(change.at_ns)
            .bind(&change.kind)
            .bind(change.object_id)
            .bind(&change.action)
            .bind(change.tenant_id)
            .bind(change.appeared)
            .bind(change.disappeared)
            .bind(&change.detail)
            .execute(&mut *tx.transaction)
            .await
            .map_err(StoreError::from)?;
        }
        tx.commit().await
    }

    /// The log, newest first: a tenant's own rows, or every row (`None`).
    pub async fn network_changes(
        &self,
        tenant_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<NetworkChange>> {
        self.read_decoded(
            format!(
                "SELECT {COLUMNS} FROM network_changes WHERE ($1 IS NULL OR tenant_id = $1) \
                 ORDER BY audit_seq DESC LIMIT $2"
            ),
            vec![Bind::Int(tenant_id), Bind::Int(Some(limit))],
            &types("iititiiit"),
            decode,
        )
        .await
    }
}
