//! The compliance engine's records: runs and their results, evidence, waivers, custom
//! controls, responsibility overrides and parameter values. Evidence, waivers, controls
//! and overrides are never deleted; their ends are states with who and when.

use sqlx::Row;
use yunjian_core::ids::AccountId;
use yunjian_core::value::Value;

use crate::error::{Result, StoreError};
use crate::open::{Store, WriteTx};
use crate::read::{Bind, Cell, CellType};
use crate::world::Params;

/// A finished run, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct ComplianceRun {
    pub id: i64,
    pub started_at_ns: i64,
    pub finished_at_ns: i64,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub requested_by: Option<AccountId>,
    pub catalog_version: String,
    /// JSON `{key: value}`.
    pub parameters: String,
    pub resources: i64,
    pub controls: i64,
    /// JSON `[[control, message]]`.
    pub control_errors: String,
    pub load_ms: f64,
    pub evaluate_ms: f64,
    /// JSON counts per status.
    pub summary: String,
}

/// One stored result: a clause for a scope in a run.
#[derive(Clone, Debug, PartialEq)]
pub struct ComplianceResultRow {
    pub run_id: i64,
    pub scope_kind: String,
    pub scope_id: i64,
    pub clause_id: String,
    pub tenant_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub status: String,
    pub responsible: String,
    pub must_act: String,
    pub message_zh: String,
    pub message_en: String,
    /// JSON: basis, outcomes with evidence, waiver, notes.
    pub detail: String,
}

/// The two tables whose rows a second person decides.
#[derive(Clone, Copy)]
enum Decided {
    Evidence,
    Waiver,
}

impl Decided {
    fn table(self) -> &'static str {
        match self {
            Decided::Evidence => "compliance_evidence",
            Decided::Waiver => "compliance_waivers",
        }
    }
}

/// Which results a query returns: the reader's unit is part of the `WHERE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultScope {
    All,
    /// A tenant's own rows and its systems'.
    Tenant(i64),
    /// A provider's own rows.
    Provider(i64),
}

/// Narrowing of a results query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultFilter {
    pub scope_kind: Option<String>,
    pub scope_id: Option<i64>,
    pub clause_id: Option<String>,
    pub status: Option<String>,
    /// Only rows that need someone to act (FAIL, ERROR, MANUAL).
    pub open_only: bool,
}

/// Evidence for a clause and scope, without its content.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceRecord {
    pub id: i64,
    pub clause_id: String,
    pub scope_kind: String,
    pub scope_id: i64,
    pub tenant_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sm3: String,
    pub observed_on: String,
    pub note: String,
    pub valid_until_ns: i64,
    pub submitted_by: AccountId,
    pub submitted_at_ns: i64,
    /// `submitted`, `approved`, `rejected`, `withdrawn`.
    pub state: String,
    pub decided_by: Option<AccountId>,
    pub decided_at_ns: Option<i64>,
    pub decision_note: Option<String>,
}

pub struct NewEvidence<'a> {
    pub clause_id: &'a str,
    pub scope_kind: &'a str,
    pub scope_id: i64,
    pub tenant_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub file_name: &'a str,
    pub media_type: &'a str,
    pub content: &'a [u8],
    pub sm3: &'a str,
    pub observed_on: &'a str,
    pub note: &'a str,
    pub valid_until_ns: i64,
    pub submitted_by: AccountId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WaiverRecord {
    pub id: i64,
    pub clause_id: String,
    pub scope_kind: String,
    pub scope_id: i64,
    pub tenant_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub justification: String,
    pub expires_at_ns: i64,
    pub requested_by: AccountId,
    pub requested_at_ns: i64,
    /// `requested`, `approved`, `rejected`, `revoked`.
    pub state: String,
    pub decided_by: Option<AccountId>,
    pub decided_at_ns: Option<i64>,
    pub decision_note: Option<String>,
}

pub struct NewWaiver<'a> {
    pub clause_id: &'a str,
    pub scope_kind: &'a str,
    pub scope_id: i64,
    pub tenant_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub justification: &'a str,
    pub expires_at_ns: i64,
    pub requested_by: AccountId,
}

/// One version of a custom control.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomControlRecord {
    pub id: i64,
    pub control_id: String,
    pub version: i64,
    pub title_zh: String,
    pub title_en: String,
    /// JSON list of clause ids.
    pub clauses: String,
    /// JSON list of world kinds the control reads.
    pub kinds: String,
    pub source: String,
    pub sm3: String,
    pub created_by: AccountId,
    pub created_at_ns: i64,
    pub retired_by: Option<AccountId>,
    pub retired_at_ns: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OverrideRecord {
    pub id: i64,
    pub tenant_id: i64,
    pub provider_id: Option<i64>,
    pub component: String,
    /// `provider+tenant` form.
    pub parties: String,
    pub contract_ref: String,
    pub reason: String,
    pub created_by: AccountId,
    pub created_at_ns: i64,
    pub revoked_by: Option<AccountId>,
    pub revoked_at_ns: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParameterRecord {
    pub parameter: String,
    pub value: f64,
    pub set_by: AccountId,
    pub set_at_ns: i64,
}

const RUN_COLUMNS: &str = "id, started_at_ns, finished_at_ns, run_trigger, requested_by, \
    catalog_version, parameters, resources, controls, control_errors, load_ms, evaluate_ms, summary";
const RUN_TYPES: [CellType; 13] = [
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Float,
    CellType::Float,
    CellType::Text,
];

fn corrupt(table: &str, what: &str) -> StoreError {
    StoreError::Corrupt(format!("{table}.{what}"))
}

fn float(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Float(value) => Some(*value),
        Cell::Int(value) => Some(*value as f64),
        _ => None,
    }
}

fn decode_run(row: &mut [Cell]) -> Result<ComplianceRun> {
    let bad = |what: &str| corrupt("compliance_runs", what);
    Ok(ComplianceRun {
        id: row[0].int().ok_or_else(|| bad("id"))?,
        started_at_ns: row[1].int().ok_or_else(|| bad("started_at_ns"))?,
        finished_at_ns: row[2].int().ok_or_else(|| bad("finished_at_ns"))?,
        trigger: row[3].take_text().ok_or_else(|| bad("run_trigger"))?,
        requested_by: row[4].int().map(AccountId),
        catalog_version: row[5].take_text().unwrap_or_default(),
        parameters: row[6].take_text().unwrap_or_default(),
        resources: row[7].int().unwrap_or(0),
        controls: row[8].int().unwrap_or(0),
        control_errors: row[9].take_text().unwrap_or_default(),
        load_ms: float(&row[10]).unwrap_or(0.0),
        evaluate_ms: float(&row[11]).unwrap_or(0.0),
        summary: row[12].take_text().unwrap_or_default(),
    })
}

const RESULT_COLUMNS: &str = "run_id, scope_kind, scope_id, clause_id, tenant_id, provider_id, \
    status, responsible, must_act, message_zh, message_en, detail";
const RESULT_TYPES: [CellType; 12] = [
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Text,
];

fn decode_result(row: &mut [Cell]) -> Result<ComplianceResultRow> {
    let bad = |what: &str| corrupt("compliance_results", what);
    Ok(ComplianceResultRow {
        run_id: row[0].int().ok_or_else(|| bad("run_id"))?,
        scope_kind: row[1].take_text().ok_or_else(|| bad("scope_kind"))?,
        scope_id: row[2].int().ok_or_else(|| bad("scope_id"))?,
        clause_id: row[3].take_text().ok_or_else(|| bad("clause_id"))?,
        tenant_id: row[4].int(),
        provider_id: row[5].int(),
        status: row[6].take_text().ok_or_else(|| bad("status"))?,
        responsible: row[7].take_text().unwrap_or_default(),
        must_act: row[8].take_text().unwrap_or_default(),
        message_zh: row[9].take_text().unwrap_or_default(),
        message_en: row[10].take_text().unwrap_or_default(),
        detail: row[11].take_text().unwrap_or_default(),
    })
}

const EVIDENCE_COLUMNS: &str = "id, clause_id, scope_kind, scope_id, tenant_id, provider_id, \
    file_name, media_type, size_bytes, sm3, observed_on, note, valid_until_ns, submitted_by, \
    submitted_at_ns, state, decided_by, decided_at_ns, decision_note";
const EVIDENCE_TYPES: [CellType; 19] = [
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Text,
];

fn decode_evidence(row: &mut [Cell]) -> Result<EvidenceRecord> {
    let bad = |what: &str| corrupt("compliance_evidence", what);
    Ok(EvidenceRecord {
        id: row[0].int().ok_or_else(|| bad("id"))?,
        clause_id: row[1].take_text().ok_or_else(|| bad("clause_id"))?,
        scope_kind: row[2].take_text().ok_or_else(|| bad("scope_kind"))?,
        scope_id: row[3].int().ok_or_else(|| bad("scope_id"))?,
        tenant_id: row[4].int(),
        provider_id: row[5].int(),
        file_name: row[6].take_text().unwrap_or_default(),
        media_type: row[7].take_text().unwrap_or_default(),
        size_bytes: row[8].int().unwrap_or(0),
        sm3: row[9].take_text().ok_or_else(|| bad("sm3"))?,
        observed_on: row[10].take_text().unwrap_or_default(),
        note: row[11].take_text().unwrap_or_default(),
        valid_until_ns: row[12].int().ok_or_else(|| bad("valid_until_ns"))?,
        submitted_by: AccountId(row[13].int().ok_or_else(|| bad("submitted_by"))?),
        submitted_at_ns: row[14].int().ok_or_else(|| bad("submitted_at_ns"))?,
        state: row[15].take_text().ok_or_else(|| bad("state"))?,
        decided_by: row[16].int().map(AccountId),
        decided_at_ns: row[17].int(),
        decision_note: row[18].take_text(),
    })
}

const WAIVER_COLUMNS: &str = "id, clause_id, scope_kind, scope_id, tenant_id, provider_id, \
    justification, expires_at_ns, requested_by, requested_at_ns, state, decided_by, \
    decided_at_ns, decision_note";
const WAIVER_TYPES: [CellType; 14] = [
    CellType::Int,
    CellType::Text,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Int,
    CellType::Text,
];

fn decode_waiver(row: &mut [Cell]) -> Result<WaiverRecord> {
    let bad = |what: &str| corrupt("compliance_waivers", what);
    Ok(WaiverRecord {
        id: row[0].int().ok_or_else(|| bad("id"))?,
        clause_id: row[1].take_text().ok_or_else(|| bad("clause_id"))?,
        scope_kind: row[2].take_text().ok_or_else(|| bad("scope_kind"))?,
        scope_id: row[3].int().ok_or_else(|| bad("scope_id"))?,
        tenant_id: row[4].int(),
        provider_id: row[5].int(),
        justification: row[6].take_text().unwrap_or_default(),
        expires_at_ns: row[7].int().ok_or_else(|| bad("expires_at_ns"))?,
        requested_by: AccountId(row[8].int().ok_or_else(|| bad("requested_by"))?),
        requested_at_ns: row[9].int().ok_or_else(|| bad("requested_at_ns"))?,
        state: row[10].take_text().ok_or_else(|| bad("state"))?,
        decided_by: row[11].int().map(AccountId),
        decided_at_ns: row[12].int(),
        decision_note: row[13].take_text(),
    })
}

const CONTROL_COLUMNS: &str = "id, control_id, version, title_zh, title_en, clauses, kinds, \
    source, sm3, created_by, created_at_ns, retired_by, retired_at_ns";
const CONTROL_TYPES: [CellType; 13] = [
    CellType::Int,
    CellType::Text,
    CellType::Int,
    CellType::Text,
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

fn decode_control(row: &mut [Cell]) -> Result<CustomControlRecord> {
    let bad = |what: &str| corrupt("compliance_controls", what);
    Ok(CustomControlRecord {
        id: row[0].int().ok_or_else(|| bad("id"))?,
        control_id: row[1].take_text().ok_or_else(|| bad("control_id"))?,
        version: row[2].int().ok_or_else(|| bad("version"))?,
        title_zh: row[3].take_text().unwrap_or_default(),
        title_en: row[4].take_text().unwrap_or_default(),
        clauses: row[5].take_text().unwrap_or_default(),
        kinds: row[6].take_text().unwrap_or_default(),
        source: row[7].take_text().unwrap_or_default(),
        sm3: row[8].take_text().unwrap_or_default(),
        created_by: AccountId(row[9].int().ok_or_else(|| bad("created_by"))?),
        created_at_ns: row[10].int().ok_or_else(|| bad("created_at_ns"))?,
        retired_by: row[11].int().map(AccountId),
        retired_at_ns: row[12].int(),
    })
}

const OVERRIDE_COLUMNS: &str = "id, tenant_id, provider_id, component, parties, contract_ref, \
    reason, created_by, created_at_ns, revoked_by, revoked_at_ns";
const OVERRIDE_TYPES: [CellType; 11] = [
    CellType::Int,
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

fn decode_override(row: &mut [Cell]) -> Result<OverrideRecord> {
    let bad = |what: &str| corrupt("responsibility_overrides", what);
    Ok(OverrideRecord {
        id: row[0].int().ok_or_else(|| bad("id"))?,
        tenant_id: row[1].int().ok_or_else(|| bad("tenant_id"))?,
        provider_id: row[2].int(),
        component: row[3].take_text().ok_or_else(|| bad("component"))?,
        parties: row[4].take_text().unwrap_or_default(),
        contract_ref: row[5].take_text().unwrap_or_default(),
        reason: row[6].take_text().unwrap_or_default(),
        created_by: AccountId(row[7].int().ok_or_else(|| bad("created_by"))?),
        created_at_ns: row[8].int().ok_or_else(|| bad("created_at_ns"))?,
        revoked_by: row[9].int().map(AccountId),
        revoked_at_ns: row[10].int(),
    })
}

fn decode_parameter(row: &mut [Cell]) -> Result<ParameterRecord> {
    let bad = |what: &str| corrupt("compliance_parameters", what);
    Ok(ParameterRecord {
        parameter: row[0].take_text().ok_or_else(|| bad("parameter"))?,
        value: float(&row[1]).ok_or_else(|| bad("value"))?,
        set_by: AccountId(row[2].int().ok_or_else(|| bad("set_by"))?),
        set_at_ns: row[3].int().ok_or_else(|| bad("set_at_ns"))?,
    })
}

/// `($1 IS NULL OR tenant_id = $1)` style owner conditions for a unit.
fn owner_binds(scope: ResultScope) -> (Bind, Bind) {
    match scope {
        ResultScope::All => (Bind::Int(None), Bind::Int(None)),
        ResultScope::Tenant(id) => (Bind::Int(Some(id)), Bind::Int(None)),
        ResultScope::Provider(id) => (Bind::Int(None), Bind::Int(Some(id))),
    }
}

impl Store {
    /// Runs, newest first.
    pub async fn compliance_runs(&self, limit: i64) -> Result<Vec<ComplianceRun>> {
        self.read_decoded(
            format!("SELECT {RUN_COLUMNS} FROM compliance_runs ORDER BY id DESC LIMIT $1"),
            vec![Bind::Int(Some(limit))],
            &RUN_TYPES,
            decode_run,
        )
        .await
    }

    pub async fn compliance_run(&self, id: i64) -> Result<Option<ComplianceRun>> {
        Ok(self
            .read_decoded(
                format!("SELECT {RUN_COLUMNS} FROM compliance_runs WHERE id = $1"),
                vec![Bind::Int(Some(id))],
                &RUN_TYPES,
                decode_run,
            )
            .await?
            .into_iter()
            .next())
    }

    /// A run's results in the reader's unit, narrowed by `filter`, in a stable order.
    pub async fn compliance_results(
        &self,
        run_id: i64,
        scope: ResultScope,
        filter: &ResultFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ComplianceResultRow>> {
        let (tenant, provider) = owner_binds(scope);
        self.read_decoded(
            format!(
                "SELECT {RESULT_COLUMNS} FROM compliance_results WHERE run_id = $1 \
                 AND ($2 IS NULL OR tenant_id = $2) AND ($3 IS NULL OR provider_id = $3) \
                 AND ($4 IS NULL OR scope_kind = $4) AND ($5 IS NULL OR scope_id = $5) \
                 AND ($6 IS NULL OR clause_id = $6) AND ($7 IS NULL OR status = $7) \
                 AND ($8 = 0 OR status IN ('FAIL', 'ERROR', 'MANUAL')) \
                 ORDER BY scope_kind, scope_id, clause_id LIMIT $9 OFFSET $10"
            ),
            vec![
                Bind::Int(Some(run_id)),
                tenant,
                provider,
                Bind::Text(filter.scope_kind.clone()),
                Bind::Int(filter.scope_id),
                Bind::Text(filter.clause_id.clone()),
                Bind::Text(filter.status.clone()),
                Bind::Int(Some(i64::from(filter.open_only))),
                Bind::Int(Some(limit)),
                Bind::Int(Some(offset)),
            ],
            &RESULT_TYPES,
            decode_result,
        )
        .await
    }

    /// Status counts of one scope's results across the newest `runs` runs: the trend.
    pub async fn compliance_trend(
        &self,
        scope_kind: &str,
        scope_id: i64,
        runs: i64,
    ) -> Result<Vec<(i64, i64, String, i64)>> {
        let rows = self
            .read(vec![crate::read::Statement {
                sql: "SELECT r.run_id, u.started_at_ns, r.status, COUNT(*) FROM compliance_results r \
                      JOIN compliance_runs u ON u.id = r.run_id \
                      WHERE r.scope_kind = $1 AND r.scope_id = $2 AND r.run_id IN \
                      (SELECT id FROM compliance_runs ORDER BY id DESC LIMIT $3) \
                      GROUP BY r.run_id, u.started_at_ns, r.status ORDER BY r.run_id, r.status"
                    .to_owned(),
                binds: vec![
                    Bind::Text(Some(scope_kind.to_owned())),
                    Bind::Int(Some(scope_id)),
                    Bind::Int(Some(runs)),
                ],
                types: vec![CellType::Int, CellType::Int, CellType::Text, CellType::Int],
            }])
            .await?;
        Ok(rows
            .into_iter()
            .flatten()
            .filter_map(|mut row| {
                Some((
                    row[0].int()?,
                    row[1].int()?,
                    row[2].take_text()?,
                    row[3].int()?,
                ))
            })
            .collect())
    }

    /// Evidence in the reader's unit (all states), newest first.
    pub async fn compliance_evidence_list(
        &self,
        scope: ResultScope,
        clause_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<EvidenceRecord>> {
        let (tenant, provider) = owner_binds(scope);
        self.read_decoded(
            format!(
                "SELECT {EVIDENCE_COLUMNS} FROM compliance_evidence \
                 WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR provider_id = $2) \
                 AND ($3 IS NULL OR clause_id = $3) ORDER BY id DESC LIMIT $4"
            ),
            vec![
                tenant,
                provider,
                Bind::Text(clause_id.map(str::to_owned)),
                Bind::Int(Some(limit)),
            ],
            &EVIDENCE_TYPES,
            decode_evidence,
        )
        .await
    }

    /// Approved evidence that has not expired by `now_ns`, and the expired kind too
    /// (so a result can say an attestation lapsed): everything approved.
    pub async fn compliance_approved_evidence(&self) -> Result<Vec<EvidenceRecord>> {
        self.read_decoded(
            format!(
                "SELECT {EVIDENCE_COLUMNS} FROM compliance_evidence WHERE state = 'approved' ORDER BY id"
            ),
            Vec::new(),
            &EVIDENCE_TYPES,
            decode_evidence,
        )
        .await
    }

    pub async fn compliance_evidence(&self, id: i64) -> Result<Option<EvidenceRecord>> {
        Ok(self
            .read_decoded(
                format!("SELECT {EVIDENCE_COLUMNS} FROM compliance_evidence WHERE id = $1"),
                vec![Bind::Int(Some(id))],
                &EVIDENCE_TYPES,
                decode_evidence,
            )
            .await?
            .into_iter()
            .next())
    }

    /// The stored file of one piece of evidence, base64.
    pub async fn compliance_evidence_content(&self, id: i64) -> Result<Option<String>> {
        let rows = self
            .read(vec![crate::read::Statement {
                sql: "SELECT content FROM compliance_evidence WHERE id = $1".to_owned(),
                binds: vec![Bind::Int(Some(id))],
                types: vec![CellType::Text],
            }])
            .await?;
        Ok(rows
            .into_iter()
            .flatten()
            .next()
            .and_then(|mut row| row[0].take_text()))
    }

    pub async fn compliance_waivers(
        &self,
        scope: ResultScope,
        limit: i64,
    ) -> Result<Vec<WaiverRecord>> {
        let (tenant, provider) = owner_binds(scope);
        self.read_decoded(
            format!(
                "SELECT {WAIVER_COLUMNS} FROM compliance_waivers \
                 WHERE ($1 IS NULL OR tenant_id = $1) AND ($2 IS NULL OR provider_id = $2) \
                 ORDER BY id DESC LIMIT $3"
            ),
            vec![tenant, provider, Bind::Int(Some(limit))],
            &WAIVER_TYPES,
            decode_waiver,
        )
        .await
    }

    pub async fn compliance_waiver(&self, id: i64) -> Result<Option<WaiverRecord>> {
        Ok(self
            .read_decoded(
                format!("SELECT {WAIVER_COLUMNS} FROM compliance_waivers WHERE id = $1"),
                vec![Bind::Int(Some(id))],
                &WAIVER_TYPES,
                decode_waiver,
            )
            .await?
            .into_iter()
            .next())
    }

    /// Every version of every custom control, newest first.
    pub async fn custom_controls(&self) -> Result<Vec<CustomControlRecord>> {
        self.read_decoded(
            format!(
                "SELECT {CONTROL_COLUMNS} FROM compliance_controls ORDER BY control_id, version DESC"
            ),
            Vec::new(),
            &CONTROL_TYPES,
            decode_control,
        )
        .await
    }

    pub async fn responsibility_overrides(
        &self,
        tenant: Option<i64>,
    ) -> Result<Vec<OverrideRecord>> {
        self.read_decoded(
            format!(
                "SELECT {OVERRIDE_COLUMNS} FROM responsibility_overrides \
                 WHERE ($1 IS NULL OR tenant_id = $1) ORDER BY id"
            ),
            vec![Bind::Int(tenant)],
            &OVERRIDE_TYPES,
            decode_override,
        )
        .await
    }

    pub async fn compliance_parameters(&self) -> Result<Vec<ParameterRecord>> {
        self.read_decoded(
            "SELECT parameter, value, set_by, set_at_ns FROM compliance_parameters ORDER BY parameter"
                .to_owned(),
            Vec::new(),
            &[CellType::Text, CellType::Float, CellType::Int, CellType::Int],
            decode_parameter,
        )
        .await
    }
}

impl WriteTx {
    /// Stores a run and all its results; the caller commits (with the run's audit record).
    pub async fn insert_compliance_run(
        &mut self,
        run: &ComplianceRun,
        results: &[ComplianceResultRow],
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO compliance_runs (started_at_ns, finished_at_ns, run_trigger, requested_by, \
             catalog_version, parameters, resources, controls, control_errors, load_ms, evaluate_ms, \
             summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(run.started_at_ns)
        .bind(run.finished_at_ns)
        .bind(run.trigger.as_str())
        .bind(run.requested_by.map(|account| account.0))
        .bind(run.catalog_version.as_str())
        .bind(run.parameters.as_str())
        .bind(run.resources)
        .bind(run.controls)
        .bind(run.control_errors.as_str())
        .bind(run.load_ms)
        .bind(run.evaluate_ms)
        .bind(run.summary.as_str())
        .fetch_one(&mut *self.transaction)
        .await?;
        let run_id: i64 = row.try_get(0)?;
        // About 2,000 parameters a statement, as in bulk_insert.
        for chunk in results.chunks(2000 / 12) {
            let mut params = Params::many(self.backend);
            let mut tuples = Vec::with_capacity(chunk.len());
            for result in chunk {
                let optional = |value: Option<i64>| value.map_or(Value::Null, Value::Int);
                let placeholders = [
                    params.push(Value::Int(run_id)),
                    params.push(Value::Text(result.scope_kind.clone())),
                    params.push(Value::Int(result.scope_id)),
                    params.push(Value::Text(result.clause_id.clone())),
                    params.push(optional(result.tenant_id)),
                    params.push(optional(result.provider_id)),
                    params.push(Value::Text(result.status.clone())),
                    params.push(Value::Text(result.responsible.clone())),
                    params.push(Value::Text(result.must_act.clone())),
                    params.push(Value::Text(result.message_zh.clone())),
                    params.push(Value::Text(result.message_en.clone())),
                    params.push(Value::Text(result.detail.clone())),
                ];
                tuples.push(format!("({})", placeholders.join(", ")));
            }
            let sql = format!(
                "INSERT INTO compliance_results ({RESULT_COLUMNS}) VALUES {}",
                tuples.join(", ")
            );
            params
                .bind(sqlx::query(&sql))
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(run_id)
    }

    pub async fn insert_compliance_evidence(
        &mut self,
        new: &NewEvidence<'_>,
        content_base64: &str,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO compliance_evidence (clause_id, scope_kind, scope_id, tenant_id, provider_id, \
             file_name, media_type, size_bytes, sm3, content, observed_on, note, valid_until_ns, \
             submitted_by, submitted_at_ns, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, 'submitted') RETURNING id",
        )
        .bind(new.clause_id)
        .bind(new.scope_kind)
        .bind(new.scope_id)
        .bind(new.tenant_id)
        .bind(new.provider_id)
        .bind(new.file_name)
        .bind(new.media_type)
        .bind(new.content.len() as i64)
        .bind(new.sm3)
        .bind(content_base64)
        .bind(new.observed_on)
        .bind(new.note)
        .bind(new.valid_until_ns)
        .bind(new.submitted_by.0)
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Moves evidence from `submitted` to `to`; `false` when it was decided already. The
    /// table's CHECK refuses a decider who submitted it.
    pub async fn decide_compliance_evidence(
        &mut self,
        id: i64,
        to: &str,
        by: AccountId,
        note: &str,
        now_ns: i64,
    ) -> Result<bool> {
        self.decide_row(Decided::Evidence, id, "submitted", to, by, note, now_ns)
            .await
    }

    /// One state change of a decided row (evidence or waiver), guarded by its state.
    #[allow(clippy::too_many_arguments)]
    async fn decide_row(
        &mut self,
        table: Decided,
        id: i64,
        from: &str,
        to: &str,
        by: AccountId,
        note: &str,
        now_ns: i64,
    ) -> Result<bool> {
        // The table name is one of two constants, never input.
        let sql = format!(
            "UPDATE {} SET state = $1, decided_by = $2, decided_at_ns = $3, \
             decision_note = $4 WHERE id = $5 AND state = $6",
            table.table()
        );
        let done = sqlx::query(&sql)
            .bind(to)
            .bind(by.0)
            .bind(now_ns)
            .bind(note)
            .bind(id)
            .bind(from)
            .execute(&mut *self.transaction)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_compliance_waiver(
        &mut self,
        new: &NewWaiver<'_>,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO compliance_waivers (clause_id, scope_kind, scope_id, tenant_id, provider_id, \
             justification, expires_at_ns, requested_by, requested_at_ns, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'requested') RETURNING id",
        )
        .bind(new.clause_id)
        .bind(new.scope_kind)
        .bind(new.scope_id)
        .bind(new.tenant_id)
        .bind(new.provider_id)
        .bind(new.justification)
        .bind(new.expires_at_ns)
        .bind(new.requested_by.0)
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Moves a waiver from `from` to `to`; `false` when it was in another state. The
    /// table's CHECK refuses a decider who requested it.
    pub async fn decide_compliance_waiver(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        by: AccountId,
        note: &str,
        now_ns: i64,
    ) -> Result<bool> {
        self.decide_row(Decided::Waiver, id, from, to, by, note, now_ns)
            .await
    }

    /// Adds the next version of a custom control and answers its version.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_custom_control(
        &mut self,
        control_id: &str,
        title_zh: &str,
        title_en: &str,
        clauses_json: &str,
        kinds_json: &str,
        source: &str,
        sm3: &str,
        by: AccountId,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) FROM compliance_controls WHERE control_id = $1",
        )
        .bind(control_id)
        .fetch_one(&mut *self.transaction)
        .await?;
        let version: i64 = row.try_get::<i64, _>(0)? + 1;
        sqlx::query(
            "INSERT INTO compliance_controls (control_id, version, title_zh, title_en, clauses, \
             kinds, source, sm3, created_by, created_at_ns) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(control_id)
        .bind(version)
        .bind(title_zh)
        .bind(title_en)
        .bind(clauses_json)
        .bind(kinds_json)
        .bind(source)
        .bind(sm3)
        .bind(by.0)
        .bind(now_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(version)
    }

    /// Retires every version of a custom control; the number of versions retired.
    pub async fn retire_custom_control(
        &mut self,
        control_id: &str,
        by: AccountId,
        now_ns: i64,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE compliance_controls SET retired_by = $1, retired_at_ns = $2 \
             WHERE control_id = $3 AND retired_at_ns IS NULL",
        )
        .bind(by.0)
        .bind(now_ns)
        .bind(control_id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(done.rows_affected())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_responsibility_override(
        &mut self,
        tenant_id: i64,
        provider_id: Option<i64>,
        component: &str,
        parties: &str,
        contract_ref: &str,
        reason: &str,
        by: AccountId,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO responsibility_overrides (tenant_id, provider_id, component, parties, \
             contract_ref, reason, created_by, created_at_ns) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(tenant_id)
        .bind(provider_id)
        .bind(component)
        .bind(parties)
        .bind(contract_ref)
        .bind(reason)
        .bind(by.0)
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn revoke_responsibility_override(
        &mut self,
        id: i64,
        by: AccountId,
        now_ns: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE responsibility_overrides SET revoked_by = $1, revoked_at_ns = $2 \
             WHERE id = $3 AND revoked_at_ns IS NULL",
        )
        .bind(by.0)
        .bind(now_ns)
        .bind(id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets a parameter's value; answers the previous one.
    pub async fn set_compliance_parameter(
        &mut self,
        parameter: &str,
        value: f64,
        by: AccountId,
        now_ns: i64,
    ) -> Result<Option<f64>> {
        let previous = sqlx::query("SELECT value FROM compliance_parameters WHERE parameter = $1")
            .bind(parameter)
            .fetch_optional(&mut *self.transaction)
            .await?
            .map(|row| row.try_get::<f64, _>(0))
            .transpose()?;
        sqlx::query("DELETE FROM compliance_parameters WHERE parameter = $1")
            .bind(parameter)
            .execute(&mut *self.transaction)
            .await?;
        sqlx::query(
            "INSERT INTO compliance_parameters (parameter, value, set_by, set_at_ns) VALUES ($1, $2, $3, $4)",
        )
        .bind(parameter)
        .bind(value)
        .bind(by.0)
        .bind(now_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(previous)
    }
}
