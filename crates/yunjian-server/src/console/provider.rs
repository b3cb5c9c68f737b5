//! Console pages of the provider interface: connector health, syncs, set-aside objects
//! and project mappings; the change history (per resource or all); the image registry;
//! usage charts and monthly reports. Reads are scoped by the app; every form posts with
//! the session's CSRF token and the app's PDP decides.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup, PreEscaped};
use serde_json::Value as Json;
use yunjian_app::{AppError, ConnectorInput, Month, RegistryInput};
use yunjian_compliance::Scope;
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_store::{ChangeFilter, UsageSample};

use super::forms::{first, parse_pairs};
use super::i18n::Lang;
use super::pages::{page, section_nav, urlencode, Frame};
use super::{error_page, html_status, ConsoleAuth};
use crate::wire::timestamp;
use crate::AppState;

type QueryMap = HashMap<String, String>;

fn nav(frame: &Frame<'_>) -> Markup {
    let lang = frame.lang;
    let links = [
        (
            "/console/providers/sync",
            lang.t("接入与同步", "Connectors and syncs"),
        ),
        (
            "/console/providers/changes",
            lang.t("变更历史", "Change history"),
        ),
        (
            "/console/providers/images",
            lang.t("镜像登记", "Image registry"),
        ),
        ("/console/providers/usage", lang.t("资源使用", "Usage")),
    ];
    section_nav(frame, "provider-nav", &links)
}

fn configures(auth: &ConsoleAuth) -> bool {
    matches!(
        auth.context.principal.role,
        Role::SystemAdmin | Role::Supervisor
    )
}

fn ago(lang: Lang, now: i64, at: Option<i64>) -> String {
    match at {
        None => lang.t("从未", "never").to_owned(),
        Some(at) => {
            let seconds = (now - at).max(0) / 1_000_000_000;
            if seconds < 120 {
                format!("{seconds} {}", lang.t("秒前", "s ago"))
            } else if seconds < 7_200 {
                format!("{} {}", seconds / 60, lang.t("分钟前", "min ago"))
            } else {
                format!("{} {}", seconds / 3_600, lang.t("小时前", "h ago"))
            }
        }
    }
}

/// Names of the objects of a kind the reader may see (its own scope, as every read).
pub(super) async fn names(
    state: &AppState,
    context: &yunjian_app::Context,
    kind: Kind,
) -> BTreeMap<i64, String> {
    let query = yunjian_store::ListQuery {
        per_page: 500,
        ..Default::default()
    };
    state
        .app
        .list(context, kind, &query)
        .await
        .map(|page| {
            page.items
                .iter()
                .map(|object| (object.id, object.display_name()))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------
// Connectors, syncs, set-aside objects, project mappings

pub async fn sync_page(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_sync(&state, &auth, None).await
}

async fn render_sync(state: &AppState, auth: &ConsoleAuth, notice: Option<&str>) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let context = &auth.context;
    let loaded = async {
        Ok::<_, AppError>((
            state.app.connector_health(context).await?,
            state.app.syncs(context, 50).await?,
            state.app.unassigned_objects(context).await?,
            state.app.project_mappings(context).await?,
            state.app.connectors(context).await?,
        ))
    }
    .await;
    let (health, syncs, unassigned, mappings, connectors) = match loaded {
        Ok(found) => found,
        Err(error) => return error_page(lang, error, &context.request_id),
    };
    let providers = names(state, &auth.context, Kind::Provider).await;
    let tenants = names(state, &auth.context, Kind::Tenant).await;
    let zones = names(state, &auth.context, Kind::Zone).await;
    let provider_name = |id: i64| {
        providers
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    };
    let now = state.app.now_ns();
    let configure = configures(auth);
    let body = html! {
        h1 { (lang.t("云服务商接入与同步", "Provider connectors and syncs")) }
        (nav(&frame))
        p.muted { (lang.t(
            "各云服务商通过标准接口推送资源清单（签名、分块、整批提交），或由云监按配置周期拉取（OpenStack、Prometheus）。超过一天未推送、或超过三个周期未拉取成功的，产生“数据过期”安全事件（指南 5.1.5）。",
            "Providers push their inventory through the standard API (signed, chunked, committed whole), or yunjian pulls it on a schedule (OpenStack, Prometheus). A push older than a day, or a pull failing for three intervals, raises a stale-data security event (guide 5.1.5)."
        )) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        h2 { (lang.t("对接健康", "Connector health")) }
        table #health {
            thead { tr {
                th { (lang.t("云服务商", "Provider")) } th { (lang.t("方式", "Connector")) } th { (lang.t("最近成功", "Last success")) }
                th { (lang.t("耗时 ms", "Latency ms")) } th { (lang.t("对象数", "Objects")) } th { (lang.t("连续失败", "Failures")) }
                th { (lang.t("最近错误", "Last error")) } th { (lang.t("下次尝试", "Next attempt")) }
            } }
            tbody { @for record in &health {
                @let stale = record.failures > 0 || record.last_success_at_ns.is_none_or(|at| now - at > yunjian_app::PUSH_STALE_NS);
                tr data-connector=(record.connector) class=[stale.then_some("stale")] {
                    td { (provider_name(record.provider_id)) }
                    td { code { (record.connector) } }
                    td { (ago(lang, now, record.last_success_at_ns)) }
                    td.num { (record.latency_ms.map_or("—".to_owned(), |ms| format!("{ms:.0}"))) }
                    td.num { (record.objects) }
                    td.num { (record.failures) }
                    td { (record.last_error.as_deref().unwrap_or("—")) }
                    td { (record.next_attempt_at_ns.map_or("—".to_owned(), timestamp)) }
                }
            } }
        }
        h2 { (lang.t("资源清单", "Inventory")) }
        table #inventory {
            thead { tr { th { (lang.t("云服务商", "Provider")) } th { (lang.t("按类型浏览", "Browse by kind")) } } }
            tbody { @for (id, name) in &providers {
                tr { td { (name) } td {
                    @for kind in [Kind::Datacenter, Kind::Host, Kind::Vpc, Kind::Vm, Kind::Volume, Kind::Backup, Kind::Image, Kind::ContainerWorkload] {
                        a href={ "/console/" (kind.spec().table) "?provider_id=" (id) } { (lang.pick(kind.spec().zh, kind.spec().en)) } " "
                    }
                } }
            } }
        }
        p.muted { (lang.t("按网络区域：", "By zone: "))
            @for (id, name) in &zones {
                a href={ "/console/vpcs?zone_id=" (id) } { (name) " VPC" } " · " a href={ "/console/hosts?zone_id=" (id) } { (name) " " (lang.t("宿主机", "hosts")) } " "
            }
            (lang.t("；按云租户：云租户页的各资源列表可按 tenant_id 筛选。", "; by tenant: every resource list filters by tenant_id."))
        }
        h2 { (lang.t("同步批次", "Syncs")) }
        table #syncs {
            thead { tr {
                th { "ID" } th { (lang.t("云服务商", "Provider")) } th { (lang.t("来源", "Origin")) } th { (lang.t("状态", "State")) }
                th { (lang.t("对象", "Objects")) } th { (lang.t("新增", "Created")) } th { (lang.t("变更", "Changed")) }
                th { (lang.t("删除", "Deleted")) } th { (lang.t("待归属", "Set aside")) } th { (lang.t("时间（UTC）", "Time (UTC)")) }
            } }
            tbody { @for sync in &syncs {
                tr data-state=(sync.state) {
                    td.num { a href={ "/console/providers/changes?sync_id=" (sync.id) } { (sync.id) } }
                    td { (provider_name(sync.provider_id)) }
                    td { (sync.origin) " · " (sync.mode) }
                    td { (sync.state) @if let Some(problems) = &sync.problems { " " span.muted title=(problems) { (lang.t("（有问题）", "(problems)")) } } }
                    td.num { (sync.objects) } td.num { (sync.created) } td.num { (sync.changed) }
                    td.num { (sync.deleted) } td.num { (sync.unassigned) }
                    td { (sync.finished_at_ns.map_or_else(|| timestamp(sync.opened_at_ns), timestamp)) }
                }
            } }
        }
        h2 { (lang.t("待归属对象", "Objects set aside")) }
        p.muted { (lang.t("所属项目尚未映射到云租户的对象暂不入库，映射后下次同步自动归属。", "Objects of projects not yet mapped to a tenant wait here; they are assigned at the next sync after the mapping.")) }
        table #unassigned {
            thead { tr { th { (lang.t("云服务商", "Provider")) } th { (lang.t("类型", "Kind")) } th { (lang.t("服务商ID", "Provider's id")) } th { (lang.t("项目", "Project")) } th { (lang.t("原因", "Reason")) } } }
            tbody { @for object in &unassigned {
                tr { td { (provider_name(object.provider_id)) } td { (object.kind) } td { code { (object.external_id) } }
                     td { (object.project.as_deref().unwrap_or("—")) } td { (object.reason) } }
            } }
        }
        h2 { (lang.t("项目映射", "Project mappings")) }
        table #projects {
            thead { tr { th { (lang.t("云服务商", "Provider")) } th { (lang.t("项目", "Project")) } th { (lang.t("云租户", "Tenant")) } th { (lang.t("映射时间", "Mapped")) } } }
            tbody { @for mapping in mappings.iter().take(500) {
                tr { td { (provider_name(mapping.provider_id)) } td { code { (mapping.project) } }
                     td { (tenants.get(&mapping.tenant_id).cloned().unwrap_or_else(|| format!("#{}", mapping.tenant_id))) }
                     td { (timestamp(mapping.mapped_at_ns)) } }
            } }
        }
        @if mappings.len() > 500 { p.muted { (mappings.len()) " " (lang.t("条，仅显示前 500 条", "mappings; the first 500 shown")) } }
        @if configure {
            form #map-project method="post" action="/console/providers/projects" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                label { (lang.t("云服务商", "Provider")) " "
                    select name="provider_id" { @for (id, name) in &providers { option value=(id) { (name) } } } }
                label { (lang.t("项目ID", "Project id")) " " input type="text" name="project" required; }
                label { (lang.t("云租户", "Tenant")) " "
                    select name="tenant_id" { option value="" { (lang.t("（取消映射）", "(remove the mapping)")) }
                        @for (id, name) in &tenants { option value=(id) { (name) } } } }
                button type="submit" { (lang.t("保存映射", "Save mapping")) }
            }
        }
        h2 { (lang.t("拉取连接器", "Pull connectors")) }
        table #connectors {
            thead { tr { th { "ID" } th { (lang.t("云服务商", "Provider")) } th { (lang.t("类型", "Kind")) } th { (lang.t("地址", "Endpoint")) }
                         th { (lang.t("周期（秒）", "Interval (s)")) } th { (lang.t("启用", "Enabled")) } th {} } }
            tbody { @for connector in &connectors {
                tr { td.num { (connector.id) } td { (provider_name(connector.provider_id)) } td { (connector.kind) }
                     td { code { (connector.endpoint) } } td.num { (connector.interval_s) }
                     td { @if connector.enabled { (lang.t("是", "yes")) } @else { (lang.t("否", "no")) } }
                     td { @if configure {
                        form.inline method="post" action={ "/console/providers/connectors/" (connector.id) "/run" } {
                            input type="hidden" name="_csrf" value=(frame.csrf);
                            button type="submit" { (lang.t("立即拉取", "Pull now")) }
                        }
                     } } }
            } }
        }
        @if configure {
            details #add-connector {
                summary { (lang.t("添加连接器", "Add a connector")) }
                form method="post" action="/console/providers/connectors" {
                    input type="hidden" name="_csrf" value=(frame.csrf);
                    label { (lang.t("云服务商", "Provider")) " "
                        select name="provider_id" { @for (id, name) in &providers { option value=(id) { (name) } } } }
                    label { (lang.t("类型", "Kind")) " " select name="kind" { option value="openstack" { "OpenStack" } option value="prometheus" { "Prometheus" } } }
                    label { (lang.t("地址（Keystone 或 Prometheus）", "Endpoint (Keystone or Prometheus)")) " " input type="url" name="endpoint" required; }
                    label { (lang.t("周期（秒）", "Interval (s)")) " " input type="number" name="interval_s" value="900" min="60" max="86400"; }
                    label { (lang.t("密码或令牌（加密保存，不再显示）", "Password or token (sealed, never shown again)")) " " input type="password" name="secret" autocomplete="off"; }
                    label { (lang.t("设置（JSON，见 docs/provider-api.md）", "Settings (JSON, see docs/provider-api.md)")) }
                    textarea name="settings" rows="6" { "{\"username\": \"\", \"project\": \"admin\", \"zone\": \"\", \"datacenter_id\": \"\", \"datacenters\": {}}" }
                    button type="submit" { (lang.t("添加", "Add")) }
                }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("接入与同步", "Connectors and syncs"), body),
    )
}

pub async fn map_project(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let provider = first(&pairs, "provider_id")
        .and_then(|text| text.parse::<i64>().ok())
        .unwrap_or(0);
    let tenant = first(&pairs, "tenant_id").and_then(|text| text.parse::<i64>().ok());
    let project = first(&pairs, "project").unwrap_or_default();
    match state
        .app
        .map_project(&auth.context, provider, project, tenant)
        .await
    {
        Ok(_) => {
            render_sync(
                &state,
                &auth,
                Some(auth.lang.t(
                    "映射已保存，下次同步生效。",
                    "Mapping saved; it applies at the next sync.",
                )),
            )
            .await
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

pub async fn add_connector(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let settings = first(&pairs, "settings").unwrap_or("{}");
    let settings = match serde_json::from_str::<Json>(settings) {
        Ok(Json::Object(map)) => map,
        _ => {
            return error_page(
                auth.lang,
                AppError::invalid("settings", "invalid_json", "settings are a JSON object"),
                &auth.context.request_id,
            )
        }
    };
    let input = ConnectorInput {
        provider_id: first(&pairs, "provider_id")
            .and_then(|text| text.parse().ok())
            .unwrap_or(0),
        kind: first(&pairs, "kind").unwrap_or_default().to_owned(),
        endpoint: first(&pairs, "endpoint").unwrap_or_default().to_owned(),
        settings,
        secret: first(&pairs, "secret")
            .filter(|text| !text.is_empty())
            .map(str::to_owned),
        interval_s: first(&pairs, "interval_s")
            .and_then(|text| text.parse().ok())
            .unwrap_or(900),
    };
    match state.app.add_connector(&auth.context, &input).await {
        Ok(id) => {
            render_sync(
                &state,
                &auth,
                Some(&format!(
                    "{} #{id}",
                    auth.lang.t("已添加连接器", "Connector added")
                )),
            )
            .await
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

pub async fn run_connector(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    match state.app.run_connector(&auth.context, id).await {
        Ok(outcome) => {
            let notice = match outcome.result {
                Ok(summary) => summary,
                Err(error) => format!("{}: {error}", auth.lang.t("拉取失败", "Pull failed")),
            };
            render_sync(&state, &auth, Some(&notice)).await
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

// ---------------------------------------------------------------------------------
// Change history

fn diff_markup(lang: Lang, change: &str, detail: &Json) -> Markup {
    html! {
        @if change == "changed" {
            ul.diff { @for (field, values) in detail.as_object().into_iter().flatten() {
                li { code { (field) } ": " span.from { (values["from"].to_string()) } " → " span.to { (values["to"].to_string()) } }
            } }
        } @else {
            details { summary { (lang.t("字段值", "Values")) " (" (detail.as_object().map_or(0, |map| map.len())) ")" } pre { (serde_json::to_string_pretty(detail).unwrap_or_default()) } }
        }
    }
}

pub async fn changes(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let id = |key: &str| {
        query
            .get(key)
            .and_then(|text| text.parse::<i64>().ok())
            .filter(|id| *id > 0)
    };
    let filter = ChangeFilter {
        provider_id: id("provider_id"),
        kind: query.get("kind").filter(|kind| !kind.is_empty()).cloned(),
        object_id: id("object_id"),
        sync_id: id("sync_id"),
        before_id: id("before"),
    };
    let found = match state
        .app
        .resource_changes(&auth.context, &filter, 100)
        .await
    {
        Ok(found) => found,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let providers = names(&state, &auth.context, Kind::Provider).await;
    let next = found.last().map(|change| change.id);
    let mut base = String::from("/console/providers/changes?");
    for key in ["provider_id", "kind", "object_id", "sync_id"] {
        if let Some(value) = query.get(key).filter(|value| !value.is_empty()) {
            base.push_str(&format!("{key}={}&", urlencode(value)));
        }
    }
    let body = html! {
        h1 { (lang.t("资源变更历史", "Resource change history")) }
        (nav(&frame))
        p.muted { (lang.t(
            "每次同步与上一状态比对，记录新增、变更（逐字段）与删除（指南 7.5.10.6）；保存期限不短于审计记录。云租户只看到本单位资源的变更。",
            "Each sync is compared with the previous state: created, changed (field by field) and deleted resources are recorded (guide 7.5.10.6) and kept as long as the audit records. Tenants see only their own resources' changes."
        )) }
        form.filters method="get" action="/console/providers/changes" {
            label { (lang.t("类型", "Kind")) " " select name="kind" {
                option value="" { (lang.t("全部", "all")) }
                @for kind in yunjian_connectors::sync::PUSHED_KINDS {
                    option value=(kind.spec().id) selected[query.get("kind").map(String::as_str) == Some(kind.spec().id)] { (lang.pick(kind.spec().zh, kind.spec().en)) }
                }
            } }
            label { (lang.t("对象ID", "Object id")) " " input type="number" name="object_id" value=[query.get("object_id")]; }
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
        ol.timeline #changes {
            @for change in &found {
                @let detail: Json = serde_json::from_str(&change.detail).unwrap_or(Json::Null);
                @let table = yunjian_core::schema::Kind::parse(&change.kind).map(|kind| kind.spec().table);
                @let label = change.name.clone().or_else(|| detail["description"].as_str().map(str::to_owned)).unwrap_or_else(|| "—".to_owned());
                li data-change=(change.change) data-kind=(change.kind) {
                    span.when { (timestamp(change.at_ns)) }
                    " "
                    span class={ "change change-" (change.change) } { (match change.change.as_str() {
                        "created" => lang.t("新增", "created"), "changed" => lang.t("变更", "changed"), _ => lang.t("删除", "deleted") }) }
                    " " (change.kind) " "
                    @match (table, change.change.as_str()) {
                        (Some(table), "created" | "changed") => a href={ "/console/" (table) "/" (change.object_id) } { (label) },
                        _ => span { (label) },
                    }
                    " " span.muted { "(" (providers.get(&change.provider_id).cloned().unwrap_or_default()) " · " code { (change.external_id) } " · "
                        a href={ "/console/providers/changes?kind=" (change.kind) "&object_id=" (change.object_id) } { (lang.t("此资源的历史", "this resource's history")) } ")" }
                    (diff_markup(lang, &change.change, &detail))
                }
            }
        }
        @if found.is_empty() { p.muted #no-changes { (lang.t("没有变更记录。", "No changes recorded.")) } }
        @if let (Some(next), 100) = (next, found.len()) {
            a.next href={ (base) "before=" (next) } { (lang.t("更早", "Older")) }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("变更历史", "Change history"), body),
    )
}

// ---------------------------------------------------------------------------------
// Image registry

pub async fn images(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_images(&state, &auth, None).await
}

async fn render_images(state: &AppState, auth: &ConsoleAuth, notice: Option<&str>) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let entries = match state.app.image_registry(&auth.context).await {
        Ok(entries) => entries,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let providers = names(state, &auth.context, Kind::Provider).await;
    // The images the reader can see whose digest no active entry approves.
    let visible = state
        .app
        .list(
            &auth.context,
            Kind::Image,
            &yunjian_store::ListQuery {
                per_page: 500,
                ..Default::default()
            },
        )
        .await
        .map(|page| page.items)
        .unwrap_or_default();
    let approved: std::collections::HashSet<(Option<i64>, String)> = entries
        .iter()
        .filter(|entry| entry.revoked_at_ns.is_none())
        .flat_map(|entry| {
            [entry.sm3_digest.clone(), entry.provider_digest.clone()]
                .into_iter()
                .flatten()
                .map(move |digest| (entry.provider_id, digest))
        })
        .collect();
    let unapproved: Vec<_> = visible
        .iter()
        .filter(|object| {
            let digest = object
                .values
                .get("digest")
                .and_then(|value| value.as_text())
                .unwrap_or("")
                .to_owned();
            let provider = object.column_int("provider_id");
            !approved.contains(&(provider, digest.clone())) && !approved.contains(&(None, digest))
        })
        .collect();
    let approve = matches!(
        auth.context.principal.role,
        Role::SystemAdmin | Role::SecurityAdmin | Role::Supervisor
    );
    let body = html! {
        h1 { (lang.t("镜像与模板登记", "Image and template registry")) }
        (nav(&frame))
        p.muted { (lang.t(
            "登记经审核的镜像及其 SM3 摘要和云服务商自有哈希（指南 7.5.7）。每次同步比对：未登记或同一镜像摘要改变时产生安全事件，并在合规检查 7.5.7.1 中列为不符合。",
            "Approved images with their SM3 digest and the provider's own hash (guide 7.5.7). Every sync compares: an unknown digest, or a digest that changed under the same image, raises a security event and fails compliance clause 7.5.7.1."
        )) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        table #registry {
            thead { tr { th { "ID" } th { (lang.t("名称", "Name")) } th { (lang.t("云服务商", "Provider")) } th { "SM3" }
                         th { (lang.t("服务商哈希", "Provider's hash")) } th { (lang.t("登记时间", "Approved")) } th { (lang.t("状态", "State")) } th {} } }
            tbody { @for entry in &entries {
                tr data-state=(if entry.revoked_at_ns.is_some() { "revoked" } else { "active" }) {
                    td.num { (entry.id) } td { (entry.name) }
                    td { (entry.provider_id.and_then(|id| providers.get(&id).cloned()).unwrap_or_else(|| lang.t("全部", "all").to_owned())) }
                    td { code.digest { (entry.sm3_digest.as_deref().unwrap_or("—")) } }
                    td { code.digest { (entry.provider_digest.as_deref().unwrap_or("—")) } }
                    td { (timestamp(entry.approved_at_ns)) }
                    td { @if entry.revoked_at_ns.is_some() { (lang.t("已撤销", "revoked")) } @else { (lang.t("有效", "active")) } }
                    td { @if approve && entry.revoked_at_ns.is_none() {
                        form.inline method="post" action={ "/console/providers/images/" (entry.id) "/revoke" } {
                            input type="hidden" name="_csrf" value=(frame.csrf);
                            button.revoke type="submit" { (lang.t("撤销", "Revoke")) }
                        }
                    } }
                }
            } }
        }
        h2 { (lang.t("未登记的镜像", "Images not in the registry")) }
        table #unapproved {
            thead { tr { th { (lang.t("镜像", "Image")) } th { (lang.t("云服务商", "Provider")) } th { (lang.t("摘要", "Digest")) } th {} } }
            tbody { @for object in &unapproved {
                @let digest = object.values.get("digest").and_then(|value| value.as_text()).unwrap_or("");
                tr { td { a href={ "/console/images/" (object.id) } { (object.display_name()) } }
                     td { (object.column_int("provider_id").and_then(|id| providers.get(&id).cloned()).unwrap_or_default()) }
                     td { code.digest { (digest) } }
                     td { @if approve {
                        form.inline method="post" action="/console/providers/images" {
                            input type="hidden" name="_csrf" value=(frame.csrf);
                            input type="hidden" name="name" value=(object.display_name());
                            input type="hidden" name="provider_id" value=[object.column_int("provider_id")];
                            input type="hidden" name=(if digest.starts_with("sm3:") { "sm3_digest" } else { "provider_digest" }) value=(digest);
                            button type="submit" { (lang.t("审核通过并登记", "Approve and register")) }
                        }
                     } }
                }
            } }
        }
        @if approve {
            details #register-image {
                summary { (lang.t("登记镜像", "Register an image")) }
                form method="post" action="/console/providers/images" {
                    input type="hidden" name="_csrf" value=(frame.csrf);
                    label { (lang.t("名称", "Name")) " " input type="text" name="name" required; }
                    label { (lang.t("云服务商（空为全部）", "Provider (empty: all)")) " " select name="provider_id" {
                        option value="" { (lang.t("全部", "all")) } @for (id, name) in &providers { option value=(id) { (name) } } } }
                    label { "SM3 " input type="text" name="sm3_digest" placeholder="sm3:…"; }
                    label { (lang.t("服务商哈希", "Provider's hash")) " " input type="text" name="provider_digest" placeholder="sha512:…"; }
                    label { (lang.t("操作系统", "OS")) " " input type="text" name="os"; }
                    button type="submit" { (lang.t("登记", "Register")) }
                }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("镜像登记", "Image registry"), body),
    )
}

pub async fn register_image(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let text = |key: &str| {
        first(&pairs, key)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let input = RegistryInput {
        provider_id: text("provider_id").and_then(|text| text.parse().ok()),
        name: text("name").unwrap_or_default(),
        os: text("os"),
        sm3_digest: text("sm3_digest"),
        provider_digest: text("provider_digest"),
        note: text("note"),
    };
    match state.app.register_image(&auth.context, &input).await {
        Ok(entry) => {
            render_images(
                &state,
                &auth,
                Some(&format!(
                    "{} #{}",
                    auth.lang.t("已登记", "Registered"),
                    entry.id
                )),
            )
            .await
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

pub async fn revoke_image(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    match state.app.revoke_image(&auth.context, id).await {
        Ok(()) => render_images(&state, &auth, Some(auth.lang.t("已撤销", "Revoked"))).await,
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

// ---------------------------------------------------------------------------------
// Usage

/// The scope a reader looks at by default: its unit's, the platform for oversight.
fn usage_scope(auth: &ConsoleAuth, query: &QueryMap) -> Scope {
    if let Some(scope) = query
        .get("scope")
        .and_then(|text| yunjian_app::parse_scope(text))
    {
        return scope;
    }
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

/// Bars per day, server-rendered SVG.
fn bars(title: &str, unit: &str, points: &[(String, f64)]) -> Markup {
    if points.is_empty() {
        return html! {};
    }
    let width = 24 * points.len() + 60;
    let max = points
        .iter()
        .map(|(_, value)| *value)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let mut shapes = String::new();
    for (index, (label, value)) in points.iter().enumerate() {
        let h = value / max * 100.0;
        let x = 40 + index * 24;
        shapes.push_str(&format!(
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"16\" height=\"{h:.1}\" fill=\"#1565c0\"><title>{} {value:.1} {}</title></rect>",
            110.0 - h,
            maud::html! { (label) }.into_string(),
            maud::html! { (unit) }.into_string()
        ));
        if index % 5 == 0 {
            shapes.push_str(&format!(
                "<text x=\"{}\" y=\"124\" font-size=\"8\" text-anchor=\"middle\">{}</text>",
                x + 8,
                maud::html! { (label.get(5..).unwrap_or(label)) }.into_string()
            ));
        }
    }
    shapes.push_str(&format!(
        "<text x=\"2\" y=\"12\" font-size=\"9\">{max:.0}</text>"
    ));
    html! {
        figure.usage-chart {
            svg xmlns="http://www.w3.org/2000/svg" width=(width) height="130" viewBox={ "0 0 " (width) " 130" } role="img" aria-label=(title) {
                (PreEscaped(shapes))
            }
            figcaption { (title) " (" (unit) ")" }
        }
    }
}

fn daily(samples: &[UsageSample], metric: &str, last: bool) -> Vec<(String, f64)> {
    yunjian_app::daily(samples, metric, last)
        .into_iter()
        .map(|(day, value)| (day.to_string(), value))
        .collect()
}

pub async fn usage(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let scope = usage_scope(&auth, &query);
    let month = query
        .get("month")
        .and_then(|text| Month::parse(text))
        .unwrap_or_else(|| Month::of(state.app.now_ns()));
    let report = match state.app.usage_report(&auth.context, scope, month).await {
        Ok(report) => report,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let (from, to) = month.bounds();
    let samples = state
        .app
        .usage(&auth.context, None, from, to)
        .await
        .unwrap_or_default();
    let samples: Vec<UsageSample> = samples
        .into_iter()
        .filter(|sample| match scope {
            Scope::Provider(id) => sample.provider_id == id,
            Scope::Tenant(id) => sample.tenant_id == Some(id),
            _ => true,
        })
        .collect();
    let scope_text = match scope {
        Scope::Platform => "platform".to_owned(),
        other => format!("{}:{}", other.kind(), other.id()),
    };
    let link = |format: &str| {
        format!(
            "/console/providers/usage/report?scope={}&month={}&format={format}",
            urlencode(&scope_text),
            month.label()
        )
    };
    let body = html! {
        h1 { (report.title) }
        (nav(&frame))
        form.filters method="get" action="/console/providers/usage" {
            label { (lang.t("范围", "Scope")) " " input type="text" name="scope" value=(scope_text) placeholder="platform / provider:1 / tenant:3"; }
            label { (lang.t("月份", "Month")) " " input type="month" name="month" value=(month.label()); }
            button type="submit" { (lang.t("查看", "Show")) }
        }
        p.downloads { (lang.t("下载月报：", "Monthly report: "))
            a #usage-csv href=(link("csv")) { "CSV" } " · " a href=(link("xlsx")) { "XLSX" } " · " a href=(link("json")) { "JSON" } " · " a href=(link("pdf")) { "PDF" } }
        div.charts {
            (bars(lang.t("vCPU 分配（每日最后一次）", "vCPUs allocated (last of each day)"), "vCPU", &daily(&samples, "vcpus", true)))
            (bars(lang.t("内存分配（每日最后一次）", "Memory allocated (last of each day)"), "GiB", &daily(&samples, "memory_gib", true)))
            (bars(lang.t("存储分配（每日最后一次）", "Storage allocated (last of each day)"), "GiB", &daily(&samples, "storage_gib", true)))
            (bars(lang.t("CPU 利用率（日平均）", "CPU utilization (daily average)"), "%", &daily(&samples, "cpu_utilization", false)))
        }
        @for table in &report.tables {
            h2 { (table.title) }
            table.report {
                thead { tr { @for header in &table.headers { th { (header) } } } }
                tbody { @for row in table.rows.iter().take(300) { tr { @for cell in row { td { (cell) } } } } }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("资源使用", "Usage"), body),
    )
}

pub async fn usage_report(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let scope = usage_scope(&auth, &query);
    crate::provider::usage_report_file(&state, &auth.context, scope, &query, "pdf")
        .await
        .unwrap_or_else(|error| error_page(auth.lang, error, &auth.context.request_id))
}
