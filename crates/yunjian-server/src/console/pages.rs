//! Console pages. maud escapes every interpolated value, so data never becomes markup.

use maud::{html, Markup, DOCTYPE};
use yunjian_app::{Overview, OverviewCount, ResolvedNames};
use yunjian_core::access::{read_scope, ReadScope};
use yunjian_core::role::{Principal, Role};
use yunjian_core::schema::{FieldSpec, FieldType, Kind, Presence};
use yunjian_core::value::{FieldError, Value};
use yunjian_store::{Account, WorldObject};

use super::i18n::Lang;
use crate::wire::timestamp;

/// What every page needs to draw its frame.
pub struct Frame<'a> {
    pub lang: Lang,
    pub principal: &'a Principal,
    pub csrf: &'a str,
    /// The current path, for the language switch and the active menu entry.
    pub path: &'a str,
}

const MENU: &[(&str, &str, &[Kind])] = &[
    (
        "组织与服务商",
        "Organisations",
        &[
            Kind::ManagementUnit,
            Kind::Tenant,
            Kind::Provider,
            Kind::Platform,
        ],
    ),
    (
        "基础设施",
        "Infrastructure",
        &[
            Kind::Datacenter,
            Kind::Zone,
            Kind::Gateway,
            Kind::Host,
            Kind::Image,
        ],
    ),
    (
        "租户网络与系统",
        "Tenant networks and systems",
        &[
            Kind::Vpc,
            Kind::Subnet,
            Kind::SecurityGroup,
            Kind::SecurityGroupRule,
            Kind::NetworkAcl,
            Kind::NetworkAclRule,
            Kind::FirewallRule,
            Kind::VpcPeering,
            Kind::Route,
            Kind::ExchangeRule,
            Kind::ManagementEndpoint,
            Kind::InformationSystem,
        ],
    ),
    (
        "资源",
        "Resources",
        &[
            Kind::Vm,
            Kind::Volume,
            Kind::Snapshot,
            Kind::Backup,
            Kind::PaasInstance,
            Kind::ContainerWorkload,
            Kind::NetworkPolicy,
        ],
    ),
];

/// A section's own navigation (the pages of one menu section), the current one marked.
pub fn section_nav(frame: &Frame<'_>, class: &str, links: &[(&str, &str)]) -> Markup {
    html! {
        nav.related.(class) {
            @for (href, label) in links {
                a href=(href) class=[(frame.path == *href).then_some("active")] { (label) }
            }
        }
    }
}

pub fn kind_label(lang: Lang, kind: Kind) -> &'static str {
    let spec = kind.spec();
    lang.pick(spec.zh, spec.en)
}

pub fn field_label(lang: Lang, field: &FieldSpec) -> &'static str {
    lang.pick(field.zh, field.en)
}

fn role_label(lang: Lang, role: Role) -> &'static str {
    lang.pick(role.label_zh(), role.label_en())
}

pub fn page(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    let lang = frame.lang;
    let other = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(&format!("{title} · {}", lang.t("云监 政务云监管系统", "yunjian e-government cloud supervision"))))
            body {
                header.top {
                    a.brand href="/console" { (lang.t("云监 · 政务云监管系统", "yunjian · Cloud supervision")) }
                    div.who {
                        span { (frame.principal.username) " · " (role_label(lang, frame.principal.role)) }
                        a #security href="/console/security" { (lang.t("账户安全", "Security")) }
                        a href={ "/console/lang/" (other.0) "?back=" (urlencode(frame.path)) } { (other.1) }
                        form.inline method="post" action="/logout" {
                            input type="hidden" name="_csrf" value=(frame.csrf);
                            button.link type="submit" { (lang.t("退出", "Log out")) }
                        }
                    }
                }
                div.layout {
                    nav.side {
                        a href="/console" class=[active(frame.path == "/console")] { (lang.t("概览", "Overview")) }
                        @for (zh, en, kinds) in MENU {
                            @let visible: Vec<Kind> = kinds.iter().copied().filter(|kind| read_scope(frame.principal, *kind) != ReadScope::Nothing).collect();
                            @if !visible.is_empty() {
                                h4 { (lang.pick(zh, en)) }
                                @for kind in visible {
                                    @let href = format!("/console/{}", kind.spec().table);
                                    a href=(href) class=[active(within(frame.path, &href))] { (kind_label(lang, kind)) }
                                }
                            }
                        }
                        h4 { (lang.t("合规", "Compliance")) }
                        a href="/console/compliance" class=[active(frame.path == "/console/compliance")] { (lang.t("合规概览", "Dashboard")) }
                        a href="/console/compliance/catalog" class=[active(frame.path.starts_with("/console/compliance/catalog") || frame.path.starts_with("/console/compliance/clauses"))] { (lang.t("条款目录", "Catalog")) }
                        a href="/console/compliance/reports" class=[active(frame.path.starts_with("/console/compliance/reports"))] { (lang.t("合规报告", "Reports")) }
                        h4 { (lang.t("云服务商对接", "Provider interface")) }
                        a href="/console/providers/sync" class=[active(frame.path == "/console/providers/sync")] { (lang.t("接入与同步", "Connectors and syncs")) }
                        a href="/console/providers/changes" class=[active(frame.path == "/console/providers/changes")] { (lang.t("变更历史", "Change history")) }
                        a href="/console/providers/images" class=[active(frame.path == "/console/providers/images")] { (lang.t("镜像登记", "Image registry")) }
                        a href="/console/providers/usage" class=[active(frame.path == "/console/providers/usage")] { (lang.t("资源使用", "Usage")) }
                        h4 { (lang.t("网络隔离验证", "Network isolation")) }
                        a href="/console/network" class=[active(frame.path == "/console/network")] { (lang.t("隔离验证结果", "Findings")) }
                        a href="/console/network/query" class=[active(frame.path == "/console/network/query")] { (lang.t("可达性查询", "Reachability")) }
                        a href="/console/network/vpcs" class=[active(frame.path.starts_with("/console/network/vpcs"))] { (lang.t("VPC 分段视图", "VPC segmentation")) }
                        a href="/console/network/what-if" class=[active(frame.path == "/console/network/what-if")] { (lang.t("变更预演", "What-if")) }
                        a href="/console/network/changes" class=[active(frame.path == "/console/network/changes")] { (lang.t("策略变更日志", "Policy-change log")) }
                        @if frame.principal.role != Role::SystemAdmin {
                            h4 { (lang.t("安全事件中心", "Security event centre")) }
                            a href="/console/soc" class=[active(frame.path == "/console/soc")] { (lang.t("态势感知", "Situation")) }
                            a href="/console/soc/events" class=[active(frame.path.starts_with("/console/soc/events"))] { (lang.t("事件检索", "Event search")) }
                            a href="/console/soc/incidents" class=[active(frame.path.starts_with("/console/soc/incidents"))] { (lang.t("告警与事件处置", "Alerts and incidents")) }
                            a href="/console/soc/rules" class=[active(frame.path.starts_with("/console/soc/rules"))] { (lang.t("检测规则", "Detection rules")) }
                            a href="/console/soc/sources" class=[active(frame.path.starts_with("/console/soc/sources"))] { (lang.t("日志源与通知", "Sources and notifications")) }
                        }
                        h4 { (lang.t("安全与审计", "Security and audit")) }
                        @if matches!(frame.principal.role, Role::SystemAdmin | Role::SecurityAdmin | Role::SecurityAuditor | Role::Auditor) {
                            a href="/console/accounts" class=[active(frame.path.starts_with("/console/accounts"))] { (lang.t("账户", "Accounts")) }
                        }
                        a href="/console/audit" class=[active(frame.path.starts_with("/console/audit"))] { (lang.t("审计记录", "Audit records")) }
                        @if frame.principal.role != Role::SystemAdmin {
                            a href="/console/authorizations" class=[active(frame.path.starts_with("/console/authorizations"))] { (lang.t("租户授权", "Tenant authorizations")) }
                        }
                        a href="/console/privileges" class=[active(frame.path.starts_with("/console/privileges"))] { (lang.t("临时权限", "Temporary privileges")) }
                        @if frame.principal.role != Role::SystemAdmin {
                            a href="/console/events" class=[active(frame.path.starts_with("/console/events"))] { (lang.t("安全事件", "Security events")) }
                        }
                    }
                    main { (body) }
                }
            }
        }
    }
}

/// The `<head>` of every page: one stylesheet, no scripts, nothing from another origin.
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            link rel="stylesheet" href="/assets/console.css";
        }
    }
}

/// Whether a path is a kind's list or one of its objects (`/console/providers/3`), not
/// another page that shares the prefix (`/console/providers/sync`).
fn within(path: &str, list: &str) -> bool {
    match path.strip_prefix(list) {
        Some("") => true,
        Some(rest) => rest.strip_prefix('/').is_some_and(|rest| {
            rest.starts_with(|c: char| c.is_ascii_digit()) || rest.starts_with("new")
        }),
        None => false,
    }
}

fn active(on: bool) -> Option<&'static str> {
    on.then_some("active")
}

pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub fn login_page(lang: Lang, csrf: &str, next: &str, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang.t("登录 · 云监", "Log in · yunjian")))
            body {
                div.login {
                    h1 { (lang.t("政务云监管系统", "Cloud supervision")) }
                    p.muted { (lang.t("重庆市电子政务云平台 · 云监", "Chongqing e-government cloud · yunjian")) }
                    @if let Some(error) = error {
                        div.alert.error role="alert" { (error) }
                    }
                    form method="post" action="/login" {
                        input type="hidden" name="_csrf" value=(csrf);
                        input type="hidden" name="next" value=(next);
                        label for="username" { (lang.t("用户名", "Username")) }
                        input #username type="text" name="username" autocomplete="username" required autofocus;
                        label for="password" { (lang.t("密码", "Password")) }
                        input #password type="password" name="password" autocomplete="current-password" required;
                        label for="totp" { (lang.t("动态口令（已启用双因素时）", "One-time code (when a second factor is enrolled)")) }
                        input #totp type="text" name="totp" inputmode="numeric" autocomplete="one-time-code";
                        button #login type="submit" { (lang.t("登录", "Log in")) }
                    }
                    p.muted { a href={ "/login?lang=" (match lang { Lang::Zh => "en", Lang::En => "zh" }) } { (lang.t("English", "中文")) } }
                }
            }
        }
    }
}

fn counts_table(
    lang: Lang,
    title: &str,
    counts: &[OverviewCount],
    link: Option<(&str, &str)>,
    label: impl Fn(&OverviewCount) -> String,
) -> Markup {
    let max = counts
        .iter()
        .map(|count| count.count)
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        div {
            h2 { (title) }
            @if counts.is_empty() {
                p.muted { (lang.t("暂无数据", "No data")) }
            } @else {
                table {
                    tbody {
                        @for count in counts {
                            tr {
                                td {
                                    @if let Some((table, field)) = link {
                                        a href={ "/console/" (table) "?" (field) "=" (urlencode(&count.key)) } { (label(count)) }
                                    } @else { (label(count)) }
                                }
                                td.num { (count.count) }
                                td.bar { meter min="0" max=(max) value=(count.count) {} }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn overview_page(frame: &Frame<'_>, overview: &Overview) -> Markup {
    let lang = frame.lang;
    let body = html! {
        h1 { (lang.t("概览", "Overview")) }
        div.cards {
            @for (kind, count) in &overview.totals {
                a.card href={ "/console/" (kind.spec().table) } {
                    div.count { (count) }
                    div.label { (kind_label(lang, *kind)) }
                }
            }
        }
        div.grid2 {
            (counts_table(lang, lang.t("各云服务商云主机数", "VMs per provider"), &overview.vms_by_provider, Some(("vms", "provider_id")), |c| c.label.clone()))
            (counts_table(lang, lang.t("各网络区域VPC数", "VPCs per zone"), &overview.vpcs_by_zone, Some(("vpcs", "zone_id")), |c| c.label.clone()))
            (counts_table(lang, lang.t("云主机数前十的云租户", "Top tenants by VMs"), &overview.vms_by_tenant, Some(("vms", "tenant_id")), |c| c.label.clone()))
            (counts_table(lang, lang.t("信息系统等保等级分布", "Information systems by MLPS level"), &overview.systems_by_mlps_level, Some(("information_systems", "mlps_level")),
                |c| match lang { Lang::Zh => format!("第{}级", c.key), Lang::En => format!("Level {}", c.key) }))
        }
    };
    page(frame, lang.t("概览", "Overview"), body)
}

/// Renders one stored value for people.
pub fn render_value(
    lang: Lang,
    field: &FieldSpec,
    value: Option<&Value>,
    names: &ResolvedNames,
) -> Markup {
    let value = value.unwrap_or(&Value::Null);
    match (field.ty, value) {
        (_, Value::Null) => html! { span.muted { "—" } },
        (FieldType::Ref(target), Value::Int(id)) => reference(lang, target, *id, names),
        (FieldType::RefList(link), Value::IdList(ids)) => html! {
            @if ids.is_empty() { span.muted { "—" } }
            @for id in ids { (reference(lang, link.target, *id, names)) " " }
        },
        (FieldType::Bool, Value::Bool(flag)) => {
            html! { (if *flag { lang.t("是", "Yes") } else { lang.t("否", "No") }) }
        }
        (FieldType::Enum(options), Value::Text(text)) => {
            let label = options
                .iter()
                .find(|option| option.value == text)
                .map_or(text.as_str(), |option| lang.pick(option.zh, option.en));
            html! { span class={ "tag " (text) } { (label) } }
        }
        (FieldType::EnumList(options), Value::TextList(items)) => html! {
            @if items.is_empty() { span.muted { "—" } }
            @for item in items {
                span.tag { (options.iter().find(|option| option.value == item.as_str()).map_or(item.as_str(), |option| lang.pick(option.zh, option.en))) }
            }
        },
        (FieldType::Digest, Value::Text(text)) => {
            html! { code title=(text) { (text.chars().take(20).collect::<String>()) "…" } }
        }
        (_, Value::TextList(items)) => html! { (items.join(", ")) },
        (_, Value::Int(number)) => html! { (number) },
        (_, Value::Float(number)) => html! { (format!("{number:.6}")) },
        (_, Value::Text(text)) => html! { (text) },
        (_, other) => html! { (other.to_json().to_string()) },
    }
}

fn reference(_lang: Lang, kind: Kind, id: i64, names: &ResolvedNames) -> Markup {
    match names.get(&(kind, id)) {
        Some(name) => html! { a href={ "/console/" (kind.spec().table) "/" (id) } { (name) } },
        None => html! { span.muted { "#" (id) } },
    }
}

pub struct ListView<'a> {
    pub kind: Kind,
    pub items: &'a [WorldObject],
    pub names: &'a ResolvedNames,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub search: &'a str,
    /// The query string without page (for pager and sort links).
    pub base_query: &'a [(String, String)],
    pub sort: &'a str,
    pub descending: bool,
    /// The PDP lets the principal create objects of this kind (shows "new").
    pub writable: bool,
}

fn query_with(base: &[(String, String)], extra: &[(&str, String)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in base {
        if !extra.iter().any(|(k, _)| k == key) {
            serializer.append_pair(key, value);
        }
    }
    for (key, value) in extra {
        serializer.append_pair(key, value);
    }
    serializer.finish()
}

pub fn list_page(frame: &Frame<'_>, view: &ListView<'_>) -> Markup {
    let lang = frame.lang;
    let spec = view.kind.spec();
    let title = kind_label(lang, view.kind);
    let pages = ((view.total + i64::from(view.per_page) - 1) / i64::from(view.per_page)).max(1);
    let filters: Vec<&(String, String)> = view
        .base_query
        .iter()
        .filter(|(key, _)| spec.field(key).is_some())
        .collect();
    let body = html! {
        h1 { (title) }
        div.toolbar {
            form method="get" action={ "/console/" (spec.table) } {
                @for (key, value) in &filters { input type="hidden" name=(key) value=(value); }
                input type="search" name="q" value=(view.search) placeholder=(lang.t("按名称搜索", "Search by name"));
                " "
                button.secondary type="submit" { (lang.t("搜索", "Search")) }
            }
            @for (key, value) in &filters {
                span.tag { (spec.field(key).map_or(key.as_str(), |field| field_label(lang, field))) " = " (value) }
            }
            @if !filters.is_empty() {
                a href={ "/console/" (spec.table) } { (lang.t("清除筛选", "Clear filters")) }
            }
            span.spacer {}
            @if view.writable {
                a.button href={ "/console/" (spec.table) "/new" } { (lang.t("新建", "New")) }
            }
        }
        table #list {
            thead {
                tr {
                    (sort_header(view, "id", "ID"))
                    @for name in spec.list_columns {
                        @if let Some(field) = spec.field(name) {
                            @if matches!(field.ty, FieldType::RefList(_) | FieldType::EnumList(_) | FieldType::CidrList | FieldType::IpList | FieldType::TextList { .. }) {
                                th { (field_label(lang, field)) }
                            } @else {
                                (sort_header(view, name, field_label(lang, field)))
                            }
                        }
                    }
                }
            }
            tbody {
                @for object in view.items {
                    tr {
                        td.num { a href={ "/console/" (spec.table) "/" (object.id) } { (object.id) } }
                        @for (index, name) in spec.list_columns.iter().enumerate() {
                            @if let Some(field) = spec.field(name) {
                                td {
                                    @if index == 0 && *name == "name" {
                                        a href={ "/console/" (spec.table) "/" (object.id) } { (object.display_name()) }
                                    } @else {
                                        (render_value(lang, field, object.values.get(name), view.names))
                                    }
                                }
                            }
                        }
                    }
                }
                @if view.items.is_empty() {
                    tr { td colspan=(spec.list_columns.len() + 1) { span.muted { (lang.t("没有符合条件的记录", "Nothing matches")) } } }
                }
            }
        }
        div.pager {
            span { (lang.t("共", "Total")) " " (view.total) " · " (lang.t("第", "page")) " " (view.page) " / " (pages) }
            @if view.page > 1 {
                a href={ "?" (query_with(view.base_query, &[("page", (view.page - 1).to_string())])) } { (lang.t("上一页", "Previous")) }
            }
            @if i64::from(view.page) < pages {
                a href={ "?" (query_with(view.base_query, &[("page", (view.page + 1).to_string())])) } { (lang.t("下一页", "Next")) }
            }
        }
    };
    page(frame, title, body)
}

fn sort_header(view: &ListView<'_>, name: &str, label: &str) -> Markup {
    let current = view.sort == name || (name == "id" && view.sort == "id");
    let next_order = if current && !view.descending {
        "desc"
    } else {
        "asc"
    };
    let arrow = match (current, view.descending) {
        (true, false) => " ▲",
        (true, true) => " ▼",
        _ => "",
    };
    html! {
        th { a href={ "?" (query_with(view.base_query, &[("sort", name.to_owned()), ("order", next_order.to_owned()), ("page", "1".to_owned())])) } { (label) (arrow) } }
    }
}

pub fn detail_page(
    frame: &Frame<'_>,
    object: &WorldObject,
    names: &ResolvedNames,
    notice: Option<&str>,
    writable: bool,
) -> Markup {
    let lang = frame.lang;
    let spec = object.kind.spec();
    let title = format!(
        "{} · {}",
        kind_label(lang, object.kind),
        object.display_name()
    );
    let related: Vec<(Kind, &FieldSpec)> = object
        .kind
        .referrers()
        .into_iter()
        .filter(|(kind, field)| {
            matches!(field.ty, FieldType::Ref(_))
                && read_scope(frame.principal, *kind) != ReadScope::Nothing
        })
        .collect();
    let body = html! {
        h1 { (title) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        div.toolbar {
            a href={ "/console/" (spec.table) } { "← " (kind_label(lang, object.kind)) }
            span.spacer {}
            @if writable {
                a.button href={ "/console/" (spec.table) "/" (object.id) "/edit" } { (lang.t("编辑", "Edit")) }
                form.inline method="post" action={ "/console/" (spec.table) "/" (object.id) "/delete" } {
                    input type="hidden" name="_csrf" value=(frame.csrf);
                    " "
                    button.danger type="submit" { (lang.t("删除", "Delete")) }
                }
            }
        }
        dl.detail #detail {
            dt { "ID" } dd { (object.id) }
            @for field in spec.fields {
                dt { (field_label(lang, field)) }
                dd { (render_value(lang, field, object.values.get(field.name), names)) }
            }
            dt { (lang.t("创建时间", "Created")) } dd { (timestamp(object.created_at_ns)) }
            dt { (lang.t("更新时间", "Updated")) } dd { (timestamp(object.updated_at_ns)) }
            dt { (lang.t("版本", "Revision")) } dd { (object.revision) }
        }
        @if !related.is_empty() {
            h2 { (lang.t("关联对象", "Related objects")) }
            div.related {
                @for (kind, field) in &related {
                    a.tag href={ "/console/" (kind.spec().table) "?" (field.name) "=" (object.id) } {
                        (kind_label(lang, *kind)) " (" (field_label(lang, field)) ")"
                    }
                }
            }
        }
    };
    page(frame, &title, body)
}

/// Options for a reference field: `None` when there are too many to list (the form
/// then takes an id).
pub type RefOptions = Option<Vec<(i64, String)>>;

pub struct FormView<'a> {
    pub kind: Kind,
    /// `None` for a new object.
    pub id: Option<i64>,
    /// Current values as the form should show them (text per field name; lists as
    /// several values).
    pub values: &'a [(String, String)],
    pub errors: &'a [FieldError],
    pub general_error: Option<&'a str>,
    pub options: &'a dyn Fn(&str) -> RefOptions,
}

pub fn form_page(frame: &Frame<'_>, view: &FormView<'_>) -> Markup {
    let lang = frame.lang;
    let spec = view.kind.spec();
    let title = match view.id {
        Some(id) => format!(
            "{} {} #{id}",
            lang.t("编辑", "Edit"),
            kind_label(lang, view.kind)
        ),
        None => format!("{}{}", lang.t("新建", "New "), kind_label(lang, view.kind)),
    };
    let action = match view.id {
        Some(id) => format!("/console/{}/{id}", spec.table),
        None => format!("/console/{}", spec.table),
    };
    let has = |name: &str, wanted: &str| view.values.iter().any(|(k, v)| k == name && v == wanted);
    let first = |name: &str| {
        view.values
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let all = |name: &str| {
        view.values
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    let body = html! {
        h1 { (title) }
        @if let Some(error) = view.general_error { div.alert.error role="alert" { (error) } }
        @if !view.errors.is_empty() {
            div.alert.error role="alert" { (lang.t("请更正标出的字段。", "Please correct the marked fields.")) }
        }
        form method="post" action=(action) #object-form {
            input type="hidden" name="_csrf" value=(frame.csrf);
            div.form-grid {
                @for field in spec.input_fields() {
                    @let id = format!("f-{}", field.name);
                    @let required = field.presence == Presence::Required;
                    label.name for=(id) { (field_label(lang, field)) @if required { " *" } }
                    div {
                        @match field.ty {
                            FieldType::Bool => {
                                input id=(id) type="checkbox" name=(field.name) value="true" checked[has(field.name, "true")];
                            }
                            FieldType::Enum(options) => {
                                select id=(id) name=(field.name) {
                                    @if !required { option value="" { "—" } }
                                    @for option in options {
                                        option value=(option.value) selected[has(field.name, option.value)] { (lang.pick(option.zh, option.en)) }
                                    }
                                }
                            }
                            FieldType::EnumList(options) => {
                                div.checks {
                                    @for option in options {
                                        label {
                                            input type="checkbox" name=(field.name) value=(option.value) checked[has(field.name, option.value)];
                                            " " (lang.pick(option.zh, option.en))
                                        }
                                    }
                                }
                            }
                            FieldType::Ref(_) => {
                                @match (view.options)(field.name) {
                                    Some(choices) => {
                                        select id=(id) name=(field.name) {
                                            @if !required || first(field.name).is_empty() { option value="" { "—" } }
                                            @for (value, label) in &choices {
                                                option value=(value) selected[first(field.name) == value.to_string()] { (label) " (#" (value) ")" }
                                            }
                                        }
                                    }
                                    None => {
                                        input id=(id) type="number" min="1" name=(field.name) value=(first(field.name));
                                        div.hint { (lang.t("填写对象ID", "Enter the object id")) }
                                    }
                                }
                            }
                            FieldType::RefList(_) => {
                                @match (view.options)(field.name) {
                                    Some(choices) => {
                                        select id=(id) name=(field.name) multiple size="6" {
                                            @for (value, label) in &choices {
                                                option value=(value) selected[all(field.name).contains(&value.to_string().as_str())] { (label) " (#" (value) ")" }
                                            }
                                        }
                                    }
                                    None => {
                                        input id=(id) type="text" name=(field.name) value=(all(field.name).join(","));
                                    }
                                }
                            }
                            FieldType::CidrList | FieldType::IpList | FieldType::TextList { .. } => {
                                textarea id=(id) name=(field.name) { (all(field.name).join("\n")) }
                                div.hint { (lang.t("每行一个", "One per line")) }
                            }
                            FieldType::Integer { min, max } => {
                                input id=(id) type="number" name=(field.name) min=(min) max=(max) value=(first(field.name));
                            }
                            FieldType::Float { min, max } => {
                                input id=(id) type="number" step="any" name=(field.name) min=(min) max=(max) value=(first(field.name));
                            }
                            FieldType::Date => {
                                input id=(id) type="date" name=(field.name) value=(first(field.name));
                            }
                            FieldType::Text { max_chars, .. } => {
                                @if max_chars > 256 {
                                    textarea id=(id) name=(field.name) maxlength=(max_chars) { (first(field.name)) }
                                } @else {
                                    input id=(id) type="text" name=(field.name) maxlength=(max_chars) value=(first(field.name));
                                }
                            }
                            FieldType::Cidr | FieldType::Digest => {
                                input id=(id) type="text" name=(field.name) value=(first(field.name));
                            }
                        }
                        @for error in view.errors.iter().filter(|error| error.field == field.name) {
                            div.field-error { (error.message) }
                        }
                    }
                }
                div {}
                div {
                    button #save type="submit" { (lang.t("保存", "Save")) }
                    " "
                    a href=(match view.id { Some(id) => format!("/console/{}/{id}", spec.table), None => format!("/console/{}", spec.table) }) { (lang.t("取消", "Cancel")) }
                }
            }
        }
    };
    page(frame, &title, body)
}

/// The values of a stored object as form text.
pub fn form_values(object: &WorldObject) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for field in object.kind.spec().input_fields() {
        match object.values.get(field.name) {
            Some(Value::Int(number)) => pairs.push((field.name.to_owned(), number.to_string())),
            Some(Value::Float(number)) => pairs.push((field.name.to_owned(), number.to_string())),
            Some(Value::Bool(flag)) => pairs.push((field.name.to_owned(), flag.to_string())),
            Some(Value::Text(text)) => pairs.push((field.name.to_owned(), text.clone())),
            Some(Value::TextList(items)) => pairs.extend(
                items
                    .iter()
                    .map(|item| (field.name.to_owned(), item.clone())),
            ),
            Some(Value::IdList(ids)) => {
                pairs.extend(ids.iter().map(|id| (field.name.to_owned(), id.to_string())))
            }
            Some(Value::Null) | None => {}
        }
    }
    pairs
}

pub fn accounts_page(
    frame: &Frame<'_>,
    accounts: &[Account],
    can_create: bool,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    let lang = frame.lang;
    let body = html! {
        h1 { (lang.t("账户", "Accounts")) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        @for error in errors { div.alert.error role="alert" { (error.message) } }
        table {
            thead { tr {
                th { "ID" } th { (lang.t("用户名", "Username")) } th { (lang.t("角色", "Role")) }
                th { (lang.t("云租户", "Tenant")) } th { (lang.t("云服务商", "Provider")) } th { (lang.t("状态", "State")) }
                th { (lang.t("人员编号", "Person")) } th { (lang.t("双因素", "2FA")) } th { (lang.t("创建时间", "Created")) }
            } }
            tbody {
                @for account in accounts {
                    tr {
                        td.num { (account.id.0) }
                        td { (account.username) }
                        td { (role_label(lang, account.role)) }
                        td { @if let Some(tenant) = account.tenant { a href={ "/console/tenants/" (tenant.0) } { "#" (tenant.0) } } }
                        td { @if let Some(provider) = account.provider { a href={ "/console/providers/" (provider.0) } { "#" (provider.0) } } }
                        td { (if account.disabled { lang.t("已停用", "Disabled") } else { lang.t("正常", "Active") }) }
                        td { (account.person_id.as_deref().unwrap_or("")) }
                        td { (if account.totp_sealed.is_some() { lang.t("已启用", "on") } else { lang.t("未启用", "off") }) }
                        td { (timestamp(account.created_at_ns)) }
                    }
                }
            }
        }
        @if can_create {
            h2 { (lang.t("新建账户", "New account")) }
            form method="post" action="/console/accounts" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                div.form-grid {
                    label.name for="a-username" { (lang.t("用户名", "Username")) " *" }
                    input #a-username type="text" name="username" required;
                    label.name for="a-display" { (lang.t("显示名", "Display name")) }
                    input #a-display type="text" name="display_name";
                    label.name for="a-password" { (lang.t("初始密码（至少14位）", "Initial password (14+ characters)")) " *" }
                    input #a-password type="password" name="password" minlength="14" required autocomplete="new-password";
                    label.name for="a-role" { (lang.t("角色", "Role")) " *" }
                    select #a-role name="role" {
                        @for role in Role::ALL { option value=(role.as_str()) { (role_label(lang, role)) } }
                    }
                    label.name for="a-tenant" { (lang.t("云租户ID（租户管理员）", "Tenant id (tenant administrators)")) }
                    input #a-tenant type="number" name="tenant_id" min="1";
                    label.name for="a-provider" { (lang.t("云服务商ID（服务商运维员）", "Provider id (provider operators)")) }
                    input #a-provider type="number" name="provider_id" min="1";
                    label.name for="a-person" { (lang.t("人员编号（三员必填）", "Person id (required for the three administrators)")) }
                    input #a-person type="text" name="person_id" maxlength="64";
                    div {}
                    div { button type="submit" { (lang.t("创建", "Create")) } }
                }
            }
        }
        (super::access::account_actions(frame))
    };
    page(frame, lang.t("账户", "Accounts"), body)
}

/// The caller's second factor: enrol TOTP (secret, QR code, otpauth URI), confirm with a
/// code, and see the recovery codes once.
pub fn security_page(
    frame: &Frame<'_>,
    enrolment: Option<&yunjian_app::TotpEnrolment>,
    recovery_codes: Option<&[String]>,
    errors: &[FieldError],
) -> Markup {
    let lang = frame.lang;
    let body = html! {
        h1 { (lang.t("账户安全", "Account security")) }
        p { a href="/console/password" { (lang.t("修改密码", "Change password")) } }
        h2 { (lang.t("双因素认证（TOTP）", "Two-factor authentication (TOTP)")) }
        @for error in errors { div.alert.error role="alert" { (error.message) } }
        @if let Some(codes) = recovery_codes {
            div.alert.ok #totp-enabled role="status" { (lang.t("已启用。请保存以下恢复码，每个只能使用一次，且只显示这一次：", "Enabled. Keep these recovery codes; each works once and they are shown only now:")) }
            pre #recovery-codes { @for code in codes { (code) "\n" } }
        } @else if let Some(enrolment) = enrolment {
            p { (lang.t("用身份验证器扫描二维码，或手工输入密钥，然后输入它显示的口令：", "Scan the QR code with an authenticator app, or type the secret, then enter the code it shows:")) }
            div #totp-qr { (maud::PreEscaped(qr_svg(&enrolment.otpauth_uri))) }
            p { (lang.t("密钥：", "Secret: ")) code #totp-secret { (enrolment.secret_base32) } }
            form method="post" action="/console/security/totp/confirm" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                label for="code" { (lang.t("动态口令", "Code")) }
                input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                button #confirm-totp type="submit" { (lang.t("确认启用", "Confirm")) }
            }
        } @else {
            form method="post" action="/console/security/totp" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                button #enrol-totp type="submit" { (lang.t("启用（或重新绑定）身份验证器", "Enrol (or re-enrol) an authenticator")) }
            }
        }
    };
    page(frame, lang.t("账户安全", "Account security"), body)
}

/// The otpauth URI as an SVG QR code (rendered here: the console works offline).
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
        Err(_) => String::new(),
    }
}

/// The caller's own password: change it (forced after a reset or at expiry, when the
/// console sends every request here).
pub fn password_page(
    frame: &Frame<'_>,
    age: Option<yunjian_core::password::PasswordAge>,
    errors: &[FieldError],
    changed: bool,
) -> Markup {
    use yunjian_core::password::PasswordAge;
    let lang = frame.lang;
    let field = |name: &str, zh: &'static str, en: &'static str, autocomplete: &'static str| {
        let error = errors
            .iter()
            .filter(|e| e.field == name)
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        html! {
            label for=(name) { (lang.t(zh, en)) }
            input id=(name) type="password" name=(name) autocomplete=(autocomplete) required;
            @if !error.is_empty() { p.field-error role="alert" { (error) } }
        }
    };
    let body = html! {
        h1 { (lang.t("修改密码", "Change password")) }
        @if changed {
            div.alert.ok #password-changed role="status" { (lang.t("密码已修改，其他会话已结束。", "Password changed; your other sessions have ended.")) }
        }
        @match age {
            Some(PasswordAge::Expired) => div.alert.error role="alert" { (lang.t("密码已过期或需在首次登录时修改，请先修改密码。", "Your password has expired or must be changed at first login: change it to continue.")) },
            Some(PasswordAge::ExpiresSoon { days_left }) => div.alert role="status" { (lang.t("密码将在天数内过期：", "Your password expires in days: ")) (days_left) },
            _ => {}
        }
        p.muted { (lang.t(
            "至少 14 个字符，包含大写字母、小写字母、数字和其他字符中的至少三类，不含用户名，不与最近 5 次密码相同（7.5.3.1）。",
            "At least 14 characters from at least three of: upper case, lower case, digits, other characters; not containing your username; different from your last 5 passwords (7.5.3.1)."
        )) }
        form #password-form method="post" action="/console/password" {
            input type="hidden" name="_csrf" value=(frame.csrf);
            (field("current_password", "当前密码", "Current password", "current-password"))
            (field("new_password", "新密码", "New password", "new-password"))
            (field("confirm_password", "确认新密码", "Confirm the new password", "new-password"))
            button #change-password type="submit" { (lang.t("修改密码", "Change password")) }
        }
    };
    page(frame, lang.t("修改密码", "Change password"), body)
}

pub fn message_page(lang: Lang, status_title: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(&format!("{status_title} · yunjian")))
            body {
                div.login {
                    h1 { (status_title) }
                    p { (message) }
                    p { a href="/console" { (lang.t("返回概览", "Back to the overview")) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::{login_page, Lang};

    #[test]
    fn the_login_page_renders_escaped_and_in_the_chosen_language() {
        let page = login_page(
            Lang::En,
            "c5rf",
            "/console/vpcs",
            Some("<b>Wrong</b> username or password."),
        );
        expect![[r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Log in · yunjian</title><link rel="stylesheet" href="/assets/console.css"></head><body><div class="login"><h1>Cloud supervision</h1><p class="muted">Chongqing e-government cloud · yunjian</p><div class="alert error" role="alert">&lt;b&gt;Wrong&lt;/b&gt; username or password.</div><form method="post" action="/login"><input type="hidden" name="_csrf" value="c5rf"><input type="hidden" name="next" value="/console/vpcs"><label for="username">Username</label><input id="username" type="text" name="username" autocomplete="username" required autofocus><label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password" required><label for="totp">One-time code (when a second factor is enrolled)</label><input id="totp" type="text" name="totp" inputmode="numeric" autocomplete="one-time-code"><button id="login" type="submit">Log in</button></form><p class="muted"><a href="/login?lang=zh">中文</a></p></div></body></html>"#]]
        .assert_eq(&page.into_string());
    }
}
