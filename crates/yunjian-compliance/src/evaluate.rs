//! Evaluation: every control over the inventory, then one result per scope and clause,
//! with attestations, inheritance from providers, the annex's responsibility (with
//! per-contract overrides) and waivers applied. Deterministic: same inputs, same results
//! in the same order.

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::catalog::{Assessment, Catalog, Clause};
use crate::controls::{all_builtins, Context, ControlInfo, Emitter};
use crate::inventory::{Facts, Index, Inventory};
use crate::parameters::ParameterValues;
use crate::party::{Party, PartySet, ServiceModel};
use crate::result::{Evidence, Outcome, Scope, Status, Verdict};

/// Evidence approved by a second person for one clause and scope, until it expires.
#[derive(Clone, Debug)]
pub struct Attestation {
    pub id: i64,
    pub clause: String,
    pub scope: Scope,
    pub expires_at_ns: i64,
    pub file_name: String,
    pub sm3: String,
}

/// The management unit's acceptance of an open result, until it expires.
#[derive(Clone, Debug)]
pub struct Waiver {
    pub id: i64,
    pub clause: String,
    pub scope: Scope,
    pub expires_at_ns: i64,
    pub justification: String,
}

/// A contract's different division of a component (6.2.2), for one tenant (and one of its
/// providers, or all).
#[derive(Clone, Debug)]
pub struct Override {
    pub id: i64,
    pub tenant_id: i64,
    pub provider_id: Option<i64>,
    pub component: String,
    pub parties: PartySet,
    pub contract_ref: String,
}

/// A custom control's run: its description and either its outcomes or the error.
#[derive(Clone, Debug)]
pub struct CustomRun {
    pub info: ControlInfo,
    pub outcomes: Result<Vec<Outcome>, String>,
}

pub struct Inputs<'a> {
    pub catalog: &'a Catalog,
    pub inventory: &'a Inventory,
    pub facts: &'a Facts,
    pub parameters: &'a ParameterValues,
    pub attestations: &'a [Attestation],
    pub waivers: &'a [Waiver],
    pub overrides: &'a [Override],
    pub custom: Vec<CustomRun>,
}

/// Why a result has its status.
#[derive(Clone, Debug, PartialEq)]
pub enum Basis {
    /// Controls decided it.
    Controls,
    /// An approved attestation.
    Attestation { id: i64, expires_at_ns: i64 },
    /// The provider side, from these providers' results.
    Inherited { providers: Vec<i64> },
    /// No control applies and no current attestation.
    AwaitingEvidence,
    NotApplicable {
        reason_zh: String,
        reason_en: String,
    },
    /// Rolled up from other scopes' results (the platform's view).
    RollUp { counts: BTreeMap<Status, usize> },
}

/// One clause's result for one scope.
#[derive(Clone, Debug)]
pub struct ClauseResult {
    pub clause: String,
    pub scope: Scope,
    /// Owning tenant and provider, for scoped reads: a tenant reads its own and its
    /// systems' rows, a provider its own.
    pub tenant_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub status: Status,
    /// Who the catalog makes responsible here (after the annex and overrides).
    pub responsible: PartySet,
    /// Who must act (empty when nothing is open).
    pub must_act: PartySet,
    pub basis: Basis,
    pub message_zh: String,
    pub message_en: String,
    /// The control outcomes that decided it.
    pub outcomes: Vec<Outcome>,
    /// The status before a waiver, and the waiver.
    pub waived: Option<(i64, Status)>,
    /// A waiver or attestation that has expired, so the reader knows why this is open again.
    pub expired_note: Option<String>,
    /// The override that set `responsible`, if any.
    pub override_id: Option<i64>,
}

pub struct Evaluation {
    pub results: Vec<ClauseResult>,
    pub controls: Vec<ControlInfo>,
    /// Controls that errored, with the message.
    pub control_errors: Vec<(String, String)>,
    pub resources: usize,
}

fn control_clauses(info: &ControlInfo, outcome: &Outcome) -> Vec<String> {
    match outcome.control.split_once('#') {
        Some((_, clause)) => vec![clause.to_owned()],
        None => info.clauses.clone(),
    }
}

/// Runs every control and evaluates every clause for every scope.
pub fn evaluate(inputs: Inputs<'_>) -> Evaluation {
    let index = Index::new(inputs.inventory);
    let context = Context {
        catalog: inputs.catalog,
        index: &index,
        facts: inputs.facts,
        parameters: inputs.parameters,
    };
    let loose = inputs.parameters.loose(inputs.catalog);

    let mut controls = Vec::new();
    let mut control_errors = Vec::new();
    // (clause, scope) → outcomes
    let mut by_clause: HashMap<(String, Scope), Vec<Outcome>> = HashMap::new();
    let mut runs: Vec<(ControlInfo, Result<Vec<Outcome>, String>)> = Vec::new();
    for builtin in all_builtins() {
        let info = builtin.info();
        let mut emitter = Emitter::new(builtin.id);
        let result = catch_unwind(AssertUnwindSafe(|| (builtin.run)(&context, &mut emitter)))
            .map(|()| emitter.outcomes)
            .map_err(|panic| {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|text| text.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "the control panicked".to_owned());
                format!("built-in control failed: {text}")
            });
        runs.push((info, result));
    }
    for custom in inputs.custom {
        runs.push((custom.info, custom.outcomes));
    }
    for (info, result) in runs {
        let outcomes = match result {
            Ok(outcomes) => outcomes,
            Err(message) => {
                control_errors.push((info.id.clone(), message.clone()));
                vec![Outcome {
                    control: info.id.clone(),
                    scope: Scope::Platform,
                    verdict: Verdict::Error,
                    message_zh: format!("检查运行出错：{message}"),
                    message_en: format!("the control failed to run: {message}"),
                    evidence: Vec::new(),
                    evidence_total: 0,
                    examined: 0,
                }]
            }
        };
        let loose_here: Vec<_> = loose
            .iter()
            .filter(|parameter| info.parameters.contains(&parameter.key))
            .collect();
        let mut saw_platform = false;
        for mut outcome in outcomes {
            if !loose_here.is_empty() {
                outcome = loosen(outcome, &loose_here);
            }
            saw_platform |= outcome.scope == Scope::Platform;
            for clause in control_clauses(&info, &outcome) {
                by_clause
                    .entry((clause, outcome.scope))
                    .or_default()
                    .push(outcome.clone());
            }
        }
        // A loose parameter fails at the platform too, even where the control had
        // nothing to look at: the configuration itself is the finding.
        if !loose_here.is_empty() && !saw_platform {
            let outcome = loosen(
                Outcome {
                    control: info.id.clone(),
                    scope: Scope::Platform,
                    verdict: Verdict::Fail,
                    message_zh: String::new(),
                    message_en: String::new(),
                    evidence: Vec::new(),
                    evidence_total: 0,
                    examined: 0,
                },
                &loose_here,
            );
            for clause in &info.clauses {
                by_clause
                    .entry((clause.clone(), Scope::Platform))
                    .or_default()
                    .push(outcome.clone());
            }
        }
        controls.push(info);
    }

    let mut engine = Engine {
        catalog: inputs.catalog,
        index: &index,
        by_clause,
        attestations: index_by_clause_and_scope(inputs.attestations, |a| (&a.clause, a.scope)),
        waivers: index_by_clause_and_scope(inputs.waivers, |w| (&w.clause, w.scope)),
        open_parties: HashMap::new(),
        overrides: inputs.overrides,
        now_ns: inputs.facts.now_ns,
        results: Vec::new(),
    };
    engine.run();
    Evaluation {
        results: engine.results,
        controls,
        control_errors,
        resources: inputs.inventory.resource_count(),
    }
}

fn loosen(mut outcome: Outcome, loose: &[&crate::parameters::LooseParameter]) -> Outcome {
    let names: Vec<String> = loose
        .iter()
        .map(|parameter| {
            format!(
                "{} = {} (guide: {} {})",
                parameter.key, parameter.value, parameter.bound, parameter.floor
            )
        })
        .collect();
    outcome.verdict = Verdict::Fail;
    outcome.message_zh = format!("参数宽于指南下限：{}", names.join("；"));
    outcome.message_en = format!(
        "parameter looser than the guide's floor: {}",
        names.join("; ")
    );
    let mut evidence: Vec<Evidence> = loose
        .iter()
        .map(|parameter| Evidence {
            kind: "parameter".to_owned(),
            id: 0,
            name: parameter.key.clone(),
            field: "value".to_owned(),
            value: parameter.value.to_string(),
            expected: format!("{} {}", parameter.bound, parameter.floor),
            failing: true,
        })
        .collect();
    evidence.append(&mut outcome.evidence);
    outcome.evidence_total += loose.len();
    outcome.evidence = evidence;
    outcome
}

struct Engine<'a> {
    catalog: &'a Catalog,
    index: &'a Index<'a>,
    by_clause: HashMap<(String, Scope), Vec<Outcome>>,
    attestations: HashMap<(&'a str, Scope), Vec<&'a Attestation>>,
    waivers: HashMap<(&'a str, Scope), Vec<&'a Waiver>>,
    /// Per clause, who must act on its open results so far (for the platform's row).
    open_parties: HashMap<String, PartySet>,
    overrides: &'a [Override],
    now_ns: i64,
    results: Vec<ClauseResult>,
}

/// The status controls' outcomes give, or None when none of them decides.
fn decided(outcomes: &[&Outcome]) -> Option<Status> {
    let mut statuses = Vec::new();
    for outcome in outcomes {
        match outcome.verdict {
            Verdict::Pass => statuses.push(Status::Pass),
            Verdict::Fail => statuses.push(Status::Fail),
            Verdict::Error => statuses.push(Status::Error),
            Verdict::NotApplicable | Verdict::Undetermined => {}
        }
    }
    (!statuses.is_empty()).then(|| Status::roll_up(statuses))
}

fn summary(outcomes: &[&Outcome]) -> (String, String) {
    let worst = outcomes.iter().min_by_key(|outcome| match outcome.verdict {
        Verdict::Fail => 0,
        Verdict::Error => 1,
        Verdict::Undetermined => 2,
        Verdict::Pass => 3,
        Verdict::NotApplicable => 4,
    });
    worst.map_or((String::new(), String::new()), |outcome| {
        (outcome.message_zh.clone(), outcome.message_en.clone())
    })
}

impl Engine<'_> {
    fn outcomes(&self, clause: &str, scope: Scope) -> Vec<&Outcome> {
        self.by_clause
            .get(&(clause.to_owned(), scope))
            .map(|outcomes| outcomes.iter().collect())
            .unwrap_or_default()
    }

    fn attestation(&self, clause: &str, scope: Scope) -> (Option<&Attestation>, Option<String>) {
        let mut expired = None;
        let mut best: Option<&Attestation> = None;
        for attestation in self
            .attestations
            .get(&(clause, scope))
            .into_iter()
            .flatten()
        {
            if attestation.expires_at_ns > self.now_ns {
                if best.is_none_or(|current| attestation.expires_at_ns > current.expires_at_ns) {
                    best = Some(attestation);
                }
            } else {
                expired = Some(format!("attestation #{} expired", attestation.id));
            }
        }
        (best, if best.is_some() { None } else { expired })
    }

    fn run(&mut self) {
        let catalog = self.catalog;
        let inventory = self.index.inventory;
        let mut provider_status: HashMap<(String, i64), Status> = HashMap::new();
        let mut per_clause_rows: HashMap<String, Vec<Status>> = HashMap::new();

        // Providers.
        for provider in &inventory.providers {
            for clause in catalog.requirements() {
                let responsible = self.provider_parties(clause);
                if !responsible.contains(Party::Provider) {
                    continue;
                }
                let scope = Scope::Provider(provider.id);
                let mut row =
                    self.own_result(clause, scope, &[scope], responsible, Party::Provider);
                row.provider_id = Some(provider.id);
                self.apply_waiver(&mut row);
                provider_status.insert((clause.id.clone(), provider.id), row.status);
                per_clause_rows
                    .entry(clause.id.clone())
                    .or_default()
                    .push(row.status);
                self.push(row);
            }
        }

        // Systems: only where a control looked at them.
        let mut systems_of: HashMap<i64, Vec<i64>> = HashMap::new();
        for system in &inventory.systems {
            systems_of
                .entry(system.tenant_id)
                .or_default()
                .push(system.id);
            let models: Vec<ServiceModel> = system.service_model.into_iter().collect();
            for clause in catalog.requirements() {
                let scope = Scope::System(system.id);
                if !self.by_clause.contains_key(&(clause.id.clone(), scope)) {
                    continue;
                }
                let (responsible, override_id) =
                    self.tenant_parties(clause, system.tenant_id, &models);
                let acting = if responsible.contains(Party::Tenant) {
                    Party::Tenant
                } else {
                    Party::Provider
                };
                let mut row = self.own_result(clause, scope, &[scope], responsible, acting);
                row.tenant_id = Some(system.tenant_id);
                row.override_id = override_id;
                self.apply_waiver(&mut row);
                self.push(row);
            }
        }

        // Tenants.
        for tenant in &inventory.tenants {
            let models = self
                .index
                .tenant_models
                .get(&tenant.id)
                .cloned()
                .unwrap_or_default();
            let providers = self
                .index
                .tenant_providers
                .get(&tenant.id)
                .cloned()
                .unwrap_or_default();
            let systems = systems_of.get(&tenant.id).cloned().unwrap_or_default();
            for clause in catalog.requirements() {
                let scope = Scope::Tenant(tenant.id);
                let (responsible, override_id) = self.tenant_parties(clause, tenant.id, &models);
                let mut row = if responsible.contains(Party::Tenant) {
                    let mut scopes = vec![scope];
                    scopes.extend(systems.iter().map(|system| Scope::System(*system)));
                    let mut own =
                        self.own_result(clause, scope, &scopes, responsible, Party::Tenant);
                    if responsible.contains(Party::Provider) {
                        self.add_provider_part(&mut own, clause, &providers, &provider_status);
                    }
                    own
                } else if responsible.contains(Party::Provider) {
                    self.inherited(clause, scope, responsible, &providers, &provider_status)
                } else {
                    not_applicable(
                        clause,
                        scope,
                        responsible,
                        "管理单位职责，见全平台结果",
                        "the management unit's responsibility: see the platform's result",
                    )
                };
                row.tenant_id = Some(tenant.id);
                row.override_id = override_id;
                self.apply_waiver(&mut row);
                per_clause_rows
                    .entry(clause.id.clone())
                    .or_default()
                    .push(row.status);
                self.push(row);
            }
        }

        // The platform: every clause, definitions included.
        for clause in &catalog.clauses {
            let scope = Scope::Platform;
            if clause.assessment == Assessment::Definition {
                self.push(not_applicable(
                    clause,
                    scope,
                    PartySet::EMPTY,
                    "术语定义，不作评估",
                    "a definition, not assessed",
                ));
                continue;
            }
            let own_outcomes = self.outcomes(&clause.id, scope);
            let management = clause.parties.contains(Party::ManagementUnit);
            let own = if management || !own_outcomes.is_empty() {
                let mut own = self.own_result(
                    clause,
                    scope,
                    &[scope],
                    clause.parties,
                    Party::ManagementUnit,
                );
                self.apply_waiver(&mut own);
                Some(own)
            } else {
                None
            };
            let others = per_clause_rows.get(&clause.id).cloned().unwrap_or_default();
            let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
            for status in &others {
                *counts.entry(*status).or_default() += 1;
            }
            let row = match own {
                Some(mut own) => {
                    let status =
                        Status::roll_up(others.iter().copied().chain(std::iter::once(own.status)));
                    if status.rank() < own.status.rank() {
                        own.status = status;
                        own.must_act = own.must_act.union(self.open_parties(&clause.id));
                        own.message_zh =
                            format!("{}；另有下级结果：{}", own.message_zh, count_text(&counts));
                        own.message_en =
                            format!("{}; results below: {}", own.message_en, count_text(&counts));
                    }
                    own
                }
                None => {
                    let status = Status::roll_up(others.iter().copied());
                    ClauseResult {
                        clause: clause.id.clone(),
                        scope,
                        tenant_id: None,
                        provider_id: None,
                        status,
                        responsible: clause.parties,
                        must_act: if status.is_open() {
                            self.open_parties(&clause.id)
                        } else {
                            PartySet::EMPTY
                        },
                        basis: Basis::RollUp {
                            counts: counts.clone(),
                        },
                        message_zh: format!("汇总：{}", count_text(&counts)),
                        message_en: format!("roll-up: {}", count_text(&counts)),
                        outcomes: Vec::new(),
                        waived: None,
                        expired_note: None,
                        override_id: None,
                    }
                }
            };
            self.push(row);
        }
    }

    /// Who is responsible for a clause on the provider side: the guide's text, widened by
    /// the annex under any service model.
    fn provider_parties(&self, clause: &Clause) -> PartySet {
        let mut parties = clause.parties;
        if clause.component.is_some() {
            parties = parties.union(self.catalog.parties_for(clause, &ServiceModel::ALL));
        }
        parties
    }

    /// Who is responsible for a clause for one tenant's models, with its contract overrides.
    fn tenant_parties(
        &self,
        clause: &Clause,
        tenant: i64,
        models: &[ServiceModel],
    ) -> (PartySet, Option<i64>) {
        if let Some(component) = &clause.component {
            if let Some(found) = self
                .overrides
                .iter()
                .filter(|row| row.tenant_id == tenant && &row.component == component)
                .max_by_key(|row| row.id)
            {
                return (found.parties, Some(found.id));
            }
        }
        (self.catalog.parties_for(clause, models), None)
    }

    fn open_parties(&self, clause: &str) -> PartySet {
        self.open_parties.get(clause).copied().unwrap_or_default()
    }

    /// Adds a result, remembering who must act on the clause while it is open.
    fn push(&mut self, row: ClauseResult) {
        if row.status.is_open() {
            let parties = self.open_parties.entry(row.clause.clone()).or_default();
            *parties = parties.union(row.must_act);
        }
        self.results.push(row);
    }

    /// A result from the controls over `scopes` (the scope itself and, for a tenant, its
    /// systems), else an attestation, else MANUAL.
    fn own_result(
        &self,
        clause: &Clause,
        scope: Scope,
        scopes: &[Scope],
        responsible: PartySet,
        acting: Party,
    ) -> ClauseResult {
        let outcomes: Vec<&Outcome> = scopes
            .iter()
            .flat_map(|scope| self.outcomes(&clause.id, *scope))
            .collect();
        let mut row = ClauseResult {
            clause: clause.id.clone(),
            scope,
            tenant_id: None,
            provider_id: None,
            status: Status::Manual,
            responsible,
            must_act: PartySet::EMPTY,
            basis: Basis::AwaitingEvidence,
            message_zh: String::new(),
            message_en: String::new(),
            outcomes: Vec::new(),
            waived: None,
            expired_note: None,
            override_id: None,
        };
        if let Some(status) = decided(&outcomes) {
            let (zh, en) = summary(&outcomes);
            row.status = status;
            row.basis = Basis::Controls;
            row.message_zh = zh;
            row.message_en = en;
            // Keep at most a few outcomes per row (a tenant's systems): the failing first.
            let mut kept: Vec<Outcome> =
                outcomes.iter().map(|outcome| (*outcome).clone()).collect();
            kept.sort_by_key(|outcome| match outcome.verdict {
                Verdict::Fail => 0,
                Verdict::Error => 1,
                _ => 2,
            });
            kept.truncate(20);
            row.outcomes = kept;
        } else {
            let (attestation, expired) = self.attestation(&clause.id, scope);
            if let Some(attestation) = attestation {
                row.status = Status::Attested;
                row.basis = Basis::Attestation {
                    id: attestation.id,
                    expires_at_ns: attestation.expires_at_ns,
                };
                row.message_zh = format!(
                    "证据已批准：{}（SM3 {}）",
                    attestation.file_name,
                    &attestation.sm3[..attestation.sm3.len().min(16)]
                );
                row.message_en = format!("evidence approved: {}", attestation.file_name);
            } else if !outcomes.is_empty()
                && outcomes
                    .iter()
                    .all(|outcome| outcome.verdict == Verdict::NotApplicable)
            {
                let (zh, en) = summary(&outcomes);
                row.status = Status::NotApplicable;
                row.basis = Basis::NotApplicable {
                    reason_zh: zh.clone(),
                    reason_en: en.clone(),
                };
                row.message_zh = zh;
                row.message_en = en;
            } else {
                row.expired_note = expired;
                row.outcomes = outcomes.iter().map(|outcome| (*outcome).clone()).collect();
                row.message_zh = if outcomes.is_empty() {
                    "待上传证据并经第二人批准".to_owned()
                } else {
                    let (zh, _) = summary(&outcomes);
                    format!("{zh}；待人工证明")
                };
                row.message_en = if outcomes.is_empty() {
                    "awaiting evidence and a second person's approval".to_owned()
                } else {
                    let (_, en) = summary(&outcomes);
                    format!("{en}; needs attestation")
                };
            }
        }
        if row.status.is_open() {
            row.must_act = PartySet::EMPTY.with(acting);
        }
        row
    }

    /// The provider side of a tenant's clause: INHERITED while every provider of the
    /// tenant holds it, FAIL of the provider otherwise.
    fn provider_side(
        &self,
        clause: &Clause,
        providers: &[i64],
        provider_status: &HashMap<(String, i64), Status>,
    ) -> (bool, Vec<i64>) {
        let mut failing = Vec::new();
        for provider in providers {
            let status = provider_status
                .get(&(clause.id.clone(), *provider))
                .copied()
                .unwrap_or(Status::Manual);
            if !status.holds() {
                failing.push(*provider);
            }
        }
        (failing.is_empty(), failing)
    }

    fn inherited(
        &self,
        clause: &Clause,
        scope: Scope,
        responsible: PartySet,
        providers: &[i64],
        provider_status: &HashMap<(String, i64), Status>,
    ) -> ClauseResult {
        if providers.is_empty() {
            return not_applicable(
                clause,
                scope,
                responsible,
                "该云租户尚无云服务商承载的资源",
                "no provider hosts this tenant's resources",
            );
        }
        let (holds, failing) = self.provider_side(clause, providers, provider_status);
        let list = |ids: &[i64]| {
            ids.iter()
                .map(|id| format!("provider:{id}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        ClauseResult {
            clause: clause.id.clone(),
            scope,
            tenant_id: None,
            provider_id: None,
            status: if holds {
                Status::Inherited
            } else {
                Status::Fail
            },
            responsible,
            must_act: if holds {
                PartySet::EMPTY
            } else {
                PartySet::EMPTY.with(Party::Provider)
            },
            basis: Basis::Inherited {
                providers: providers.to_vec(),
            },
            message_zh: if holds {
                format!("云服务商职责，已有现行证据（{}）", list(providers))
            } else {
                format!("云服务商职责，云服务商未满足（{}）", list(&failing))
            },
            message_en: if holds {
                format!(
                    "the provider's responsibility, with current evidence ({})",
                    list(providers)
                )
            } else {
                format!(
                    "the provider's responsibility, not met by {}",
                    list(&failing)
                )
            },
            outcomes: Vec::new(),
            waived: None,
            expired_note: None,
            override_id: None,
        }
    }

    fn add_provider_part(
        &self,
        row: &mut ClauseResult,
        clause: &Clause,
        providers: &[i64],
        provider_status: &HashMap<(String, i64), Status>,
    ) {
        if providers.is_empty() {
            return;
        }
        let (holds, failing) = self.provider_side(clause, providers, provider_status);
        if !holds {
            let ids: Vec<String> = failing.iter().map(|id| format!("provider:{id}")).collect();
            if row.status.rank() > Status::Fail.rank() {
                row.status = Status::Fail;
            }
            row.must_act = row.must_act.with(Party::Provider);
            row.message_zh = format!(
                "{}；云服务商部分未满足（{}）",
                row.message_zh,
                ids.join(", ")
            );
            row.message_en = format!(
                "{}; the provider's part not met by {}",
                row.message_en,
                ids.join(", ")
            );
        }
    }

    fn apply_waiver(&self, row: &mut ClauseResult) {
        if !row.status.is_open() {
            return;
        }
        let mut expired = None;
        for waiver in self
            .waivers
            .get(&(row.clause.as_str(), row.scope))
            .into_iter()
            .flatten()
        {
            if waiver.expires_at_ns > self.now_ns {
                row.waived = Some((waiver.id, row.status));
                row.status = Status::Waived;
                row.must_act = PartySet::EMPTY;
                row.message_zh = format!("已豁免（#{}）：{}", waiver.id, row.message_zh);
                row.message_en = format!("waived (#{}): {}", waiver.id, row.message_en);
                return;
            }
            expired = Some(format!("waiver #{} expired", waiver.id));
        }
        if let Some(note) = expired {
            row.expired_note = Some(match row.expired_note.take() {
                Some(existing) => format!("{existing}; {note}"),
                None => note,
            });
        }
    }
}

/// Groups rows by (clause, scope), so each result looks up its own in constant time.
fn index_by_clause_and_scope<'a, T>(
    rows: &'a [T],
    key: impl Fn(&'a T) -> (&'a String, Scope),
) -> HashMap<(&'a str, Scope), Vec<&'a T>> {
    let mut index: HashMap<(&'a str, Scope), Vec<&'a T>> = HashMap::new();
    for row in rows {
        let (clause, scope) = key(row);
        index.entry((clause.as_str(), scope)).or_default().push(row);
    }
    index
}

fn not_applicable(
    clause: &Clause,
    scope: Scope,
    responsible: PartySet,
    zh: &str,
    en: &str,
) -> ClauseResult {
    ClauseResult {
        clause: clause.id.clone(),
        scope,
        tenant_id: None,
        provider_id: None,
        status: Status::NotApplicable,
        responsible,
        must_act: PartySet::EMPTY,
        basis: Basis::NotApplicable {
            reason_zh: zh.to_owned(),
            reason_en: en.to_owned(),
        },
        message_zh: zh.to_owned(),
        message_en: en.to_owned(),
        outcomes: Vec::new(),
        waived: None,
        expired_note: None,
        override_id: None,
    }
}

fn count_text(counts: &BTreeMap<Status, usize>) -> String {
    counts
        .iter()
        .map(|(status, count)| format!("{} {count}", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}
