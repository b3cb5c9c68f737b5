//! Console pages of the security event centre (态势感知): the situational overview with
//! server-rendered SVG charts, the live event search, the incident board and an
//! incident's page (timeline, alerts, workflow, re-grading, report), rule management
//! with a test-against-samples button, and sources, unknown senders, key tenants and
//! webhooks. Reads are scoped by the app; every form posts the session's CSRF token.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup, PreEscaped};
use yunjian_app::{
    phase_label, AppError, EventOverview, EventSettingsInput, LineFormat, RegradeInput, RuleHit,
    RuleSample, PHASES, SOURCE_KINDS,
};
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_store::{IncidentFilter, IncidentRecord, Tally};

use super::forms::{first, parse_pairs};
use super::i18n::Lang;
use super::pages::{page, section_nav, urlencode, Frame};
use super::provider::names;
use super::{error_page, failure, html_status, ConsoleAuth};
use crate::AppState;

type QueryMap = HashMap<String, String>;

fn nav(frame: &Frame<'_>) -> Markup {
    let lang = frame.lang;
    let links = [
        ("/console/soc", lang.t("态势感知", "Situation")),
        ("/console/soc/events", lang.t("事件检索", "Event search")),
        (
            "/console/soc/incidents",
            lang.t("告警与事件处置", "Alerts and incidents"),
        ),
        ("/console/soc/rules", lang.t("检测规则", "Detection rules")),
        (
            "/console/soc/sources",
            lang.t("日志源与通知", "Sources and notifications"),
        ),
    ];
    section_nav(frame, "soc-nav", &links)
}

fn oversees(auth: &ConsoleAuth) -> bool {
    matches!(
        auth.context.principal.role,
        Role::SecurityAdmin | Role::Supervisor
    )
}

fn beijing(ns: i64) -> String {
    yunjian_app::beijing_time(ns)
}

fn name_or_id(names: &BTreeMap<i64, String>, id: Option<i64>) -> String {
    match id {
        None => "—".to_owned(),
        Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
    }
}

fn grade_class(grade: &str) -> &'static str {
    match grade {
        "I" => "grade-1",
        "II" => "grade-2",
        "III" => "grade-3",
        _ => "grade-4",
    }
}

// ---------------------------------------------------------------------------------
// Situational overview

/// Horizontal bars of a tally, server-rendered SVG.
fn tally_chart(title: &str, tallies: &[Tally], label: &dyn Fn(Option<&str>) -> String) -> Markup {
    if tallies.is_empty() {
        return html! { figure.tally { figcaption { (title) } p.muted { "—" } } };
    }
    let max = tallies
        .iter()
        .map(|tally| tally.count)
        .max()
        .unwrap_or(1)
        .max(1);
    let height = 18 * tallies.len() + 6;
    let mut shapes = String::new();
    for (index, tally) in tallies.iter().enumerate() {
        let y = 4 + index * 18;
        let width = (tally.count as f64 / max as f64 * 220.0).max(1.0);
        let name = label(tally.key.as_deref());
        shapes.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"10\">{}</text><rect x=\"150\" y=\"{y}\" width=\"{width:.1}\" height=\"13\" fill=\"#c62828\"><title>{} {}</title></rect><text x=\"{:.1}\" y=\"{}\" font-size=\"10\">{}</text>",
            y + 10,
            html! { (name.chars().take(22).collect::<String>()) }.into_string(),
            html! { (name) }.into_string(),
            tally.count,
            154.0 + width,
            y + 10,
            tally.count
        ));
    }
    html! {
        figure.tally {
            svg xmlns="http://www.w3.org/2000/svg" width="420" height=(height) viewBox={ "0 0 420 " (height) } role="img" aria-label=(title) {
                (PreEscaped(shapes))
            }
            figcaption { (title) }
        }
    }
}

/// Events and alerts per bucket, two bar series.
fn series_chart(lang: Lang, overview: &EventOverview) -> Markup {
    let points = &overview.series;
    if points.is_empty() {
        return html! { p.muted { (lang.t("所选时段内没有事件。", "No events in the period.")) } };
    }
    let width = 14 * points.len() + 60;
    let max = points
        .iter()
        .map(|(_, events, _)| *events)
        .max()
        .unwrap_or(1)
        .max(1);
    let max_alerts = points
        .iter()
        .map(|(_, _, alerts)| *alerts)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut shapes = String::new();
    for (index, (bucket, events, alerts)) in points.iter().enumerate() {
        let x = 40 + index * 14;
        let h = *events as f64 / max as f64 * 100.0;
        let a = *alerts as f64 / max_alerts as f64 * 100.0;
        let when = beijing(*bucket);
        shapes.push_str(&format!(
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"6\" height=\"{h:.1}\" fill=\"#1565c0\"><title>{when} {events}</title></rect><rect x=\"{}\" y=\"{:.1}\" width=\"6\" height=\"{a:.1}\" fill=\"#c62828\"><title>{when} {alerts}</title></rect>",
            110.0 - h,
            x + 6,
            110.0 - a,
        ));
    }
    shapes.push_str(&format!(
        "<text x=\"2\" y=\"12\" font-size=\"9\" fill=\"#1565c0\">{max}</text><text x=\"2\" y=\"24\" font-size=\"9\" fill=\"#c62828\">{max_alerts}</text>"
    ));
    html! {
        figure.series {
            svg xmlns="http://www.w3.org/2000/svg" width=(width) height="120" viewBox={ "0 0 " (width) " 120" } role="img" aria-label=(lang.t("事件与告警趋势", "Events and alerts over time")) {
                (PreEscaped(shapes))
            }
            figcaption { (lang.t("蓝：事件数；红：告警数（各自按最大值缩放）", "Blue: events; red: alerts (each scaled to its own maximum)")) }
        }
    }
}

pub async fn overview(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let days = query
        .get("days")
        .and_then(|text| text.parse().ok())
        .unwrap_or(1i64)
        .clamp(1, 180);
    let overview = match state.app.event_overview(&auth.context, days).await {
        Ok(overview) => overview,
        Err(error) => return failure(&auth, error),
    };
    let open = state
        .app
        .list_incidents(
            &auth.context,
            &IncidentFilter {
                open: true,
                ..IncidentFilter::default()
            },
            200,
        )
        .await
        .unwrap_or_default();
    let tenants = names(&state, &auth.context, Kind::Tenant).await;
    let providers = names(&state, &auth.context, Kind::Provider).await;
    let zones = names(&state, &auth.context, Kind::Zone).await;
    let counters = state.app.event_counters().snapshot();
    let by_id = |names: &BTreeMap<i64, String>| {
        let names = names.clone();
        move |key: Option<&str>| match key.and_then(|key| key.parse::<i64>().ok()) {
            Some(id) => names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
            None => lang.t("（未归属）", "(unresolved)").to_owned(),
        }
    };
    let plain = |key: Option<&str>| key.unwrap_or("—").to_owned();
    let grade_label = |key: Option<&str>| format!("{}{}", key.unwrap_or("?"), lang.t("级", ""));
    let body = html! {
        h1 { (lang.t("安全态势感知", "Security situation")) }
        (nav(&frame))
        p.muted { (lang.t(
            "来自安全资源池（防火墙、IPS/IDS、WAF、防病毒、堡垒机）、主机与云平台的日志经归一化、按资产归属到租户与信息系统，由检测规则关联分析，告警按 GB/Z 20986-2007 与 GB/T 20986-2023 分类分级（指南 7.2.3、8.3.8、8.3.12）。",
            "Logs of the security resource pools (firewalls, IPS/IDS, WAF, antivirus, bastions), hosts and cloud platforms are normalized, resolved to tenants and information systems, correlated by the detection rules, and classified and graded per GB/Z 20986-2007 and GB/T 20986-2023 (guide 7.2.3, 8.3.8, 8.3.12)."
        )) }
        form.inline method="get" action="/console/soc" {
            label { (lang.t("时段（天）", "Period (days)")) " " input type="number" name="days" value=(days) min="1" max="180"; }
            button type="submit" { (lang.t("刷新", "Refresh")) }
        }
        section.cards {
            div.card { h3 { (lang.t("未关闭事件", "Open incidents")) } p.big { (open.len()) } }
            @for grade in ["I", "II", "III", "IV"] {
                div.card class=(grade_class(grade)) {
                    h3 { (grade) (lang.t("级", " grade")) }
                    p.big { (open.iter().filter(|incident| incident.grade == grade).count()) }
                }
            }
        }
        h2 { (lang.t("事件与告警趋势", "Events and alerts over time")) }
        (series_chart(lang, &overview))
        div.charts {
            (tally_chart(lang.t("事件分类（GB/Z 20986-2007）", "Events by category (GB/Z 20986-2007)"), &overview.events_by_category, &plain))
            (tally_chart(lang.t("安全事件分类", "Incidents by category"), &overview.incidents_by_category, &plain))
            (tally_chart(lang.t("安全事件分级", "Incidents by grade"), &overview.incidents_by_grade, &grade_label))
            (tally_chart(lang.t("按云租户", "By tenant"), &overview.incidents_by_tenant, &by_id(&tenants)))
            (tally_chart(lang.t("按云服务商", "By provider"), &overview.incidents_by_provider, &by_id(&providers)))
            (tally_chart(lang.t("按网络区域", "By zone"), &overview.incidents_by_zone, &by_id(&zones)))
            (tally_chart(lang.t("事件最多的来源", "Top sources"), &overview.top_sources, &plain))
            (tally_chart(lang.t("目的国家/地区", "Destination countries"), &overview.top_countries, &plain))
        }
        @if oversees(&auth) || matches!(auth.context.principal.role, Role::SecurityAuditor | Role::Auditor) {
            h2 { (lang.t("本实例接收计数", "Intake counters (this instance)")) }
            table #counters {
                thead { tr { th { (lang.t("环节", "Stage")) } th { (lang.t("数量", "Count")) } } }
                tbody { @for (stage, count) in &counters { tr { td { code { (stage) } } td.num { (count) } } } }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("态势感知", "Situation"), body),
    )
}

// ---------------------------------------------------------------------------------
// Event search

pub async fn events(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let filter = match crate::events::event_filter(&query) {
        Ok(filter) => filter,
        Err(error) => return failure(&auth, error),
    };
    let events = match state.app.search_events(&auth.context, &filter, 200).await {
        Ok(events) => events,
        Err(error) => return failure(&auth, error),
    };
    let tenants = names(&state, &auth.context, Kind::Tenant).await;
    let live = query.get("live").is_some_and(|live| live == "1");
    let value = |key: &str| query.get(key).cloned().unwrap_or_default();
    let more = events.last().map(|event| {
        let mut params: Vec<String> = query
            .iter()
            .filter(|(key, _)| key.as_str() != "before")
            .map(|(key, value)| format!("{}={}", urlencode(key), urlencode(value)))
            .collect();
        params.push(format!("before={}", event.id));
        format!("/console/soc/events?{}", params.join("&"))
    });
    let body = html! {
        @if live { meta http-equiv="refresh" content="5"; }
        h1 { (lang.t("事件检索", "Event search")) }
        (nav(&frame))
        form #event-filter.filters method="get" action="/console/soc/events" {
            label { (lang.t("地址", "Address")) " " input type="text" name="address" value=(value("address")) placeholder="10.8.1.10"; }
            label { (lang.t("类别（OCSF）", "Class (OCSF)")) " " input type="text" name="class" value=(value("class")) placeholder="Authentication"; }
            label { (lang.t("检测器", "Detector")) " " input type="text" name="detector" value=(value("detector")) placeholder="openssh.failed"; }
            label { (lang.t("分类", "Category")) " " input type="text" name="category" value=(value("category")) placeholder="NAI"; }
            label { (lang.t("关键词", "Words")) " " input type="text" name="q" value=(value("q")); }
            label { (lang.t("起（RFC 3339）", "Since (RFC 3339)")) " " input type="text" name="since" value=(value("since")) placeholder="2026-11-24T00:00:00+08:00"; }
            label { input type="checkbox" name="live" value="1" checked[live]; " " (lang.t("实时（每 5 秒刷新）", "Live (refresh every 5 s)")) }
            button type="submit" { (lang.t("检索", "Search")) }
        }
        table #events {
            thead { tr {
                th { (lang.t("接收时间（北京）", "Received (Beijing)")) } th { (lang.t("来源", "Source")) } th { (lang.t("类别", "Class")) }
                th { (lang.t("检测器", "Detector")) } th { (lang.t("源 → 目的", "From → to")) } th { (lang.t("租户", "Tenant")) }
                th { (lang.t("分类", "Category")) } th { (lang.t("消息", "Message")) }
            } }
            tbody { @for event in &events {
                tr data-detector=[event.detector.as_deref()] {
                    td { a href={ "/console/soc/events/" (event.id) } { (beijing(event.received_ns)) } }
                    td { (event.device.as_deref().or(event.sender.as_deref()).unwrap_or("—")) " " span.muted { (event.transport) } }
                    td { (event.class) }
                    td { code { (event.detector.as_deref().unwrap_or("—")) } }
                    td { (event.src_ip.as_deref().unwrap_or("—")) @if let Some(port) = event.src_port { ":" (port) }
                         " → " (event.dst_ip.as_deref().unwrap_or("—")) @if let Some(port) = event.dst_port { ":" (port) } }
                    td { (name_or_id(&tenants, event.tenant_id)) @if event.other_tenant_id.is_some() { " ↔ " (name_or_id(&tenants, event.other_tenant_id)) } }
                    td { code { (event.gbz2007) } }
                    td.message { (event.message.chars().take(160).collect::<String>()) }
                }
            } }
        }
        @if let Some(more) = more { @if events.len() == 200 { p { a href=(more) { (lang.t("更早的事件 →", "Older events →")) } } } }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("事件检索", "Event search"), body),
    )
}

pub async fn event(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<i64>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let event = match state.app.event_detail(&auth.context, id).await {
        Ok(event) => event,
        Err(error) => return failure(&auth, error),
    };
    let tenants = names(&state, &auth.context, Kind::Tenant).await;
    let json = crate::events::event_json(&event);
    let rows: Vec<(String, String)> = json
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(key, value)| !value.is_null() && key.as_str() != "raw")
                .map(|(key, value)| {
                    let text = match value {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    (key.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default();
    let body = html! {
        h1 { (lang.t("事件", "Event")) " #" (event.id) }
        (nav(&frame))
        p { (lang.t("受影响租户：", "Affected tenant: ")) (name_or_id(&tenants, event.tenant_id))
            @if event.other_tenant_id.is_some() { " · " (lang.t("另一方：", "other side: ")) (name_or_id(&tenants, event.other_tenant_id)) } }
        table #event-fields { tbody { @for (key, value) in &rows { tr { th { code { (key) } } td { (value) } } } } }
        h2 { (lang.t("原始日志", "Raw line")) }
        pre.raw { (event.raw) }
    };
    html_status(StatusCode::OK, page(&frame, lang.t("事件", "Event"), body))
}

// ---------------------------------------------------------------------------------
// Incidents

fn incident_card(lang: Lang, incident: &IncidentRecord, tenants: &BTreeMap<i64, String>) -> Markup {
    html! {
        div.incident-card class=(grade_class(&incident.grade)) data-incident=(incident.id) {
            a href={ "/console/soc/incidents/" (incident.id) } { strong { "#" (incident.id) " " (incident.title) } }
            br;
            span.grade { (incident.grade) (lang.t("级", "")) } " · " (incident.severity) " · " code { (incident.gbz2007) }
            br;
            span.muted { (name_or_id(tenants, incident.concern.tenant_id)) " · " (lang.t("告警", "alerts")) " " (incident.alerts)
                @if incident.key_tenant { " · " strong { (lang.t("重点租户", "key tenant")) } } }
        }
    }
}

pub async fn incidents(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let filter = yunjian_app::incident_filter(None, false, query.get("grade").map(String::as_str));
    let loaded = async {
        Ok::<_, AppError>((
            state
                .app
                .list_incidents(&auth.context, &filter, 500)
                .await?,
            state.app.list_alerts(&auth.context, None, 50).await?,
        ))
    }
    .await;
    let (incidents, alerts) = match loaded {
        Ok(found) => found,
        Err(error) => return failure(&auth, error),
    };
    let tenants = names(&state, &auth.context, Kind::Tenant).await;
    let body = html! {
        h1 { (lang.t("告警与事件处置", "Alerts and incidents")) }
        (nav(&frame))
        p.muted { (lang.t(
            "同一目标（信息系统或地址）持续出现的告警归并为一个安全事件，按 GB/T 20985.1 的阶段处置：发现和报告、评估和决策、响应、经验总结。",
            "Alerts on one target (an information system or an address) are grouped into one incident, handled through GB/T 20985.1's phases: detect and report, assess and decide, respond, lessons learnt."
        )) }
        form.inline method="get" action="/console/soc/incidents" {
            label { (lang.t("分级", "Grade")) " " select name="grade" {
                option value="" { (lang.t("全部", "all")) }
                @for grade in ["I", "II", "III", "IV"] { option value=(grade) selected[query.get("grade").map(String::as_str) == Some(grade)] { (grade) } }
            } }
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
        div.board #incident-board {
            @for phase in PHASES {
                section.column data-phase=(phase) {
                    h3 { (phase_label(phase)) }
                    @for incident in incidents.iter().filter(|incident| incident.phase == phase).take(50) {
                        (incident_card(lang, incident, &tenants))
                    }
                }
            }
        }
        h2 { (lang.t("最新告警", "Latest alerts")) }
        table #alerts {
            thead { tr { th { (lang.t("时间（北京）", "Time (Beijing)")) } th { (lang.t("规则", "Rule")) } th { (lang.t("级别", "Severity")) }
                         th { "GB/Z 20986-2007" } th { "GB/T 20986-2023" } th { (lang.t("来源 → 目标", "From → target")) } th { (lang.t("事件", "Incident")) } } }
            tbody { @for record in &alerts {
                @let alert = &record.alert;
                tr data-rule=(alert.rule_key) {
                    td { (beijing(alert.at_ns)) }
                    td { (alert.title) br; code.muted { (alert.rule_key) } }
                    td { (alert.severity) }
                    td { code { (alert.gbz2007) } } td { code { (alert.gbt2023) } }
                    td { (alert.concern.attacker.as_deref().unwrap_or("—")) " → " (alert.concern.target.as_deref().unwrap_or("—")) }
                    td { a href={ "/console/soc/incidents/" (record.incident_id) } { "#" (record.incident_id) } }
                }
            } }
        }
    };
    html_status(
        StatusCode::OK,
        page(
            &frame,
            lang.t("告警与事件处置", "Alerts and incidents"),
            body,
        ),
    )
}

pub async fn incident(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<i64>,
) -> Response {
    render_incident(&state, &auth, id, None).await
}

async fn render_incident(
    state: &AppState,
    auth: &ConsoleAuth,
    id: i64,
    notice: Option<&str>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let detail = match state.app.incident_detail(&auth.context, id).await {
        Ok(detail) => detail,
        Err(error) => return failure(auth, error),
    };
    let incident = &detail.incident;
    let tenants = names(state, &auth.context, Kind::Tenant).await;
    let systems = names(state, &auth.context, Kind::InformationSystem).await;
    let next = PHASES
        .iter()
        .position(|phase| *phase == incident.phase)
        .and_then(|index| PHASES.get(index + 1));
    let grades = oversees(auth);
    let action = |verb: &str| format!("/console/soc/incidents/{id}/{verb}");
    let body = html! {
        h1 { (lang.t("安全事件", "Incident")) " #" (incident.id) " " (incident.title) }
        (nav(&frame))
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        table #incident-facts { tbody {
            tr { th { (lang.t("阶段", "Phase")) } td #phase { (phase_label(&incident.phase)) } }
            tr { th { (lang.t("分级", "Grade")) } td #grade class=(grade_class(&incident.grade)) {
                (incident.grade) (lang.t("级", "")) " — " (lang.t("重要程度", "importance")) " " (incident.importance) "，" (lang.t("系统损失", "loss")) " " (incident.loss) "，" (lang.t("社会影响", "impact")) " " (incident.impact)
                @if let Some(reason) = &incident.grade_reason { br; span.muted { (lang.t("调整理由：", "Reason: ")) (reason) } }
            } }
            tr { th { "GB/Z 20986-2007" } td { code { (incident.gbz2007) } } }
            tr { th { "GB/T 20986-2023" } td { code { (incident.gbt2023) } } }
            tr { th { (lang.t("级别", "Severity")) } td { (incident.severity) } }
            tr { th { (lang.t("租户", "Tenant")) } td { (name_or_id(&tenants, incident.concern.tenant_id))
                @if incident.concern.other_tenant_id.is_some() { " ↔ " (name_or_id(&tenants, incident.concern.other_tenant_id)) }
                @if incident.key_tenant { " · " strong { (lang.t("重点租户", "key tenant")) } } } }
            tr { th { (lang.t("信息系统", "Information system")) } td { (name_or_id(&systems, incident.concern.system_id)) } }
            tr { th { (lang.t("攻击方 → 目标", "Attacker → target")) } td { (incident.concern.attacker.as_deref().unwrap_or("—")) " → " (incident.concern.target.as_deref().unwrap_or("—")) } }
            tr { th { (lang.t("责任方", "Assignee")) } td { (incident.assignee) } }
            tr { th { (lang.t("发现 / 最近告警", "Opened / last alert")) } td { (beijing(incident.opened_at_ns)) " / " (beijing(incident.last_alert_ns)) } }
        } }
        p { (lang.t("处置报告：", "Handling report: "))
            a href={ "/console/soc/incidents/" (id) "/report?format=pdf" } { "PDF" } " · "
            a href={ "/console/soc/incidents/" (id) "/report?format=json" } { "JSON" } " · "
            a href={ "/console/soc/incidents/" (id) "/report?format=xlsx" } { "XLSX" } }
        @if let Some(next) = next {
            form #advance method="post" action=(action("phase")) {
                input type="hidden" name="_csrf" value=(frame.csrf);
                input type="hidden" name="phase" value=(next);
                label { (lang.t("进入下一阶段：", "Move to: ")) strong { (phase_label(next)) } }
                textarea name="note" rows="2" required placeholder=(lang.t("评估、决策或已采取的措施", "What was assessed, decided or done")) {}
                button type="submit" { (lang.t("提交", "Submit")) }
            }
        }
        form #annotate method="post" action=(action("note")) {
            input type="hidden" name="_csrf" value=(frame.csrf);
            label { (lang.t("类型", "Kind")) " " select name="kind" { option value="note" { (lang.t("备注", "Note")) } option value="evidence" { (lang.t("证据", "Evidence")) } } }
            textarea name="text" rows="2" required {}
            button type="submit" { (lang.t("添加到时间线", "Add to the timeline")) }
        }
        @if grades {
            form #regrade method="post" action=(action("grade")) {
                input type="hidden" name="_csrf" value=(frame.csrf);
                label { (lang.t("重要程度", "Importance")) " " select name="importance" {
                    @for (value, label) in [("ordinary", lang.t("一般", "ordinary")), ("important", lang.t("重要", "important")), ("especially_important", lang.t("特别重要", "especially important"))] {
                        option value=(value) selected[incident.importance == value] { (label) } } } }
                label { (lang.t("系统损失", "Loss")) " " select name="loss" {
                    @for (value, label) in [("small", lang.t("较小", "small")), ("relatively_large", lang.t("较大", "relatively large")), ("serious", lang.t("严重", "serious")), ("especially_serious", lang.t("特别严重", "especially serious"))] {
                        option value=(value) selected[incident.loss == value] { (label) } } } }
                label { (lang.t("社会影响", "Impact")) " " select name="impact" {
                    @for (value, label) in [("ordinary", lang.t("一般", "ordinary")), ("relatively_major", lang.t("较大", "relatively major")), ("major", lang.t("重大", "major")), ("especially_major", lang.t("特别重大", "especially major"))] {
                        option value=(value) selected[incident.impact == value] { (label) } } } }
                input type="text" name="reason" required placeholder=(lang.t("调整理由", "Reason"));
                button type="submit" { (lang.t("重新定级", "Re-grade")) }
            }
            form #assign.inline method="post" action=(action("assign")) {
                input type="hidden" name="_csrf" value=(frame.csrf);
                select name="assignee" { option value="tenant" { (lang.t("云租户", "tenant")) } option value="provider" { (lang.t("云服务商", "provider")) } option value="unit" { (lang.t("管理单位", "management unit")) } }
                button type="submit" { (lang.t("指派", "Assign")) }
            }
        }
        h2 { (lang.t("时间线", "Timeline")) }
        ol #timeline { @for entry in &detail.entries {
            li data-kind=(entry.kind) { span.muted { (beijing(entry.at_ns)) } " " strong { (entry.kind) } " " (entry.text) }
        } }
        h2 { (lang.t("告警", "Alerts")) }
        table #incident-alerts {
            thead { tr { th { (lang.t("时间", "Time")) } th { (lang.t("规则", "Rule")) } th { (lang.t("级别", "Severity")) } th { (lang.t("来源 → 目标", "From → target")) } th { (lang.t("事件", "Event")) } } }
            tbody { @for record in &detail.alerts {
                @let alert = &record.alert;
                tr { td { (beijing(alert.at_ns)) } td { (alert.title) } td { (alert.severity) }
                     td { (alert.concern.attacker.as_deref().unwrap_or("—")) " → " (alert.concern.target.as_deref().unwrap_or("—")) }
                     td { @if let Some(event) = alert.event_id { a href={ "/console/soc/events/" (event) } { "#" (event) } } @else { "—" } } }
            } }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("安全事件", "Incident"), body),
    )
}

pub async fn incident_action(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path((id, verb)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let field = |key: &str| first(&pairs, key).unwrap_or_default().to_owned();
    let lang = auth.lang;
    let outcome = match verb.as_str() {
        "phase" => state
            .app
            .advance_incident(&auth.context, id, &field("phase"), &field("note"))
            .await
            .map(|_| lang.t("已进入下一阶段。", "Moved to the next phase.")),
        "note" => state
            .app
            .annotate_incident(&auth.context, id, &field("kind"), &field("text"))
            .await
            .map(|()| lang.t("已添加到时间线。", "Added to the timeline.")),
        "assign" => state
            .app
            .assign_incident(&auth.context, id, &field("assignee"))
            .await
            .map(|_| lang.t("已指派。", "Assigned.")),
        "grade" => state
            .app
            .regrade_incident(
                &auth.context,
                id,
                &RegradeInput {
                    importance: field("importance"),
                    loss: field("loss"),
                    impact: field("impact"),
                    reason: field("reason"),
                },
            )
            .await
            .map(|_| lang.t("已重新定级。", "Re-graded.")),
        _ => Err(AppError::NotFound),
    };
    match outcome {
        Ok(notice) => render_incident(&state, &auth, id, Some(notice)).await,
        Err(error) => failure(&auth, error),
    }
}

pub async fn incident_report(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<i64>,
    Query(query): Query<QueryMap>,
) -> Response {
    let format = query.get("format").map_or("pdf", String::as_str);
    match crate::events::report_download(&state, &auth.context, id, format).await {
        Ok(response) => response,
        Err(error) => failure(&auth, error),
    }
}

// ---------------------------------------------------------------------------------
// Detection rules

/// Sample lines from a textarea: one per line; `+N ` before a line sets its time N
/// seconds after the first; a line starting with `{` is EVE JSON.
fn samples_of(text: &str) -> Vec<RuleSample> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (at_seconds, line) =
                match line.strip_prefix('+').and_then(|rest| rest.split_once(' ')) {
                    Some((seconds, rest)) if seconds.parse::<i64>().is_ok() => {
                        (seconds.parse().unwrap_or(0), rest)
                    }
                    _ => (0, line),
                };
            RuleSample {
                at_seconds,
                format: if line.trim_start().starts_with('{') {
                    LineFormat::Eve
                } else {
                    LineFormat::Syslog
                },
                line: line.to_owned(),
            }
        })
        .collect()
}

const RULE_TEMPLATE: &str = "title: 非堡垒机的 root 登录\nid: cq-root-login\nstatus: experimental\nlogsource:\n    product: yunjian\ndetection:\n    selection:\n        detector: openssh.accepted\n        user: root\n    condition: selection\nlevel: high\nincident_class: brute_force\n";
const SAMPLE_TEMPLATE: &str = "<38>Nov 24 10:00:00 web-01 sshd[1]: Accepted password for root from 10.8.1.5 port 2 ssh2\n+5 <38>Nov 24 10:00:05 web-01 sshd[1]: Accepted password for ops from 10.8.1.5 port 2 ssh2";

pub async fn rules(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_rules(&state, &auth, RULE_TEMPLATE, SAMPLE_TEMPLATE, None, None).await
}

async fn render_rules(
    state: &AppState,
    auth: &ConsoleAuth,
    yaml: &str,
    samples: &str,
    hits: Option<&[RuleHit]>,
    notice: Option<&str>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let rules = match state.app.detection_rules(&auth.context).await {
        Ok(rules) => rules,
        Err(error) => return failure(auth, error),
    };
    let body = html! {
        h1 { (lang.t("检测规则", "Detection rules")) }
        (nav(&frame))
        p.muted { (lang.t(
            "规则采用 Sigma 格式（检测与关联：event_count、value_count、temporal、temporal_ordered），在进程内按服务器时间评估。每条规则以 incident_class 指明分类表中的类别，据此给出两版国家标准的分类代码。",
            "Rules are Sigma (detection and correlation: event_count, value_count, temporal, temporal_ordered), evaluated in-process on server time. Each names an incident_class of the classification table, which gives both standards' codes."
        )) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        table #rules {
            thead { tr { th { "ID" } th { (lang.t("名称", "Title")) } th { (lang.t("类型", "Kind")) } th { (lang.t("级别", "Level")) }
                         th { "GB/Z 20986-2007" } th { "GB/T 20986-2023" } th { (lang.t("来源", "Origin")) } } }
            tbody { @for rule in &rules {
                tr data-rule=(rule.id) {
                    td { code { (rule.id) } } td { (rule.title) } td { (rule.kind) } td { (rule.severity) }
                    td { code { (rule.gbz2007) } } td { code { (rule.gbt2023) } }
                    td { @if rule.shipped { (lang.t("内置", "shipped")) } @else { (lang.t("自定义 v", "custom v")) (rule.version.unwrap_or(0)) @if !rule.enabled { " " (lang.t("（停用）", "(disabled)")) } } }
                }
            } }
        }
        h2 { (lang.t("编写与测试规则", "Write and test a rule")) }
        form #rule-form method="post" action="/console/soc/rules" {
            input type="hidden" name="_csrf" value=(frame.csrf);
            label { (lang.t("规则（YAML）", "Rule (YAML)")) }
            textarea name="yaml" rows="14" spellcheck="false" { (yaml) }
            label { (lang.t("样例日志（每行一条；“+秒数 ”前缀表示相对时间；以 { 开头为 EVE JSON）", "Sample lines (one per line; a “+seconds ” prefix sets its time; a line starting with { is EVE JSON)")) }
            textarea name="samples" rows="6" spellcheck="false" { (samples) }
            button type="submit" name="do" value="test" { (lang.t("用样例测试", "Test against the samples")) }
            @if oversees(auth) {
                " " button type="submit" name="do" value="save" { (lang.t("保存为新版本", "Save as a new version")) }
            }
        }
        @if let Some(hits) = hits {
            h3 { (lang.t("测试结果", "Test result")) }
            @if hits.is_empty() { p #rule-hits.muted { (lang.t("没有规则命中。", "No rule matched.")) } }
            @else {
                table #rule-hits {
                    thead { tr { th { (lang.t("样例", "Sample")) } th { (lang.t("规则", "Rule")) } th { (lang.t("级别", "Level")) } th { (lang.t("分类", "Category")) } } }
                    tbody { @for hit in hits { tr { td.num { (hit.sample + 1) } td { code { (hit.rule_id) } " " (hit.title) } td { (hit.severity) } td { code { (hit.gbz2007) } " · " code { (hit.gbt2023) } } } } }
                }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("检测规则", "Detection rules"), body),
    )
}

pub async fn rule_action(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let yaml = first(&pairs, "yaml")
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let samples = first(&pairs, "samples")
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let lang = auth.lang;
    if first(&pairs, "do") == Some("save") {
        return match state
            .app
            .save_detection_rule(&auth.context, &yaml, true)
            .await
        {
            Ok(rule) => {
                let notice = format!(
                    "{} {} v{}",
                    lang.t("已保存：", "Saved:"),
                    rule.rule_key,
                    rule.version
                );
                render_rules(&state, &auth, &yaml, &samples, None, Some(&notice)).await
            }
            Err(error) => failure(&auth, error),
        };
    }
    match state
        .app
        .test_detection_rule(&auth.context, &yaml, &samples_of(&samples))
        .await
    {
        Ok(hits) => render_rules(&state, &auth, &yaml, &samples, Some(&hits), None).await,
        Err(error) => failure(&auth, error),
    }
}

// ---------------------------------------------------------------------------------
// Sources, unknown senders, key tenants, webhooks, notifications

pub async fn sources(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_sources(&state, &auth, None).await
}

async fn render_sources(state: &AppState, auth: &ConsoleAuth, notice: Option<&str>) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let context = &auth.context;
    let loaded = async {
        Ok::<_, AppError>((
            state.app.event_sources(context).await?,
            state.app.unknown_senders(context).await?,
            state.app.event_settings(context).await?,
            state.app.notifications(context, 50).await?,
        ))
    }
    .await;
    let (sources, unknown, settings, notifications) = match loaded {
        Ok(found) => found,
        Err(error) => return failure(auth, error),
    };
    let tenants = names(state, &auth.context, Kind::Tenant).await;
    let providers = names(state, &auth.context, Kind::Provider).await;
    let zones = names(state, &auth.context, Kind::Zone).await;
    let now = state.app.now_ns();
    let own_tenant = context.principal.tenant.map(|tenant| tenant.0);
    let body = html! {
        h1 { (lang.t("日志源与通知", "Sources and notifications")) }
        (nav(&frame))
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        h2 { (lang.t("已登记日志源", "Registered sources")) }
        table #sources {
            thead { tr { th { (lang.t("名称", "Name")) } th { (lang.t("地址", "Address")) } th { (lang.t("类型", "Kind")) } th { (lang.t("区域", "Zone")) }
                         th { (lang.t("专属租户", "Dedicated to")) } th { (lang.t("最近", "Last seen")) } th { (lang.t("时钟偏差", "Clock skew")) } th { (lang.t("事件数", "Events")) } } }
            tbody { @for source in &sources {
                tr data-source=(source.id) {
                    td { (source.name) @if !source.enabled { " " span.muted { (lang.t("（停用）", "(disabled)")) } } }
                    td { code { (source.address) } } td { (source.kind) }
                    td { (name_or_id(&zones, source.zone_id)) } td { (name_or_id(&tenants, source.tenant_id)) }
                    td { (source.last_seen_ns.map_or("—".to_owned(), |at| format!("{} s", (now - at) / 1_000_000_000))) }
                    td.num { (source.last_skew_ns.map_or("—".to_owned(), |skew| format!("{:+.1} s", skew as f64 / 1e9))) }
                    td.num { (source.events) }
                }
            } }
        }
        @if !unknown.is_empty() || oversees(auth) {
            h2 { (lang.t("未登记的发送方", "Unknown senders")) }
            table #unknown {
                thead { tr { th { (lang.t("地址", "Address")) } th { (lang.t("事件数", "Events")) } th { (lang.t("首次/最近", "First / last")) } th { (lang.t("样例", "Sample")) } } }
                tbody { @for sender in &unknown {
                    tr.stale { td { code { (sender.address) } } td.num { (sender.events) }
                               td { (beijing(sender.first_seen_ns)) " / " (beijing(sender.last_seen_ns)) } td.message { (sender.sample) } }
                } }
            }
        }
        @if oversees(auth) {
            details #add-source {
                summary { (lang.t("登记日志源", "Register a source")) }
                form method="post" action="/console/soc/sources" {
                    input type="hidden" name="_csrf" value=(frame.csrf);
                    label { (lang.t("名称", "Name")) " " input type="text" name="name" required; }
                    label { (lang.t("发送地址", "Sending address")) " " input type="text" name="address" required; }
                    label { (lang.t("类型", "Kind")) " " select name="kind" { @for kind in SOURCE_KINDS { option value=(kind) { (kind) } } } }
                    label { (lang.t("云服务商", "Provider")) " " select name="provider_id" { option value="" { "—" } @for (id, name) in &providers { option value=(id) { (name) } } } }
                    label { (lang.t("网络区域", "Zone")) " " select name="zone_id" { option value="" { "—" } @for (id, name) in &zones { option value=(id) { (name) } } } }
                    label { (lang.t("专属租户", "Dedicated to tenant")) " " select name="tenant_id" { option value="" { "—" } @for (id, name) in &tenants { option value=(id) { (name) } } } }
                    button type="submit" { (lang.t("登记", "Register")) }
                }
            }
        }
        h2 { (lang.t("重点租户与通知", "Key tenants and notifications")) }
        table #event-settings {
            thead { tr { th { (lang.t("租户", "Tenant")) } th { (lang.t("重点租户", "Key tenant")) } th { "Webhook" } } }
            tbody { @for entry in &settings {
                tr { td { (name_or_id(&tenants, Some(entry.tenant_id))) } td { @if entry.key_tenant { strong { (lang.t("是", "yes")) } } @else { (lang.t("否", "no")) } }
                     td { (entry.webhook_url.as_deref().unwrap_or("—")) @if entry.webhook_secret.is_some() { " " span.muted { (lang.t("（已设签名密钥）", "(signing secret set)")) } } } }
            } }
        }
        @if oversees(auth) || own_tenant.is_some() {
            form #settings-form method="post" action="/console/soc/settings" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                @if let Some(tenant) = own_tenant {
                    input type="hidden" name="tenant_id" value=(tenant);
                } @else {
                    label { (lang.t("租户", "Tenant")) " " select name="tenant_id" { @for (id, name) in &tenants { option value=(id) { (name) } } } }
                    label { (lang.t("重点租户（7.1.6）", "Key tenant (7.1.6)")) " " select name="key_tenant" {
                        option value="" { (lang.t("不变", "unchanged")) } option value="true" { (lang.t("是", "yes")) } option value="false" { (lang.t("否", "no")) } } }
                }
                label { "Webhook URL " input type="url" name="webhook_url" placeholder="https://"; }
                label { (lang.t("签名密钥（HMAC-SM3，不再显示）", "Signing secret (HMAC-SM3, never shown again)")) " " input type="password" name="webhook_secret" autocomplete="off"; }
                button type="submit" { (lang.t("保存", "Save")) }
            }
        }
        h2 { (lang.t("通知", "Notifications")) }
        table #notifications {
            thead { tr { th { (lang.t("时间", "Time")) } th { (lang.t("渠道", "Channel")) } th { (lang.t("状态", "State")) } th { (lang.t("内容", "Subject")) } } }
            tbody { @for record in &notifications {
                tr { td { (beijing(record.notification.at_ns)) } td { (record.notification.channel) }
                     td { (record.notification.state) @if let Some(error) = &record.last_error { " " span.muted { (error) } } }
                     td { a href={ "/console/soc/incidents/" (record.notification.incident_id) } { (record.notification.subject) } } }
            } }
        }
    };
    html_status(
        StatusCode::OK,
        page(
            &frame,
            lang.t("日志源与通知", "Sources and notifications"),
            body,
        ),
    )
}

pub async fn add_source(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let object: serde_json::Map<String, serde_json::Value> = [
        "name",
        "address",
        "kind",
        "provider_id",
        "zone_id",
        "tenant_id",
    ]
    .iter()
    .filter_map(|key| {
        let value = first(&pairs, key)?.trim();
        if value.is_empty() {
            return None;
        }
        let json = match key.ends_with("_id") {
            true => value
                .parse::<i64>()
                .map(serde_json::Value::from)
                .unwrap_or(serde_json::Value::from(value)),
            false => serde_json::Value::from(value),
        };
        Some(((*key).to_owned(), json))
    })
    .collect();
    let input = match crate::events::source_input(&object) {
        Ok(input) => input,
        Err(error) => return failure(&auth, error),
    };
    match state.app.add_event_source(&auth.context, &input).await {
        Ok(_) => render_sources(&state, &auth, Some(auth.lang.t("已登记。", "Registered."))).await,
        Err(error) => failure(&auth, error),
    }
}

pub async fn save_settings(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let Some(tenant) = first(&pairs, "tenant_id").and_then(|text| text.parse::<i64>().ok()) else {
        return error_page(
            auth.lang,
            AppError::invalid("tenant_id", "required", "choose a tenant"),
            &auth.context.request_id,
        );
    };
    let text = |key: &str| {
        first(&pairs, key)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let input = EventSettingsInput {
        key_tenant: match first(&pairs, "key_tenant") {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        },
        webhook_url: text("webhook_url"),
        webhook_secret: text("webhook_secret"),
    };
    match state
        .app
        .set_event_settings(&auth.context, tenant, &input)
        .await
    {
        Ok(()) => render_sources(&state, &auth, Some(auth.lang.t("已保存。", "Saved."))).await,
        Err(error) => failure(&auth, error),
    }
}
