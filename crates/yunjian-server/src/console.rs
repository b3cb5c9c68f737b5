//! The console: server-rendered pages over the same app calls as the API.
//!
//! Authentication is the session cookie (HttpOnly, SameSite=Strict); every form carries
//! the session's CSRF token, checked before anything else happens. The login form has a
//! double-submit token of its own. Redirect targets are local paths only.

mod access;
mod audit;
mod compliance;
mod forms;
mod i18n;
mod network;
mod pages;
mod provider;
mod soc;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::Markup;
use serde::Deserialize;
use yunjian_app::{AppError, AuditQuery, Context, ExportRange, SessionToken};
use yunjian_core::role::Role;
use yunjian_core::schema::{FieldType, Kind};
use yunjian_core::value::FieldError;
use yunjian_store::{ListQuery, SortOrder};

use self::forms::{first, form_to_json, parse_pairs};
use self::i18n::Lang;
use self::pages::{FormView, Frame, ListView, RefOptions};
use crate::api::{parse_list_query, session_cookie};
use crate::extract::{
    client_address, cookie, ClientAddress, RequestId, LANG_COOKIE, LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/assets/console.css", get(stylesheet))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/console", get(overview))
        .route("/console/lang/{lang}", get(switch_language))
        .route("/console/accounts", get(accounts).post(create_account))
        .route(
            "/console/password",
            get(password_form).post(password_submit),
        )
        .route("/console/security", get(security_page))
        .route("/console/security/step-up", post(access::step_up))
        .route("/console/events", get(access::events))
        .route("/console/security/api-keys", post(access::create_api_key))
        .route(
            "/console/security/sessions/{id}/end",
            post(access::end_session),
        )
        .route(
            "/console/security/api-keys/{id}/revoke",
            post(access::revoke_api_key),
        )
        .route("/console/accounts/{verb}", post(access::account_action))
        .route(
            "/console/authorizations",
            get(access::authorizations).post(access::grant),
        )
        .route(
            "/console/authorizations/{id}/revoke",
            post(access::revoke_authorization),
        )
        .route(
            "/console/privileges",
            get(access::privileges).post(access::request_privilege),
        )
        .route(
            "/console/privileges/{id}/{verb}",
            post(access::decide_privilege),
        )
        .route("/console/security/totp", post(totp_enrol))
        .route("/console/security/totp/confirm", post(totp_confirm))
        .route("/console/compliance", get(compliance::dashboard))
        .route("/console/compliance/run", post(compliance::run_now))
        .route("/console/compliance/catalog", get(compliance::catalog))
        .route("/console/compliance/clauses/{id}", get(compliance::clause))
        .route(
            "/console/compliance/evidence",
            get(compliance::evidence)
                .post(compliance::upload_evidence)
                .layer(axum::extract::DefaultBodyLimit::max(
                    yunjian_app::MAX_EVIDENCE_BYTES + 64 * 1024,
                )),
        )
        .route(
            "/console/compliance/evidence/{id}/file",
            get(compliance::evidence_file),
        )
        .route(
            "/console/compliance/evidence/{id}/{verb}",
            post(compliance::decide_evidence),
        )
        .route(
            "/console/compliance/waivers",
            get(compliance::waivers).post(compliance::request_waiver),
        )
        .route(
            "/console/compliance/waivers/{id}/{verb}",
            post(compliance::decide_waiver),
        )
        .route(
            "/console/compliance/controls",
            get(compliance::controls).post(compliance::upload_control),
        )
        .route(
            "/console/compliance/controls/{id}/retire",
            post(compliance::retire_control),
        )
        .route("/console/compliance/reports", get(compliance::reports))
        .route("/console/compliance/diff", get(compliance::diff))
        .route(
            "/console/compliance/reports/{kind}",
            get(compliance::report_file),
        )
        .route(
            "/console/compliance/evidence-package/{kind}",
            get(compliance::evidence_package),
        )
        .route(
            "/console/compliance/parameters",
            get(compliance::parameters).post(compliance::set_parameter),
        )
        .route("/console/providers/sync", get(provider::sync_page))
        .route("/console/providers/projects", post(provider::map_project))
        .route(
            "/console/providers/connectors",
            post(provider::add_connector),
        )
        .route(
            "/console/providers/connectors/{id}/run",
            post(provider::run_connector),
        )
        .route("/console/providers/changes", get(provider::changes))
        .route(
            "/console/providers/images",
            get(provider::images).post(provider::register_image),
        )
        .route(
            "/console/providers/images/{id}/revoke",
            post(provider::revoke_image),
        )
        .route("/console/providers/usage", get(provider::usage))
        .route(
            "/console/providers/usage/report",
            get(provider::usage_report),
        )
        .route("/console/network", get(network::findings))
        .route("/console/network/query", get(network::query_page))
        .route("/console/network/vpcs", get(network::vpcs))
        .route("/console/network/vpcs/{id}", get(network::segmentation))
        .route("/console/network/changes", get(network::changes))
        .route("/console/network/what-if", get(network::what_if))
        .route("/console/soc", get(soc::overview))
        .route("/console/soc/events", get(soc::events))
        .route("/console/soc/events/{id}", get(soc::event))
        .route("/console/soc/incidents", get(soc::incidents))
        .route("/console/soc/incidents/{id}", get(soc::incident))
        .route(
            "/console/soc/incidents/{id}/report",
            get(soc::incident_report),
        )
        .route(
            "/console/soc/incidents/{id}/{verb}",
            post(soc::incident_action),
        )
        .route("/console/soc/rules", get(soc::rules).post(soc::rule_action))
        .route(
            "/console/soc/sources",
            get(soc::sources).post(soc::add_source),
        )
        .route("/console/soc/settings", post(soc::save_settings))
        .route("/console/audit", get(audit))
        .route("/console/audit/verify", post(audit_verify))
        .route("/console/audit/export", post(audit_export))
        .route("/console/audit/{seq}", get(audit_record))
        .route("/console/{table}", get(list).post(create))
        .route("/console/{table}/new", get(new_form))
        .route("/console/{table}/{id}", get(detail).post(update))
        .route("/console/{table}/{id}/edit", get(edit_form))
        .route("/console/{table}/{id}/delete", post(delete))
}

async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/console.css"),
    )
        .into_response()
}

/// A local path to return to: only `/console…`, never another origin.
fn safe_local_path(candidate: Option<&str>) -> String {
    match candidate {
        Some(path)
            if path.starts_with("/console") && !path.starts_with("//") && !path.contains('\\') =>
        {
            path.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

/// An authenticated console user.
struct ConsoleAuth {
    context: Context,
    csrf: String,
    lang: Lang,
    path: String,
    token: SessionToken,
}

impl FromRequestParts<AppState> for ConsoleAuth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_headers(&parts.headers);
        let path = parts.uri.path().to_owned();
        let back = parts
            .uri
            .path_and_query()
            .map_or(path.clone(), |pq| pq.as_str().to_owned());
        let to_login =
            || Redirect::to(&format!("/login?next={}", pages::urlencode(&back))).into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(SessionToken) else {
            return Err(to_login());
        };
        let RequestId(request_id) = RequestId::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        // A session whose password must change, or whose role needs a second factor not
        // yet enrolled, reaches only the password page, the security page and logout;
        // everything else sends it there.
        let restricted = matches!(
            path.as_str(),
            "/console/password" | "/console/security" | "/logout"
        ) || path.starts_with("/console/security/");
        let authenticated = if restricted {
            state.app.authenticate_restricted(&token).await
        } else {
            state.app.authenticate(&token).await
        };
        match authenticated {
            Err(AppError::PasswordChangeRequired) => {
                Err(Redirect::to("/console/password").into_response())
            }
            Err(AppError::TotpEnrolmentRequired) => {
                Err(Redirect::to("/console/security").into_response())
            }
            Ok(authenticated) => Ok(ConsoleAuth {
                context: Context {
                    principal: authenticated.principal,
                    request_id,
                    source_address: client_address(parts),
                    source_time_ns: crate::extract::source_time(parts),
                    credential: Some(token.credential()),
                    second_factor_at_ns: authenticated.second_factor_at_ns,
                },
                csrf: authenticated.csrf_token,
                lang,
                path,
                token,
            }),
            Err(AppError::Unauthenticated) => Err(to_login()),
            Err(error) => Err(error_page(lang, error, &request_id)),
        }
    }
}

impl ConsoleAuth {
    fn frame(&self) -> Frame<'_> {
        Frame {
            lang: self.lang,
            principal: &self.context.principal,
            csrf: &self.csrf,
            path: &self.path,
        }
    }

    /// Checks the form's CSRF token in constant time; answers the refusal when it fails.
    fn csrf_refusal(&self, pairs: &forms::FormPairs) -> Option<Response> {
        let given = first(pairs, "_csrf").unwrap_or("");
        if constant_time_eq(given.as_bytes(), self.csrf.as_bytes()) {
            None
        } else {
            Some(html_status(
                StatusCode::FORBIDDEN,
                pages::message_page(
                    self.lang,
                    self.lang.t("请求已拒绝", "Request refused"),
                    self.lang.t("表单已过期或来源不明，请重新打开页面后再提交。", "The form expired or did not come from this console; reopen the page and submit again."),
                ),
            ))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn html_status(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// The answer to a console action that did not go through: the step-up page when only a
/// fresh second factor is missing, the error page otherwise.
fn failure(auth: &ConsoleAuth, error: AppError) -> Response {
    match error {
        AppError::StepUpRequired => Redirect::to("/console/security?step_up=1").into_response(),
        error => error_page(auth.lang, error, &auth.context.request_id),
    }
}

fn error_page(lang: Lang, error: AppError, request_id: &str) -> Response {
    let status = crate::error::status_of(&error);
    let (title, message) = match &error {
        AppError::NotFound => (
            lang.t("未找到", "Not found"),
            lang.t(
                "对象不存在，或不在您的权限范围内。",
                "The object does not exist or is outside your scope.",
            )
            .to_owned(),
        ),
        AppError::Forbidden(reason) => (lang.t("无权操作", "Forbidden"), reason.clone()),
        AppError::Internal(detail) => {
            tracing::error!(request_id, %detail, "internal error");
            (
                lang.t("内部错误", "Internal error"),
                format!(
                    "{} {request_id}",
                    lang.t(
                        "请把请求编号告知管理员：",
                        "Quote this request id to an administrator:"
                    )
                ),
            )
        }
        other => (lang.t("请求有误", "Bad request"), other.to_string()),
    };
    html_status(status, pages::message_page(lang, title, &message))
}

pub async fn not_found(uri: Uri, headers: HeaderMap, RequestId(request_id): RequestId) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::error::ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint",
            &request_id,
        )
        .into_response();
    }
    let lang = Lang::from_headers(&headers);
    html_status(
        StatusCode::NOT_FOUND,
        pages::message_page(
            lang,
            lang.t("未找到", "Not found"),
            lang.t("没有这个页面。", "There is no such page."),
        ),
    )
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
}

fn language_cookie(lang: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let mut lang = Lang::from_headers(&headers);
    let mut response_headers = HeaderMap::new();
    match query.lang.as_deref() {
        Some("en") => {
            lang = Lang::En;
            response_headers.append(SET_COOKIE, language_cookie("en"));
        }
        Some("zh") => {
            lang = Lang::Zh;
            response_headers.append(SET_COOKIE, language_cookie("zh"));
        }
        _ => {}
    }
    let csrf = cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|token| token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| yunjian_gm::random_secret_hex(16));
    let secure = if state.http.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict{secure}"
    )) {
        response_headers.append(SET_COOKIE, value);
    }
    let next = safe_local_path(query.next.as_deref());
    (
        response_headers,
        Html(pages::login_page(lang, &csrf, &next, None).into_string()),
    )
        .into_response()
}

async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RequestId(request_id): RequestId,
    ClientAddress(source): ClientAddress,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let pairs = parse_pairs(&body);
    let next = safe_local_path(first(&pairs, "next"));
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let given = first(&pairs, "_csrf").unwrap_or("");
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
        return html_status(
            StatusCode::FORBIDDEN,
            pages::login_page(
                lang,
                &expected,
                &next,
                Some(lang.t(
                    "登录页面已过期，请重试。",
                    "The login page expired; please try again.",
                )),
            ),
        );
    }
    let username = first(&pairs, "username").unwrap_or("");
    let password = first(&pairs, "password").unwrap_or("");
    let totp = first(&pairs, "totp").filter(|code| !code.trim().is_empty());
    match state
        .app
        .login_with(username, password, totp, &request_id, source.as_deref())
        .await
    {
        Ok(outcome) => {
            let max_age = (outcome.expires_at_ns - state.app.now_ns()) / 1_000_000_000;
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().append(
                SET_COOKIE,
                session_cookie(&outcome.token.0, max_age.max(0), state.http.secure_cookies),
            );
            response
        }
        Err(AppError::BadCredentials) => html_status(
            StatusCode::UNAUTHORIZED,
            pages::login_page(
                lang,
                &expected,
                &next,
                Some(lang.t("用户名或密码错误。", "Wrong username or password.")),
            ),
        ),
        Err(AppError::TotpRequired) => html_status(
            StatusCode::UNAUTHORIZED,
            pages::login_page(
                lang,
                &expected,
                &next,
                Some(lang.t(
                    "请输入身份验证器中的动态口令（或一个恢复码）。",
                    "Enter the one-time code from your authenticator (or a recovery code).",
                )),
            ),
        ),
        Err(error) => error_page(lang, error, &request_id),
    }
}

async fn logout(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    if let Err(error) = state.app.logout(&auth.context, &auth.token).await {
        return error_page(auth.lang, error, &auth.context.request_id);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        SET_COOKIE,
        HeaderValue::from_static("yj_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

#[derive(Deserialize)]
struct BackQuery {
    back: Option<String>,
}

async fn switch_language(Path(lang): Path<String>, Query(query): Query<BackQuery>) -> Response {
    let lang = if lang == "en" { "en" } else { "zh" };
    let mut response = Redirect::to(&safe_local_path(query.back.as_deref())).into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, language_cookie(lang));
    response
}

async fn overview(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    match state.app.overview(&auth.context).await {
        Ok(overview) => {
            Html(pages::overview_page(&auth.frame(), &overview).into_string()).into_response()
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

fn kind_of(table: &str) -> Result<Kind, AppError> {
    Kind::from_table(table).ok_or(AppError::NotFound)
}

fn id_of(text: &str) -> Result<i64, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

async fn list(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(table): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        let kind = kind_of(&table)?;
        let mut query = parse_list_query(kind, raw.as_deref())?;
        if query.per_page == ListQuery::default().per_page {
            query.per_page = 50;
        }
        let page = state.app.list(&auth.context, kind, &query).await?;
        let base_query: Vec<(String, String)> =
            form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
                .filter(|(key, _)| key != "page")
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect();
        let sort_name = match query.sort {
            "created_at_ns" => "created_at",
            "updated_at_ns" => "updated_at",
            other => other,
        };
        let view = ListView {
            kind,
            items: &page.items,
            names: &page.names,
            total: page.total,
            page: page.page,
            per_page: page.per_page,
            search: query.search.as_deref().unwrap_or(""),
            base_query: &base_query,
            sort: sort_name,
            descending: query.order == SortOrder::Descending,
            writable: state.app.may_write_kind(&auth.context, kind),
        };
        Ok::<_, AppError>(pages::list_page(&auth.frame(), &view))
    }
    .await;
    match result {
        Ok(markup) => Html(markup.into_string()).into_response(),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn detail(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path((table, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = async {
        let kind = kind_of(&table)?;
        let resolved = state.app.get(&auth.context, kind, id_of(&id)?).await?;
        let saved = raw
            .as_deref()
            .is_some_and(|query| query.contains("saved=1"));
        let notice = saved.then(|| auth.lang.t("已保存。", "Saved."));
        Ok::<_, AppError>(pages::detail_page(
            &auth.frame(),
            &resolved.object,
            &resolved.names,
            notice,
            state.app.may_write_kind(&auth.context, kind),
        ))
    }
    .await;
    match result {
        Ok(markup) => Html(markup.into_string()).into_response(),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

/// Choices for every reference field of a kind, in the user's scope; a target with more
/// than 500 visible objects is entered by id.
async fn reference_options(
    state: &AppState,
    context: &Context,
    kind: Kind,
) -> HashMap<&'static str, RefOptions> {
    let mut options = HashMap::new();
    for field in kind.spec().input_fields() {
        let target = match field.ty {
            FieldType::Ref(target) => target,
            FieldType::RefList(link) => link.target,
            _ => continue,
        };
        let query = ListQuery {
            sort: if target.spec().field("name").is_some() {
                "name"
            } else {
                "id"
            },
            per_page: 500,
            ..ListQuery::default()
        };
        let choices = match state.app.list(context, target, &query).await {
            Ok(page) if page.total <= 500 => Some(
                page.items
                    .iter()
                    .map(|object| (object.id, object.display_name()))
                    .collect(),
            ),
            _ => None,
        };
        options.insert(field.name, choices);
    }
    options
}

#[allow(clippy::too_many_arguments)]
async fn render_form(
    state: &AppState,
    auth: &ConsoleAuth,
    kind: Kind,
    id: Option<i64>,
    values: &[(String, String)],
    errors: &[FieldError],
    general_error: Option<&str>,
    status: StatusCode,
) -> Response {
    let options = reference_options(state, &auth.context, kind).await;
    let lookup = |name: &str| options.get(name).cloned().flatten();
    let view = FormView {
        kind,
        id,
        values,
        errors,
        general_error,
        options: &lookup,
    };
    html_status(status, pages::form_page(&auth.frame(), &view))
}

async fn new_form(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(table): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let kind = match kind_of(&table) {
        Ok(kind) => kind,
        Err(error) => return error_page(auth.lang, error, &auth.context.request_id),
    };
    if !state.app.may_write_kind(&auth.context, kind) {
        return error_page(
            auth.lang,
            AppError::Forbidden(
                auth.lang
                    .t(
                        "您的角色不能新建此类对象。",
                        "Your role may not create these.",
                    )
                    .into(),
            ),
            &auth.context.request_id,
        );
    }
    // Prefill from the query (links such as "new subnet in this VPC").
    let prefill: Vec<(String, String)> =
        form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
    render_form(
        &state,
        &auth,
        kind,
        None,
        &prefill,
        &[],
        None,
        StatusCode::OK,
    )
    .await
}

async fn edit_form(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path((table, id)): Path<(String, String)>,
) -> Response {
    let result = async {
        let kind = kind_of(&table)?;
        let id = id_of(&id)?;
        let resolved = state.app.get(&auth.context, kind, id).await?;
        if !state.app.may_write_kind(&auth.context, kind) {
            return Err(AppError::Forbidden(
                auth.lang
                    .t(
                        "您的角色不能修改此类对象。",
                        "Your role may not change these.",
                    )
                    .into(),
            ));
        }
        Ok((kind, id, pages::form_values(&resolved.object)))
    }
    .await;
    match result {
        Ok((kind, id, values)) => {
            render_form(
                &state,
                &auth,
                kind,
                Some(id),
                &values,
                &[],
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

/// Shows the form again with the user's input and the errors, or an error page.
async fn form_failure(
    state: &AppState,
    auth: &ConsoleAuth,
    kind: Kind,
    id: Option<i64>,
    pairs: &forms::FormPairs,
    error: AppError,
) -> Response {
    let submitted: Vec<(String, String)> = pairs
        .iter()
        .filter(|(key, _)| !key.starts_with('_'))
        .cloned()
        .collect();
    match error {
        AppError::Invalid(errors) => {
            let unplaced: Vec<String> = errors
                .iter()
                .filter(|error| {
                    kind.spec()
                        .input_fields()
                        .all(|field| field.name != error.field)
                })
                .map(|error| error.message.clone())
                .collect();
            let general = (!unplaced.is_empty()).then(|| unplaced.join("; "));
            render_form(
                state,
                auth,
                kind,
                id,
                &submitted,
                &errors,
                general.as_deref(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        AppError::Conflict { message, field } => {
            let errors: Vec<FieldError> = field
                .iter()
                .map(|field| FieldError::new(field.clone(), "conflict", message.clone()))
                .collect();
            render_form(
                state,
                auth,
                kind,
                id,
                &submitted,
                &errors,
                Some(&message),
                StatusCode::CONFLICT,
            )
            .await
        }
        other => error_page(auth.lang, other, &auth.context.request_id),
    }
}

async fn create(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(table): Path<String>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let kind = match kind_of(&table) {
        Ok(kind) => kind,
        Err(error) => return error_page(auth.lang, error, &auth.context.request_id),
    };
    let input = form_to_json(kind.spec(), &pairs);
    match state.app.create(&auth.context, kind, &input).await {
        Ok(created) => Redirect::to(&format!(
            "/console/{}/{}?saved=1",
            kind.spec().table,
            created.object.id
        ))
        .into_response(),
        Err(error) => form_failure(&state, &auth, kind, None, &pairs, error).await,
    }
}

async fn update(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path((table, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let (kind, id) = match kind_of(&table).and_then(|kind| Ok((kind, id_of(&id)?))) {
        Ok(found) => found,
        Err(error) => return error_page(auth.lang, error, &auth.context.request_id),
    };
    let input = form_to_json(kind.spec(), &pairs);
    match state.app.update(&auth.context, kind, id, &input).await {
        Ok(_) => {
            Redirect::to(&format!("/console/{}/{id}?saved=1", kind.spec().table)).into_response()
        }
        Err(error) => form_failure(&state, &auth, kind, Some(id), &pairs, error).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path((table, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let result = async {
        let kind = kind_of(&table)?;
        state.app.delete(&auth.context, kind, id_of(&id)?).await?;
        Ok::<_, AppError>(kind)
    }
    .await;
    match result {
        Ok(kind) => Redirect::to(&format!("/console/{}", kind.spec().table)).into_response(),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn accounts(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    render_accounts(&state, &auth, &[], None, StatusCode::OK).await
}

async fn render_accounts(
    state: &AppState,
    auth: &ConsoleAuth,
    errors: &[FieldError],
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    match state.app.accounts(&auth.context).await {
        Ok(accounts) => {
            let can_create = auth.context.principal.role == yunjian_core::role::Role::SystemAdmin;
            html_status(
                status,
                pages::accounts_page(&auth.frame(), &accounts, can_create, errors, notice),
            )
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn create_account(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let mut map = serde_json::Map::new();
    for key in ["username", "display_name", "password", "role", "person_id"] {
        if let Some(value) = first(&pairs, key) {
            map.insert(key.into(), serde_json::json!(value));
        }
    }
    access::insert_numbers(&mut map, &pairs, &["tenant_id", "provider_id"]);
    let result = match crate::api::account_input(&map) {
        Ok(input) => state.app.create_account(&auth.context, input).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(account) => {
            let notice = format!(
                "{} {}",
                auth.lang.t("已创建账户", "Created account"),
                account.username
            );
            render_accounts(&state, &auth, &[], Some(&notice), StatusCode::OK).await
        }
        Err(AppError::Invalid(errors)) => {
            render_accounts(
                &state,
                &auth,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict { message, .. }) => {
            render_accounts(
                &state,
                &auth,
                &[FieldError::new("username", "conflict", message)],
                None,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn audit(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = crate::audit::Params::parse(raw.as_deref());
    let query = match params.query() {
        Ok(query) => AuditQuery {
            limit: 100,
            ..query
        },
        Err(error) => return error_page(auth.lang, error, &auth.context.request_id),
    };
    let filters: Vec<(&'static str, String)> =
        ["actor", "action", "outcome", "from", "to", "tenant"]
            .into_iter()
            .filter_map(|name| params.text(name).map(|value| (name, value)))
            .collect();
    let records = match state.app.audit_records(&auth.context, &query).await {
        Ok(records) => records,
        Err(error) => return error_page(auth.lang, error, &auth.context.request_id),
    };
    let checkpoint = state.app.audit_checkpoint().await.ok();
    let public_key = state.app.audit_public_key().await.ok();
    let now = state.app.now_ns();
    let anomalies = if matches!(
        auth.context.principal.role,
        Role::SecurityAuditor | Role::Auditor | Role::Supervisor
    ) {
        state
            .app
            .audit_anomalies(&auth.context, now - 86_400 * 1_000_000_000, now)
            .await
            .ok()
    } else {
        None
    };
    let view = audit::AuditPage {
        records: &records,
        query: &query,
        filters: &filters,
        checkpoint: checkpoint.as_ref(),
        public_key: public_key.as_deref(),
        anomalies: anomalies.as_ref(),
    };
    Html(audit::records_page(&auth.frame(), &view).into_string()).into_response()
}

async fn audit_record(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    Path(seq): Path<String>,
) -> Response {
    let Ok(seq) = seq.parse::<u64>() else {
        return error_page(auth.lang, AppError::NotFound, &auth.context.request_id);
    };
    let record = match state.app.audit_record(&auth.context, seq).await {
        Ok(record) => record,
        Err(error) => return error_page(auth.lang, error, &auth.context.request_id),
    };
    let checkpoint = state.app.audit_checkpoint().await.ok();
    let proof = match &checkpoint {
        Some(checkpoint) if seq < checkpoint.size => state
            .app
            .audit_inclusion_proof(&auth.context, seq, checkpoint.size)
            .await
            .ok()
            .map(|path| path.iter().map(hex::encode).collect::<Vec<_>>()),
        _ => None,
    };
    let proof = checkpoint.as_ref().zip(proof.as_deref());
    Html(audit::record_page(&auth.frame(), &record, proof).into_string()).into_response()
}

async fn audit_verify(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    match state.app.audit_verify_online(&auth.context).await {
        Ok(report) => {
            Html(audit::verification_page(&auth.frame(), &report).into_string()).into_response()
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn audit_export(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let time = |name: &str| match first(&pairs, name).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => crate::audit::parse_time(value).map(Some).ok_or_else(|| {
            AppError::invalid(
                name,
                "invalid_parameter",
                "a time is RFC 3339 or a date YYYY-MM-DD",
            )
        }),
    };
    let range = match (time("from"), time("to")) {
        (Ok(from_ns), Ok(to_ns)) => ExportRange {
            from_ns,
            to_ns,
            ..ExportRange::default()
        },
        (Err(error), _) | (_, Err(error)) => {
            return error_page(auth.lang, error, &auth.context.request_id)
        }
    };
    match crate::audit::bundle_response(&state.app, &auth.context, &range).await {
        Ok(response) => response,
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn password_form(State(state): State<AppState>, auth: ConsoleAuth) -> Response {
    let age = state.app.password_age(&auth.context).await.ok();
    Html(pages::password_page(&auth.frame(), age, &[], false).into_string()).into_response()
}

async fn password_submit(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let current = first(&pairs, "current_password").unwrap_or("");
    let new = first(&pairs, "new_password").unwrap_or("");
    let confirm = first(&pairs, "confirm_password").unwrap_or("");
    if new != confirm {
        let errors = [FieldError::new(
            "confirm_password",
            "mismatch",
            auth.lang
                .t("两次输入的新密码不一致。", "The two new passwords differ."),
        )];
        return html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::password_page(&auth.frame(), None, &errors, false),
        );
    }
    match state
        .app
        .change_password(&auth.context, &auth.token, current, new)
        .await
    {
        Ok(()) => {
            Html(pages::password_page(&auth.frame(), None, &[], true).into_string()).into_response()
        }
        Err(AppError::Invalid(errors)) => html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::password_page(&auth.frame(), None, &errors, false),
        ),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn security_page(
    State(state): State<AppState>,
    auth: ConsoleAuth,
    RawQuery(raw): RawQuery,
) -> Response {
    let (asked, done) = access::security_flags(raw.as_deref());
    render_security(&state, &auth, asked, done, None, &[]).await
}

/// The security page with the step-up form and, once a second factor is enrolled, the
/// API keys.
async fn render_security(
    state: &AppState,
    auth: &ConsoleAuth,
    asked: bool,
    done: bool,
    created: Option<&yunjian_app::CreatedApiKey>,
    errors: &[FieldError],
) -> Response {
    let mut markup = pages::security_page(&auth.frame(), None, None, errors).into_string();
    let mut extra = access::step_up_form(&auth.frame(), asked, done).into_string();
    match state.app.my_sessions(&auth.context).await {
        Ok(sessions) => {
            let current = auth.context.credential.clone().unwrap_or_default();
            extra.push_str(
                &access::sessions_section(&auth.frame(), &sessions, &current).into_string(),
            );
        }
        Err(error) => return error_page(auth.lang, error, &auth.context.request_id),
    }
    if auth.context.principal.second_factor || !auth.context.principal.role.needs_second_factor() {
        match state.app.api_keys(&auth.context).await {
            Ok(keys) => extra
                .push_str(&access::api_keys_section(&auth.frame(), &keys, created).into_string()),
            Err(error) => return error_page(auth.lang, error, &auth.context.request_id),
        }
    }
    // The extra sections go at the end of the page's main element.
    if let Some(at) = markup.rfind("</main>") {
        markup.insert_str(at, &extra);
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, Html(markup)).into_response()
}

async fn totp_enrol(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    match state.app.begin_totp_enrolment(&auth.context).await {
        Ok(enrolment) => {
            Html(pages::security_page(&auth.frame(), Some(&enrolment), None, &[]).into_string())
                .into_response()
        }
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}

async fn totp_confirm(State(state): State<AppState>, auth: ConsoleAuth, body: Bytes) -> Response {
    let pairs = parse_pairs(&body);
    if let Some(response) = auth.csrf_refusal(&pairs) {
        return response;
    }
    let code = first(&pairs, "code").unwrap_or("");
    match state
        .app
        .confirm_totp_enrolment(&auth.context, &auth.token, code)
        .await
    {
        Ok(codes) => {
            Html(pages::security_page(&auth.frame(), None, Some(&codes), &[]).into_string())
                .into_response()
        }
        Err(AppError::Invalid(errors)) => html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::security_page(&auth.frame(), None, None, &errors),
        ),
        Err(error) => error_page(auth.lang, error, &auth.context.request_id),
    }
}
