//! Compliance reports: per platform, provider and tenant from a stored run; the provider's
//! periodic report of its tenants' security and resource use (7.1.5, 8.3.2), only for
//! tenants that consented; the provider scorecard for the management unit's assessment
//! (8.2.1); rendered as JSON, CSV, XLSX or PDF, or packed with the evidence behind them
//! into a signed evidence package (`yunjian evidence verify`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use serde_json::{json, Value as Json};
use yunjian_compliance::{PartySet, Scope, Status};
use yunjian_core::audit::format_time;
use yunjian_core::schema::Kind;
use yunjian_core::value::Value;
use yunjian_policy::{Action, Relation, Target};
use yunjian_report::{PdfFont, Report, Table};
use yunjian_store::{
    AuditOutcome, AuthorizationScope, ComplianceResultRow, ComplianceRun, ReadScope, ResultFilter,
    ResultScope,
};

use crate::authz::stamp;
use crate::compliance::result_scope;
use crate::error::AppError;
use crate::grants::{REPORT_CONSENT_ACTION, REPORT_CONSENT_KIND};
use crate::{App, Context};

/// Debian's fonts-noto-cjk, Simplified Chinese face of the collection.
pub const DEFAULT_REPORT_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
pub const DEFAULT_REPORT_FONT_INDEX: u32 = 2;

/// Which report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// The compliance of one scope (platform, provider or tenant).
    Compliance(Scope),
    /// A provider's periodic report to the management unit (7.1.5, 8.3.2).
    ProviderPeriodic(i64),
    /// The providers side by side, for the management unit's assessment (8.2.1).
    Scorecard,
}

impl ReportKind {
    pub fn parse(kind: &str, scope: Option<Scope>) -> Option<ReportKind> {
        match (kind, scope) {
            ("compliance", Some(scope)) if !matches!(scope, Scope::System(_)) => {
                Some(ReportKind::Compliance(scope))
            }
            ("provider_periodic", Some(Scope::Provider(id))) => {
                Some(ReportKind::ProviderPeriodic(id))
            }
            ("scorecard", _) => Some(ReportKind::Scorecard),
            _ => None,
        }
    }

    pub fn slug(self) -> String {
        match self {
            ReportKind::Compliance(scope) => format!("compliance-{}-{}", scope.kind(), scope.id()),
            ReportKind::ProviderPeriodic(id) => format!("provider-periodic-{id}"),
            ReportKind::Scorecard => "provider-scorecard".to_owned(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
    Xlsx,
    Pdf,
}

impl ReportFormat {
    pub fn parse(text: &str) -> Option<ReportFormat> {
        match text {
            "json" => Some(ReportFormat::Json),
            "csv" => Some(ReportFormat::Csv),
            "xlsx" => Some(ReportFormat::Xlsx),
            "pdf" => Some(ReportFormat::Pdf),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Pdf => "pdf",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ReportFormat::Json => "application/json",
            ReportFormat::Csv => "text/csv; charset=utf-8",
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ReportFormat::Pdf => "application/pdf",
        }
    }
}

/// Where the PDF font comes from, loaded once.
pub(crate) struct FontSource {
    path: String,
    index: u32,
    loaded: OnceLock<Result<PdfFont, String>>,
}

impl Default for FontSource {
    fn default() -> FontSource {
        FontSource {
            path: DEFAULT_REPORT_FONT.to_owned(),
            index: DEFAULT_REPORT_FONT_INDEX,
            loaded: OnceLock::new(),
        }
    }
}

impl FontSource {
    fn font(&self) -> Result<PdfFont, AppError> {
        self.loaded
            .get_or_init(|| {
                let data = std::fs::read(&self.path).map_err(|error| {
                    format!(
                        "{}: {error} (install fonts-noto-cjk or set [reports] font)",
                        self.path
                    )
                })?;
                PdfFont::new(data, self.index).map_err(|error| format!("{}: {error}", self.path))
            })
            .clone()
            .map_err(AppError::Internal)
    }
}

fn parties_zh(text: &str) -> String {
    PartySet::parse_text(text).map_or_else(|| text.to_owned(), |set| set.label_zh())
}

fn status_zh(text: &str) -> String {
    Status::parse(text).map_or_else(
        || text.to_owned(),
        |status| format!("{} {}", status.label_zh(), status.as_str()),
    )
}

/// Evidence lines of a stored row's detail: "datacenter:3 名称 carriers=china_telecom (≥ 2)".
fn evidence_lines(detail: &str, limit: usize) -> Vec<String> {
    let Ok(detail) = serde_json::from_str::<Json>(detail) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for outcome in detail["outcomes"].as_array().into_iter().flatten() {
        for item in outcome["evidence"].as_array().into_iter().flatten() {
            if item["failing"] != json!(true) {
                continue;
            }
            lines.push(format!(
                "[{}] {}:{} {} {}={}（应为 {}）",
                outcome["control"].as_str().unwrap_or(""),
                item["kind"].as_str().unwrap_or(""),
                item["id"],
                item["name"].as_str().unwrap_or(""),
                item["field"].as_str().unwrap_or(""),
                item["value"].as_str().unwrap_or(""),
                item["expected"].as_str().unwrap_or(""),
            ));
            if lines.len() >= limit {
                return lines;
            }
        }
    }
    lines
}

fn counts_of(rows: &[&ComplianceResultRow]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row.status.clone()).or_insert(0) += 1;
    }
    counts
}

fn counts_text(counts: &BTreeMap<String, usize>) -> String {
    Status::ALL
        .iter()
        .filter_map(|status| {
            counts
                .get(status.as_str())
                .map(|count| format!("{} {count}", status.label_zh()))
        })
        .collect::<Vec<_>>()
        .join("，")
}

impl App {
    /// Sets where the PDF font is read from (`[reports] font`, `font_index`).
    pub fn with_report_font(mut self, path: &str, index: u32) -> App {
        self.report_font = Arc::new(FontSource {
            path: path.to_owned(),
            index,
            loaded: OnceLock::new(),
        });
        self
    }

    /// Who may have a report: the PDP decides from the report's scope and the reader's unit.
    async fn authorize_report(&self, context: &Context, kind: ReportKind) -> Result<(), AppError> {
        let principal = &context.principal;
        let relation = match (result_scope(context), kind) {
            (ResultScope::All, _) => Relation::Any,
            (ResultScope::Tenant(own), ReportKind::Compliance(Scope::Tenant(id))) if own == id => {
                Relation::OwnTenant
            }
            (ResultScope::Provider(own), ReportKind::Compliance(Scope::Provider(id)))
            | (ResultScope::Provider(own), ReportKind::ProviderPeriodic(id))
                if own == id =>
            {
                Relation::OwnProvider
            }
            _ => Relation::Hidden,
        };
        let question = self.question(
            context,
            Action::ComplianceExport,
            Target::family("compliance"),
            relation,
        );
        let mut refusal = self.record(context, "compliance.report", AuditOutcome::Denied);
        refusal.detail = Some(json!({"report": kind.slug(), "role": principal.role.as_str()}));
        let decision = self.authorize(context, question, refusal).await?;
        if relation == Relation::Hidden {
            // Only oversight reaches here with Hidden, which never happens: kept as a
            // second line of defence.
            return Err(AppError::NotFound);
        }
        let mut record = self.record(context, "compliance.report", AuditOutcome::Succeeded);
        record.object_kind = Some("compliance_report".into());
        if let ReportKind::Compliance(Scope::Tenant(id)) = kind {
            record.tenant_id = Some(id);
        }
        record.detail = Some(json!({"report": kind.slug()}));
        stamp(&mut record, &decision);
        self.append_audit_grouped(record).await?;
        Ok(())
    }

    pub(crate) async fn name_of(&self, kind: Kind, id: i64) -> String {
        match self.store.get(kind, id, ReadScope::All).await {
            Ok(Some(object)) => object.display_name(),
            _ => format!("{} #{id}", kind.as_str()),
        }
    }

    /// Builds a report from a run (the newest when `run_id` is `None`).
    pub async fn compliance_report(
        &self,
        context: &Context,
        kind: ReportKind,
        run_id: Option<i64>,
    ) -> Result<(Report, ComplianceRun), AppError> {
        self.authorize_report(context, kind).await?;
        let run = match run_id {
            Some(id) => self.store.compliance_run(id).await?,
            None => self.store.compliance_runs(1).await?.into_iter().next(),
        }
        .ok_or_else(|| AppError::Conflict {
            field: None,
            message: "no compliance run yet: start one first".into(),
        })?;
        let report = match kind {
            ReportKind::Compliance(scope) => self.scope_report(&run, scope).await?,
            ReportKind::ProviderPeriodic(provider) => self.periodic_report(&run, provider).await?,
            ReportKind::Scorecard => self.scorecard(&run).await?,
        };
        Ok((report, run))
    }

    fn report_facts(&self, run: &ComplianceRun, scope_name: &str) -> Vec<(String, String)> {
        vec![
            ("范围 Scope".into(), scope_name.to_owned()),
            ("生成时间 Generated".into(), format_time(self.now_ns())),
            (
                "检查批次 Run".into(),
                format!("#{} · {}", run.id, format_time(run.started_at_ns)),
            ),
            ("检查目录 Catalog".into(), run.catalog_version.clone()),
            ("检查资源数 Resources".into(), run.resources.to_string()),
        ]
    }

    async fn scope_report(&self, run: &ComplianceRun, scope: Scope) -> Result<Report, AppError> {
        let catalog = self.catalog()?;
        let (reader, scope_name) = match scope {
            Scope::Platform => (ResultScope::All, "全平台 Platform".to_owned()),
            Scope::Provider(id) => (
                ResultScope::Provider(id),
                format!("云服务商 {}", self.name_of(Kind::Provider, id).await),
            ),
            Scope::Tenant(id) => (
                ResultScope::Tenant(id),
                format!("云租户 {}", self.name_of(Kind::Tenant, id).await),
            ),
            Scope::System(_) => {
                return Err(AppError::invalid(
                    "scope",
                    "unsupported",
                    "reports are per platform, provider or tenant",
                ))
            }
        };
        let rows = self
            .store
            .compliance_results(run.id, reader, &ResultFilter::default(), 1_000_000, 0)
            .await?;
        let own: Vec<&ComplianceResultRow> = rows
            .iter()
            .filter(|row| row.scope_kind == scope.kind() && row.scope_id == scope.id())
            .collect();
        let counts = counts_of(&own);
        let overall = Status::roll_up(own.iter().filter_map(|row| Status::parse(&row.status)));
        let mut facts = self.report_facts(run, &scope_name);
        facts.push((
            "总体状态 Overall".into(),
            format!("{} {}", overall.label_zh(), overall.as_str()),
        ));
        facts.push(("结果统计 Counts".into(), counts_text(&counts)));
        let title_of = |clause: &str| {
            catalog
                .clause(clause)
                .map_or_else(String::new, |clause| clause.short_zh())
        };
        let clause_table = Table {
            title: "条款结果 Results by clause".into(),
            headers: vec![
                "条款".into(),
                "要求".into(),
                "状态".into(),
                "责任方".into(),
                "须行动方".into(),
                "说明".into(),
            ],
            rows: own
                .iter()
                .map(|row| {
                    vec![
                        row.clause_id.clone(),
                        title_of(&row.clause_id),
                        status_zh(&row.status),
                        parties_zh(&row.responsible),
                        parties_zh(&row.must_act),
                        row.message_zh.clone(),
                    ]
                })
                .collect(),
            widths: vec![0.9, 2.6, 1.3, 1.1, 1.1, 3.2],
        };
        let findings = Table {
            title: "不符合项及证据 Findings and their evidence".into(),
            headers: vec![
                "条款".into(),
                "状态".into(),
                "须行动方".into(),
                "证据".into(),
            ],
            rows: own
                .iter()
                .filter(|row| matches!(row.status.as_str(), "FAIL" | "ERROR"))
                .map(|row| {
                    let lines = evidence_lines(&row.detail, 8);
                    vec![
                        row.clause_id.clone(),
                        status_zh(&row.status),
                        parties_zh(&row.must_act),
                        if lines.is_empty() {
                            row.message_zh.clone()
                        } else {
                            lines.join("\n")
                        },
                    ]
                })
                .collect(),
            widths: vec![0.9, 1.2, 1.1, 6.8],
        };
        let mut tables = vec![clause_table, findings];
        if let Scope::Tenant(_) = scope {
            let mut names: HashMap<i64, String> = HashMap::new();
            let mut system_rows = Vec::new();
            for row in rows.iter().filter(|row| row.scope_kind == "system") {
                if let std::collections::hash_map::Entry::Vacant(entry) = names.entry(row.scope_id)
                {
                    entry.insert(self.name_of(Kind::InformationSystem, row.scope_id).await);
                }
                system_rows.push(vec![
                    names[&row.scope_id].clone(),
                    row.clause_id.clone(),
                    status_zh(&row.status),
                    row.message_zh.clone(),
                ]);
            }
            tables.push(Table {
                title: "信息系统 Information systems".into(),
                headers: vec![
                    "信息系统".into(),
                    "条款".into(),
                    "状态".into(),
                    "说明".into(),
                ],
                rows: system_rows,
                widths: vec![2.5, 0.9, 1.3, 4.5],
            });
        }
        let waived: Vec<Vec<String>> = own
            .iter()
            .filter(|row| row.status == "WAIVED")
            .map(|row| vec![row.clause_id.clone(), row.message_zh.clone()])
            .collect();
        if !waived.is_empty() {
            tables.push(Table {
                title: "已豁免 Waived".into(),
                headers: vec!["条款".into(), "说明".into()],
                rows: waived,
                widths: vec![1.0, 8.0],
            });
        }
        Ok(Report {
            title: format!("政务云安全合规报告 · {scope_name}"),
            subtitle: "Chongqing e-government cloud security compliance report (guide 7, 8; GB/T 22239-2019 level 3)".into(),
            facts,
            tables,
        })
    }

    /// The tenants that consented, on `provider`'s platform, as of now.
    async fn consenting_tenants(&self, provider: i64) -> Result<Vec<i64>, AppError> {
        let now = self.now_ns();
        let mut tenants: Vec<i64> = self
            .store
            .tenant_authorizations(
                AuthorizationScope {
                    tenant: None,
                    provider: Some(yunjian_core::ids::ProviderId(provider)),
                },
                100_000,
            )
            .await?
            .into_iter()
            .filter(|grant| {
                grant.active_at(now)
                    && grant.kinds.iter().any(|kind| kind == REPORT_CONSENT_KIND)
                    && grant
                        .actions
                        .iter()
                        .any(|action| action == REPORT_CONSENT_ACTION)
            })
            .map(|grant| grant.tenant.0)
            .collect();
        tenants.sort_unstable();
        tenants.dedup();
        Ok(tenants)
    }

    async fn periodic_report(
        &self,
        run: &ComplianceRun,
        provider: i64,
    ) -> Result<Report, AppError> {
        let provider_name = self.name_of(Kind::Provider, provider).await;
        let tenants = self.consenting_tenants(provider).await?;
        // Allocation per tenant on this provider, from the inventory.
        let mut usage: BTreeMap<i64, (usize, i64, i64, i64)> = BTreeMap::new();
        for vm in self.store.scan_all(Kind::Vm).await? {
            if vm.column_int("provider_id") != Some(provider) {
                continue;
            }
            let Some(tenant) = vm.column_int("tenant_id") else {
                continue;
            };
            if !tenants.contains(&tenant) {
                continue;
            }
            let entry = usage.entry(tenant).or_default();
            entry.0 += 1;
            entry.1 += vm.column_int("vcpus").unwrap_or(0);
            entry.2 += vm.column_int("memory_mib").unwrap_or(0);
        }
        for volume in self.store.scan_all(Kind::Volume).await? {
            if volume.column_int("provider_id") != Some(provider) {
                continue;
            }
            let Some(tenant) = volume.column_int("tenant_id") else {
                continue;
            };
            if tenants.contains(&tenant) {
                usage.entry(tenant).or_default().3 += volume.column_int("size_gib").unwrap_or(0);
            }
        }
        let utilization = self.recent_utilization(provider).await?;
        let percent = |tenant: i64, metric: &str| {
            utilization
                .get(&(Some(tenant), metric.to_owned()))
                .map_or_else(
                    || "—".to_owned(),
                    |summary| format!("{:.1}%", summary.average),
                )
        };
        let mut rows = Vec::new();
        let mut key_rows = Vec::new();
        for tenant in &tenants {
            let object = self
                .store
                .get(Kind::Tenant, *tenant, ReadScope::All)
                .await?;
            let name = object
                .as_ref()
                .map_or_else(|| format!("tenant #{tenant}"), |o| o.display_name());
            let key = object
                .as_ref()
                .and_then(|o| o.values.get("key_tenant").cloned())
                .is_some_and(|value| value == Value::Bool(true));
            let results = self
                .store
                .compliance_results(
                    run.id,
                    ResultScope::Tenant(*tenant),
                    &ResultFilter {
                        scope_kind: Some("tenant".into()),
                        ..ResultFilter::default()
                    },
                    100_000,
                    0,
                )
                .await?;
            let refs: Vec<&ComplianceResultRow> = results.iter().collect();
            let counts = counts_of(&refs);
            let overall = Status::roll_up(refs.iter().filter_map(|row| Status::parse(&row.status)));
            let provider_open = refs
                .iter()
                .filter(|row| row.status == "FAIL" && row.must_act.contains("provider"))
                .count();
            let (vms, vcpus, memory, storage) = usage.get(tenant).copied().unwrap_or_default();
            rows.push(vec![
                name.clone(),
                if key { "是".into() } else { "否".into() },
                format!("{} {}", overall.label_zh(), overall.as_str()),
                counts_text(&counts),
                provider_open.to_string(),
                format!(
                    "{vms} 台 / {vcpus} vCPU / {} GiB 内存 / {storage} GiB 存储",
                    memory / 1024
                ),
                format!(
                    "CPU {} / 内存 {}",
                    percent(*tenant, "cpu_utilization"),
                    percent(*tenant, "memory_utilization")
                ),
            ]);
            if key {
                key_rows.push(vec![
                    name,
                    format!("{} {}", overall.label_zh(), overall.as_str()),
                    provider_open.to_string(),
                ]);
            }
        }
        let mut facts = self.report_facts(run, &format!("云服务商 {provider_name}"));
        facts.push((
            "纳入报告的云租户 Tenants".into(),
            format!("{} 家（仅限已授权报送的云租户，指南7.1.5）", tenants.len()),
        ));
        facts.push((
            "资源使用 Resource use".into(),
            "分配量取自资源清单；利用率取自资源计量（近 30 天平均，云服务商推送或 Prometheus 采集）".into(),
        ));
        Ok(Report {
            title: format!("云租户安全情况及资源使用情况报告 · {provider_name}"),
            subtitle: "Provider's periodic report to the management unit (guide 7.1.5, 8.3.2)"
                .into(),
            facts,
            tables: vec![
                Table {
                    title: "云租户安全情况 Tenants' security".into(),
                    headers: vec![
                        "云租户".into(),
                        "重点".into(),
                        "总体状态".into(),
                        "结果统计".into(),
                        "需服务商整改".into(),
                        "资源分配".into(),
                        "利用率（30天）".into(),
                    ],
                    rows,
                    widths: vec![2.2, 0.5, 1.2, 2.6, 0.9, 2.4, 1.6],
                },
                Table {
                    title: "重点云租户安全保障 Key tenants (8.3.2)".into(),
                    headers: vec!["云租户".into(), "总体状态".into(), "需服务商整改".into()],
                    rows: key_rows,
                    widths: vec![3.0, 2.0, 1.5],
                },
            ],
        })
    }

    async fn scorecard(&self, run: &ComplianceRun) -> Result<Report, AppError> {
        let rows = self
            .store
            .compliance_results(
                run.id,
                ResultScope::All,
                &ResultFilter::default(),
                1_000_000,
                0,
            )
            .await?;
        let mut per: BTreeMap<i64, (BTreeMap<String, usize>, usize)> = BTreeMap::new();
        for row in rows.iter().filter(|row| row.scope_kind == "provider") {
            *per.entry(row.scope_id)
                .or_default()
                .0
                .entry(row.status.clone())
                .or_insert(0) += 1;
        }
        // Tenants' rows the provider must act on.
        let tenant_providers: HashMap<i64, Vec<i64>> = {
            let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
            for vpc in self.store.scan_all(Kind::Vpc).await? {
                if let (Some(tenant), Some(provider)) =
                    (vpc.column_int("tenant_id"), vpc.column_int("provider_id"))
                {
                    map.entry(tenant).or_default().push(provider);
                }
            }
            map
        };
        for row in rows.iter().filter(|row| {
            row.scope_kind == "tenant" && row.status == "FAIL" && row.must_act.contains("provider")
        }) {
            let mut providers = tenant_providers
                .get(&row.scope_id)
                .cloned()
                .unwrap_or_default();
            providers.sort_unstable();
            providers.dedup();
            for provider in providers {
                if let Some(entry) = per.get_mut(&provider) {
                    entry.1 += 1;
                }
            }
        }
        let mut table_rows = Vec::new();
        for (provider, (counts, tenant_findings)) in &per {
            let total: usize = counts.values().sum();
            let holding: usize = counts
                .iter()
                .filter(|(status, _)| Status::parse(status).is_some_and(Status::holds))
                .map(|(_, count)| count)
                .sum();
            let assessed = total - counts.get("NOT_APPLICABLE").copied().unwrap_or(0);
            let score = if assessed == 0 {
                0.0
            } else {
                holding as f64 * 100.0 / assessed as f64
            };
            table_rows.push(vec![
                self.name_of(Kind::Provider, *provider).await,
                format!("{score:.1}"),
                counts.get("FAIL").copied().unwrap_or(0).to_string(),
                counts.get("MANUAL").copied().unwrap_or(0).to_string(),
                holding.to_string(),
                counts.get("WAIVED").copied().unwrap_or(0).to_string(),
                tenant_findings.to_string(),
            ]);
        }
        let mut facts = self.report_facts(run, "全部云服务商 All providers");
        facts.push((
            "得分 Score".into(),
            "符合、已证明、继承、已豁免的条款占应评条款的百分比".into(),
        ));
        Ok(Report {
            title: "政务云服务商考核记分卡 Provider scorecard".into(),
            subtitle: "For the management unit's supervision and assessment (guide 8.2.1, 8.2.2)"
                .into(),
            facts,
            tables: vec![Table {
                title: "云服务商 Providers".into(),
                headers: vec![
                    "云服务商".into(),
                    "得分".into(),
                    "不符合".into(),
                    "待证明".into(),
                    "满足".into(),
                    "豁免".into(),
                    "租户侧待服务商整改".into(),
                ],
                rows: table_rows,
                widths: vec![3.0, 0.8, 0.8, 0.8, 0.8, 0.8, 1.5],
            }],
        })
    }

    /// A report rendered in one format.
    pub fn render_report(
        &self,
        report: &Report,
        format: ReportFormat,
    ) -> Result<Vec<u8>, AppError> {
        let internal = |error: yunjian_report::ReportError| AppError::Internal(error.to_string());
        match format {
            ReportFormat::Json => Ok(serde_json::to_vec_pretty(&report_json(report))
                .map_err(|error| AppError::Internal(error.to_string()))?),
            ReportFormat::Csv => yunjian_report::to_csv(report).map_err(internal),
            ReportFormat::Xlsx => yunjian_report::to_xlsx(report).map_err(internal),
            ReportFormat::Pdf => {
                let font = self.report_font.font()?;
                yunjian_report::to_pdf(report, &font).map_err(internal)
            }
        }
    }

    /// The report in every format, the approved evidence behind its scope and the raw
    /// results, in a package signed with the deployment's SM2 key.
    pub async fn evidence_package(
        &self,
        context: &Context,
        kind: ReportKind,
        run_id: Option<i64>,
    ) -> Result<Vec<u8>, AppError> {
        let signer = self.signer.clone().ok_or_else(|| AppError::Conflict {
            field: None,
            message: "no signing key: run `yunjian admin init` first".into(),
        })?;
        let (report, run) = self.compliance_report(context, kind, run_id).await?;
        let mut package = yunjian_bundle::EvidencePackage::new();
        let slug = kind.slug();
        let bad = |error: yunjian_bundle::EvidenceError| AppError::Internal(error.to_string());
        for format in [
            ReportFormat::Json,
            ReportFormat::Csv,
            ReportFormat::Xlsx,
            ReportFormat::Pdf,
        ] {
            package
                .add(
                    &format!("{slug}.{}", format.extension()),
                    self.render_report(&report, format)?,
                )
                .map_err(bad)?;
        }
        if let ReportKind::Compliance(scope) = kind {
            let reader = match scope {
                Scope::Platform | Scope::System(_) => ResultScope::All,
                Scope::Provider(id) => ResultScope::Provider(id),
                Scope::Tenant(id) => ResultScope::Tenant(id),
            };
            let rows = self
                .store
                .compliance_results(run.id, reader, &ResultFilter::default(), 1_000_000, 0)
                .await?;
            let results: Vec<Json> = rows
                .iter()
                .map(|row| {
                    json!({
                        "scope": format!("{}:{}", row.scope_kind, row.scope_id), "clause": row.clause_id,
                        "status": row.status, "responsible": row.responsible, "must_act": row.must_act,
                        "message_zh": row.message_zh, "message_en": row.message_en,
                        "detail": serde_json::from_str::<Json>(&row.detail).unwrap_or(Json::Null),
                    })
                })
                .collect();
            package
                .add(
                    "results.json",
                    serde_json::to_vec_pretty(&results)
                        .map_err(|error| AppError::Internal(error.to_string()))?,
                )
                .map_err(bad)?;
            for evidence in self
                .store
                .compliance_evidence_list(reader, None, 10_000)
                .await?
                .into_iter()
                .filter(|evidence| evidence.state == "approved")
            {
                let (_, content) = self.evidence_file(context, evidence.id).await?;
                let safe: String = evidence
                    .file_name
                    .chars()
                    .map(|c| {
                        if c == '/' || c == '\\' || c.is_control() {
                            '_'
                        } else {
                            c
                        }
                    })
                    .collect();
                package
                    .add(&format!("evidence/{}-{safe}", evidence.id), content)
                    .map_err(bad)?;
            }
        }
        package
            .finish(
                signer.as_ref(),
                &format!("{slug} run:{}", run.id),
                &format_time(self.now_ns()),
            )
            .map_err(bad)
    }
}

/// The JSON form of a report: versioned, since auditors keep them.
fn report_json(report: &Report) -> Json {
    json!({
        "format": "yunjian-compliance-report/v1",
        "title": report.title,
        "subtitle": report.subtitle,
        "facts": report.facts.iter().map(|(label, value)| json!({"label": label, "value": value})).collect::<Vec<_>>(),
        "tables": report.tables.iter().map(|table| json!({
            "title": table.title, "headers": table.headers, "rows": table.rows,
        })).collect::<Vec<_>>(),
    })
}
