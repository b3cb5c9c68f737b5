//! Compliance use-cases: runs (on demand and on a schedule), results in the reader's
//! scope, trends and differences between runs, evidence and its approval (attestation),
//! waivers, parameters and contract overrides of responsibility. The engine itself is
//! pure (yunjian-compliance); this module feeds it from the store and records every
//! management action in the audit ledger.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use serde_json::{json, Value as Json};
use yunjian_compliance::custom::CustomControl;
use yunjian_compliance::inventory::{AccountFact, PrivilegeFact, RefusalFact, Settings};
use yunjian_compliance::{
    Attestation, Basis, Catalog, ClauseResult, CustomRun, Evaluation, Facts, Inputs, Inventory,
    Override, ParameterValues, PartySet, Scope, Status, Waiver,
};
use yunjian_core::ids::AccountId;
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_policy::{Action, Relation, Target};
use yunjian_store::{
    AuditFilter, AuditOutcome, ComplianceResultRow, ComplianceRun, EvidenceRecord, NewEvidence,
    NewWaiver, OverrideRecord, ParameterRecord, ReadScope, ResultFilter, ResultScope, WaiverRecord,
};

use crate::authz::stamp;
use crate::error::AppError;
use crate::{App, Context};

const DAY_NS: i64 = 86_400 * 1_000_000_000;
const BEIJING_OFFSET_NS: i64 = 8 * 3_600 * 1_000_000_000;
/// Refused provider operations count against 7.2.5.5 for this long.
pub const REFUSAL_WINDOW_DAYS: i64 = 30;
/// Evidence files are kept in the store: bounded so one upload cannot fill it.
pub const MAX_EVIDENCE_BYTES: usize = 8 * 1024 * 1024;
/// An attestation is good for at most three years; a waiver for at most one.
pub const MAX_ATTESTATION_DAYS: i64 = 3 * 366;
pub const MAX_WAIVER_DAYS: i64 = 366;
/// Runs on the schedule this often (the first one soon after start).
pub const SCHEDULE_INTERVAL_NS: i64 = DAY_NS;

/// The shipped catalog, validated once. The tests validate it, so a failure here is a
/// build defect; it still answers an error rather than stopping the server.
pub(crate) fn shipped_catalog() -> Result<Arc<Catalog>, AppError> {
    static CATALOG: std::sync::OnceLock<Result<Arc<Catalog>, String>> = std::sync::OnceLock::new();
    CATALOG
        .get_or_init(|| {
            Catalog::shipped()
                .map(Arc::new)
                .map_err(|error| error.to_string())
        })
        .clone()
        .map_err(|error| AppError::Internal(format!("the shipped catalog is invalid: {error}")))
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunSummary {
    pub run: ComplianceRun,
    /// Counts per status of the platform's rows.
    pub platform: BTreeMap<String, i64>,
    /// Counts per status of all rows.
    pub all: BTreeMap<String, i64>,
}

/// An evaluation with what it ran with and how long loading and evaluating took.
pub struct EvaluatedRun {
    pub evaluation: Evaluation,
    pub parameters: ParameterValues,
    pub load_ms: f64,
    pub evaluate_ms: f64,
}

/// Evidence to attach.
#[derive(Clone, Debug)]
pub struct EvidenceInput {
    pub clause_id: String,
    pub scope: Scope,
    pub file_name: String,
    pub media_type: String,
    pub content: Vec<u8>,
    /// When the evidence was observed (YYYY-MM-DD).
    pub observed_on: String,
    pub note: String,
    pub valid_until_ns: i64,
}

#[derive(Clone, Debug)]
pub struct WaiverInput {
    pub clause_id: String,
    pub scope: Scope,
    pub justification: String,
    pub expires_at_ns: i64,
}

#[derive(Clone, Debug)]
pub struct OverrideInput {
    pub tenant_id: i64,
    pub provider_id: Option<i64>,
    pub component: String,
    pub parties: PartySet,
    pub contract_ref: String,
    pub reason: String,
}

/// (scope kind, scope id, clause)
type ResultKey = (String, i64, String);

/// A row that changed between two runs.
#[derive(Clone, Debug)]
pub struct ResultChange {
    pub scope_kind: String,
    pub scope_id: i64,
    pub clause_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Whose results a principal reads.
pub(crate) fn result_scope(context: &Context) -> ResultScope {
    let principal = &context.principal;
    match principal.role {
        Role::TenantAdmin => ResultScope::Tenant(principal.tenant.map_or(-1, |tenant| tenant.0)),
        Role::ProviderOperator => {
            ResultScope::Provider(principal.provider.map_or(-1, |provider| provider.0))
        }
        _ => ResultScope::All,
    }
}

fn read_relation(context: &Context) -> Relation {
    match result_scope(context) {
        ResultScope::All => Relation::Any,
        ResultScope::Tenant(_) => Relation::OwnTenant,
        ResultScope::Provider(_) => Relation::OwnProvider,
    }
}

/// An instant as Beijing wall-clock time, `YYYY-MM-DD HH:MM:SS`.
pub fn beijing_time(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns + BEIJING_OFFSET_NS)
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The Beijing-time date of an instant.
pub fn beijing_date(now_ns: i64) -> chrono::NaiveDate {
    let days = (now_ns + BEIJING_OFFSET_NS).div_euclid(DAY_NS);
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(days.max(0) as u64)))
        .unwrap_or_default()
}

fn status_counts(rows: impl Iterator<Item = Status>) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for status in rows {
        *counts.entry(status.as_str().to_owned()).or_insert(0) += 1;
    }
    counts
}

fn basis_json(basis: &Basis) -> Json {
    match basis {
        Basis::Controls => json!({"kind": "controls"}),
        Basis::Attestation { id, expires_at_ns } => json!({
            "kind": "attestation", "evidence_id": id,
            "expires_at": yunjian_core::audit::format_time(*expires_at_ns),
        }),
        Basis::Inherited { providers } => json!({"kind": "inherited", "providers": providers}),
        Basis::AwaitingEvidence => json!({"kind": "awaiting_evidence"}),
        Basis::NotApplicable {
            reason_zh,
            reason_en,
        } => json!({"kind": "not_applicable", "reason_zh": reason_zh, "reason_en": reason_en}),
        Basis::RollUp { counts } => json!({
            "kind": "roll_up",
            "counts": counts.iter().map(|(status, count)| (status.as_str().to_owned(), json!(count))).collect::<serde_json::Map<_, _>>(),
        }),
    }
}

fn result_row(result: &ClauseResult) -> ComplianceResultRow {
    let detail = json!({
        "basis": basis_json(&result.basis),
        "outcomes": result.outcomes.iter().map(|outcome| outcome.to_json()).collect::<Vec<_>>(),
        "waiver": result.waived.map(|(id, before)| json!({"id": id, "status_before": before.as_str()})),
        "expired": result.expired_note,
        "override_id": result.override_id,
    });
    ComplianceResultRow {
        run_id: 0,
        scope_kind: result.scope.kind().to_owned(),
        scope_id: result.scope.id(),
        clause_id: result.clause.clone(),
        tenant_id: result.tenant_id,
        provider_id: result.provider_id,
        status: result.status.as_str().to_owned(),
        responsible: result.responsible.to_text(),
        must_act: result.must_act.to_text(),
        message_zh: result.message_zh.clone(),
        message_en: result.message_en.clone(),
        detail: detail.to_string(),
    }
}

/// Parses `platform`, `provider:3`, `tenant:5`, `system:12`.
pub fn parse_scope(text: &str) -> Option<Scope> {
    let text = text.trim();
    if text == "platform" {
        return Some(Scope::Platform);
    }
    let (kind, id) = text.split_once(':')?;
    Scope::parse(kind, id.trim().parse().ok()?)
}

impl App {
    pub fn catalog(&self) -> Result<Arc<Catalog>, AppError> {
        shipped_catalog()
    }

    /// The catalog, for anyone signed in (shared reference data).
    pub async fn compliance_catalog(&self, context: &Context) -> Result<Arc<Catalog>, AppError> {
        let question = self.question(
            context,
            Action::ComplianceRead,
            Target::family("compliance"),
            Relation::Directory,
        );
        let refusal = self.record(context, "compliance.read", AuditOutcome::Denied);
        self.authorize(context, question, refusal).await?;
        self.catalog()
    }

    /// The whole inventory from the store, unscoped (the engine scopes its results).
    pub async fn load_inventory(&self) -> Result<Inventory, AppError> {
        let mut inventory = Inventory::default();
        for kind in Inventory::KINDS {
            for object in self.store.scan_all(kind).await? {
                inventory.push(kind, object.id, &object.values);
            }
        }
        Ok(inventory)
    }

    /// Everything but the world that the controls read.
    pub async fn compliance_facts(&self) -> Result<Facts, AppError> {
        let now = self.now_ns();
        let identity = &self.identity;
        let accounts = self
            .store
            .accounts()
            .await?
            .into_iter()
            .map(|account| AccountFact {
                id: account.id.0,
                username: account.username,
                role: account.role,
                tenant_id: account.tenant.map(|tenant| tenant.0),
                provider_id: account.provider.map(|provider| provider.0),
                person_id: account.person_id,
                second_factor: account.totp_sealed.is_some(),
                active: !account.disabled,
            })
            .collect::<Vec<_>>();
        let owner: HashMap<i64, (Option<i64>, Option<i64>, String)> = accounts
            .iter()
            .map(|account| {
                (
                    account.id,
                    (
                        account.provider_id,
                        account.tenant_id,
                        account.username.clone(),
                    ),
                )
            })
            .collect();
        let privileges = self
            .store
            .temporary_privileges(None, 100_000)
            .await?
            .into_iter()
            .map(|privilege| {
                let (provider_id, tenant_id, holder) = owner
                    .get(&privilege.account.0)
                    .cloned()
                    .unwrap_or((None, None, format!("account:{}", privilege.account.0)));
                PrivilegeFact {
                    id: privilege.id,
                    account_id: privilege.account.0,
                    holder,
                    privilege: privilege.privilege.clone(),
                    decided_at_ns: privilege.decided_at_ns,
                    provider_id,
                    tenant_id,
                    state: match privilege.state.as_str() {
                        "requested" => "pending".to_owned(),
                        other => other.to_owned(),
                    },
                    starts_at_ns: privilege.starts_at_ns,
                    ends_at_ns: privilege.expires_at_ns,
                }
            })
            .collect();
        let refused = self
            .store
            .audit_records(&AuditFilter {
                outcome: Some(AuditOutcome::Denied),
                from_ns: Some(now - REFUSAL_WINDOW_DAYS * DAY_NS),
                limit: 10_000,
                ..AuditFilter::default()
            })
            .await?;
        let refusals = refused
            .into_iter()
            .filter(|record| {
                record.record.actor_role.as_deref() == Some("provider_operator")
                    && record.record.detail.as_ref().is_some_and(|detail| {
                        detail["policies"].as_array().is_some_and(|policies| {
                            policies.iter().any(|policy| {
                                policy == "forbid.provider-without-tenant-authorization"
                            })
                        })
                    })
            })
            .filter_map(|record| {
                Some(RefusalFact {
                    sequence: record.seq as i64,
                    at_ns: record.record.at_ns,
                    provider_id: record.record.actor_provider_id?,
                    tenant_id: record.record.tenant_id,
                    actor: record.record.actor_username.clone().unwrap_or_default(),
                    target: format!(
                        "{} {}/{}",
                        record.record.action,
                        record.record.object_kind.clone().unwrap_or_default(),
                        record.record.object_id.unwrap_or(0)
                    ),
                })
            })
            .collect();
        Ok(Facts {
            today: beijing_date(now),
            now_ns: now,
            settings: Settings {
                log_retention_months: f64::from(self.ledger.retention_months),
                password_min_length: identity.password.min_length as f64,
                password_max_age_days: f64::from(identity.password.max_age_days),
                lockout_max_failures: f64::from(identity.lockout.max_failures),
                lockout_minutes: identity.lockout.lock_ns as f64 / 60e9,
            },
            accounts,
            privileges,
            refusals,
            refusal_window_days: REFUSAL_WINDOW_DAYS,
            approved_images: self.approved_images().await?,
            container_owners: self
                .store
                .scan_all(Kind::ContainerWorkload)
                .await?
                .iter()
                .filter_map(|pod| {
                    Some((pod.column_int("tenant_id")?, pod.column_int("provider_id")?))
                })
                .collect(),
            network: match self.network_violations().await {
                Ok(violations) => Some(violations),
                Err(error) => {
                    // The control stays MANUAL (no verdict without a verification).
                    tracing::warn!(%error, "network verification unavailable for compliance");
                    None
                }
            },
        })
    }

    /// The deployment's parameter values (floors where none is set).
    /// The image registry's active entries as the engine reads them.
    async fn approved_images(
        &self,
    ) -> Result<BTreeMap<Option<i64>, std::collections::BTreeSet<String>>, AppError> {
        let mut approved: BTreeMap<Option<i64>, std::collections::BTreeSet<String>> =
            BTreeMap::new();
        for entry in self.store.image_registry().await? {
            if entry.revoked_at_ns.is_some() {
                continue;
            }
            let digests = approved.entry(entry.provider_id).or_default();
            digests.extend(entry.sm3_digest);
            digests.extend(entry.provider_digest);
        }
        Ok(approved)
    }

    pub async fn parameter_values(&self) -> Result<ParameterValues, AppError> {
        let catalog = self.catalog()?;
        let configured: BTreeMap<String, f64> = self
            .store
            .compliance_parameters()
            .await?
            .into_iter()
            .map(|row| (row.parameter, row.value))
            .collect();
        Ok(ParameterValues::new(&catalog, &configured))
    }

    /// Loads everything and evaluates, without storing: the benchmark's and the run's core.
    pub async fn evaluate_compliance(&self) -> Result<EvaluatedRun, AppError> {
        let catalog = self.catalog()?;
        let started = Instant::now();
        let inventory = self.load_inventory().await?;
        let facts = self.compliance_facts().await?;
        let parameters = self.parameter_values().await?;
        let attestations: Vec<Attestation> = self
            .store
            .compliance_approved_evidence()
            .await?
            .into_iter()
            .filter_map(|evidence| {
                Some(Attestation {
                    id: evidence.id,
                    scope: Scope::parse(&evidence.scope_kind, evidence.scope_id)?,
                    clause: evidence.clause_id,
                    expires_at_ns: evidence.valid_until_ns,
                    file_name: evidence.file_name,
                    sm3: evidence.sm3,
                })
            })
            .collect();
        let waivers: Vec<Waiver> = self
            .store
            .compliance_waivers(ResultScope::All, 100_000)
            .await?
            .into_iter()
            .filter(|waiver| waiver.state == "approved")
            .filter_map(|waiver| {
                Some(Waiver {
                    id: waiver.id,
                    scope: Scope::parse(&waiver.scope_kind, waiver.scope_id)?,
                    clause: waiver.clause_id,
                    expires_at_ns: waiver.expires_at_ns,
                    justification: waiver.justification,
                })
            })
            .collect();
        let overrides: Vec<Override> = self
            .store
            .responsibility_overrides(None)
            .await?
            .into_iter()
            .filter(|row| row.revoked_at_ns.is_none())
            .filter_map(|row| {
                Some(Override {
                    id: row.id,
                    tenant_id: row.tenant_id,
                    provider_id: row.provider_id,
                    component: row.component,
                    parties: PartySet::parse_text(&row.parties)?,
                    contract_ref: row.contract_ref,
                })
            })
            .collect();
        let custom_controls = self.active_custom_controls().await?;
        let load_ms = started.elapsed().as_secs_f64() * 1000.0;
        let evaluation = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let custom: Vec<CustomRun> = custom_controls
                .into_iter()
                .map(|control| match control {
                    Ok(control) => yunjian_compliance::custom::run(&control, &inventory),
                    Err(failed) => failed,
                })
                .collect();
            let evaluation = yunjian_compliance::evaluate(Inputs {
                catalog: &catalog,
                inventory: &inventory,
                facts: &facts,
                parameters: &parameters,
                attestations: &attestations,
                waivers: &waivers,
                overrides: &overrides,
                custom,
            });
            let evaluate_ms = started.elapsed().as_secs_f64() * 1000.0;
            (evaluation, parameters, evaluate_ms)
        })
        .await
        .map_err(|error| AppError::Internal(format!("the evaluation stopped: {error}")))?;
        let (evaluation, parameters, evaluate_ms) = evaluation;
        Ok(EvaluatedRun {
            evaluation,
            parameters,
            load_ms,
            evaluate_ms,
        })
    }

    /// The newest unretired version of each custom control. A stored control that no
    /// longer validates (the catalog changed under it) runs as an ERROR, never skipped.
    pub async fn active_custom_controls(
        &self,
    ) -> Result<Vec<Result<CustomControl, CustomRun>>, AppError> {
        let catalog = self.catalog()?;
        let mut seen = std::collections::HashSet::new();
        let mut controls = Vec::new();
        for row in self.store.custom_controls().await? {
            if !seen.insert(row.control_id.clone()) || row.retired_at_ns.is_some() {
                continue;
            }
            let clauses: Vec<String> = serde_json::from_str(&row.clauses).unwrap_or_default();
            let kinds: Vec<String> = serde_json::from_str(&row.kinds).unwrap_or_default();
            let control = match yunjian_compliance::custom::validate(
                &catalog,
                &row.control_id,
                &row.title_zh,
                &row.title_en,
                &clauses,
                &kinds,
                &row.source,
            ) {
                Ok(mut control) => {
                    control.version = row.version;
                    Ok(control)
                }
                // Runs as an error naming why it no longer validates.
                Err(error) => Err(CustomRun {
                    info: yunjian_compliance::ControlInfo {
                        id: row.control_id.clone(),
                        title_zh: row.title_zh.clone(),
                        title_en: row.title_en.clone(),
                        clauses: clauses
                            .into_iter()
                            .filter(|clause| catalog.clause(clause).is_some())
                            .collect(),
                        parameters: Vec::new(),
                        origin: format!("custom:{}", row.version),
                    },
                    outcomes: Err(format!("the stored control no longer validates: {error}")),
                }),
            };
            controls.push(control);
        }
        Ok(controls)
    }

    /// Every version of every custom control (for the console and the API).
    pub async fn custom_controls(
        &self,
        context: &Context,
    ) -> Result<Vec<yunjian_store::CustomControlRecord>, AppError> {
        self.authorize_read(context).await?;
        Ok(self.store.custom_controls().await?)
    }

    /// Uploads a custom control (its next version): validated whole, then stored with its
    /// SM3 and recorded (`compliance.configure`, after a step-up).
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_custom_control(
        &self,
        context: &Context,
        id: &str,
        title_zh: &str,
        title_en: &str,
        clauses: &[String],
        kinds: &[String],
        source: &str,
    ) -> Result<yunjian_store::CustomControlRecord, AppError> {
        let question = self.question(
            context,
            Action::ComplianceConfigure,
            Target {
                family: "compliance",
                kind: "controls",
                group: "",
            },
            Relation::Any,
        );
        let mut refusal = self.record(context, "compliance.control.upload", AuditOutcome::Denied);
        refusal.object_kind = Some("compliance_control".into());
        refusal.detail = Some(json!({"control": id}));
        let decision = self.authorize(context, question, refusal).await?;
        let catalog = self.catalog()?;
        let control = yunjian_compliance::custom::validate(
            &catalog, id, title_zh, title_en, clauses, kinds, source,
        )
        .map_err(|error| {
            AppError::invalid(
                &error.field,
                "invalid_control",
                if error.line > 0 {
                    format!("line {}: {}", error.line, error.reason)
                } else {
                    error.reason
                },
            )
        })?;
        let kinds: Vec<&str> = control.kinds.iter().map(|kind| kind.spec().table).collect();
        let sm3 = yunjian_gm::Sm3Digest::of(source.as_bytes()).to_hex();
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let version = tx
            .insert_custom_control(
                &control.id,
                &control.title_zh,
                &control.title_en,
                &json!(control.clauses).to_string(),
                &json!(kinds).to_string(),
                source,
                &sm3,
                context.principal.account_id,
                now,
            )
            .await?;
        let mut record = self.record(
            context,
            "compliance.control.upload",
            AuditOutcome::Succeeded,
        );
        record.object_kind = Some("compliance_control".into());
        record.after_digest = Some(format!("sm3:{sm3}"));
        record.detail = Some(json!({
            "control": control.id, "version": version, "clauses": control.clauses, "kinds": kinds,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .custom_controls()
            .await?
            .into_iter()
            .find(|row| row.control_id == control.id && row.version == version)
            .ok_or(AppError::NotFound)
    }

    /// Retires every version of a custom control (it no longer runs; nothing is deleted).
    pub async fn retire_custom_control(
        &self,
        context: &Context,
        id: &str,
    ) -> Result<u64, AppError> {
        let question = self.question(
            context,
            Action::ComplianceConfigure,
            Target {
                family: "compliance",
                kind: "controls",
                group: "",
            },
            Relation::Any,
        );
        let mut refusal = self.record(context, "compliance.control.retire", AuditOutcome::Denied);
        refusal.object_kind = Some("compliance_control".into());
        let decision = self.authorize(context, question, refusal).await?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let retired = tx
            .retire_custom_control(id, context.principal.account_id, now)
            .await?;
        if retired == 0 {
            return Err(AppError::NotFound);
        }
        let mut record = self.record(
            context,
            "compliance.control.retire",
            AuditOutcome::Succeeded,
        );
        record.object_kind = Some("compliance_control".into());
        record.detail = Some(json!({"control": id, "versions": retired}));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(retired)
    }

    /// Runs every control now and stores the run (`compliance.run`).
    pub async fn run_compliance(&self, context: &Context) -> Result<RunSummary, AppError> {
        let question = self.question(
            context,
            Action::ComplianceRun,
            Target::family("compliance"),
            Relation::Any,
        );
        let refusal = self.record(context, "compliance.run", AuditOutcome::Denied);
        let decision = self.authorize(context, question, refusal).await?;
        let mut record = self.record(context, "compliance.run", AuditOutcome::Succeeded);
        let summary = self
            .store_run("manual", Some(context.principal.account_id), &mut record)
            .await?;
        let _ = decision;
        Ok(summary)
    }

    /// A run started from the command line on the operator's machine.
    pub async fn run_compliance_local(&self) -> Result<RunSummary, AppError> {
        let mut record = crate::ledger::local_record(self.now_ns(), "compliance.run");
        self.store_run("manual", None, &mut record).await
    }

    /// The scheduled run: when the newest run is older than the interval.
    pub async fn scheduled_compliance_run(&self) -> Result<Option<RunSummary>, AppError> {
        let now = self.now_ns();
        if let Some(last) = self.store.compliance_runs(1).await?.into_iter().next() {
            if now - last.started_at_ns < SCHEDULE_INTERVAL_NS {
                return Ok(None);
            }
        }
        let mut record = crate::ledger::local_record(now, "compliance.run");
        record.actor_username = Some("yunjian-serve".into());
        self.store_run("schedule", None, &mut record)
            .await
            .map(Some)
    }

    async fn store_run(
        &self,
        trigger: &str,
        requested_by: Option<AccountId>,
        record: &mut yunjian_store::NewAuditRecord,
    ) -> Result<RunSummary, AppError> {
        let catalog = self.catalog()?;
        let started_at_ns = self.now_ns();
        let EvaluatedRun {
            evaluation,
            parameters,
            load_ms,
            evaluate_ms,
        } = self.evaluate_compliance().await?;
        let rows: Vec<ComplianceResultRow> = evaluation.results.iter().map(result_row).collect();
        let platform = status_counts(
            evaluation
                .results
                .iter()
                .filter(|row| row.scope == Scope::Platform)
                .map(|row| row.status),
        );
        let all = status_counts(evaluation.results.iter().map(|row| row.status));
        let run = ComplianceRun {
            id: 0,
            started_at_ns,
            finished_at_ns: self.now_ns(),
            trigger: trigger.to_owned(),
            requested_by,
            catalog_version: catalog.version.clone(),
            parameters: json!(parameters
                .iter()
                .map(|(key, value)| (key.to_owned(), json!(value)))
                .collect::<serde_json::Map<_, _>>())
            .to_string(),
            resources: evaluation.resources as i64,
            controls: evaluation.controls.len() as i64,
            control_errors: json!(evaluation.control_errors).to_string(),
            load_ms,
            evaluate_ms,
            summary: json!({"platform": platform, "all": all}).to_string(),
        };
        let mut tx = self.store.begin_write().await?;
        let id = tx.insert_compliance_run(&run, &rows).await?;
        record.object_kind = Some("compliance_run".into());
        record.object_id = Some(id);
        let loose: Vec<_> = parameters
            .loose(&catalog)
            .into_iter()
            .map(|parameter| parameter.key)
            .collect();
        record.detail = Some(json!({
            "trigger": trigger,
            "catalog_version": catalog.version,
            "resources": evaluation.resources,
            "controls": evaluation.controls.len(),
            "results": rows.len(),
            "platform": platform,
            "control_errors": evaluation.control_errors,
            "loose_parameters": loose,
        }));
        tx.append_audit(record).await?;
        tx.commit().await?;
        let run = self
            .store
            .compliance_run(id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(RunSummary { run, platform, all })
    }

    async fn authorize_read(&self, context: &Context) -> Result<ResultScope, AppError> {
        let question = self.question(
            context,
            Action::ComplianceRead,
            Target::family("compliance"),
            read_relation(context),
        );
        let refusal = self.record(context, "compliance.read", AuditOutcome::Denied);
        self.authorize(context, question, refusal).await?;
        Ok(result_scope(context))
    }

    pub async fn compliance_runs(
        &self,
        context: &Context,
        limit: i64,
    ) -> Result<Vec<ComplianceRun>, AppError> {
        self.authorize_read(context).await?;
        Ok(self.store.compliance_runs(limit.clamp(1, 1000)).await?)
    }

    /// A run (the newest when `run_id` is `None`).
    pub async fn compliance_run(
        &self,
        context: &Context,
        run_id: Option<i64>,
    ) -> Result<ComplianceRun, AppError> {
        self.authorize_read(context).await?;
        match run_id {
            Some(id) => self.store.compliance_run(id).await?,
            None => self.store.compliance_runs(1).await?.into_iter().next(),
        }
        .ok_or(AppError::NotFound)
    }

    /// A run's results in the reader's scope.
    pub async fn compliance_results(
        &self,
        context: &Context,
        run_id: i64,
        filter: &ResultFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ComplianceResultRow>, AppError> {
        let scope = self.authorize_read(context).await?;
        Ok(self
            .store
            .compliance_results(
                run_id,
                scope,
                filter,
                limit.clamp(1, 100_000),
                offset.max(0),
            )
            .await?)
    }

    /// How one scope's statuses moved across the newest runs: (run, started, status, count).
    pub async fn compliance_trend(
        &self,
        context: &Context,
        scope: Scope,
        runs: i64,
    ) -> Result<Vec<(i64, i64, String, i64)>, AppError> {
        let reader = self.authorize_read(context).await?;
        self.check_scope_visible(reader, scope).await?;
        Ok(self
            .store
            .compliance_trend(scope.kind(), scope.id(), runs.clamp(1, 100))
            .await?)
    }

    /// Rows whose status differs between two runs, in the reader's scope.
    pub async fn compliance_diff(
        &self,
        context: &Context,
        from: i64,
        to: i64,
    ) -> Result<Vec<ResultChange>, AppError> {
        let scope = self.authorize_read(context).await?;
        let filter = ResultFilter::default();
        let before = self
            .store
            .compliance_results(from, scope, &filter, 1_000_000, 0)
            .await?;
        let after = self
            .store
            .compliance_results(to, scope, &filter, 1_000_000, 0)
            .await?;
        let key = |row: &ComplianceResultRow| {
            (row.scope_kind.clone(), row.scope_id, row.clause_id.clone())
        };
        let mut map: BTreeMap<ResultKey, (Option<String>, Option<String>)> = BTreeMap::new();
        for row in before {
            let at = key(&row);
            map.entry(at).or_default().0 = Some(row.status);
        }
        for row in after {
            let at = key(&row);
            map.entry(at).or_default().1 = Some(row.status);
        }
        Ok(map
            .into_iter()
            .filter(|(_, (before, after))| before != after)
            .map(
                |((scope_kind, scope_id, clause_id), (before, after))| ResultChange {
                    scope_kind,
                    scope_id,
                    clause_id,
                    before,
                    after,
                },
            )
            .collect())
    }

    /// A scope the reader's unit may see, or not found.
    async fn check_scope_visible(&self, reader: ResultScope, scope: Scope) -> Result<(), AppError> {
        let (tenant, provider) = self.scope_owners(scope).await?;
        let visible = match reader {
            ResultScope::All => true,
            ResultScope::Tenant(own) => tenant == Some(own),
            ResultScope::Provider(own) => provider == Some(own) && tenant.is_none(),
        };
        if visible {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The tenant and provider a scope belongs to, checking it exists.
    pub(crate) async fn scope_owners(
        &self,
        scope: Scope,
    ) -> Result<(Option<i64>, Option<i64>), AppError> {
        let exists = |found: bool| {
            if found {
                Ok(())
            } else {
                Err(AppError::NotFound)
            }
        };
        match scope {
            Scope::Platform => Ok((None, None)),
            Scope::Provider(id) => {
                exists(
                    self.store
                        .get(Kind::Provider, id, ReadScope::All)
                        .await?
                        .is_some(),
                )?;
                Ok((None, Some(id)))
            }
            Scope::Tenant(id) => {
                exists(
                    self.store
                        .get(Kind::Tenant, id, ReadScope::All)
                        .await?
                        .is_some(),
                )?;
                Ok((Some(id), None))
            }
            Scope::System(id) => {
                let system = self
                    .store
                    .get(Kind::InformationSystem, id, ReadScope::All)
                    .await?
                    .ok_or(AppError::NotFound)?;
                Ok((system.column_int("tenant_id"), None))
            }
        }
    }

    /// The relation of the principal's unit to a scope, for the PDP.
    async fn scope_relation(
        &self,
        context: &Context,
        scope: Scope,
    ) -> Result<(Relation, Option<i64>, Option<i64>), AppError> {
        let (tenant, provider) = self.scope_owners(scope).await?;
        let principal = &context.principal;
        let relation = match principal.role {
            Role::TenantAdmin => {
                if tenant.is_some() && tenant == principal.tenant.map(|t| t.0) {
                    Relation::OwnTenant
                } else {
                    Relation::Hidden
                }
            }
            Role::ProviderOperator => {
                if tenant.is_none()
                    && provider.is_some()
                    && provider == principal.provider.map(|p| p.0)
                {
                    Relation::OwnProvider
                } else {
                    Relation::Hidden
                }
            }
            _ => Relation::Any,
        };
        Ok((relation, tenant, provider))
    }

    /// Asks the PDP about an action on one clause of one scope (refusals recorded with
    /// the scope and clause), then checks the clause: the decision and the scope's
    /// tenant and provider. A scope outside the principal's unit is refused, and a scope
    /// that does not exist is "not found" for oversight.
    async fn authorize_on_scope(
        &self,
        context: &Context,
        action: Action,
        (record_action, object_kind): (&str, &str),
        scope: Scope,
        clause_id: &str,
    ) -> Result<(yunjian_policy::Decision, Option<i64>, Option<i64>), AppError> {
        let (relation, tenant, provider) = match self.scope_relation(context, scope).await {
            Ok(found) => found,
            Err(AppError::NotFound) => (Relation::Hidden, None, None),
            Err(other) => return Err(other),
        };
        let question = self.question(context, action, Target::family("compliance"), relation);
        let mut refusal = self.record(context, record_action, AuditOutcome::Denied);
        refusal.object_kind = Some(object_kind.into());
        refusal.tenant_id = tenant;
        refusal.detail = Some(json!({"scope": scope.to_string(), "clause": clause_id}));
        let decision = self.authorize(context, question, refusal).await?;
        if relation == Relation::Hidden {
            return Err(AppError::NotFound);
        }
        self.check_clause(clause_id)?;
        Ok((decision, tenant, provider))
    }

    /// Asks the PDP whether the principal may decide someone's evidence or waiver (never
    /// its own: `self_target`), recording a refusal; checks the note.
    async fn authorize_decision<'a>(
        &self,
        context: &Context,
        action: Action,
        (record_action, object_kind): (&str, &str),
        (id, tenant): (i64, Option<i64>),
        requested_by: AccountId,
        note: &'a str,
    ) -> Result<(yunjian_policy::Decision, &'a str), AppError> {
        let mut question =
            self.question(context, action, Target::family("compliance"), Relation::Any);
        question.self_target = requested_by == context.principal.account_id;
        let mut refusal = self.record(context, record_action, AuditOutcome::Denied);
        refusal.object_kind = Some(object_kind.into());
        refusal.object_id = Some(id);
        refusal.tenant_id = tenant;
        let decision = self.authorize(context, question, refusal).await?;
        let note = note.trim();
        if note.chars().count() > 1000 {
            return Err(AppError::invalid(
                "note",
                "too_long",
                "at most 1,000 characters",
            ));
        }
        Ok((decision, note))
    }

    fn check_clause(&self, clause_id: &str) -> Result<(), AppError> {
        let catalog = self.catalog()?;
        match catalog.clause(clause_id) {
            Some(clause) if clause.assessment != yunjian_compliance::Assessment::Definition => {
                Ok(())
            }
            Some(_) => Err(AppError::invalid(
                "clause_id",
                "not_assessed",
                format!("{clause_id} is a definition, not a requirement"),
            )),
            None => Err(AppError::invalid(
                "clause_id",
                "unknown_clause",
                format!("no clause {clause_id} in the catalog"),
            )),
        }
    }

    /// Attaches evidence for a clause and scope; it attests the clause once a second
    /// person approves it.
    pub async fn submit_evidence(
        &self,
        context: &Context,
        input: EvidenceInput,
    ) -> Result<EvidenceRecord, AppError> {
        let scope_text = input.scope.to_string();
        let (decision, tenant, provider) = self
            .authorize_on_scope(
                context,
                Action::ComplianceEvidenceSubmit,
                ("compliance.evidence.submit", "compliance_evidence"),
                input.scope,
                &input.clause_id,
            )
            .await?;
        let file_name = input.file_name.trim();
        if file_name.is_empty()
            || file_name.chars().count() > 200
            || file_name.contains(['/', '\\', '\0'])
            || file_name.starts_with('.')
        {
            return Err(AppError::invalid(
                "file_name",
                "invalid",
                "a file name of 1 to 200 characters without path separators",
            ));
        }
        if input.content.is_empty() || input.content.len() > MAX_EVIDENCE_BYTES {
            return Err(AppError::invalid(
                "file",
                "size",
                format!(
                    "the file must hold 1 byte to {} MiB",
                    MAX_EVIDENCE_BYTES / 1024 / 1024
                ),
            ));
        }
        let observed = chrono::NaiveDate::parse_from_str(input.observed_on.trim(), "%Y-%m-%d")
            .map_err(|_| {
                AppError::invalid(
                    "observed_on",
                    "invalid_date",
                    "'observed_on' is a date YYYY-MM-DD",
                )
            })?;
        let now = self.now_ns();
        if observed > beijing_date(now) {
            return Err(AppError::invalid(
                "observed_on",
                "in_the_future",
                "evidence cannot be observed in the future",
            ));
        }
        if input.valid_until_ns <= now || input.valid_until_ns - now > MAX_ATTESTATION_DAYS * DAY_NS
        {
            return Err(AppError::invalid(
                "valid_until",
                "out_of_range",
                format!(
                    "'valid_until' is in the future and at most {MAX_ATTESTATION_DAYS} days away"
                ),
            ));
        }
        let note = input.note.trim();
        if note.chars().count() > 2000 {
            return Err(AppError::invalid(
                "note",
                "too_long",
                "at most 2,000 characters",
            ));
        }
        let media_type = if input.media_type.trim().is_empty() {
            "application/octet-stream"
        } else {
            input.media_type.trim()
        };
        let sm3 = yunjian_gm::Sm3Digest::of(&input.content).to_hex();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&input.content);
        let mut tx = self.store.begin_write().await?;
        let id = tx
            .insert_compliance_evidence(
                &NewEvidence {
                    clause_id: &input.clause_id,
                    scope_kind: input.scope.kind(),
                    scope_id: input.scope.id(),
                    tenant_id: tenant,
                    provider_id: provider,
                    file_name,
                    media_type,
                    content: &input.content,
                    sm3: &sm3,
                    observed_on: &observed.to_string(),
                    note,
                    valid_until_ns: input.valid_until_ns,
                    submitted_by: context.principal.account_id,
                },
                &encoded,
                now,
            )
            .await?;
        let mut record = self.record(
            context,
            "compliance.evidence.submit",
            AuditOutcome::Succeeded,
        );
        record.object_kind = Some("compliance_evidence".into());
        record.object_id = Some(id);
        record.tenant_id = tenant;
        record.after_digest = Some(format!("sm3:{sm3}"));
        record.detail = Some(json!({
            "clause": input.clause_id, "scope": scope_text, "file_name": file_name,
            "size_bytes": input.content.len(), "observed_on": observed.to_string(),
            "valid_until": yunjian_core::audit::format_time(input.valid_until_ns),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .compliance_evidence(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Evidence visible to the reader.
    pub async fn evidence_list(
        &self,
        context: &Context,
        clause_id: Option<&str>,
    ) -> Result<Vec<EvidenceRecord>, AppError> {
        let scope = self.authorize_read(context).await?;
        Ok(self
            .store
            .compliance_evidence_list(scope, clause_id, 1000)
            .await?)
    }

    async fn visible_evidence(
        &self,
        context: &Context,
        id: i64,
    ) -> Result<EvidenceRecord, AppError> {
        let scope = self.authorize_read(context).await?;
        let evidence = self
            .store
            .compliance_evidence(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let visible = match scope {
            ResultScope::All => true,
            ResultScope::Tenant(own) => evidence.tenant_id == Some(own),
            ResultScope::Provider(own) => evidence.provider_id == Some(own),
        };
        if visible {
            Ok(evidence)
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The evidence record and its file.
    pub async fn evidence_file(
        &self,
        context: &Context,
        id: i64,
    ) -> Result<(EvidenceRecord, Vec<u8>), AppError> {
        let evidence = self.visible_evidence(context, id).await?;
        let encoded = self
            .store
            .compliance_evidence_content(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let content = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|_| {
                AppError::Internal(format!("evidence {id}: stored content is not base64"))
            })?;
        if yunjian_gm::Sm3Digest::of(&content).to_hex() != evidence.sm3 {
            return Err(AppError::Internal(format!(
                "evidence {id}: the stored file does not match its SM3 digest"
            )));
        }
        Ok((evidence, content))
    }

    /// A second person approves or rejects submitted evidence (after a step-up).
    pub async fn decide_evidence(
        &self,
        context: &Context,
        id: i64,
        approve: bool,
        note: &str,
    ) -> Result<EvidenceRecord, AppError> {
        let evidence = self.visible_evidence(context, id).await?;
        let (decision, note) = self
            .authorize_decision(
                context,
                Action::ComplianceEvidenceDecide,
                ("compliance.evidence.decide", "compliance_evidence"),
                (id, evidence.tenant_id),
                evidence.submitted_by,
                note,
            )
            .await?;
        let now = self.now_ns();
        let to = if approve { "approved" } else { "rejected" };
        let mut tx = self.store.begin_write().await?;
        if !tx
            .decide_compliance_evidence(id, to, context.principal.account_id, note, now)
            .await?
        {
            return Err(AppError::Conflict {
                field: None,
                message: format!("evidence {id} was already decided ({})", evidence.state),
            });
        }
        let mut record = self.record(
            context,
            "compliance.evidence.decide",
            AuditOutcome::Succeeded,
        );
        record.object_kind = Some("compliance_evidence".into());
        record.object_id = Some(id);
        record.tenant_id = evidence.tenant_id;
        record.detail = Some(json!({
            "decision": to, "note": note, "clause": evidence.clause_id,
            "scope": format!("{}:{}", evidence.scope_kind, evidence.scope_id), "sm3": evidence.sm3,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .compliance_evidence(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Asks the management unit to accept an open result until a date.
    pub async fn request_waiver(
        &self,
        context: &Context,
        input: WaiverInput,
    ) -> Result<WaiverRecord, AppError> {
        let scope_text = input.scope.to_string();
        let (decision, tenant, provider) = self
            .authorize_on_scope(
                context,
                Action::ComplianceWaiverRequest,
                ("compliance.waiver.request", "compliance_waiver"),
                input.scope,
                &input.clause_id,
            )
            .await?;
        let justification = input.justification.trim();
        if justification.chars().count() < 10 || justification.chars().count() > 2000 {
            return Err(AppError::invalid(
                "justification",
                "required",
                "say why the risk is acceptable and what will be done, in 10 to 2,000 characters",
            ));
        }
        let now = self.now_ns();
        if input.expires_at_ns <= now || input.expires_at_ns - now > MAX_WAIVER_DAYS * DAY_NS {
            return Err(AppError::invalid(
                "expires_at",
                "out_of_range",
                format!("a waiver expires in the future and at most {MAX_WAIVER_DAYS} days away"),
            ));
        }
        let mut tx = self.store.begin_write().await?;
        let id = tx
            .insert_compliance_waiver(
                &NewWaiver {
                    clause_id: &input.clause_id,
                    scope_kind: input.scope.kind(),
                    scope_id: input.scope.id(),
                    tenant_id: tenant,
                    provider_id: provider,
                    justification,
                    expires_at_ns: input.expires_at_ns,
                    requested_by: context.principal.account_id,
                },
                now,
            )
            .await?;
        let mut record = self.record(
            context,
            "compliance.waiver.request",
            AuditOutcome::Succeeded,
        );
        record.object_kind = Some("compliance_waiver".into());
        record.object_id = Some(id);
        record.tenant_id = tenant;
        record.detail = Some(json!({
            "clause": input.clause_id, "scope": scope_text, "justification": justification,
            "expires_at": yunjian_core::audit::format_time(input.expires_at_ns),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .compliance_waiver(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn waivers(&self, context: &Context) -> Result<Vec<WaiverRecord>, AppError> {
        let scope = self.authorize_read(context).await?;
        Ok(self.store.compliance_waivers(scope, 1000).await?)
    }

    /// The management unit approves, rejects or revokes a waiver (after a step-up).
    pub async fn decide_waiver(
        &self,
        context: &Context,
        id: i64,
        decision_text: &str,
        note: &str,
    ) -> Result<WaiverRecord, AppError> {
        let scope = self.authorize_read(context).await?;
        let waiver = self
            .store
            .compliance_waiver(id)
            .await?
            .filter(|waiver| match scope {
                ResultScope::All => true,
                ResultScope::Tenant(own) => waiver.tenant_id == Some(own),
                ResultScope::Provider(own) => waiver.provider_id == Some(own),
            })
            .ok_or(AppError::NotFound)?;
        let (from, to) = match decision_text {
            "approve" => ("requested", "approved"),
            "reject" => ("requested", "rejected"),
            "revoke" => ("approved", "revoked"),
            _ => {
                return Err(AppError::invalid(
                    "decision",
                    "unknown_value",
                    "'decision' is approve, reject or revoke",
                ))
            }
        };
        let (decision, note) = self
            .authorize_decision(
                context,
                Action::ComplianceWaiverDecide,
                ("compliance.waiver.decide", "compliance_waiver"),
                (id, waiver.tenant_id),
                waiver.requested_by,
                note,
            )
            .await?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        if !tx
            .decide_compliance_waiver(id, from, to, context.principal.account_id, note, now)
            .await?
        {
            return Err(AppError::Conflict {
                field: None,
                message: format!("waiver {id} is {}, not {from}", waiver.state),
            });
        }
        let mut record = self.record(context, "compliance.waiver.decide", AuditOutcome::Succeeded);
        record.object_kind = Some("compliance_waiver".into());
        record.object_id = Some(id);
        record.tenant_id = waiver.tenant_id;
        record.detail = Some(json!({
            "decision": to, "note": note, "clause": waiver.clause_id,
            "scope": format!("{}:{}", waiver.scope_kind, waiver.scope_id),
            "expires_at": yunjian_core::audit::format_time(waiver.expires_at_ns),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .compliance_waiver(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The parameters with their floors and the deployment's values.
    pub async fn compliance_parameters(
        &self,
        context: &Context,
    ) -> Result<(Arc<Catalog>, Vec<ParameterRecord>), AppError> {
        self.authorize_read(context).await?;
        Ok((self.catalog()?, self.store.compliance_parameters().await?))
    }

    /// Sets a parameter (`compliance.configure`, after a step-up). A value looser than
    /// the floor is kept, so the record shows what was configured, and every run then
    /// reports FAIL for the controls that use it.
    pub async fn set_compliance_parameter(
        &self,
        context: &Context,
        key: &str,
        value: f64,
    ) -> Result<ParameterRecord, AppError> {
        let question = self.question(
            context,
            Action::ComplianceConfigure,
            Target {
                family: "compliance",
                kind: "parameters",
                group: "",
            },
            Relation::Any,
        );
        let mut refusal = self.record(context, "compliance.parameter.set", AuditOutcome::Denied);
        refusal.object_kind = Some("compliance_parameter".into());
        let decision = self.authorize(context, question, refusal).await?;
        let catalog = self.catalog()?;
        let parameter = catalog.parameter(key).ok_or_else(|| {
            AppError::invalid(
                "parameter",
                "unknown_parameter",
                format!("no parameter {key}"),
            )
        })?;
        if !value.is_finite() || !(0.0..=1_000_000.0).contains(&value) {
            return Err(AppError::invalid(
                "value",
                "out_of_range",
                "a number from 0 to 1,000,000",
            ));
        }
        let holds = parameter.bound.holds(value, parameter.floor);
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let previous = tx
            .set_compliance_parameter(key, value, context.principal.account_id, now)
            .await?;
        let mut record = self.record(context, "compliance.parameter.set", AuditOutcome::Succeeded);
        record.object_kind = Some("compliance_parameter".into());
        record.detail = Some(json!({
            "parameter": key, "value": value, "previous": previous,
            "floor": parameter.floor, "bound": parameter.bound.symbol(),
            "looser_than_floor": !holds,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(ParameterRecord {
            parameter: key.to_owned(),
            value,
            set_by: context.principal.account_id,
            set_at_ns: now,
        })
    }

    pub async fn responsibility_overrides(
        &self,
        context: &Context,
    ) -> Result<Vec<OverrideRecord>, AppError> {
        let scope = self.authorize_read(context).await?;
        let tenant = match scope {
            ResultScope::All => None,
            ResultScope::Tenant(own) => Some(own),
            // A provider sees the overrides of contracts it is party to.
            ResultScope::Provider(_) => None,
        };
        let rows = self.store.responsibility_overrides(tenant).await?;
        Ok(match scope {
            ResultScope::Provider(own) => rows
                .into_iter()
                .filter(|row| row.provider_id == Some(own))
                .collect(),
            _ => rows,
        })
    }

    /// Records a contract's different division of a component (6.2.2): the management
    /// unit only, after a step-up.
    pub async fn add_responsibility_override(
        &self,
        context: &Context,
        input: OverrideInput,
    ) -> Result<OverrideRecord, AppError> {
        let question = self.question(
            context,
            Action::ComplianceConfigure,
            Target {
                family: "compliance",
                kind: "overrides",
                group: "",
            },
            Relation::Any,
        );
        let mut refusal = self.record(context, "compliance.override.add", AuditOutcome::Denied);
        refusal.object_kind = Some("responsibility_override".into());
        refusal.tenant_id = Some(input.tenant_id);
        let decision = self.authorize(context, question, refusal).await?;
        let catalog = self.catalog()?;
        if catalog.component(&input.component).is_none() {
            return Err(AppError::invalid(
                "component",
                "unknown_component",
                format!("no annex component {}", input.component),
            ));
        }
        if input.parties.is_empty()
            || input
                .parties
                .contains(yunjian_compliance::Party::ManagementUnit)
        {
            return Err(AppError::invalid(
                "parties",
                "invalid",
                "a contract divides work between the provider and the tenant",
            ));
        }
        self.scope_owners(Scope::Tenant(input.tenant_id))
            .await
            .map_err(|_| AppError::invalid("tenant_id", "unknown_reference", "no such tenant"))?;
        if let Some(provider) = input.provider_id {
            self.scope_owners(Scope::Provider(provider))
                .await
                .map_err(|_| {
                    AppError::invalid("provider_id", "unknown_reference", "no such provider")
                })?;
        }
        let contract_ref = input.contract_ref.trim();
        let reason = input.reason.trim();
        if contract_ref.is_empty()
            || contract_ref.chars().count() > 200
            || reason.is_empty()
            || reason.chars().count() > 1000
        {
            return Err(AppError::invalid(
                "contract_ref",
                "required",
                "name the contract clause (1 to 200 characters) and the reason (1 to 1,000)",
            ));
        }
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let id = tx
            .insert_responsibility_override(
                input.tenant_id,
                input.provider_id,
                &input.component,
                &input.parties.to_text(),
                contract_ref,
                reason,
                context.principal.account_id,
                now,
            )
            .await?;
        let mut record = self.record(context, "compliance.override.add", AuditOutcome::Succeeded);
        record.object_kind = Some("responsibility_override".into());
        record.object_id = Some(id);
        record.tenant_id = Some(input.tenant_id);
        record.detail = Some(json!({
            "component": input.component, "parties": input.parties.to_text(),
            "provider_id": input.provider_id, "contract_ref": contract_ref, "reason": reason,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .responsibility_overrides(Some(input.tenant_id))
            .await?
            .into_iter()
            .find(|row| row.id == id)
            .ok_or(AppError::NotFound)
    }
}
