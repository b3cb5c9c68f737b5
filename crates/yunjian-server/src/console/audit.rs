//! The console's audit pages: filtered records, one record with its proof, the current
//! checkpoint and public key, the anomaly report, "verify" and "export".

use maud::{html, Markup};
use yunjian_app::{AnomalyReport, AuditQuery, OnlineVerification};
use yunjian_core::schema::Kind;
use yunjian_store::{AuditRecord, StoredCheckpoint};

use super::i18n::Lang;
use super::pages::{kind_label, page, urlencode, Frame};
use crate::wire::timestamp;

/// What the records page shows beside the table.
pub struct AuditPage<'a> {
    pub records: &'a [AuditRecord],
    pub query: &'a AuditQuery,
    /// The raw filter values, to refill the form.
    pub filters: &'a [(&'static str, String)],
    pub checkpoint: Option<&'a StoredCheckpoint>,
    pub public_key: Option<&'a str>,
    /// Present for auditors and the management unit (who may verify and see anomalies).
    pub anomalies: Option<&'a AnomalyReport>,
}

fn filter_value<'a>(filters: &'a [(&'static str, String)], name: &str) -> &'a str {
    filters
        .iter()
        .find(|(key, _)| *key == name)
        .map_or("", |(_, value)| value.as_str())
}

fn outcome_label(lang: Lang, outcome: &str) -> &'static str {
    match outcome {
        "succeeded" => lang.t("成功", "succeeded"),
        "denied" => lang.t("拒绝", "denied"),
        _ => lang.t("失败", "failed"),
    }
}

pub fn records_page(frame: &Frame<'_>, view: &AuditPage<'_>) -> Markup {
    let lang = frame.lang;
    let all = view.anomalies.is_some();
    let next = (view.records.len() == view.query.limit as usize)
        .then(|| view.records.last().map(|record| record.seq))
        .flatten();
    let body = html! {
        h1 { (lang.t("审计记录", "Audit records")) }
        p.muted { (lang.t(
            "所有管理操作都记入防篡改的默克尔日志（SM3），并由 SM2 签名的检查点固定；审计方可导出后离线验证。",
            "Every management action is kept in a tamper-evident Merkle log (SM3) fixed by SM2-signed checkpoints; auditors export it and verify offline."
        )) }
        form.filters method="get" action="/console/audit" {
            @for (name, zh, en) in [("actor", "操作人", "Actor"), ("action", "操作", "Action"), ("from", "起（日期或时间）", "From (date or time)"), ("to", "止", "To")] {
                label for={ "f-" (name) } { (lang.t(zh, en)) }
                input id={ "f-" (name) } type="text" name=(name) value=(filter_value(view.filters, name));
            }
            label for="f-outcome" { (lang.t("结果", "Outcome")) }
            select id="f-outcome" name="outcome" {
                option value="" { (lang.t("全部", "all")) }
                @for outcome in ["succeeded", "denied", "failed"] {
                    option value=(outcome) selected[filter_value(view.filters, "outcome") == outcome] { (outcome_label(lang, outcome)) }
                }
            }
            button #filter type="submit" { (lang.t("筛选", "Filter")) }
        }
        table #audit {
            thead { tr {
                th { (lang.t("序号", "Seq")) } th { (lang.t("时间（UTC）", "Time (UTC)")) } th { (lang.t("操作人", "Actor")) }
                th { (lang.t("来源", "Source")) } th { (lang.t("操作", "Action")) } th { (lang.t("对象", "Object")) }
                th { (lang.t("结果", "Outcome")) } th { (lang.t("原因", "Reason")) }
            } }
            tbody {
                @for record in view.records {
                    @let r = &record.record;
                    tr {
                        td.num { a href={ "/console/audit/" (record.seq) } { (record.seq) } }
                        td { (timestamp(r.at_ns)) }
                        td { (r.actor_username.as_deref().unwrap_or("—")) @if let Some(role) = &r.actor_role { " " span.muted { "(" (role) ")" } } }
                        td { (r.source_address.as_deref().unwrap_or("—")) }
                        td { code { (r.action) } }
                        td {
                            @if let (Some(kind), Some(id)) = (r.object_kind.as_deref().and_then(Kind::parse), r.object_id) {
                                a href={ "/console/" (kind.spec().table) "/" (id) } { (kind_label(lang, kind)) " #" (id) }
                            } @else { (r.object_kind.as_deref().unwrap_or("—")) }
                        }
                        td { span class={ "tag " (r.outcome.as_str()) } { (outcome_label(lang, r.outcome.as_str())) } }
                        td { (r.reason.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        @if let Some(before) = next {
            p { a #older href={ "/console/audit?" (older_query(view.filters, before)) } { (lang.t("更早的记录 →", "Older records →")) } }
        }
        h2 { (lang.t("当前检查点", "Current checkpoint")) }
        @match view.checkpoint {
            Some(checkpoint) => {
                p.muted { (lang.t("签署于 ", "Signed at ")) (timestamp(checkpoint.at_ns)) (lang.t("，覆盖 ", ", covering ")) (checkpoint.size) (lang.t(" 条记录。", " records.")) }
                pre #checkpoint { (checkpoint.note) }
            }
            None => p.muted { (lang.t("尚无检查点。", "No checkpoint yet.")) }
        }
        @if let Some(key) = view.public_key {
            h3 { (lang.t("验证公钥（SM2）", "Verifier key (SM2)")) }
            pre #public-key { (key) }
        }
        form method="post" action="/console/audit/export" {
            input type="hidden" name="_csrf" value=(frame.csrf);
            input type="hidden" name="from" value=(filter_value(view.filters, "from"));
            input type="hidden" name="to" value=(filter_value(view.filters, "to"));
            button #export type="submit" { (if all { lang.t("导出审计包（时间范围）", "Export bundle (time range)") } else { lang.t("导出本单位的审计包", "Export my tenant's bundle") }) }
        }
        @if let Some(report) = view.anomalies {
            form method="post" action="/console/audit/verify" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                button #verify type="submit" { (lang.t("在线验证整个日志", "Verify the whole log now")) }
            }
            h2 { (lang.t("异常活动（最近 24 小时）", "Unusual activity (last 24 hours)")) }
            @if report.anomalies.is_empty() {
                p #anomalies.muted { (lang.t("未发现异常。", "Nothing unusual.")) }
            } @else {
                table #anomalies {
                    thead { tr {
                        th { (lang.t("类型", "Kind")) } th { (lang.t("操作人", "Actor")) } th { (lang.t("地址", "Address")) }
                        th { (lang.t("次数", "Count")) } th { (lang.t("记录", "Records")) } th { (lang.t("时间", "Time")) }
                    } }
                    tbody {
                        @for anomaly in &report.anomalies {
                            tr {
                                td { (anomaly.kind.label(lang == Lang::Zh)) }
                                td { (anomaly.actor.as_deref().unwrap_or("—")) }
                                td { (anomaly.address.as_deref().unwrap_or("—")) }
                                td.num { (anomaly.count) }
                                td { a href={ "/console/audit/" (anomaly.first_seq) } { (anomaly.first_seq) } "–" (anomaly.last_seq) }
                                td { (timestamp(anomaly.first_at_ns)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(frame, lang.t("审计记录", "Audit records"), body)
}

fn older_query(filters: &[(&'static str, String)], before: u64) -> String {
    let mut parts: Vec<String> = filters
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key}={}", urlencode(value)))
        .collect();
    parts.push(format!("before={before}"));
    parts.join("&")
}

pub fn record_page(
    frame: &Frame<'_>,
    record: &AuditRecord,
    proof: Option<(&StoredCheckpoint, &[String])>,
) -> Markup {
    let lang = frame.lang;
    let r = &record.record;
    let row = |zh: &'static str, en: &'static str, value: String| html! { tr { th { (lang.t(zh, en)) } td { (value) } } };
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "—".into());
    let body = html! {
        h1 { (lang.t("审计记录 #", "Audit record #")) (record.seq) }
        table.detail {
            (row("服务器时间", "Server time", timestamp(r.at_ns)))
            (row("来源时间", "Source time", or_dash(r.source_time_ns.map(timestamp))))
            (row("操作人", "Actor", or_dash(r.actor_username.clone())))
            (row("角色", "Role", or_dash(r.actor_role.clone())))
            (row("凭据", "Credential", or_dash(r.actor_credential.clone())))
            (row("来源地址", "Source address", or_dash(r.source_address.clone())))
            (row("操作", "Action", r.action.clone()))
            (row("对象", "Object", format!("{} {}", r.object_kind.as_deref().unwrap_or("—"), r.object_id.map(|id| format!("#{id}")).unwrap_or_default())))
            (row("所属租户", "Owning tenant", or_dash(r.tenant_id.map(|id| id.to_string()))))
            (row("结果", "Outcome", outcome_label(lang, r.outcome.as_str()).to_owned()))
            (row("原因", "Reason", or_dash(r.reason.clone())))
            (row("请求编号", "Request id", or_dash(r.request_id.clone())))
            (row("操作前摘要", "Digest before", or_dash(r.before_digest.clone())))
            (row("操作后摘要", "Digest after", or_dash(r.after_digest.clone())))
            (row("叶子哈希", "Leaf hash", hex::encode(record.leaf_hash)))
        }
        h2 { (lang.t("规范行（叶子字节）", "Canonical line (the leaf bytes)")) }
        @match &record.line {
            Some(line) => pre #line { (line) },
            None => p.muted { (lang.t("本记录已归档并从在线库中清除；请使用归档包。", "This record is archived and pruned online; use its archive bundle.")) },
        }
        @if let Some((checkpoint, path)) = proof {
            h2 { (lang.t("包含证明", "Inclusion proof")) }
            p.muted { (lang.t("相对于规模为 ", "Against the checkpoint of size ")) (checkpoint.size) (lang.t(" 的检查点。", ".")) }
            pre #proof { @for hash in path { (hash) "\n" } }
        }
        p { a href="/console/audit" { (lang.t("← 返回审计记录", "← Back to the audit records")) } }
    };
    page(frame, lang.t("审计记录", "Audit record"), body)
}

pub fn verification_page(frame: &Frame<'_>, report: &OnlineVerification) -> Markup {
    let lang = frame.lang;
    let body = html! {
        h1 { (lang.t("日志验证结果", "Log verification")) }
        @if report.problems.is_empty() {
            div.alert.ok #verified role="status" { (lang.t("验证通过：记录、树头和全部签名检查点一致。", "Verified: the records, the tree head and every signed checkpoint agree.")) }
        } @else {
            div.alert.error #verified role="alert" { (lang.t("验证失败：", "Verification failed: ")) (report.problems.len()) (lang.t(" 个问题。", " problems.")) }
            ul { @for problem in &report.problems { li { (problem) } } }
        }
        table.detail {
            tr { th { (lang.t("检查的记录", "Records checked")) } td { (report.records_checked) } }
            tr { th { (lang.t("已归档清除", "Archived and pruned")) } td { (report.pruned_records) } }
            tr { th { (lang.t("检查的检查点", "Checkpoints checked")) } td { (report.checkpoints_checked) } }
            tr { th { (lang.t("树规模", "Tree size")) } td { (report.tree_size) } }
            tr { th { (lang.t("树头", "Tree head")) } td { code { (report.root) } } }
        }
        p { a href="/console/audit" { (lang.t("← 返回审计记录", "← Back to the audit records")) } }
    };
    page(frame, lang.t("日志验证", "Log verification"), body)
}
