//! Console pages of network isolation verification (网络隔离验证, issue 8): findings by
//! invariant and tenant, the reachability query with its path drawn hop by hop (SVG,
//! server-rendered), a VPC's segmentation (which groups talk on which ports) and the
//! policy-change log. All reads; the app scopes them.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use yunjian_app::network::{PairAnswer, QueryInput, ShownHop};
use yunjian_core::schema::Kind;
use yunjian_network::checks::Invariant;
use yunjian_network::engine::Stage;

use super::i18n::Lang;
use super::pages::{page, section_nav, urlencode, Frame};
use super::provider::names;
use super::{failure, html_status, ConsoleAuth};
use crate::AppState;

type QueryMap = HashMap<String, String>;

fn nav(frame: &Frame<'_>) -> Markup {
    let lang = frame.lang;
    let links = [
        ("/console/network", lang.t("隔离验证结果", "Findings")),
        (
            "/console/network/query",
            lang.t("可达性查询", "Reachability"),
        ),
        (
            "/console/network/vpcs",
            lang.t("VPC 分段视图", "VPC segmentation"),
        ),
        ("/console/network/what-if", lang.t("变更预演", "What-if")),
        (
            "/console/network/changes",
            lang.t("策略变更日志", "Policy-change log"),
        ),
    ];
    section_nav(frame, "network-nav", &links)
}

pub fn invariant_label(lang: Lang, invariant: Invariant) -> &'static str {
    match invariant {
        Invariant::CrossTenantPath => lang.t("跨租户通路未经审批", "Unapproved cross-tenant path"),
        Invariant::ZoneSeparation => lang.t("区域间绕过网闸", "Zones meet outside the gateway"),
        Invariant::ManagementReach => {
            lang.t("运维可达非本租户VPC", "Management reaches another tenant")
        }
        Invariant::SharedHost => lang.t("互联网区虚拟机混合部署", "Internet VM on a shared host"),
        Invariant::ManagementOpenToAll => {
            lang.t("管理/数据库端口对全网开放", "Management port open to all")
        }
        Invariant::AnyToAny => lang.t("全端口全地址放通", "Any-to-any rule"),
        Invariant::Shadowed => lang.t("被遮蔽的规则", "Shadowed rule"),
        Invariant::Redundant => lang.t("冗余规则", "Redundant rule"),
        Invariant::NotVerifiable => lang.t("无法验证的路径", "Not verifiable"),
        Invariant::ContainerCrossTenant => {
            lang.t("容器跨租户互通", "Container pods of two tenants connect")
        }
        Invariant::ContainerUnsegmented => lang.t(
            "容器未做微隔离",
            "Container pods without micro-segmentation",
        ),
    }
}

fn stage_label(lang: Lang, stage: Stage) -> &'static str {
    match stage {
        Stage::SourceGroups => lang.t("源安全组（出）", "Source groups (egress)"),
        Stage::SourceAcl => lang.t("源子网ACL（出）", "Source subnet ACL"),
        Stage::Peering => lang.t("对等连接与路由", "Peering and routes"),
        Stage::SourceFirewall => lang.t("源租户防火墙", "Source tenant firewall"),
        Stage::DestinationFirewall => lang.t("目的租户防火墙", "Destination tenant firewall"),
        Stage::DestinationAcl => lang.t("目的子网ACL（入）", "Destination subnet ACL"),
        Stage::DestinationGroups => lang.t("目的安全组（入）", "Destination groups (ingress)"),
    }
}

pub async fn findings(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let filter = match crate::network::findings_filter(&query) {
        Ok(filter) => filter,
        Err(error) => return failure(&auth, error),
    };
    let view = match state.app.network_findings(&auth.context, &filter).await {
        Ok(view) => view,
        Err(error) => return failure(&auth, error),
    };
    let tenants = names(&state, &auth.context, Kind::Tenant).await;
    let selected = query.get("invariant").cloned().unwrap_or_default();
    let link = |invariant: &str| {
        let mut params = vec![format!("invariant={invariant}")];
        for key in ["tenant_id", "vpc_id"] {
            if let Some(value) = query.get(key).filter(|value| !value.is_empty()) {
                params.push(format!("{key}={}", urlencode(value)));
            }
        }
        format!("/console/network?{}", params.join("&"))
    };
    let body = html! {
        h1 { (lang.t("网络隔离验证", "Network isolation verification")) }
        (nav(&frame))
        p.muted { (lang.t(
            "对所有可能的流量（每个协议、每个端口、每对虚拟机接口）证明指南的隔离要求：区域之间只经网闸（5.2.2），租户之间只沿经审批且双方防火墙明确放行的通道（7.5.12），运维只能到达本租户VPC（7.2.2.3），互联网区虚拟机不与其他区域混合部署（7.1.2），安全组不对全网开放管理端口（7.2.4.2）；容器集群中按 Kubernetes 网络策略验证不同租户的 Pod 互不可达、各命名空间均做微隔离（5.4.3）。",
            "Proves the guide's isolation requirements over every possible flow (every protocol, port and pair of VM interfaces): zones meet only through the gateway (5.2.2), tenants only along approved exchanges both firewalls allow (7.5.12), management reaches only the tenant's own VPCs (7.2.2.3), internet-zone VMs share no host with other zones (7.1.2), no security group opens management ports to all (7.2.4.2); in container clusters, Kubernetes NetworkPolicies keep tenants' pods apart and every namespace segmented (5.4.3)."
        )) }
        p.muted #network-size {
            (view.size.vpcs) " VPC · " (view.size.interfaces) (lang.t(" 个接口 · ", " interfaces · "))
            (view.size.group_rules + view.size.acl_rules + view.size.firewall_rules) (lang.t(" 条规则 · ", " rules · "))
            (view.size.peerings) (lang.t(" 个对等连接 · 加载 ", " peerings · loaded in "))
            (format!("{:.0}", view.load_ms)) " ms · " (lang.t("全量验证 ", "verified in "))
            (format!("{:.0}", view.verify_ms)) " ms"
        }
        section.cards #network-cards {
            @for invariant in Invariant::ALL {
                a.card href=(link(invariant.as_str())) class=[(invariant.violation() && view.by_invariant.get(invariant.as_str()).is_some_and(|n| *n > 0)).then_some("grade-II")] {
                    h3 { (invariant_label(lang, invariant)) }
                    p.big { (view.by_invariant.get(invariant.as_str()).copied().unwrap_or(0)) }
                }
            }
        }
        form.filters method="get" action="/console/network" {
            label { (lang.t("类别", "Invariant")) " "
                select name="invariant" {
                    option value="" { (lang.t("全部", "All")) }
                    @for invariant in Invariant::ALL {
                        option value=(invariant.as_str()) selected[selected == invariant.as_str()] { (invariant_label(lang, invariant)) }
                    }
                }
            }
            label { (lang.t("云租户", "Tenant")) " "
                select name="tenant_id" {
                    option value="" { (lang.t("全部", "All")) }
                    @for (id, name) in &tenants {
                        option value=(id) selected[query.get("tenant_id") == Some(&id.to_string())] { (name) }
                    }
                }
            }
            label { "VPC ID " input type="number" name="vpc_id" min="1" value=(query.get("vpc_id").cloned().unwrap_or_default()); }
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
        @if !view.by_tenant.is_empty() && query.get("tenant_id").is_none_or(|t| t.is_empty()) {
            h2 { (lang.t("按云租户", "By tenant")) }
            table #network-by-tenant {
                thead { tr { th { (lang.t("云租户", "Tenant")) } th { (lang.t("发现", "Findings")) } } }
                tbody {
                    @for (tenant, count) in &view.by_tenant {
                        tr {
                            td { a href={ "/console/network?tenant_id=" (tenant) } { (tenants.get(tenant).cloned().unwrap_or_else(|| format!("#{tenant}"))) } }
                            td.num { (count) }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("发现", "Findings")) " (" (view.total) ")" }
        table #network-findings {
            thead { tr {
                th { (lang.t("类别", "Invariant")) }
                th { (lang.t("对象", "About")) }
                th { (lang.t("端口", "Ports")) }
                th { (lang.t("原因", "Reason")) }
                th { (lang.t("条款", "Clauses")) }
                th { }
            } }
            tbody {
                @for item in &view.items {
                    tr class=[item.violation.then_some("violation")] {
                        td { span.status class=[item.violation.then_some("status-FAIL")] { (invariant_label(lang, item.finding.invariant)) } }
                        td {
                            (item.title)
                            @if item.pairs > 1 {
                                br;
                                small.muted {
                                    @if matches!(item.finding.subject, yunjian_network::checks::Subject::Pods { .. }) {
                                        (lang.t("同两命名空间间同类Pod对共 ", "pod pairs alike between these namespaces: "))
                                    } @else {
                                        (lang.t("同两VPC间同类接口对共 ", "interface pairs alike between these VPCs: "))
                                    }
                                    (item.pairs)
                                }
                            }
                        }
                        td { code { (item.ports_text) } }
                        td { (item.finding.reason) }
                        td { (item.clauses) }
                        td {
                            @if let (Some(flow), yunjian_network::checks::Subject::Path { source, destination, .. }) = (&item.finding.example, &item.finding.subject) {
                                a.path-link href={ "/console/network/query?from=vm:" (source.vm_id) "&to=vm:" (destination.vm_id) "&protocol=" (flow.protocol.as_str()) "&port=" (flow.port) } { (lang.t("路径", "Path")) }
                            }
                        }
                    }
                }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("网络隔离验证", "Network isolation"), body),
    )
}

/// The path of one pair, hop by hop, as boxes joined by arrows: green where the hop
/// lets it through, red where it stops.
fn path_svg(lang: Lang, answer: &PairAnswer) -> Markup {
    let width = 170;
    let gap = 30;
    let total = 20 + (answer.hops.len() as i64 + 2) * (width + gap);
    let ends = [
        (
            format!("VM {}", answer.source_vm),
            answer.source.to_string(),
        ),
        (
            format!("VM {}", answer.destination_vm),
            answer.destination.to_string(),
        ),
    ];
    let boxes: Vec<(String, String, Option<&ShownHop>)> =
        std::iter::once((ends[0].0.clone(), ends[0].1.clone(), None))
            .chain(answer.hops.iter().map(|hop| {
                (
                    stage_label(lang, hop.stage).to_owned(),
                    hop.rule.clone(),
                    Some(hop),
                )
            }))
            .chain(std::iter::once((
                ends[1].0.clone(),
                ends[1].1.clone(),
                None,
            )))
            .collect();
    let reached = answer.allowed;
    html! {
        svg.path-svg xmlns="http://www.w3.org/2000/svg" width=(total) height="110" viewBox={ "0 0 " (total) " 110" } role="img" aria-label=(lang.t("逐跳路径", "Path hop by hop")) {
            @for (index, (title, detail, hop)) in boxes.iter().enumerate() {
                @let x = 10 + index as i64 * (width + gap);
                @let last = index + 1 == boxes.len();
                @let fill = match hop { Some(hop) if hop.allowed => "#e8f5e9", Some(_) => "#fdecea", None if last && !reached => "#eef2f7", None => "#e3f2fd" };
                @let stroke = match hop { Some(hop) if hop.allowed => "#2f7d32", Some(_) => "#b3261e", None => "#0b5cad" };
                rect x=(x) y="20" width=(width) height="70" rx="6" fill=(fill) stroke=(stroke) stroke-width="1.5" {}
                text x=(x + 8) y="40" font-size="12" font-weight="600" { (title) }
                text x=(x + 8) y="60" font-size="10" { (detail.chars().take(26).collect::<String>()) }
                @if detail.chars().count() > 26 {
                    text x=(x + 8) y="74" font-size="10" { (detail.chars().skip(26).take(26).collect::<String>()) }
                }
                @if let Some(hop) = hop {
                    text x=(x + 8) y="86" font-size="10" fill=(stroke) { (if hop.allowed { lang.t("放行", "allowed") } else { lang.t("拒绝", "refused") }) }
                }
                @if !last {
                    line x1=(x + width) y1="55" x2=(x + width + gap - 4) y2="55" stroke="#616e7c" stroke-width="1.5" {}
                    polygon points={ (x + width + gap - 4) ",50 " (x + width + gap) ",55 " (x + width + gap - 4) ",60" } fill="#616e7c" {}
                }
            }
        }
    }
}

pub async fn query_page(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let value = |key: &str| query.get(key).cloned().unwrap_or_default();
    let asked = query.get("from").is_some_and(|from| !from.is_empty());
    let answer = if asked {
        let mut body = serde_json::Map::new();
        for key in ["from", "to", "protocol"] {
            body.insert(key.into(), serde_json::Value::String(value(key)));
        }
        if let Ok(port) = value("port").parse::<u64>() {
            body.insert("port".into(), port.into());
        }
        let input: QueryInput = match crate::network::query_input(&body) {
            Ok(input) => input,
            Err(error) => return failure(&auth, error),
        };
        match state.app.network_query(&auth.context, &input).await {
            Ok(answer) => Some(answer),
            Err(error) => return failure(&auth, error),
        }
    } else {
        None
    };
    let protocol = value("protocol");
    let body = html! {
        h1 { (lang.t("可达性查询", "Reachability query")) }
        (nav(&frame))
        p.muted { (lang.t(
            "“A 能否在某端口访问 B”：A、B 可以是虚拟机（vm:ID）、地址、子网（subnet:ID）、VPC（vpc:ID）或区域（zone:ID）；逐跳给出判定及起决定作用的规则。",
            "\"Can A reach B on port P\": A and B may be a VM (vm:ID), an address, a subnet (subnet:ID), a VPC (vpc:ID) or a zone (zone:ID); each hop is answered with the rule that decided it."
        )) }
        form #network-query.filters method="get" action="/console/network/query" {
            label { (lang.t("源", "From")) " " input type="text" name="from" value=(value("from")) placeholder="vm:12" required; }
            label { (lang.t("目的", "To")) " " input type="text" name="to" value=(value("to")) placeholder="10.20.0.10" required; }
            label { (lang.t("协议", "Protocol")) " "
                select name="protocol" {
                    @for option in ["tcp", "udp", "icmp"] {
                        option value=(option) selected[protocol == option] { (option) }
                    }
                }
            }
            label { (lang.t("端口", "Port")) " " input type="number" name="port" min="0" max="65535" value=(value("port")) placeholder="22"; }
            button type="submit" { (lang.t("查询", "Ask")) }
        }
        @if let Some(answer) = &answer {
            div.alert class=(if answer.allowed { "alert warn" } else { "alert ok" }) #network-verdict {
                @if answer.allowed {
                    (lang.t("可达：", "Reachable: ")) (answer.pairs_allowed) " / " (answer.pairs_asked) (lang.t(" 对接口可通", " interface pairs pass"))
                } @else {
                    (lang.t("不可达：", "Not reachable: ")) (answer.pairs_asked) (lang.t(" 对接口全部被拒绝", " interface pairs, all refused"))
                }
                @if answer.truncated { " " (lang.t("（端点过大，只计算了前 200 个接口）", "(large ends: the first 200 interfaces each)")) }
                " · " (format!("{:.1}", answer.micros)) " µs"
            }
            @for pair in answer.answers.iter().take(3) {
                h2 { (pair.source) " → " (pair.destination) }
                (path_svg(lang, pair))
                table.hops {
                    thead { tr { th { (lang.t("环节", "Hop")) } th { (lang.t("判定", "Verdict")) } th { (lang.t("决定规则", "Decided by")) } } }
                    tbody {
                        @for hop in &pair.hops {
                            tr {
                                td { (stage_label(lang, hop.stage)) }
                                td { span.tag class=(if hop.allowed { "allow" } else { "deny" }) { (if hop.allowed { lang.t("放行", "allowed") } else { lang.t("拒绝", "refused") }) } }
                                td { (hop.rule) }
                            }
                        }
                    }
                }
            }
            @if answer.answers.len() > 3 {
                h2 { (lang.t("其余接口对", "Other pairs")) }
                table #network-pairs {
                    thead { tr { th { (lang.t("源", "From")) } th { (lang.t("目的", "To")) } th { (lang.t("结果", "Result")) } th { (lang.t("停在", "Stopped at")) } } }
                    tbody {
                        @for pair in answer.answers.iter().skip(3) {
                            tr {
                                td { (pair.source) } td { (pair.destination) }
                                td { span.tag class=(if pair.allowed { "allow" } else { "deny" }) { (if pair.allowed { lang.t("可达", "passes") } else { lang.t("拒绝", "refused") }) } }
                                td { @if let Some(hop) = pair.hops.iter().find(|hop| !hop.allowed) { (stage_label(lang, hop.stage)) ": " (hop.rule) } }
                            }
                        }
                    }
                }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("可达性查询", "Reachability"), body),
    )
}

pub async fn vpcs(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let vpcs = names(&state, &auth.context, Kind::Vpc).await;
    let body = html! {
        h1 { (lang.t("VPC 分段视图", "VPC segmentation")) }
        (nav(&frame))
        p.muted { (lang.t("选择一个 VPC，查看其各安全组之间在哪些端口上互通（7.2.4.2）。", "Pick a VPC to see which of its security groups can talk to which, on which ports (7.2.4.2).")) }
        ul #network-vpcs.columns {
            @for (id, name) in &vpcs {
                li { a href={ "/console/network/vpcs/" (id) } { (name) } }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("VPC 分段视图", "VPC segmentation"), body),
    )
}

pub async fn segmentation(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<i64>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let view = match state.app.network_segmentation(&auth.context, id).await {
        Ok(view) => view,
        Err(error) => return failure(&auth, error),
    };
    let vpcs = names(&state, &auth.context, Kind::Vpc).await;
    let cell: BTreeMap<(i64, i64), &str> = view
        .matrix
        .iter()
        .map(|(from, to, words)| ((*from, *to), words.as_str()))
        .collect();
    let body = html! {
        h1 { (vpcs.get(&id).cloned().unwrap_or_else(|| format!("VPC {id}"))) " · " (lang.t("分段", "segmentation")) }
        (nav(&frame))
        p.muted { (lang.t("行：源安全组；列：目的安全组；格内为可通的协议与端口（含子网ACL；每组取一名成员代表）。", "Rows: source group; columns: destination group; each cell lists what passes (subnet ACLs included; one member stands for each group).")) }
        table #network-segmentation {
            thead { tr {
                th { }
                @for (_, name, members) in &view.groups { th { (name) br; small.muted { (members) (lang.t(" 台", " VMs")) } } }
            } }
            tbody {
                @for (from, name, _) in &view.groups {
                    tr {
                        th { (name) }
                        @for (to, _, _) in &view.groups {
                            @let words = cell.get(&(*from, *to)).copied().unwrap_or("");
                            td class=[(words.is_empty()).then_some("muted")] {
                                @if words.is_empty() { (lang.t("不通", "none")) } @else { code { (words) } }
                            }
                        }
                    }
                }
            }
        }
        p { a href={ "/console/network?vpc_id=" (id) } { (lang.t("本 VPC 的发现", "This VPC's findings")) } }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("VPC 分段视图", "VPC segmentation"), body),
    )
}

pub async fn changes(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let rows = match state.app.network_changes(&auth.context, 200).await {
        Ok(rows) => rows,
        Err(error) => return failure(&auth, error),
    };
    let tenants = names(&state, &auth.context, Kind::Tenant).await;
    let body = html! {
        h1 { (lang.t("策略变更日志", "Policy-change log")) }
        (nav(&frame))
        p.muted { (lang.t("每一次安全组、防火墙、对等连接、交换规则、路由或运维接入点的变更，及其使哪些发现出现或消失（7.2.4.7：供云租户查看）。", "Every change to a security group rule, firewall rule, peering, exchange rule, route or management endpoint, with the findings it made appear or disappear (7.2.4.7: for tenants to see).")) }
        table #network-changes {
            thead { tr {
                th { (lang.t("审计序号", "Audit #")) }
                th { (lang.t("时间", "Time")) }
                th { (lang.t("对象", "Object")) }
                th { (lang.t("操作", "Action")) }
                th { (lang.t("云租户", "Tenant")) }
                th { (lang.t("新增发现", "Appeared")) }
                th { (lang.t("消除发现", "Disappeared")) }
            } }
            tbody {
                @for row in &rows {
                    @let detail: serde_json::Value = serde_json::from_str(&row.detail).unwrap_or_default();
                    tr {
                        td { a href={ "/console/audit?seq=" (row.audit_seq) } { (row.audit_seq) } }
                        td { (crate::wire::timestamp(row.at_ns)) }
                        td { (row.kind) " " (row.object_id.map(|id| id.to_string()).unwrap_or_default()) }
                        td { code { (row.action) } }
                        td { (row.tenant_id.and_then(|t| tenants.get(&t).cloned()).unwrap_or_default()) }
                        td.num {
                            (row.appeared)
                            @for item in detail["appeared"].as_array().into_iter().flatten().take(3) {
                                br; small { (item["title"].as_str().unwrap_or("")) " " code { (item["ports"].as_str().unwrap_or("")) } }
                            }
                        }
                        td.num {
                            (row.disappeared)
                            @for item in detail["disappeared"].as_array().into_iter().flatten().take(3) {
                                br; small { (item["title"].as_str().unwrap_or("")) " " code { (item["ports"].as_str().unwrap_or("")) } }
                            }
                        }
                    }
                }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("策略变更日志", "Policy-change log"), body),
    )
}

/// What a proposed change would do, before it is made: a read, so a GET form.
pub async fn what_if(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Query(query): Query<QueryMap>,
) -> Response {
    let lang = auth.lang;
    let frame = auth.frame();
    let value = |key: &str| query.get(key).cloned().unwrap_or_default();
    let kinds = [
        "security_group_rule",
        "firewall_rule",
        "vpc_peering",
        "exchange_rule",
        "route",
        "vm",
        "management_endpoint",
    ];
    let asked = query.get("kind").is_some_and(|kind| !kind.is_empty());
    let answer = if asked {
        let values = match value("values").trim() {
            "" => serde_json::Map::new(),
            text => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => {
                    return failure(
                        &auth,
                        yunjian_app::AppError::invalid(
                            "values",
                            "invalid_json",
                            "'values' is a JSON object of the proposed fields",
                        ),
                    )
                }
            },
        };
        let id = match value("id").trim() {
            "" => None,
            text => match text.parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    return failure(
                        &auth,
                        yunjian_app::AppError::invalid("id", "invalid_id", "'id' is a positive id"),
                    )
                }
            },
        };
        let input = yunjian_app::network::WhatIfInput {
            kind: value("kind"),
            id,
            values,
            delete: query.get("delete").is_some_and(|flag| flag == "1"),
        };
        match state.app.network_what_if(&auth.context, &input).await {
            Ok(answer) => Some(answer),
            Err(error) => return failure(&auth, error),
        }
    } else {
        None
    };
    let kind = value("kind");
    let rows = |items: &[yunjian_app::network::ShownFinding]| {
        html! {
            @for item in items {
                tr {
                    td { (invariant_label(lang, item.finding.invariant)) }
                    td { (item.title) }
                    td { code { (item.ports_text) } }
                    td { (item.finding.reason) }
                }
            }
        }
    };
    let body = html! {
        h1 { (lang.t("变更预演", "What-if")) }
        (nav(&frame))
        p.muted { (lang.t(
            "在变更生效之前评估它对隔离验证结果的影响：新增、修改或删除一条安全组规则、防火墙规则、对等连接、交换规则、路由、云主机或运维接入点。需要该变更本身所需的权限；不会写入任何数据。",
            "Evaluates a proposed change before it is made: a new, changed or deleted security-group rule, firewall rule, peering, exchange rule, route, VM or management endpoint. Needs the permission the change itself needs; writes nothing."
        )) }
        form #network-what-if.filters method="get" action="/console/network/what-if" {
            label { (lang.t("对象类型", "Kind")) " "
                select name="kind" {
                    @for option in kinds {
                        option value=(option) selected[kind == option] { (option) }
                    }
                }
            }
            label { "ID " input type="number" name="id" min="1" value=(value("id")) placeholder=(lang.t("新建时留空", "empty for a new one")); }
            label { input type="checkbox" name="delete" value="1" checked[query.get("delete").is_some_and(|flag| flag == "1")]; " " (lang.t("删除", "Delete")) }
            label { (lang.t("拟设字段（JSON）", "Proposed fields (JSON)")) " "
                textarea name="values" rows="3" cols="60" placeholder=r#"{"port_from": 22, "port_to": 22, "remote_cidr": "10.200.0.0/16"}"# { (value("values")) }
            }
            button type="submit" { (lang.t("预演", "Evaluate")) }
        }
        @if let Some(answer) = &answer {
            div.alert.ok #network-what-if-result {
                (lang.t("将新增 ", "Would add ")) (answer.appeared.len())
                (lang.t(" 项发现，消除 ", " findings and remove "))
                (answer.disappeared.len()) (lang.t(" 项（重新验证 ", " (re-checked "))
                (answer.rechecked) (lang.t(" 个范围）", " scopes)"))
            }
            @if !answer.appeared.is_empty() {
                h2 { (lang.t("将出现", "Would appear")) }
                table #what-if-appeared { tbody { (rows(&answer.appeared)) } }
            }
            @if !answer.disappeared.is_empty() {
                h2 { (lang.t("将消除", "Would disappear")) }
                table #what-if-disappeared { tbody { (rows(&answer.disappeared)) } }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("变更预演", "What-if"), body),
    )
}
