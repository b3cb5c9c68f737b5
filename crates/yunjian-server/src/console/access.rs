//! Console pages of access control: tenant authorizations (7.2.5.5), temporary
//! privileges (7.5.3.5), role assignment, resets and unlocks, and the step-up. Each form
//! posts with the session's CSRF token; the app (and its PDP) decides and records.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::{json, Map, Value as Json};
use yunjian_app::{grantable, AppError, AUTHORIZABLE_ACTIONS, AUTHORIZABLE_KINDS};
use yunjian_core::ids::AccountId;
use yunjian_core::role::Role;
use yunjian_core::value::FieldError;
use yunjian_policy::Action;
use yunjian_store::{PrivilegeState, TemporaryPrivilege, TenantAuthorization};

use super::forms::{first, parse_pairs, FormPairs};
use super::pages::{kind_label, page, Frame};
use super::{error_page, html_status, ConsoleAuth};
use crate::grants::authorization_state;
use crate::wire::timestamp;
use crate::AppState;

fn form_map(pairs: &FormPairs, texts: &[&str], numbers: &[&str]) -> Map<String, Json> {
    let mut map = Map::new();
    for key in texts {
        if let Some(value) = first(pairs, key).filter(|v| !v.trim().is_empty()) {
            map.insert((*key).into(), json!(value.trim()));
        }
    }
    insert_numbers(&mut map, pairs, numbers);
    map
}

/// Non-empty form values of `keys` as JSON numbers (or, when not numbers, as the text,
/// for the API's parser to refuse with its own message).
pub(super) fn insert_numbers(map: &mut Map<String, Json>, pairs: &FormPairs, keys: &[&str]) {
    for key in keys {
        if let Some(value) = first(pairs, key).filter(|v| !v.trim().is_empty()) {
            map.insert(
                (*key).into(),
                value
                    .trim()
                    .parse::<i64>()
                    .map_or(json!(value), |n| json!(n)),
            );
        }
    }
}

fn all_of(pairs: &FormPairs, key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect()
}

fn state_label(lang: super::i18n::Lang, state: &str) -> &'static str {
    match state {
        "active" => lang.t("生效中", "active"),
        "pending" => lang.t("未开始", "pending"),
        "expired" => lang.t("已过期", "expired"),
        "revoked" => lang.t("已撤销", "revoked"),
        "requested" => lang.t("待审批", "requested"),
        "approved" => lang.t("已批准", "approved"),
        "rejected" => lang.t("已驳回", "rejected"),
        _ => lang.t("未知", "unknown"),
    }
}

// ----------------------------------------------------------------------------------
// Tenant authorizations

pub fn authorizations_page(
    frame: &Frame<'_>,
    items: &[TenantAuthorization],
    now_ns: i64,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    let lang = frame.lang;
    let tenant = frame.principal.role == Role::TenantAdmin;
    let body = html! {
        h1 { (lang.t("租户授权", "Tenant authorizations")) }
        p.muted { (lang.t(
            "云服务商对云租户的虚拟机、镜像、快照、备份、云硬盘和数据库的操作，须经租户管理员授权（指南 7.2.5.5），最长 90 天；授权、使用、到期和撤销都记入审计日志。",
            "A provider acts on a tenant's VMs, images, snapshots, backups, disks and databases only under the tenant administrator's authorization (guide 7.2.5.5), for at most 90 days; grant, use, expiry and revocation are all in the audit ledger."
        )) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        @for error in errors { div.alert.error role="alert" { (error.field) ": " (error.message) } }
        table #authorizations {
            thead { tr {
                th { "ID" } th { (lang.t("云租户", "Tenant")) } th { (lang.t("云服务商", "Provider")) }
                th { (lang.t("对象类型", "Kinds")) } th { (lang.t("对象", "Objects")) } th { (lang.t("操作", "Actions")) }
                th { (lang.t("事由", "Reason")) } th { (lang.t("有效期（UTC）", "Valid (UTC)")) } th { (lang.t("状态", "State")) } th {}
            } }
            tbody {
                @for item in items {
                    @let state = authorization_state(item, now_ns);
                    tr {
                        td.num { (item.id) }
                        td { a href={ "/console/tenants/" (item.tenant.0) } { "#" (item.tenant.0) } }
                        td { a href={ "/console/providers/" (item.provider.0) } { "#" (item.provider.0) } }
                        td { (item.kinds.join(", ")) }
                        td { @if item.object_ids.is_empty() { (lang.t("全部", "all")) } @else { (item.object_ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(", ")) } }
                        td { (item.actions.join(", ")) }
                        td { (item.reason) }
                        td { (timestamp(item.starts_at_ns)) " — " (timestamp(item.expires_at_ns)) }
                        td.state { (state_label(lang, state)) }
                        td {
                            @if tenant && matches!(state, "active" | "pending") {
                                form.inline method="post" action={ "/console/authorizations/" (item.id) "/revoke" } {
                                    input type="hidden" name="_csrf" value=(frame.csrf);
                                    input type="text" name="reason" placeholder=(lang.t("撤销原因", "reason")) required;
                                    button type="submit" { (lang.t("撤销", "Revoke")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if tenant {
            h2 { (lang.t("授权云服务商", "Authorize a provider")) }
            p.muted { (lang.t("需在 5 分钟内验证过动态口令（账户安全页）。", "Needs a one-time code confirmed in the last five minutes (Security page).")) }
            form #grant method="post" action="/console/authorizations" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                div.form-grid {
                    label.name for="g-provider" { (lang.t("云服务商ID", "Provider id")) " *" }
                    input #g-provider type="number" name="provider_id" min="1" required;
                    span.name { (lang.t("对象类型", "Kinds")) " *" }
                    div { @for kind in AUTHORIZABLE_KINDS {
                        label { input type="checkbox" name="kinds" value=(kind.spec().table); " " (kind_label(lang, kind)) } " "
                    } }
                    label.name for="g-objects" { (lang.t("限定对象ID（逗号分隔，可空）", "Only these object ids (comma-separated, optional)")) }
                    input #g-objects type="text" name="object_ids";
                    span.name { (lang.t("操作", "Actions")) " *" }
                    div { @for action in AUTHORIZABLE_ACTIONS {
                        label { input type="checkbox" name="actions" value=(action); " " (action) } " "
                    } }
                    label.name for="g-reason" { (lang.t("事由", "Reason")) " *" }
                    input #g-reason type="text" name="reason" required maxlength="500";
                    label.name for="g-days" { (lang.t("有效天数（≤90）", "Days (≤ 90)")) " *" }
                    input #g-days type="number" name="days" min="1" max="90" value="7" required;
                    div {}
                    div { button type="submit" { (lang.t("授权", "Authorize")) } }
                }
            }
        }
    };
    page(frame, lang.t("租户授权", "Tenant authorizations"), body)
}

async fn render_authorizations(
    state: &AppState,
    auth: &ConsoleAuth,
    errors: &[FieldError],
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    match state.app.authorizations(&auth.context).await {
        Ok(items) => html_status(
            status,
            authorizations_page(&auth.frame(), &items, state.app.now_ns(), errors, notice),
        ),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

pub async fn authorizations(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_authorizations(&state, &auth, &[], None, StatusCode::OK).await
}

/// What a form's result leads to: the page again (with a notice or field errors), or
/// another response (the step-up page, an error page).
enum Next {
    Render(Vec<FieldError>, Option<String>, StatusCode),
    Respond(Response),
}

fn next<T>(auth: &ConsoleAuth, result: Result<T, AppError>, done: &str) -> Next {
    match result {
        Ok(_) => Next::Render(Vec::new(), Some(done.to_owned()), StatusCode::OK),
        Err(AppError::Invalid(errors)) => {
            Next::Render(errors, None, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(error) => Next::Respond(super::failure(auth, error)),
    }
}

pub async fn grant(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let mut map = form_map(&pairs, &["reason"], &["provider_id", "days"]);
    map.insert("kinds".into(), json!(all_of(&pairs, "kinds")));
    map.insert("actions".into(), json!(all_of(&pairs, "actions")));
    let objects: Vec<Json> = first(&pairs, "object_ids")
        .unwrap_or("")
        .split([',', ' ', '，'])
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().map_or(json!(s), |n| json!(n)))
        .collect();
    map.insert("object_ids".into(), Json::Array(objects));
    let result = match crate::grants::authorization_input(&map, state.app.now_ns()) {
        Ok(input) => state.app.grant_authorization(&auth.context, input).await,
        Err(error) => Err(error),
    };
    let done = auth.lang.t("已授权。", "Authorized.");
    match next(&auth, result, done) {
        Next::Render(errors, notice, status) => {
            render_authorizations(&state, &auth, &errors, notice.as_deref(), status).await
        }
        Next::Respond(response) => response,
    }
}

pub async fn revoke_authorization(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let reason = first(&pairs, "reason").unwrap_or("");
    let result = state
        .app
        .revoke_authorization(&auth.context, id, reason)
        .await;
    let done = auth.lang.t("已撤销。", "Revoked.");
    match next(&auth, result, done) {
        Next::Render(errors, notice, status) => {
            render_authorizations(&state, &auth, &errors, notice.as_deref(), status).await
        }
        Next::Respond(response) => response,
    }
}

// ----------------------------------------------------------------------------------
// Temporary privileges

pub fn privileges_page(
    frame: &Frame<'_>,
    items: &[TemporaryPrivilege],
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    let lang = frame.lang;
    let security_admin = frame.principal.role == Role::SecurityAdmin;
    let me = frame.principal.account_id;
    let body = html! {
        h1 { (lang.t("临时权限", "Temporary privileges")) }
        p.muted { (lang.t(
            "临时权限须由另一名安全管理员批准，最长三个月，到期自动失效；记录永不删除（指南 7.5.3.5）。",
            "A temporary privilege is approved by a different security administrator, lasts at most three months and lapses by itself; nothing is ever deleted (guide 7.5.3.5)."
        )) }
        @if let Some(notice) = notice { div.alert.ok role="status" { (notice) } }
        @for error in errors { div.alert.error role="alert" { (error.field) ": " (error.message) } }
        table #privileges {
            thead { tr {
                th { "ID" } th { (lang.t("账户", "Account")) } th { (lang.t("权限", "Privilege")) } th { (lang.t("事由", "Reason")) }
                th { (lang.t("申请人", "Requested by")) } th { (lang.t("有效期（UTC）", "Valid (UTC)")) } th { (lang.t("状态", "State")) }
                th { (lang.t("审批人", "Decided by")) } th {}
            } }
            tbody {
                @for item in items {
                    tr {
                        td.num { (item.id) }
                        td.num { (item.account.0) }
                        td { code { (item.privilege) } }
                        td { (item.reason) }
                        td.num { (item.requested_by.0) }
                        td { (timestamp(item.starts_at_ns)) " — " (timestamp(item.expires_at_ns)) }
                        td.state { (state_label(lang, item.state.as_str())) }
                        td { @if let Some(by) = item.decided_by { (by.0) } @if let Some(note) = &item.decision_note { " " span.muted { (note) } } }
                        td {
                            @if security_admin && item.state == PrivilegeState::Requested && item.requested_by != me && item.account != me {
                                @for (verb, zh, en) in [("approve", "批准", "Approve"), ("reject", "驳回", "Reject")] {
                                    form.inline method="post" action={ "/console/privileges/" (item.id) "/" (verb) } {
                                        input type="hidden" name="_csrf" value=(frame.csrf);
                                        button type="submit" class=(verb) { (lang.t(zh, en)) }
                                    }
                                }
                            }
                            @if security_admin && matches!(item.state, PrivilegeState::Requested | PrivilegeState::Approved) {
                                form.inline method="post" action={ "/console/privileges/" (item.id) "/revoke" } {
                                    input type="hidden" name="_csrf" value=(frame.csrf);
                                    button type="submit" { (lang.t("撤销", "Revoke")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("申请临时权限", "Request a temporary privilege")) }
        form #request-privilege method="post" action="/console/privileges" {
            input type="hidden" name="_csrf" value=(frame.csrf);
            div.form-grid {
                @if security_admin {
                    label.name for="p-account" { (lang.t("账户ID（空为本人）", "Account id (empty: yourself)")) }
                    input #p-account type="number" name="account_id" min="1";
                }
                label.name for="p-privilege" { (lang.t("权限", "Privilege")) " *" }
                select #p-privilege name="privilege" {
                    @for action in Action::ALL.into_iter().filter(|a| grantable(*a)) {
                        option value=(action.as_str()) { (action.as_str()) }
                    }
                }
                label.name for="p-reason" { (lang.t("事由", "Reason")) " *" }
                input #p-reason type="text" name="reason" required maxlength="500";
                label.name for="p-days" { (lang.t("有效天数（≤92）", "Days (≤ 92)")) " *" }
                input #p-days type="number" name="days" min="1" max="92" value="7" required;
                div {}
                div { button type="submit" { (lang.t("提交申请", "Request")) } }
            }
        }
    };
    page(frame, lang.t("临时权限", "Temporary privileges"), body)
}

async fn render_privileges(
    state: &AppState,
    auth: &ConsoleAuth,
    errors: &[FieldError],
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    match state.app.privileges(&auth.context).await {
        Ok(items) => html_status(
            status,
            privileges_page(&auth.frame(), &items, errors, notice),
        ),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

pub async fn privileges(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_privileges(&state, &auth, &[], None, StatusCode::OK).await
}

pub async fn request_privilege(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let map = form_map(&pairs, &["privilege", "reason"], &["account_id", "days"]);
    let result = match crate::grants::privilege_input(&map, state.app.now_ns()) {
        Ok(input) => state.app.request_privilege(&auth.context, input).await,
        Err(error) => Err(error),
    };
    let done = auth.lang.t(
        "已提交，等待另一名安全管理员审批。",
        "Requested; another security administrator decides.",
    );
    match next(&auth, result, done) {
        Next::Render(errors, notice, status) => {
            render_privileges(&state, &auth, &errors, notice.as_deref(), status).await
        }
        Next::Respond(response) => response,
    }
}

pub async fn decide_privilege(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path((id, verb)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let to = match verb.as_str() {
        "approve" => PrivilegeState::Approved,
        "reject" => PrivilegeState::Rejected,
        "revoke" => PrivilegeState::Revoked,
        _ => return error_page(auth.lang, AppError::NotFound, &auth.context.request_id),
    };
    let note = first(&pairs, "note").unwrap_or("");
    let result = state
        .app
        .decide_privilege(&auth.context, id, to, note)
        .await;
    let done = auth.lang.t("已处理。", "Done.");
    match next(&auth, result, done) {
        Next::Render(errors, notice, status) => {
            render_privileges(&state, &auth, &errors, notice.as_deref(), status).await
        }
        Next::Respond(response) => response,
    }
}

// ----------------------------------------------------------------------------------
// Accounts: role assignment (security administrator), reset and unlock (system
// administrator). The accounts page shows these forms; these handlers act and go back.

pub fn account_actions(frame: &Frame<'_>) -> Markup {
    let lang = frame.lang;
    html! {
        @if frame.principal.role == Role::SecurityAdmin {
            h2 { (lang.t("分配角色", "Assign a role")) }
            p.muted { (lang.t("安全管理员为他人分配角色；系统管理员、安全管理员、安全审计员不得为同一人（三员分立）。需在 5 分钟内验证过动态口令。", "A security administrator assigns roles to others; the system, security and audit administrators are never the same person (三员分立). Needs a code confirmed in the last five minutes.")) }
            form #assign-role method="post" action="/console/accounts/role" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                div.form-grid {
                    label.name for="r-account" { (lang.t("账户ID", "Account id")) " *" }
                    input #r-account type="number" name="account_id" min="1" required;
                    label.name for="r-role" { (lang.t("角色", "Role")) " *" }
                    select #r-role name="role" {
                        @for role in Role::ALL { option value=(role.as_str()) { (lang.pick(role.label_zh(), role.label_en())) } }
                    }
                    label.name for="r-tenant" { (lang.t("云租户ID（租户管理员）", "Tenant id (tenant administrators)")) }
                    input #r-tenant type="number" name="tenant_id" min="1";
                    label.name for="r-provider" { (lang.t("云服务商ID（服务商运维员）", "Provider id (provider operators)")) }
                    input #r-provider type="number" name="provider_id" min="1";
                    div {}
                    div { button type="submit" { (lang.t("分配", "Assign")) } }
                }
            }
        }
        @if frame.principal.role == Role::SystemAdmin {
            h2 { (lang.t("重置密码 / 解锁", "Reset a password / unlock")) }
            @for (verb, zh, en) in [("reset", "重置密码", "Reset password"), ("unlock", "解锁", "Unlock")] {
                form.inline method="post" action={ "/console/accounts/" (verb) } {
                    input type="hidden" name="_csrf" value=(frame.csrf);
                    label for={ "x-" (verb) } { (lang.t("账户ID", "Account id")) }
                    input id={ "x-" (verb) } type="number" name="account_id" min="1" required;
                    button type="submit" { (lang.t(zh, en)) }
                }
            }
        }
    }
}

pub async fn account_action(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(verb): Path<String>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let Some(id) = first(&pairs, "account_id").and_then(|v| v.trim().parse::<i64>().ok()) else {
        return error_page(
            auth.lang,
            AppError::invalid("account_id", "required", "an account id is required"),
            &auth.context.request_id,
        );
    };
    let id = AccountId(id);
    let lang = auth.lang;
    let result: Result<String, AppError> = match verb.as_str() {
        "role" => {
            let map = form_map(&pairs, &["role"], &["tenant_id", "provider_id"]);
            match crate::api::role_assignment(&map) {
                Ok(assignment) => state
                    .app
                    .assign_role(&auth.context, id, assignment)
                    .await
                    .map(|account| {
                        format!(
                            "{} {} → {}",
                            lang.t("已分配", "Assigned"),
                            account.username,
                            account.role.as_str()
                        )
                    }),
                Err(error) => Err(error),
            }
        }
        "reset" => state
            .app
            .reset_password(&auth.context, id)
            .await
            .map(|password| {
                format!(
                    "{} {password}",
                    lang.t(
                        "一次性密码（只显示这一次，下次登录须修改）：",
                        "One-time password (shown once; changed at next login):"
                    )
                )
            }),
        "unlock" => state
            .app
            .unlock_account(&auth.context, id)
            .await
            .map(|()| lang.t("已解锁。", "Unlocked.").to_owned()),
        _ => Err(AppError::NotFound),
    };
    match result {
        Ok(notice) => {
            super::render_accounts(&state, &auth, &[], Some(&notice), StatusCode::OK).await
        }
        Err(AppError::Invalid(errors)) => {
            super::render_accounts(
                &state,
                &auth,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => super::failure(&auth, error),
    }
}

// ----------------------------------------------------------------------------------
// Step-up

pub fn step_up_form(frame: &Frame<'_>, asked: bool, done: bool) -> Markup {
    let lang = frame.lang;
    html! {
        @if frame.principal.second_factor {
            h2 #step-up-title { (lang.t("验证身份（敏感操作前）", "Confirm it is you (before sensitive actions)")) }
            @if asked { div.alert.error role="alert" { (lang.t("此操作需要在 5 分钟内验证过动态口令。", "This action needs a one-time code confirmed in the last five minutes.")) } }
            @if done { div.alert.ok #stepped-up role="status" { (lang.t("已验证，5 分钟内有效。", "Confirmed; valid for five minutes.")) } }
            form #step-up method="post" action="/console/security/step-up" {
                input type="hidden" name="_csrf" value=(frame.csrf);
                label for="step-code" { (lang.t("动态口令", "Code")) }
                input #step-code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required;
                button type="submit" { (lang.t("验证", "Confirm")) }
            }
        }
    }
}

pub async fn step_up(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let code = first(&pairs, "code").unwrap_or("");
    match state.app.step_up(&auth.context, &auth.token, code).await {
        Ok(()) => Redirect::to("/console/security?stepped_up=1").into_response(),
        Err(AppError::Invalid(errors)) => html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            super::pages::security_page(&auth.frame(), None, None, &errors),
        ),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

/// Used by the security page handler.
pub fn security_flags(raw: Option<&str>) -> (bool, bool) {
    let query = raw.unwrap_or("");
    (query.contains("step_up=1"), query.contains("stepped_up=1"))
}

// ----------------------------------------------------------------------------------
// API keys on the security page

pub fn api_keys_section(
    frame: &Frame<'_>,
    keys: &[yunjian_store::ApiKey],
    created: Option<&yunjian_app::CreatedApiKey>,
) -> Markup {
    let lang = frame.lang;
    html! {
        h2 { (lang.t("API 密钥", "API keys")) }
        p.muted { (lang.t(
            "用于程序调用：请求以 HMAC-SM3 签名（yunjian api 命令可代为签名）。密钥只显示一次；创建前需在 5 分钟内验证过动态口令。",
            "For programs: requests are signed with HMAC-SM3 (the `yunjian api` command signs them). The secret is shown once; creating one needs a code confirmed in the last five minutes."
        )) }
        @if let Some(created) = created {
            div.alert.ok #api-key-created role="status" {
                (lang.t("已创建。请立即保存密钥，它不会再次显示：", "Created. Keep the secret now; it is not shown again:"))
                br; code #api-key-id { (created.access_key_id) } " " code #api-key-secret { (created.secret) }
            }
        }
        table #api-keys {
            thead { tr { th { (lang.t("密钥ID", "Key id")) } th { (lang.t("用途", "Label")) } th { (lang.t("创建", "Created")) } th { (lang.t("最近使用", "Last used")) } th { (lang.t("状态", "State")) } th {} } }
            tbody {
                @for key in keys {
                    tr {
                        td { code { (key.access_key_id) } }
                        td { (key.label) }
                        td { (timestamp(key.created_at_ns)) }
                        td { (key.last_used_at_ns.map(timestamp).unwrap_or_default()) }
                        td { @if key.revoked_at_ns.is_some() { (lang.t("已撤销", "revoked")) } @else { (lang.t("有效", "active")) } }
                        td { @if key.revoked_at_ns.is_none() {
                            form.inline method="post" action={ "/console/security/api-keys/" (key.access_key_id) "/revoke" } {
                                input type="hidden" name="_csrf" value=(frame.csrf);
                                button type="submit" { (lang.t("撤销", "Revoke")) }
                            }
                        } }
                    }
                }
            }
        }
        form #create-api-key method="post" action="/console/security/api-keys" {
            input type="hidden" name="_csrf" value=(frame.csrf);
            label for="key-label" { (lang.t("用途", "Label")) }
            input #key-label type="text" name="label" required maxlength="100";
            button type="submit" { (lang.t("创建 API 密钥", "Create an API key")) }
        }
    }
}

pub async fn create_api_key(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let label = first(&pairs, "label").unwrap_or("");
    match state.app.create_api_key(&auth.context, label).await {
        Ok(created) => {
            super::render_security(&state, &auth, false, false, Some(&created), &[]).await
        }
        Err(AppError::Invalid(errors)) => {
            super::render_security(&state, &auth, false, false, None, &errors).await
        }
        Err(error) => super::failure(&auth, error),
    }
}

pub async fn revoke_api_key(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    match state.app.revoke_api_key(&auth.context, &id).await {
        Ok(()) => Redirect::to("/console/security").into_response(),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

// ----------------------------------------------------------------------------------
// Security events

pub async fn events(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    let lang = auth.lang;
    let found = match state.app.security_events(&auth.context).await {
        Ok(found) => found,
        Err(error) => return error_page(lang, error, &auth.context.request_id),
    };
    let frame = auth.frame();
    let body = html! {
        h1 { (lang.t("安全事件", "Security events")) }
        p.muted { (lang.t(
            "接口调用监测（指南 7.3.1.2、8.3.6）：拒绝请求突增、登录失败突增、非常规时段或新地址登录、批量导出。每条事件同时记入审计日志。",
            "API monitoring (guide 7.3.1.2, 8.3.6): bursts of denials and failed logins, logins at unusual hours or from new addresses, mass exports. Each event is also in the audit ledger."
        )) }
        table #events {
            thead { tr {
                th { "ID" } th { (lang.t("时间（UTC）", "Time (UTC)")) } th { (lang.t("级别", "Severity")) }
                th { (lang.t("类型", "Kind")) } th { (lang.t("摘要", "Summary")) } th { (lang.t("账户", "Account")) }
                th { (lang.t("来源地址", "Address")) } th { (lang.t("审计记录", "Records")) }
            } }
            tbody {
                @for event in &found {
                    tr {
                        td.num { (event.id) }
                        td { (timestamp(event.at_ns)) }
                        td class={ "severity " (event.severity) } { (event.severity) }
                        td { code { (event.kind) } }
                        td { (event.summary) }
                        td { (event.username.as_deref().unwrap_or("—")) }
                        td { (event.source_address.as_deref().unwrap_or("—")) }
                        td { @if let (Some(first), Some(last)) = (event.first_seq, event.last_seq) {
                            a href={ "/console/audit/" (first) } { (first) } "–" a href={ "/console/audit/" (last) } { (last) }
                        } }
                    }
                }
            }
        }
    };
    html_status(
        StatusCode::OK,
        page(&frame, lang.t("安全事件", "Security events"), body),
    )
}

// ----------------------------------------------------------------------------------
// Active sessions on the security page

pub fn sessions_section(
    frame: &Frame<'_>,
    sessions: &[yunjian_store::SessionSummary],
    current: &str,
) -> Markup {
    let lang = frame.lang;
    html! {
        h2 { (lang.t("活动会话", "Active sessions")) }
        table #sessions {
            thead { tr { th { (lang.t("会话", "Session")) } th { (lang.t("来源地址", "Address")) } th { (lang.t("登录", "Since")) } th { (lang.t("最近活动", "Last seen")) } th { (lang.t("到期", "Expires")) } th {} } }
            tbody {
                @for session in sessions {
                    tr {
                        td { code { (session.id) } @if current == format!("session:{}", session.id) { " " span.muted { (lang.t("（本会话）", "(this one)")) } } }
                        td { (session.source_address.as_deref().unwrap_or("—")) }
                        td { (timestamp(session.created_at_ns)) }
                        td { (timestamp(session.last_seen_at_ns)) }
                        td { (timestamp(session.expires_at_ns)) }
                        td { @if current != format!("session:{}", session.id) {
                            form.inline method="post" action={ "/console/security/sessions/" (session.id) "/end" } {
                                input type="hidden" name="_csrf" value=(frame.csrf);
                                button type="submit" { (lang.t("结束", "End")) }
                            }
                        } }
                    }
                }
            }
        }
    }
}

pub async fn end_session(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    match state.app.end_my_session(&auth.context, &id).await {
        Ok(()) => Redirect::to("/console/security").into_response(),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}
