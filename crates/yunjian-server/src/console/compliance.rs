//! Console pages of the compliance engine: the dashboard (results of the reader's scope
//! with trends), the catalog browser (clause → controls → results), clause detail with
//! evidence and waiver forms, the evidence and waiver queues, reports and parameters.
//! Every form posts with the session's CSRF token; the app (and its PDP) decides.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup, PreEscaped};
use serde_json::Value as Json;
use yunjian_app::{
    parse_scope, AppError, EvidenceInput, ReportFormat, ReportKind, MAX_EVIDENCE_BYTES,
};
use yunjian_compliance::{Assessment, Catalog, PartySet, Scope, Source, Status};
use yunjian_core::role::Role;
use yunjian_store::{ComplianceResultRow, ComplianceRun, ResultFilter};

use super::forms::{first, parse_pairs, FormPairs};
use super::i18n::Lang;
use super::pages::{page, section_nav, Frame};
use super::{error_page, html_status, ConsoleAuth};
use crate::wire::timestamp;
use crate::AppState;

type QueryMap = HashMap<String, String>;

fn status_label(lang: Lang, status: &str) -> String {
    match Status::parse(status) {
        Some(status) => match lang {
            Lang::Zh => status.label_zh().to_owned(),
            Lang::En => status.as_str().to_owned(),
        },
        None => status.to_owned(),
    }
}

fn badge(lang: Lang, status: &str) -> Markup {
    html! { span class={ "status status-" (status) } title=(status) { (status_label(lang, status)) } }
}

fn parties(lang: Lang, text: &str) -> String {
    match PartySet::parse_text(text) {
        Some(set) if !set.is_empty() => match lang {
            Lang::Zh => set.label_zh(),
            Lang::En => set
                .iter()
                .map(|party| party.label_en())
                .collect::<Vec<_>>()
                .join(", "),
        },
        _ => "—".to_owned(),
    }
}

/// The scope a reader looks at by default: its unit's, the platform for oversight.
fn own_scope(auth: &ConsoleAuth) -> Scope {
    let principal = &auth.context.principal;
    match principal.role {
        Role::TenantAdmin => principal
            .tenant
            .map_or(Scope::Platform, |t| Scope::Tenant(t.0)),
        Role::ProviderOperator => principal
            .provider
            .map_or(Scope::Platform, |p| Scope::Provider(p.0)),
        _ => Scope::Platform,
    }
}

fn scope_label(lang: Lang, scope: Scope) -> String {
    match scope {
        Scope::Platform => lang.t("全平台", "Platform").to_owned(),
        other => format!(
            "{} #{}",
            lang.pick(other.label_zh(), other.kind()),
            other.id()
        ),
    }
}

fn nav(frame: &Frame<'_>) -> Markup {
    let lang = frame.lang;
    let links = [
        ("/console/compliance", lang.t("合规概览", "Dashboard")),
        ("/console/compliance/catalog", lang.t("条款目录", "Catalog")),
        (
            "/console/compliance/controls",
            lang.t("检查控制", "Controls"),
        ),
        (
            "/console/compliance/evidence",
            lang.t("证据与证明", "Evidence"),
        ),
        ("/console/compliance/waivers", lang.t("豁免", "Waivers")),
        ("/console/compliance/reports", lang.t("报告", "Reports")),
        (
            "/console/compliance/parameters",
            lang.t("参数", "Parameters"),
        ),
    ];
    section_nav(frame, "compliance-nav", &links)
}

/// A stacked bar per run: FAIL, ERROR, MANUAL and the rest, server-rendered SVG.
fn trend_svg(lang: Lang, points: &[(i64, i64, BTreeMap<String, i64>)]) -> Markup {
    if points.is_empty() {
        return html! {};
    }
    let width = 40 * points.len() + 40;
    let height = 140;
    let max = points
        .iter()
        .map(|(_, _, counts)| counts.values().sum::<i64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let groups = [
        ("FAIL", "#c62828"),
        ("ERROR", "#8e24aa"),
        ("MANUAL", "#f9a825"),
        ("REST", "#2e7d32"),
    ];
    let mut bars = String::new();
    for (index, (run, _, counts)) in points.iter().enumerate() {
        let x = 30 + index * 40;
        let mut y = 120.0;
        for (group, color) in groups {
            let count = if group == "REST" {
                counts
                    .iter()
                    .filter(|(status, _)| !["FAIL", "ERROR", "MANUAL"].contains(&status.as_str()))
                    .map(|(_, count)| count)
                    .sum::<i64>()
            } else {
                counts.get(group).copied().unwrap_or(0)
            };
            let h = count as f64 * 110.0 / max as f64;
            y -= h;
            bars.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y:.1}\" width=\"24\" height=\"{h:.1}\" fill=\"{color}\"><title>#{run} {group} {count}</title></rect>"
            ));
        }
        bars.push_str(&format!(
            "<text x=\"{}\" y=\"134\" font-size=\"9\" text-anchor=\"middle\">#{run}</text>",
            x + 12
        ));
    }
    html! {
        figure.trend {
            svg #trend xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) viewBox={ "0 0 " (width) " " (height) } role="img" aria-label=(lang.t("各批次结果趋势", "Results per run")) {
                (PreEscaped(bars))
            }
            figcaption.muted { (lang.t("红：不符合；紫：出错；黄：待证明；绿：其余", "red FAIL, purple ERROR, yellow MANUAL, green the rest")) }
        }
    }
}

fn results_table(
    lang: Lang,
    catalog: &Catalog,
    rows: &[ComplianceResultRow],
    show_scope: bool,
) -> Markup {
    // In the guide's order (7.1.2 before 7.1.10), not the text order of the ids.
    let position: HashMap<&str, usize> = catalog
        .clauses
        .iter()
        .enumerate()
        .map(|(index, clause)| (clause.id.as_str(), index))
        .collect();
    let mut rows: Vec<&ComplianceResultRow> = rows.iter().collect();
    rows.sort_by_key(|row| {
        (
            row.scope_kind.clone(),
            row.scope_id,
            position
                .get(row.clause_id.as_str())
                .copied()
                .unwrap_or(usize::MAX),
        )
    });
    html! {
        table #results {
            thead { tr {
                @if show_scope { th { (lang.t("范围", "Scope")) } }
                th { (lang.t("条款", "Clause")) } th { (lang.t("要求", "Requirement")) } th { (lang.t("状态", "Status")) }
                th { (lang.t("责任方", "Responsible")) } th { (lang.t("须行动方", "Must act")) } th { (lang.t("说明", "Finding")) }
            } }
            tbody {
                @for row in &rows {
                    tr data-clause=(row.clause_id) data-status=(row.status) {
                        @if show_scope { td { (row.scope_kind) ":" (row.scope_id) } }
                        td { a href={ "/console/compliance/clauses/" (row.clause_id) "?scope=" (row.scope_kind) ":" (row.scope_id) } { (row.clause_id) } }
                        td { (catalog.clause(&row.clause_id).map_or_else(String::new, |clause| match lang { Lang::Zh => clause.short_zh(), Lang::En => clause.summary_en.clone() })) }
                        td { (badge(lang, &row.status)) }
                        td { (parties(lang, &row.responsible)) }
                        td { (parties(lang, &row.must_act)) }
                        td { (lang.pick(&row.message_zh, &row.message_en)) }
                    }
                }
            }
        }
    }
}

async fn latest_run(
    state: &AppState,
    auth: &ConsoleAuth,
) -> Result<Option<ComplianceRun>, AppError> {
    match state.app.compliance_run(&auth.context, None).await {
        Ok(run) => Ok(Some(run)),
        Err(AppError::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}

// ---------------------------------------------------------------------------------
// Dashboard

pub async fn dashboard(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    match render_dashboard(&state, &auth, &query, None).await {
        Ok(response) => response,
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn render_dashboard(
    state: &AppState,
    auth: &ConsoleAuth,
    query: &QueryMap,
    notice: Option<&str>,
) -> Result<Response, AppError> {
    let lang = auth.lang;
    let frame = auth.frame();
    let catalog = state.app.compliance_catalog(&auth.context).await?;
    let scope = query
        .get("scope")
        .and_then(|text| parse_scope(text))
        .unwrap_or_else(|| own_scope(auth));
    let status = query
        .get("status")
        .filter(|text| Status::parse(text).is_some())
        .cloned();
    let open_only = query
        .get("open")
        .is_some_and(|value| value == "on" || value == "true");
    let run = latest_run(state, auth).await?;
    let can_run = matches!(
        auth.context.principal.role,
        Role::SystemAdmin | Role::SecurityAdmin | Role::Supervisor
    );
    let (rows, counts, trend) = match &run {
        Some(run) => {
            // One read of the scope's results: the counts take them all, the table the
            // filtered ones.
            let all = state
                .app
                .compliance_results(
                    &auth.context,
                    run.id,
                    &ResultFilter {
                        scope_kind: Some(scope.kind().to_owned()),
                        scope_id: Some(scope.id()),
                        ..ResultFilter::default()
                    },
                    2000,
                    0,
                )
                .await?;
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for row in &all {
                *counts.entry(row.status.clone()).or_default() += 1;
            }
            let rows: Vec<ComplianceResultRow> = all
                .into_iter()
                .filter(|row| status.as_ref().is_none_or(|status| &row.status == status))
                .filter(|row| !open_only || Status::parse(&row.status).is_some_and(Status::is_open))
                .collect();
            let trend = crate::compliance::trend_by_run(
                state.app.compliance_trend(&auth.context, scope, 12).await?,
            );
            (rows, counts, trend)
        }
        None => (Vec::new(), BTreeMap::new(), Vec::new()),
    };
    let overall = Status::roll_up(counts.keys().filter_map(|status| Status::parse(status)));
    // Who must act, over every open result the reader may see (not only this scope).
    let mut acting: BTreeMap<(String, String), usize> = BTreeMap::new();
    if let Some(run) = &run {
        let open = state
            .app
            .compliance_results(
                &auth.context,
                run.id,
                &ResultFilter {
                    open_only: true,
                    ..ResultFilter::default()
                },
                100_000,
                0,
            )
            .await?;
        for row in open.iter().filter(|row| row.scope_kind != "platform") {
            for party in row.must_act.split('+').filter(|party| !party.is_empty()) {
                *acting
                    .entry((party.to_owned(), row.scope_kind.clone()))
                    .or_default() += 1;
            }
        }
    }
    let body = html! {
        h1 { (lang.t("合规检查", "Compliance")) }
        (nav(&frame))
        p.muted { (lang.t(
            "按《重庆市电子政务云平台安全管理指南》全部条款和等保2.0三级云计算扩展要求逐项检查；每项结果给出须行动方和判定依据。不符合 > 出错 > 待证明 > 其余。",
            "Every clause of the Chongqing guide and the MLPS 2.0 level-3 cloud extension, checked; each result names who must act and the evidence that decided it. FAIL > ERROR > MANUAL > the rest."
        )) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        @match &run {
            None => { div.alert.error role="status" { (lang.t("尚无检查结果。", "No run yet.")) } }
            Some(run) => {
                dl.detail #run {
                    dt { (lang.t("检查批次", "Run")) } dd { "#" (run.id) " · " (timestamp(run.started_at_ns)) " · " (run.trigger) }
                    dt { (lang.t("检查资源", "Resources")) } dd { (run.resources) " · " (run.controls) " " (lang.t("项控制", "controls")) " · "
                        (lang.t("载入", "load")) " " (format!("{:.0}", run.load_ms)) " ms · " (lang.t("评估", "evaluate")) " " (format!("{:.0}", run.evaluate_ms)) " ms" }
                    dt { (lang.t("范围", "Scope")) } dd { (scope_label(lang, scope)) }
                    dt { (lang.t("总体状态", "Overall")) } dd #overall { (badge(lang, overall.as_str())) }
                    dt { (lang.t("结果统计", "Counts")) } dd #counts {
                        @for status in Status::ALL {
                            @if let Some(count) = counts.get(status.as_str()) {
                                a href={ "/console/compliance?scope=" (scope) "&status=" (status.as_str()) } { (badge(lang, status.as_str())) " " (count) } " "
                            }
                        }
                    }
                    @if run.control_errors != "[]" { dt { (lang.t("出错的控制", "Control errors")) } dd { code { (run.control_errors) } } }
                }
                (trend_svg(lang, &trend))
                @if !acting.is_empty() {
                    table #acting {
                        caption { (lang.t("待处理结果（不符合、出错、待证明）按须行动方", "Open results (FAIL, ERROR, MANUAL) by who must act")) }
                        thead { tr { th { (lang.t("须行动方", "Must act")) } th { (lang.t("云服务商范围", "Provider scopes")) } th { (lang.t("云租户范围", "Tenant scopes")) } th { (lang.t("信息系统", "Systems")) } } }
                        tbody { @for party in ["provider", "tenant", "management_unit"] {
                            @let count = |kind: &str| acting.get(&(party.to_owned(), kind.to_owned())).copied().unwrap_or(0);
                            @if count("provider") + count("tenant") + count("system") > 0 {
                                tr data-party=(party) {
                                    td { (parties(lang, party)) }
                                    td.num { (count("provider")) } td.num { (count("tenant")) } td.num { (count("system")) }
                                }
                            }
                        } }
                    }
                }
            }
        }
        @if can_run {
            form #run-now method="post" action="/console/compliance/run" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                button type="submit" { (lang.t("立即检查", "Run now")) }
            }
        }
        form.filters method="get" action="/console/compliance" {
            label for="f-scope" { (lang.t("范围", "Scope")) }
            input #f-scope type="text" name="scope" value=(scope.to_string()) placeholder="platform | provider:ID | tenant:ID | system:ID";
            label for="f-status" { (lang.t("状态", "Status")) }
            select #f-status name="status" {
                option value="" { (lang.t("全部（含已豁免）", "all (waived included)")) }
                @for candidate in Status::ALL {
                    option value=(candidate.as_str()) selected[status.as_deref() == Some(candidate.as_str())] { (status_label(lang, candidate.as_str())) }
                }
            }
            label { input type="checkbox" name="open" checked[open_only]; " " (lang.t("仅待处理", "open only")) }
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
        (results_table(lang, &catalog, &rows, false))
    };
    Ok(html_status(
        StatusCode::OK,
        page(&frame, lang.t("合规检查", "Compliance"), body),
    ))
}

pub async fn run_now(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    match state.app.run_compliance(&auth.context).await {
        Ok(summary) => {
            let notice = format!(
                "{} #{}",
                auth.lang.t("检查完成：批次", "Run finished:"),
                summary.run.id
            );
            match render_dashboard(&state, &auth, &QueryMap::new(), Some(&notice)).await {
                Ok(response) => response,
                Err(error) => error_page(auth.lang, error, &auth.context.request_id),
            }
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

// ---------------------------------------------------------------------------------
// Catalog

pub async fn catalog(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let catalog = match state.app.compliance_catalog(&auth.context).await {
        Ok(catalog) => catalog,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let source = query.get("source").and_then(|text| Source::parse(text));
    let scope = own_scope(&auth);
    // Statuses of the reader's scope in the newest run.
    let mut statuses: HashMap<String, String> = HashMap::new();
    if let Ok(Some(run)) = latest_run(&state, &auth).await {
        if let Ok(rows) = state
            .app
            .compliance_results(
                &auth.context,
                run.id,
                &ResultFilter {
                    scope_kind: Some(scope.kind().to_owned()),
                    scope_id: Some(scope.id()),
                    ..ResultFilter::default()
                },
                2000,
                0,
            )
            .await
        {
            statuses = rows
                .into_iter()
                .map(|row| (row.clause_id, row.status))
                .collect();
        }
    }
    let body = html! {
        h1 { (lang.t("条款目录", "Catalog")) }
        (nav(&frame))
        p.muted { (catalog.version) " · " (catalog.requirements().count()) " " (lang.t("条指南条款", "guide clauses")) " · " (catalog.mlps.len()) " " (lang.t("项等保三级云扩展要求", "MLPS level-3 cloud items")) }
        nav.related {
            a href="/console/compliance/catalog" { (lang.t("全部", "All")) }
            a href="/console/compliance/catalog?source=guide" { (lang.t("指南", "Guide")) }
            a href="/console/compliance/catalog?source=mlps" { (lang.t("等保三级", "MLPS level 3")) }
        }
        @if source != Some(Source::Mlps) {
            table #catalog {
                thead { tr {
                    th { (lang.t("条款", "Clause")) } th { (lang.t("要求", "Requirement")) } th { (lang.t("评估方式", "Assessment")) }
                    th { (lang.t("责任方", "Responsible")) } th { (lang.t("等保", "MLPS")) } th { (scope_label(lang, scope)) }
                } }
                tbody {
                    @for section in &catalog.sections {
                        tr.section { td colspan="6" { strong { (section.id) " " (lang.pick(&section.title_zh, &section.title_en)) }
                            @if let Some(printed) = &section.printed_as { " " span.muted { "(" (lang.t("原文编号", "printed as")) " " (printed) ")" } } } }
                        @for clause in catalog.clauses.iter().filter(|clause| clause.section == section.id) {
                            tr data-clause=(clause.id) {
                                td { a href={ "/console/compliance/clauses/" (clause.id) } { (clause.id) } }
                                td { (lang.pick(&clause.short_zh(), &clause.summary_en)) }
                                td { (lang.pick(clause.assessment.label_zh(), clause.assessment.as_str())) }
                                td { (parties(lang, &clause.parties.to_text())) }
                                td { (catalog.mlps_for_clause(&clause.id).map(|item| item.id.clone()).collect::<Vec<_>>().join(" ")) }
                                td { @if let Some(status) = statuses.get(&clause.id) { (badge(lang, status)) } @else if clause.assessment == Assessment::Definition { span.muted { "—" } } }
                            }
                        }
                    }
                }
            }
        }
        @if source != Some(Source::Guide) {
            h2 { (lang.t("等保2.0三级 云计算安全扩展要求（GB/T 22239-2019）", "MLPS 2.0 level 3, cloud extension (GB/T 22239-2019)")) }
            table #mlps {
                thead { tr { th { (lang.t("编号", "Id")) } th { (lang.t("标准条款", "Clause")) } th { (lang.t("层面", "Layer")) } th { (lang.t("控制点", "Control point")) } th { (lang.t("要求", "Requirement")) } th { (lang.t("对应指南条款", "Guide clauses")) } } }
                tbody {
                    @for item in &catalog.mlps {
                        tr {
                            td { (item.id) } td { (item.clause) } td { (item.layer_zh) } td { (item.control_point_zh) }
                            td { (lang.pick(&item.requirement_zh, &item.requirement_en)) }
                            td { @for clause in &item.guide { a href={ "/console/compliance/clauses/" (clause) } { (clause) } " " } }
                        }
                    }
                }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("条款目录", "Catalog"), body),
    )
}

fn evidence_lines(lang: Lang, detail: &str) -> Vec<(String, Vec<(bool, String)>)> {
    let Ok(detail) = serde_json::from_str::<Json>(detail) else {
        return Vec::new();
    };
    detail["outcomes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|outcome| {
            let items = outcome["evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| {
                    (
                        item["failing"] == Json::Bool(true),
                        format!(
                            "{}:{} {} · {} = {} ({} {})",
                            item["kind"].as_str().unwrap_or(""),
                            item["id"],
                            item["name"].as_str().unwrap_or(""),
                            item["field"].as_str().unwrap_or(""),
                            item["value"].as_str().unwrap_or(""),
                            lang.t("应为", "expected"),
                            item["expected"].as_str().unwrap_or("")
                        ),
                    )
                })
                .collect();
            (
                format!(
                    "{} · {} · {}",
                    outcome["control"].as_str().unwrap_or(""),
                    outcome["verdict"].as_str().unwrap_or(""),
                    outcome["message_zh"].as_str().unwrap_or("")
                ),
                items,
            )
        })
        .collect()
}

pub async fn clause(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<String>,
    Query(query): Query<QueryMap>,
) -> Response {
    render_clause(&state, &auth, &id, &query, &[], None).await
}

async fn render_clause(
    state: &AppState,
    auth: &ConsoleAuth,
    id: &str,
    query: &QueryMap,
    errors: &[String],
    notice: Option<&str>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let catalog = match state.app.compliance_catalog(&auth.context).await {
        Ok(catalog) => catalog,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let Some(clause) = catalog.clause(id) else {
        return error_page(lang, AppError::NotFound, &auth.context.request_id);
    };
    let scope = query
        .get("scope")
        .and_then(|text| parse_scope(text))
        .unwrap_or_else(|| own_scope(auth));
    let mut rows = Vec::new();
    if let Ok(Some(run)) = latest_run(state, auth).await {
        if let Ok(found) = state
            .app
            .compliance_results(
                &auth.context,
                run.id,
                &ResultFilter {
                    clause_id: Some(clause.id.clone()),
                    ..ResultFilter::default()
                },
                500,
                0,
            )
            .await
        {
            rows = found;
        }
    }
    // The chosen scope's row first.
    rows.sort_by_key(|row| !(row.scope_kind == scope.kind() && row.scope_id == scope.id()));
    let evidence = state
        .app
        .evidence_list(&auth.context, Some(&clause.id))
        .await
        .unwrap_or_default();
    let controls: Vec<_> = yunjian_compliance::controls::all_builtins()
        .filter(|control| control.clauses.contains(&clause.id.as_str()))
        .collect();
    let parameters = state.app.parameter_values().await.ok();
    let today = yunjian_app::beijing_date(state.app.now_ns());
    let body = html! {
        h1 { (clause.id) " " (clause.short_zh()) }
        (nav(&frame))
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        @for error in errors { div.alert.error role="alert" { (error) } }
        dl.detail #clause {
            dt { (lang.t("原文", "Text (zh)")) } dd { (clause.text_zh) }
            dt { (lang.t("英文摘要", "Summary")) } dd { (clause.summary_en) }
            dt { (lang.t("评估方式", "Assessment")) } dd { (lang.pick(clause.assessment.label_zh(), clause.assessment.as_str())) " · " span.muted { (clause.assessment_note_en) } }
            dt { (lang.t("责任方（指南）", "Responsible (guide)")) } dd { (parties(lang, &clause.parties.to_text())) }
            @if let Some(component) = clause.component.as_ref().and_then(|key| catalog.component(key)) {
                dt { (lang.t("附表组件", "Annex component")) } dd { (lang.pick(&component.zh, &component.en)) " — "
                    @for model in yunjian_compliance::ServiceModel::ALL {
                        (model.label()) ": " (catalog.annex_parties(model, &component.key).map_or_else(String::new, |set| parties(lang, &set.to_text()))) "；"
                    } }
            }
            @if !clause.parameters.is_empty() {
                dt { (lang.t("参数", "Parameters")) } dd {
                    @for key in &clause.parameters { @if let Some(parameter) = catalog.parameter(key) {
                        (lang.pick(&parameter.zh, &parameter.en)) " " (parameter.bound.symbol()) " " (parameter.floor) " " (parameter.unit)
                        @if let Some(values) = &parameters { " · " (lang.t("当前", "current")) " " (values.get(key)) } br;
                    } }
                }
            }
            dt { (lang.t("等保三级", "MLPS level 3")) } dd { @for item in catalog.mlps_for_clause(&clause.id) { (item.id) " " (item.requirement_zh) br; } }
            @if !clause.related.is_empty() { dt { (lang.t("相关条款", "Related")) } dd { @for related in &clause.related { a href={ "/console/compliance/clauses/" (related) } { (related) } " " } } }
            @if let Some(note) = &clause.note { dt { (lang.t("说明", "Note")) } dd { (note) } }
            dt { (lang.t("自动检查", "Controls")) } dd { @if controls.is_empty() { span.muted { (lang.t("无：须上传证据并经第二人批准", "none: attach evidence for a second person to approve")) } }
                @for control in &controls { code { (control.id) } " " (lang.pick(control.title_zh, control.title_en)) br; } }
        }
        h2 { (lang.t("检查结果", "Results")) }
        table #clause-results {
            thead { tr { th { (lang.t("范围", "Scope")) } th { (lang.t("状态", "Status")) } th { (lang.t("须行动方", "Must act")) } th { (lang.t("说明与证据", "Finding and evidence")) } } }
            tbody {
                @for row in &rows {
                    tr data-scope={ (row.scope_kind) ":" (row.scope_id) } {
                        td { (row.scope_kind) ":" (row.scope_id) }
                        td { (badge(lang, &row.status)) }
                        td { (parties(lang, &row.must_act)) }
                        td {
                            (lang.pick(&row.message_zh, &row.message_en))
                            @for (head, items) in evidence_lines(lang, &row.detail) {
                                details { summary { (head) }
                                    ul.evidence { @for (failing, line) in items { li class=[failing.then_some("failing")] { (line) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("证据", "Evidence")) }
        table #clause-evidence {
            thead { tr { th { "ID" } th { (lang.t("范围", "Scope")) } th { (lang.t("文件", "File")) } th { "SM3" } th { (lang.t("有效至", "Valid until")) } th { (lang.t("状态", "State")) } } }
            tbody { @for item in &evidence { tr {
                td { (item.id) } td { (item.scope_kind) ":" (item.scope_id) }
                td { a href={ "/console/compliance/evidence/" (item.id) "/file" } { (item.file_name) } }
                td { code { (&item.sm3[..16.min(item.sm3.len())]) "…" } }
                td { (timestamp(item.valid_until_ns)) } td { (item.state) }
            } } }
        }
        @if clause.assessment != Assessment::Definition && auth.context.principal.role != Role::Auditor && auth.context.principal.role != Role::SecurityAuditor {
            h2 { (lang.t("上传证据", "Attach evidence")) }
            form #evidence-form method="post" action="/console/compliance/evidence" enctype="multipart/form-data" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                input type="hidden" name="clause" value=(clause.id);
                div.form-grid {
                    label.name for="e-scope" { (lang.t("范围", "Scope")) " *" }
                    input #e-scope type="text" name="scope" value=(scope.to_string()) required;
                    label.name for="e-file" { (lang.t("文件（≤8 MiB）", "File (≤ 8 MiB)")) " *" }
                    input #e-file type="file" name="file" required;
                    label.name for="e-observed" { (lang.t("证据日期", "Observed on")) " *" }
                    input #e-observed type="date" name="observed_on" value=(today.to_string()) required;
                    label.name for="e-valid" { (lang.t("有效至", "Valid until")) " *" }
                    input #e-valid type="date" name="valid_until" value=(today.checked_add_months(chrono::Months::new(12)).unwrap_or(today).to_string()) required;
                    label.name for="e-note" { (lang.t("说明", "Note")) }
                    input #e-note type="text" name="note" maxlength="2000";
                    div {} div { button type="submit" { (lang.t("上传", "Upload")) } }
                }
            }
            h2 { (lang.t("申请豁免", "Request a waiver")) }
            form #waiver-form method="post" action="/console/compliance/waivers" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                input type="hidden" name="clause" value=(clause.id);
                div.form-grid {
                    label.name for="w-scope" { (lang.t("范围", "Scope")) " *" }
                    input #w-scope type="text" name="scope" value=(scope.to_string()) required;
                    label.name for="w-justification" { (lang.t("理由与整改计划", "Justification and plan")) " *" }
                    textarea #w-justification name="justification" required minlength="10" maxlength="2000" {}
                    label.name for="w-days" { (lang.t("有效天数（≤366）", "Days (≤ 366)")) " *" }
                    input #w-days type="number" name="days" min="1" max="366" value="90" required;
                    div {} div { button type="submit" { (lang.t("提交管理单位审批", "Ask the management unit")) } }
                }
            }
        }
    };
    html_status(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        page(&frame, &clause.id, body),
    )
}

fn messages(error: &AppError) -> Option<Vec<String>> {
    match error {
        AppError::Invalid(errors) => Some(
            errors
                .iter()
                .map(|error| format!("{}: {}", error.field, error.message))
                .collect(),
        ),
        _ => None,
    }
}

/// After a form: the page again with a notice or the field errors, the step-up page, or
/// an error page.
async fn after_clause_form<T>(
    state: &AppState,
    auth: &ConsoleAuth,
    clause: &str,
    result: Result<T, AppError>,
    done: &str,
) -> Response {
    match result {
        Ok(_) => render_clause(state, auth, clause, &QueryMap::new(), &[], Some(done)).await,
        Err(error) => match messages(&error) {
            Some(errors) => {
                render_clause(state, auth, clause, &QueryMap::new(), &errors, None).await
            }
            None => super::failure(auth, error),
        },
    }
}

// ---------------------------------------------------------------------------------
// Evidence

pub async fn upload_evidence(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    mut multipart: Multipart,
) -> Response {
    let mut pairs: FormPairs = Vec::new();
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                if name == "file" {
                    let file_name = field.file_name().unwrap_or("").to_owned();
                    let media = field
                        .content_type()
                        .unwrap_or("application/octet-stream")
                        .to_owned();
                    match field.bytes().await {
                        Ok(bytes) => file = Some((file_name, media, bytes.to_vec())),
                        Err(_) => return too_large(&auth),
                    }
                } else {
                    match field.text().await {
                        Ok(text) => pairs.push((name, text)),
                        Err(_) => return too_large(&auth),
                    }
                }
            }
            Ok(None) => break,
            Err(_) => return too_large(&auth),
        }
    }
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let clause = first(&pairs, "clause").unwrap_or("").to_owned();
    let result = (|| -> Result<EvidenceInput, AppError> {
        let scope = parse_scope(first(&pairs, "scope").unwrap_or("")).ok_or_else(|| {
            AppError::invalid(
                "scope",
                "invalid_scope",
                "platform, provider:ID, tenant:ID or system:ID",
            )
        })?;
        let valid_until =
            yunjian_core::audit::parse_operator_time(first(&pairs, "valid_until").unwrap_or(""))
                .ok_or_else(|| AppError::invalid("valid_until", "invalid_time", "a date"))?;
        let (file_name, media_type, content) = file
            .clone()
            .ok_or_else(|| AppError::invalid("file", "required", "choose a file"))?;
        Ok(EvidenceInput {
            clause_id: clause.clone(),
            scope,
            file_name,
            media_type,
            content,
            observed_on: first(&pairs, "observed_on").unwrap_or("").to_owned(),
            note: first(&pairs, "note").unwrap_or("").to_owned(),
            valid_until_ns: valid_until,
        })
    })();
    let result = match result {
        Ok(input) => state.app.submit_evidence(&auth.context, input).await,
        Err(error) => Err(error),
    };
    let done = auth.lang.t(
        "证据已上传，等待第二人批准。",
        "Uploaded; a second person approves it.",
    );
    after_clause_form(&state, &auth, &clause, result, done).await
}

fn too_large(auth: &ConsoleAuth) -> Response {
    html_status(
        StatusCode::PAYLOAD_TOO_LARGE,
        super::pages::message_page(
            auth.lang,
            auth.lang.t("文件过大", "File too large"),
            &format!(
                "{} {} MiB",
                auth.lang
                    .t("证据文件不得超过", "Evidence files are at most"),
                MAX_EVIDENCE_BYTES / 1024 / 1024
            ),
        ),
    )
}

pub async fn evidence(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_evidence(&state, &auth, None).await
}

async fn render_evidence(state: &AppState, auth: &ConsoleAuth, notice: Option<&str>) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let items = match state.app.evidence_list(&auth.context, None).await {
        Ok(items) => items,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let me = auth.context.principal.account_id;
    let decider = matches!(
        auth.context.principal.role,
        Role::SecurityAdmin | Role::Supervisor
    );
    let now = state.app.now_ns();
    let body = html! {
        h1 { (lang.t("证据与证明", "Evidence and attestation")) }
        (nav(&frame))
        p.muted { (lang.t("证据文件以 SM3 摘要保存；须由提交人以外的管理单位或安全管理员批准后，才在有效期内证明该条款（已证明）。", "Evidence is kept with its SM3 digest; it attests the clause (ATTESTED) until it expires, once someone other than the submitter approves it.")) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        table #evidence {
            thead { tr { th { "ID" } th { (lang.t("条款", "Clause")) } th { (lang.t("范围", "Scope")) } th { (lang.t("文件", "File")) } th { "SM3" }
                th { (lang.t("证据日期", "Observed")) } th { (lang.t("有效至", "Valid until")) } th { (lang.t("提交人", "By")) } th { (lang.t("状态", "State")) } th {} } }
            tbody { @for item in &items { tr data-state=(item.state) {
                td { (item.id) }
                td { a href={ "/console/compliance/clauses/" (item.clause_id) } { (item.clause_id) } }
                td { (item.scope_kind) ":" (item.scope_id) }
                td { a href={ "/console/compliance/evidence/" (item.id) "/file" } { (item.file_name) } " " span.muted { (item.size_bytes) " B" } }
                td { code title=(item.sm3) { (&item.sm3[..16.min(item.sm3.len())]) "…" } }
                td { (item.observed_on) }
                td { (timestamp(item.valid_until_ns)) @if item.valid_until_ns <= now { " " span.tag.failed { (lang.t("已过期", "expired")) } } }
                td { (item.submitted_by.0) }
                td { (item.state) @if let Some(note) = &item.decision_note { " " span.muted { (note) } } }
                td { @if decider && item.state == "submitted" && item.submitted_by != me {
                    (decision_forms(&frame, &format!("/console/compliance/evidence/{}", item.id), &[("approve", "批准", "Approve"), ("reject", "驳回", "Reject")]))
                } }
            } } }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("证据与证明", "Evidence"), body),
    )
}

/// One small form per decision (`BASE/VERB`), each with the CSRF token and a note.
fn decision_forms(
    frame: &Frame<'_>,
    base: &str,
    verbs: &[(&str, &'static str, &'static str)],
) -> Markup {
    let lang = frame.lang;
    html! {
        @for (verb, zh, en) in verbs {
            form.inline method="post" action={ (base) "/" (verb) } {
                input type="hidden" name="_csrf" value=(frame.csrf);
                input type="text" name="note" placeholder=(lang.t("意见", "note"));
                button type="submit" class=(verb) { (lang.t(zh, en)) }
            }
        }
    }
}

pub async fn decide_evidence(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path((id, verb)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let approve = match verb.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return error_page(auth.lang, AppError::NotFound, &auth.context.request_id),
    };
    let note = first(&pairs, "note").unwrap_or("");
    match state
        .app
        .decide_evidence(&auth.context, id, approve, note)
        .await
    {
        Ok(_) => render_evidence(&state, &auth, Some(auth.lang.t("已处理。", "Done."))).await,
        Err(error) => super::failure(&auth, error),
    }
}

pub async fn evidence_file(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<i64>,
) -> Response {
    match state.app.evidence_file(&auth.context, id).await {
        Ok((evidence, content)) => crate::compliance::download(
            content,
            "application/octet-stream",
            &evidence.file_name,
            Some(&evidence.sm3),
        ),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

// ---------------------------------------------------------------------------------
// Waivers

pub async fn waivers(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_waivers(&state, &auth, None).await
}

async fn render_waivers(state: &AppState, auth: &ConsoleAuth, notice: Option<&str>) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let items = match state.app.waivers(&auth.context).await {
        Ok(items) => items,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let me = auth.context.principal.account_id;
    let supervisor = auth.context.principal.role == Role::Supervisor;
    let now = state.app.now_ns();
    let body = html! {
        h1 { (lang.t("豁免", "Waivers")) }
        (nav(&frame))
        p.muted { (lang.t("豁免由管理单位批准，附理由与期限；到期后结果恢复为不符合或待证明。已豁免的结果在概览中以“已豁免”筛选可见。", "The management unit approves a waiver with its justification and expiry; when it expires the result is open again. Waived results stay visible (filter WAIVED).")) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        table #waivers {
            thead { tr { th { "ID" } th { (lang.t("条款", "Clause")) } th { (lang.t("范围", "Scope")) } th { (lang.t("理由", "Justification")) }
                th { (lang.t("到期", "Expires")) } th { (lang.t("申请人", "By")) } th { (lang.t("状态", "State")) } th {} } }
            tbody { @for item in &items {
                @let expired = item.state == "approved" && item.expires_at_ns <= now;
                tr data-state=(if expired { "expired" } else { item.state.as_str() }) {
                    td { (item.id) }
                    td { a href={ "/console/compliance/clauses/" (item.clause_id) "?scope=" (item.scope_kind) ":" (item.scope_id) } { (item.clause_id) } }
                    td { (item.scope_kind) ":" (item.scope_id) }
                    td { (item.justification) }
                    td { (timestamp(item.expires_at_ns)) }
                    td { (item.requested_by.0) }
                    td { @if expired { (lang.t("已过期", "expired")) } @else { (item.state) } @if let Some(note) = &item.decision_note { " " span.muted { (note) } } }
                    td { @if supervisor && item.requested_by != me {
                        @let verbs: &[(&str, &str, &str)] = if item.state == "requested" { &[("approve", "批准", "Approve"), ("reject", "驳回", "Reject")] } else if item.state == "approved" && !expired { &[("revoke", "撤销", "Revoke")] } else { &[] };
                        (decision_forms(&frame, &format!("/console/compliance/waivers/{}", item.id), verbs))
                    } }
                }
            } }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("豁免", "Waivers"), body),
    )
}

pub async fn request_waiver(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let mut map = serde_json::Map::new();
    for key in ["clause", "scope", "justification"] {
        if let Some(value) = first(&pairs, key) {
            map.insert(key.into(), Json::String(value.trim().to_owned()));
        }
    }
    super::access::insert_numbers(&mut map, &pairs, &["days"]);
    let clause = first(&pairs, "clause").unwrap_or("").to_owned();
    let result = match crate::compliance::waiver_input(&map, state.app.now_ns()) {
        Ok(input) => state.app.request_waiver(&auth.context, input).await,
        Err(error) => Err(error),
    };
    let done = auth.lang.t(
        "已提交，等待管理单位审批。",
        "Requested; the management unit decides.",
    );
    after_clause_form(&state, &auth, &clause, result, done).await
}

pub async fn decide_waiver(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path((id, verb)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let note = first(&pairs, "note").unwrap_or("");
    match state
        .app
        .decide_waiver(&auth.context, id, &verb, note)
        .await
    {
        Ok(_) => render_waivers(&state, &auth, Some(auth.lang.t("已处理。", "Done."))).await,
        Err(error) => super::failure(&auth, error),
    }
}

// ---------------------------------------------------------------------------------
// Reports

pub async fn reports(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let runs = match state.app.compliance_runs(&auth.context, 20).await {
        Ok(runs) => runs,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let scope = own_scope(&auth);
    let oversight = scope == Scope::Platform;
    let mut choices: Vec<(String, String, String)> = vec![(
        "compliance".into(),
        scope.to_string(),
        format!(
            "{} · {}",
            lang.t("合规报告", "Compliance report"),
            scope_label(lang, scope)
        ),
    )];
    if let Scope::Provider(id) = scope {
        choices.push((
            "provider_periodic".into(),
            format!("provider:{id}"),
            lang.t(
                "云租户安全情况及资源使用报告（7.1.5）",
                "Periodic report of tenants (7.1.5)",
            )
            .into(),
        ));
    }
    if oversight {
        choices.push((
            "scorecard".into(),
            String::new(),
            lang.t("云服务商考核记分卡（8.2.1）", "Provider scorecard (8.2.1)")
                .into(),
        ));
    }
    let body = html! {
        h1 { (lang.t("报告", "Reports")) }
        (nav(&frame))
        p.muted { (lang.t("报告可导出为 PDF（中文，嵌入字体）、XLSX、CSV、JSON；证据包含全部格式、已批准证据和原始结果，附 SM3 摘要清单与 SM2 签名，可用 yunjian evidence verify 离线验证。", "Reports export as PDF (Chinese, font embedded), XLSX, CSV and JSON; an evidence package holds every format, the approved evidence and the raw results with a manifest of SM3 digests signed with SM2, verified offline by `yunjian evidence verify`.")) }
        @if runs.is_empty() { div.alert.error { (lang.t("尚无检查结果。", "No run yet.")) } }
        @else {
            table #reports {
                thead { tr { th { (lang.t("报告", "Report")) } th { (lang.t("下载", "Download")) } } }
                tbody { @for (kind, scope, label) in &choices { tr {
                    td { (label) }
                    td {
                        @for format in ["pdf", "xlsx", "csv", "json"] {
                            a href={ "/console/compliance/reports/" (kind) "?scope=" (scope) "&format=" (format) } { (format.to_uppercase()) } " "
                        }
                        a href={ "/console/compliance/evidence-package/" (kind) "?scope=" (scope) } { (lang.t("证据包", "Evidence package")) }
                    }
                } } }
            }
            @if oversight {
                form.filters method="get" action="/console/compliance/reports/compliance" {
                    label for="r-scope" { (lang.t("其他范围", "Another scope")) }
                    input #r-scope type="text" name="scope" placeholder="provider:ID | tenant:ID" required;
                    select name="format" { @for format in ["pdf", "xlsx", "csv", "json"] { option value=(format) { (format) } } }
                    button type="submit" { (lang.t("下载", "Download")) }
                }
                form.filters method="get" action="/console/compliance/reports/provider_periodic" {
                    label for="p-scope" { (lang.t("云服务商定期报告", "Provider periodic report")) }
                    input #p-scope type="text" name="scope" placeholder="provider:ID" required;
                    select name="format" { @for format in ["pdf", "xlsx", "csv", "json"] { option value=(format) { (format) } } }
                    button type="submit" { (lang.t("下载", "Download")) }
                }
            }
            h2 { (lang.t("检查批次", "Runs")) }
            table #runs {
                thead { tr { th { "ID" } th { (lang.t("时间", "Started")) } th { (lang.t("触发", "Trigger")) } th { (lang.t("资源", "Resources")) } th { (lang.t("用时", "Time")) } th {} } }
                tbody { @for (index, run) in runs.iter().enumerate() { tr {
                    td { (run.id) } td { (timestamp(run.started_at_ns)) } td { (run.trigger) } td { (run.resources) }
                    td { (format!("{:.0} + {:.0} ms", run.load_ms, run.evaluate_ms)) }
                    td { @if let Some(previous) = runs.get(index + 1) {
                        a href={ "/console/compliance/diff?from=" (previous.id) "&to=" (run.id) } { (lang.t("与上一批次比较", "changes since the previous run")) }
                    } }
                } } }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("报告", "Reports"), body),
    )
}

fn report_kind(kind: &str, query: &QueryMap) -> Result<ReportKind, AppError> {
    let scope = query
        .get("scope")
        .filter(|text| !text.is_empty())
        .and_then(|text| parse_scope(text));
    ReportKind::parse(kind, scope)
        .ok_or_else(|| AppError::invalid("scope", "invalid_scope", "choose a report and its scope"))
}

pub async fn report_file(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(kind): Path<String>,
    Query(query): Query<QueryMap>,
) -> Response {
    let result = async {
        let kind = report_kind(&kind, &query)?;
        let format = ReportFormat::parse(query.get("format").map_or("pdf", String::as_str))
            .ok_or_else(|| {
                AppError::invalid("format", "unknown_value", "pdf, xlsx, csv or json")
            })?;
        let (report, run) = state
            .app
            .compliance_report(&auth.context, kind, None)
            .await?;
        let content = state.app.render_report(&report, format)?;
        Ok::<Response, AppError>(crate::compliance::download(
            content,
            format.media_type(),
            &format!("{}-run{}.{}", kind.slug(), run.id, format.extension()),
            None,
        ))
    }
    .await;
    result.unwrap_or_else(|error| error_page(auth.lang, error, &auth.context.request_id))
}

pub async fn evidence_package(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(kind): Path<String>,
    Query(query): Query<QueryMap>,
) -> Response {
    let result = async {
        let kind = report_kind(&kind, &query)?;
        let package = state
            .app
            .evidence_package(&auth.context, kind, None)
            .await?;
        Ok::<Response, AppError>(crate::compliance::download(
            package,
            "application/x-tar",
            &format!("{}-evidence.tar", kind.slug()),
            None,
        ))
    }
    .await;
    result.unwrap_or_else(|error| error_page(auth.lang, error, &auth.context.request_id))
}

// ---------------------------------------------------------------------------------
// Parameters

pub async fn parameters(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_parameters(&state, &auth, None, &[]).await
}

async fn render_parameters(
    state: &AppState,
    auth: &ConsoleAuth,
    notice: Option<&str>,
    errors: &[String],
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let (catalog, configured) = match state.app.compliance_parameters(&auth.context).await {
        Ok(found) => found,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let can_set = matches!(
        auth.context.principal.role,
        Role::SecurityAdmin | Role::Supervisor
    );
    let body = html! {
        h1 { (lang.t("检查参数", "Parameters")) }
        (nav(&frame))
        p.muted { (lang.t("参数以指南要求为下限；可设得更严。若设得比下限宽松，使用该参数的每项检查均判为不符合。修改须验证动态口令并记入审计。", "Parameters take the guide's values as floors and may be stricter; a value looser than its floor makes every control that uses it FAIL. Changes need a step-up and are audited.")) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        @for error in errors { div.alert.error role="alert" { (error) } }
        table #parameters {
            thead { tr { th { (lang.t("参数", "Parameter")) } th { (lang.t("指南下限", "Guide's floor")) } th { (lang.t("当前值", "Value")) } th { (lang.t("条款", "Clauses")) } th { (lang.t("依据", "Basis")) } th {} } }
            tbody { @for parameter in &catalog.parameters {
                @let set = configured.iter().find(|row| row.parameter == parameter.key);
                @let value = set.map_or(parameter.floor, |row| row.value);
                @let loose = !parameter.bound.holds(value, parameter.floor);
                tr data-parameter=(parameter.key) {
                    td { (lang.pick(&parameter.zh, &parameter.en)) br; code { (parameter.key) } }
                    td { (parameter.bound.symbol()) " " (parameter.floor) " " (parameter.unit) }
                    td { (value) @if loose { " " span.tag.failed { (lang.t("宽于下限", "looser than floor")) } } }
                    td { @for clause in &parameter.clauses { a href={ "/console/compliance/clauses/" (clause) } { (clause) } " " } }
                    td.muted { (parameter.basis) }
                    td { @if can_set {
                        form.inline method="post" action="/console/compliance/parameters" {
                            input type="hidden" name="_csrf" value=(frame.csrf);
                            input type="hidden" name="parameter" value=(parameter.key);
                            input type="number" step="any" name="value" value=(value) required;
                            button type="submit" { (lang.t("设置", "Set")) }
                        }
                    } }
                }
            } }
        }
    };
    html_status(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        page(&frame, lang.t("检查参数", "Parameters"), body),
    )
}

pub async fn set_parameter(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let key = first(&pairs, "parameter").unwrap_or("");
    let Some(value) = first(&pairs, "value").and_then(|text| text.trim().parse::<f64>().ok())
    else {
        return render_parameters(&state, &auth, None, &["value: a number".to_owned()]).await;
    };
    match state
        .app
        .set_compliance_parameter(&auth.context, key, value)
        .await
    {
        Ok(_) => {
            render_parameters(
                &state,
                &auth,
                Some(
                    auth.lang
                        .t("已设置，下次检查生效。", "Set; the next run uses it."),
                ),
                &[],
            )
            .await
        }
        Err(error) => match messages(&error) {
            Some(errors) => render_parameters(&state, &auth, None, &errors).await,
            None => super::failure(&auth, error),
        },
    }
}

// ---------------------------------------------------------------------------------
// Controls: built-in and custom (Rego)

pub async fn controls(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_controls(&state, &auth, None, &[], None).await
}

const CUSTOM_EXAMPLE: &str = r#"package yunjian.custom

# RDP (3389) is never open to the whole internet.
violations contains v if {
    some rule in input.security_group_rules
    rule.direction == "ingress"
    rule.action == "allow"
    rule.remote_cidr == "0.0.0.0/0"
    rule.port_from <= 3389
    rule.port_to >= 3389
    v := {"kind": "security_group_rule", "id": rule.id, "message": "RDP open to the world"}
}
"#;

async fn render_controls(
    state: &AppState,
    auth: &ConsoleAuth,
    notice: Option<&str>,
    errors: &[String],
    draft: Option<&FormPairs>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let custom = match state.app.custom_controls(&auth.context).await {
        Ok(custom) => custom,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let can_configure = matches!(
        auth.context.principal.role,
        Role::SecurityAdmin | Role::Supervisor
    );
    let value = |key: &str, default: &str| -> String {
        draft
            .and_then(|pairs| first(pairs, key))
            .unwrap_or(default)
            .to_owned()
    };
    let body = html! {
        h1 { (lang.t("检查控制", "Controls")) }
        (nav(&frame))
        h2 { (lang.t("内置控制", "Built-in")) }
        table #builtin-controls {
            thead { tr { th { "ID" } th { (lang.t("检查内容", "Checks")) } th { (lang.t("条款", "Clauses")) } th { (lang.t("参数", "Parameters")) } } }
            tbody { @for control in yunjian_compliance::controls::all_builtins() { tr {
                td { code { (control.id) } } td { (lang.pick(control.title_zh, control.title_en)) }
                td { @for clause in control.clauses { a href={ "/console/compliance/clauses/" (clause) } { (clause) } " " } }
                td { (control.parameters.join(", ")) }
            } } }
        }
        h2 { (lang.t("自定义控制（Rego）", "Custom controls (Rego)")) }
        p.muted { (lang.t("无需重新编译即可增加检查：Rego 规则（package yunjian.custom），以 violations 集合给出不符合的对象；上传时校验，按版本保存并记入审计。", "Add checks without recompiling: a Rego module (package yunjian.custom) whose `violations` set names the failing objects; validated at upload, versioned, audited.")) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        @for error in errors { div.alert.error role="alert" { (error) } }
        table #custom-controls {
            thead { tr { th { "ID" } th { (lang.t("版本", "Version")) } th { (lang.t("标题", "Title")) } th { (lang.t("条款", "Clauses")) } th { (lang.t("读取", "Reads")) } th { "SM3" } th { (lang.t("状态", "State")) } th {} } }
            tbody { @for row in &custom { tr {
                td { code { (row.control_id) } } td { (row.version) } td { (lang.pick(&row.title_zh, &row.title_en)) }
                td { (row.clauses) } td { (row.kinds) } td { code { (&row.sm3[..16.min(row.sm3.len())]) "…" } }
                td { @if row.retired_at_ns.is_some() { (lang.t("已停用", "retired")) } @else { (lang.t("启用", "active")) } }
                td { @if can_configure && row.retired_at_ns.is_none() {
                    form.inline method="post" action={ "/console/compliance/controls/" (row.control_id) "/retire" } {
                        input type="hidden" name="_csrf" value=(frame.csrf);
                        button type="submit" { (lang.t("停用", "Retire")) }
                    }
                } }
            } } }
        }
        @if can_configure {
            h2 { (lang.t("上传自定义控制", "Upload a custom control")) }
            form #control-form method="post" action="/console/compliance/controls" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                div.form-grid {
                    label.name for="c-id" { "ID *" }
                    input #c-id type="text" name="id" value=(value("id", "custom.")) required;
                    label.name for="c-title-zh" { (lang.t("中文标题", "Title (zh)")) " *" }
                    input #c-title-zh type="text" name="title_zh" value=(value("title_zh", "")) required;
                    label.name for="c-title-en" { (lang.t("英文标题", "Title (en)")) " *" }
                    input #c-title-en type="text" name="title_en" value=(value("title_en", "")) required;
                    label.name for="c-clauses" { (lang.t("条款（逗号分隔）", "Clauses (comma-separated)")) " *" }
                    input #c-clauses type="text" name="clauses" value=(value("clauses", "")) required;
                    label.name for="c-kinds" { (lang.t("读取的对象类型（逗号分隔）", "Kinds read (comma-separated)")) " *" }
                    input #c-kinds type="text" name="kinds" value=(value("kinds", "security_group_rules")) required;
                    label.name for="c-source" { "Rego *" }
                    textarea #c-source name="source" rows="14" required { (value("source", CUSTOM_EXAMPLE)) }
                    div {} div { button type="submit" { (lang.t("校验并上传", "Validate and upload")) } }
                }
            }
        }
    };
    html_status(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        page(&frame, lang.t("检查控制", "Controls"), body),
    )
}

fn split_list(text: &str) -> Vec<String> {
    text.split([',', '，', ' '])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

pub async fn upload_control(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let get = |key: &str| first(&pairs, key).unwrap_or("").to_owned();
    let result = state
        .app
        .upload_custom_control(
            &auth.context,
            get("id").trim(),
            &get("title_zh"),
            &get("title_en"),
            &split_list(&get("clauses")),
            &split_list(&get("kinds")),
            &get("source"),
        )
        .await;
    match result {
        Ok(row) => {
            let notice = format!(
                "{} {} v{}",
                auth.lang.t("已上传：", "Uploaded:"),
                row.control_id,
                row.version
            );
            render_controls(&state, &auth, Some(&notice), &[], None).await
        }
        Err(error) => match messages(&error) {
            Some(errors) => render_controls(&state, &auth, None, &errors, Some(&pairs)).await,
            None => super::failure(&auth, error),
        },
    }
}

pub async fn retire_control(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    match state.app.retire_custom_control(&auth.context, &id).await {
        Ok(_) => {
            render_controls(
                &state,
                &auth,
                Some(auth.lang.t("已停用。", "Retired.")),
                &[],
                None,
            )
            .await
        }
        Err(error) => super::failure(&auth, error),
    }
}

// ---------------------------------------------------------------------------------
// Differences between two runs

pub async fn diff(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let number = |key: &str| query.get(key).and_then(|text| text.parse::<i64>().ok());
    let (Some(from), Some(to)) = (number("from"), number("to")) else {
        return error_page(
            lang,
            AppError::invalid("from", "required", "choose two runs"),
            &auth.context.request_id,
        );
    };
    let changes = match state.app.compliance_diff(&auth.context, from, to).await {
        Ok(changes) => changes,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let body = html! {
        h1 { (lang.t("批次间变化", "Changes between runs")) " #" (from) " → #" (to) }
        (nav(&frame))
        p.muted { (changes.len()) " " (lang.t("项结果状态发生变化（仅限您可见的范围）。", "results changed status (in your scope).")) }
        table #diff {
            thead { tr { th { (lang.t("范围", "Scope")) } th { (lang.t("条款", "Clause")) } th { (lang.t("之前", "Before")) } th { (lang.t("之后", "After")) } } }
            tbody { @for change in &changes { tr {
                td { (change.scope_kind) ":" (change.scope_id) }
                td { a href={ "/console/compliance/clauses/" (change.clause_id) "?scope=" (change.scope_kind) ":" (change.scope_id) } { (change.clause_id) } }
                td { @if let Some(before) = &change.before { (badge(lang, before)) } @else { "—" } }
                td { @if let Some(after) = &change.after { (badge(lang, after)) } @else { "—" } }
            } } }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("批次间变化", "Changes between runs"), body),
    )
}
