//! JSON API handlers under `/api/v1`. Thin: parse, call the app, render.

use axum::extract::{Path, RawQuery, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value as Json_};
use yunjian_app::{AppError, NewAccountInput};
use yunjian_core::ids::{ProviderId, TenantId};
use yunjian_core::role::Role;
use yunjian_core::schema::{FieldType, Kind};
use yunjian_core::value::Value;
use yunjian_store::{Filter, ListQuery, SortOrder};

use crate::error::ApiError;
use crate::extract::{ApiAuth, ClientAddress, JsonObject, RequestId, RestrictedAuth};
use crate::wire;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
        .route("/auth/password", post(change_password))
        .route("/auth/totp/enrol", post(totp_enrol))
        .route("/auth/totp/confirm", post(totp_confirm))
        .route("/auth/step-up", post(step_up))
        .route("/auth/api-keys", get(list_api_keys).post(create_api_key))
        .route("/auth/sessions", get(list_sessions))
        .route("/auth/sessions/{id}/end", post(end_session))
        .route("/auth/api-keys/{id}/revoke", post(revoke_api_key))
        .route("/accounts/{id}/role", post(assign_role))
        .route("/accounts/{id}/password-reset", post(reset_password))
        .route("/accounts/{id}/unlock", post(unlock_account))
        .route("/overview", get(overview))
        .route("/accounts", get(list_accounts).post(create_account))
        .merge(crate::audit::routes())
        .merge(crate::grants::routes())
        .merge(crate::compliance::routes())
        .merge(crate::provider::routes())
        .merge(crate::events::routes())
        .merge(crate::network::routes())
        .route("/{kind}", get(list).post(create))
        .route("/{kind}/{id}", get(read).patch(update).delete(remove))
        .fallback(api_not_found)
}

pub async fn api_not_found(RequestId(request_id): RequestId) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such API endpoint",
        &request_id,
    )
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.app.store().ping().await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(error) => {
            tracing::error!(%error, "health check: the store does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

fn kind_of(segment: &str, request_id: &str) -> Result<Kind, ApiError> {
    Kind::from_table(segment).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such collection '{segment}'"),
            request_id,
        )
    })
}

pub(crate) fn id_of(segment: &str, request_id: &str) -> Result<i64, ApiError> {
    segment
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_id",
                "ids are positive integers",
                request_id,
            )
        })
}

/// A session cookie for the console, set by a successful login.
pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}",
        crate::extract::SESSION_COOKIE
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn login(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    ClientAddress(source): ClientAddress,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let text = |key: &str| -> Result<String, ApiError> {
        match body.get(key) {
            Some(Json_::String(value)) => Ok(value.clone()),
            _ => Err(ApiError::from_app(
                AppError::invalid(key, "required", format!("'{key}' is required as a string")),
                &request_id,
            )),
        }
    };
    if let Some(unknown) = body
        .keys()
        .find(|key| !matches!(key.as_str(), "username" | "password" | "totp"))
    {
        return Err(ApiError::from_app(
            AppError::invalid(
                unknown,
                "unknown_field",
                format!("login takes no field '{unknown}'"),
            ),
            &request_id,
        ));
    }
    let (username, password) = (text("username")?, text("password")?);
    let totp = match body.get("totp") {
        None | Some(Json_::Null) => None,
        Some(_) => Some(text("totp")?),
    };
    let outcome = state
        .app
        .login_with(
            &username,
            &password,
            totp.as_deref(),
            &request_id,
            source.as_deref(),
        )
        .await
        .map_err(|error| ApiError::from_app(error, &request_id))?;
    let max_age = (outcome.expires_at_ns - state.app.now_ns()) / 1_000_000_000;
    let mut response = Json(json!({
        "token": outcome.token.0,
        "expires_at": wire::timestamp(outcome.expires_at_ns),
        "principal": wire::principal_json(&outcome.principal),
        "password_change_required": outcome.password_change_required,
        "totp_enrolment_required": outcome.totp_enrolment_required,
    }))
    .into_response();
    response.headers_mut().insert(
        SET_COOKIE,
        session_cookie(&outcome.token.0, max_age.max(0), state.http.secure_cookies),
    );
    Ok(response)
}

async fn logout(
    State(state): State<AppState>,
    RestrictedAuth(auth): RestrictedAuth,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .logout(&auth.context, &auth.token)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(
    State(state): State<AppState>,
    RestrictedAuth(auth): RestrictedAuth,
) -> Result<Json<Json_>, ApiError> {
    let mut body = wire::principal_json(&auth.context.principal);
    let age = state
        .app
        .password_age(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    body["password"] = serde_json::to_value(age).unwrap_or(Json_::Null);
    Ok(Json(body))
}

/// `{"current_password", "new_password"}`; the policy's problems come back as field
/// errors on `new_password`.
async fn change_password(
    State(state): State<AppState>,
    RestrictedAuth(auth): RestrictedAuth,
    JsonObject(body): JsonObject,
) -> Result<StatusCode, ApiError> {
    let request_id = &auth.context.request_id;
    let text = |key: &str| -> Result<String, ApiError> {
        match body.get(key) {
            Some(Json_::String(value)) => Ok(value.clone()),
            _ => Err(ApiError::from_app(
                AppError::invalid(key, "required", format!("'{key}' is required as a string")),
                request_id,
            )),
        }
    };
    if let Some(unknown) = body
        .keys()
        .find(|key| !matches!(key.as_str(), "current_password" | "new_password"))
    {
        return Err(ApiError::from_app(
            AppError::invalid(unknown, "unknown_field", format!("no field '{unknown}'")),
            request_id,
        ));
    }
    let (current, new) = (text("current_password")?, text("new_password")?);
    state
        .app
        .change_password(&auth.context, &auth.token, &current, &new)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_password(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let id = id_of(&id, request_id)?;
    let password = state
        .app
        .reset_password(&auth.context, yunjian_core::ids::AccountId(id))
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(Json(json!({
        "one_time_password": password,
        "note": "shown once; the account must change it at its next login",
    })))
}

async fn unlock_account(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let request_id = &auth.context.request_id;
    let id = id_of(&id, request_id)?;
    state
        .app
        .unlock_account(&auth.context, yunjian_core::ids::AccountId(id))
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn overview(State(state): State<AppState>, auth: ApiAuth) -> Result<Json<Json_>, ApiError> {
    let overview = state
        .app
        .overview(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(Json(wire::overview_json(&overview)))
}

/// Parses `page`, `per_page`, `sort`, `order`, `q` and equality filters on fields. An
/// unknown parameter is an error, so a typo never silently widens a result.
pub fn parse_list_query(kind: Kind, raw: Option<&str>) -> Result<ListQuery, AppError> {
    let spec = kind.spec();
    let mut query = ListQuery::default();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let number = |value: &str| -> Result<u32, AppError> {
            value
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    AppError::invalid(
                        &key,
                        "invalid_parameter",
                        format!("'{key}' must be a positive integer"),
                    )
                })
        };
        match key.as_ref() {
            "page" => query.page = number(&value)?,
            "per_page" => query.per_page = number(&value)?.min(500),
            "q" => query.search = Some(value.into_owned()),
            "after" => {
                query.after = Some(value.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(
                    || {
                        AppError::invalid(
                            "after",
                            "invalid_parameter",
                            "'after' is the positive id of the last object seen",
                        )
                    },
                )?)
            }
            "order" => {
                query.order = match value.as_ref() {
                    "asc" => SortOrder::Ascending,
                    "desc" => SortOrder::Descending,
                    _ => {
                        return Err(AppError::invalid(
                            "order",
                            "invalid_parameter",
                            "'order' is asc or desc",
                        ))
                    }
                }
            }
            "sort" => {
                query.sort = match value.as_ref() {
                    "id" => "id",
                    "created_at" => "created_at_ns",
                    "updated_at" => "updated_at_ns",
                    other => spec
                        .column_fields()
                        .find(|field| field.name == other)
                        .map(|field| field.name)
                        .ok_or_else(|| {
                            AppError::invalid(
                                "sort",
                                "invalid_parameter",
                                format!("cannot sort by '{other}'"),
                            )
                        })?,
                }
            }
            "lang" => {}
            name => {
                let Some(field) = spec.field(name) else {
                    return Err(AppError::invalid(
                        name,
                        "unknown_parameter",
                        format!("{} has no field or parameter '{name}'", spec.table),
                    ));
                };
                let parsed = match field.ty {
                    FieldType::Ref(_) | FieldType::RefList(_) | FieldType::Integer { .. } => {
                        value.parse::<i64>().ok().map(Value::Int)
                    }
                    FieldType::Bool => match value.as_ref() {
                        "true" => Some(Value::Bool(true)),
                        "false" => Some(Value::Bool(false)),
                        _ => None,
                    },
                    FieldType::Enum(options) => options
                        .iter()
                        .find(|o| o.value == value)
                        .map(|o| Value::Text(o.value.to_owned())),
                    FieldType::Text { .. }
                    | FieldType::Cidr
                    | FieldType::Date
                    | FieldType::Digest => Some(Value::Text(value.to_string())),
                    _ => None,
                };
                let Some(parsed) = parsed else {
                    return Err(AppError::invalid(
                        name,
                        "invalid_filter",
                        format!("cannot filter {} by '{name}={value}'", spec.table),
                    ));
                };
                query.filters.push(Filter {
                    field: field.name,
                    value: parsed,
                });
            }
        }
    }
    if query.after.is_some() && (query.sort != "id" || query.page > 1) {
        return Err(AppError::invalid(
            "after",
            "invalid_parameter",
            "'after' pages by id: use it with sort=id (the default) and without page",
        ));
    }
    Ok(query)
}

async fn list(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let kind = kind_of(&segment, request_id)?;
    let query = parse_list_query(kind, raw.as_deref())
        .map_err(|error| ApiError::from_app(error, request_id))?;
    let page = state
        .app
        .list(&auth.context, kind, &query)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(Json(wire::page_json(&page)))
}

async fn read(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path((segment, id)): Path<(String, String)>,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let kind = kind_of(&segment, request_id)?;
    let id = id_of(&id, request_id)?;
    let object = state
        .app
        .get(&auth.context, kind, id)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(Json(wire::resolved_json(&object)))
}

async fn create(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(segment): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, HeaderMap, Json<Json_>), ApiError> {
    let request_id = &auth.context.request_id;
    let kind = kind_of(&segment, request_id)?;
    let object = state
        .app
        .create(&auth.context, kind, &body)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!(
        "/api/v1/{}/{}",
        kind.spec().table,
        object.object.id
    )) {
        headers.insert(axum::http::header::LOCATION, location);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        Json(wire::resolved_json(&object)),
    ))
}

async fn update(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path((segment, id)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let kind = kind_of(&segment, request_id)?;
    let id = id_of(&id, request_id)?;
    let object = state
        .app
        .update(&auth.context, kind, id, &body)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(Json(wire::resolved_json(&object)))
}

async fn remove(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path((segment, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let request_id = &auth.context.request_id;
    let kind = kind_of(&segment, request_id)?;
    let id = id_of(&id, request_id)?;
    state
        .app
        .delete(&auth.context, kind, id)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_accounts(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let accounts = state
        .app
        .accounts(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(Json(
        json!({"items": accounts.iter().map(wire::account_json).collect::<Vec<_>>()}),
    ))
}

/// Parses an account-creation body (shared with the console's form).
pub fn account_input(body: &serde_json::Map<String, Json_>) -> Result<NewAccountInput, AppError> {
    for key in body.keys() {
        if !matches!(
            key.as_str(),
            "username"
                | "display_name"
                | "password"
                | "role"
                | "tenant_id"
                | "provider_id"
                | "person_id"
        ) {
            return Err(AppError::invalid(
                key,
                "unknown_field",
                format!("accounts have no field '{key}'"),
            ));
        }
    }
    let text = |key: &str| body.get(key).and_then(Json_::as_str).map(str::to_owned);
    let (role, tenant, provider) = role_binding(body)?;
    Ok(NewAccountInput {
        username: text("username")
            .ok_or_else(|| AppError::invalid("username", "required", "'username' is required"))?,
        display_name: text("display_name").filter(|name| !name.trim().is_empty()),
        password: text("password")
            .ok_or_else(|| AppError::invalid("password", "required", "'password' is required"))?,
        role,
        tenant,
        provider,
        person_id: text("person_id").filter(|person| !person.trim().is_empty()),
    })
}

/// An optional positive id field of a JSON body.
pub(crate) fn positive_id(
    body: &serde_json::Map<String, Json_>,
    key: &str,
) -> Result<Option<i64>, AppError> {
    match body.get(key) {
        None | Some(Json_::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(|| {
                AppError::invalid(
                    key,
                    "expected_id",
                    format!("'{key}' must be a positive integer id"),
                )
            }),
    }
}

/// The `role`, `tenant_id` and `provider_id` of an account body.
fn role_binding(
    body: &serde_json::Map<String, Json_>,
) -> Result<(Role, Option<TenantId>, Option<ProviderId>), AppError> {
    let text = |key: &str| body.get(key).and_then(Json_::as_str).map(str::to_owned);
    let id = |key: &str| positive_id(body, key);
    let role_text =
        text("role").ok_or_else(|| AppError::invalid("role", "required", "'role' is required"))?;
    let role = Role::parse(&role_text).ok_or_else(|| {
        let known: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        AppError::invalid(
            "role",
            "unknown_value",
            format!("'role' must be one of {}", known.join(", ")),
        )
    })?;
    Ok((
        role,
        id("tenant_id")?.map(TenantId),
        id("provider_id")?.map(ProviderId),
    ))
}

/// Parses a role-assignment body: `{"role", "tenant_id"?, "provider_id"?}`.
pub fn role_assignment(
    body: &serde_json::Map<String, Json_>,
) -> Result<yunjian_app::RoleAssignment, AppError> {
    if let Some(key) = body
        .keys()
        .find(|key| !matches!(key.as_str(), "role" | "tenant_id" | "provider_id"))
    {
        return Err(AppError::invalid(
            key,
            "unknown_field",
            format!("a role assignment has no field '{key}'"),
        ));
    }
    let (role, tenant, provider) = role_binding(body)?;
    Ok(yunjian_app::RoleAssignment {
        role,
        tenant,
        provider,
    })
}

/// `{"role", "tenant_id"?, "provider_id"?}`: a security administrator, after a step-up,
/// gives another account a role; its sessions end.
async fn assign_role(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let id = id_of(&id, request_id)?;
    let assignment =
        role_assignment(&body).map_err(|error| ApiError::from_app(error, request_id))?;
    let account = state
        .app
        .assign_role(&auth.context, yunjian_core::ids::AccountId(id), assignment)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(Json(wire::account_json(&account)))
}

/// The caller's live sessions: id (as audit records show it), address and times.
async fn list_sessions(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let sessions = state
        .app
        .my_sessions(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    let current = auth.context.credential.clone().unwrap_or_default();
    Ok(Json(json!({"items": sessions.iter().map(|session| json!({
        "id": session.id,
        "current": current == format!("session:{}", session.id),
        "source_address": session.source_address,
        "created_at": wire::timestamp(session.created_at_ns),
        "last_seen_at": wire::timestamp(session.last_seen_at_ns),
        "expires_at": wire::timestamp(session.expires_at_ns),
    })).collect::<Vec<_>>()})))
}

/// Ends one of the caller's sessions.
async fn end_session(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .end_my_session(&auth.context, &id)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's API keys, never their secrets.
async fn list_api_keys(
    State(state): State<AppState>,
    auth: ApiAuth,
) -> Result<Json<Json_>, ApiError> {
    let keys = state
        .app
        .api_keys(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(Json(json!({"items": keys.iter().map(|key| json!({
        "access_key_id": key.access_key_id,
        "label": key.label,
        "created_at": wire::timestamp(key.created_at_ns),
        "last_used_at": key.last_used_at_ns.map(wire::timestamp),
        "revoked_at": key.revoked_at_ns.map(wire::timestamp),
    })).collect::<Vec<_>>()})))
}

/// `{"label"}`: a new key for the caller (after a step-up); the secret is shown once.
async fn create_api_key(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let request_id = &auth.context.request_id;
    let label = match (body.get("label"), body.len()) {
        (Some(Json_::String(label)), 1) => label.clone(),
        _ => {
            return Err(ApiError::from_app(
                AppError::invalid("label", "required", "send exactly {\"label\": \"...\"}"),
                request_id,
            ))
        }
    };
    let created = state
        .app
        .create_api_key(&auth.context, &label)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "access_key_id": created.access_key_id,
            "secret": created.secret,
            "label": created.label,
            "note": "the secret is shown once; sign requests with YJ1-HMAC-SM3 (docs/api-signing.md, `yunjian api`)",
        })),
    ))
}

async fn revoke_api_key(
    State(state): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .revoke_api_key(&auth.context, &id)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"code"}`: proves the second factor again; sensitive actions accept it for five
/// minutes.
async fn step_up(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let code = match (body.get("code"), body.len()) {
        (Some(Json_::String(code)), 1) => code.clone(),
        _ => {
            return Err(ApiError::from_app(
                AppError::invalid("code", "required", "send exactly {\"code\": \"123456\"}"),
                request_id,
            ))
        }
    };
    state
        .app
        .step_up(&auth.context, &auth.token, &code)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(Json(json!({
        "valid_until": wire::timestamp(state.app.now_ns() + yunjian_app::STEP_UP_WINDOW_NS),
    })))
}

async fn create_account(
    State(state): State<AppState>,
    auth: ApiAuth,
    JsonObject(body): JsonObject,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let request_id = &auth.context.request_id;
    let input = account_input(&body).map_err(|error| ApiError::from_app(error, request_id))?;
    let account = state
        .app
        .create_account(&auth.context, input)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok((StatusCode::CREATED, Json(wire::account_json(&account))))
}

/// Starts TOTP enrolment: the secret (base32) and the otpauth URI, shown once.
async fn totp_enrol(
    State(state): State<AppState>,
    RestrictedAuth(auth): RestrictedAuth,
) -> Result<Json<Json_>, ApiError> {
    let enrolment = state
        .app
        .begin_totp_enrolment(&auth.context)
        .await
        .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
    Ok(Json(json!({
        "secret": enrolment.secret_base32,
        "otpauth_uri": enrolment.otpauth_uri,
        "next": "POST /api/v1/auth/totp/confirm with {\"code\": the app's current code}",
    })))
}

/// `{"code"}`: activates the enrolment and answers ten recovery codes, shown once.
async fn totp_confirm(
    State(state): State<AppState>,
    RestrictedAuth(auth): RestrictedAuth,
    JsonObject(body): JsonObject,
) -> Result<Json<Json_>, ApiError> {
    let request_id = &auth.context.request_id;
    let Some(Json_::String(code)) = body.get("code") else {
        return Err(ApiError::from_app(
            AppError::invalid("code", "required", "'code' is required as a string"),
            request_id,
        ));
    };
    let codes = state
        .app
        .confirm_totp_enrolment(&auth.context, &auth.token, code)
        .await
        .map_err(|error| ApiError::from_app(error, request_id))?;
    Ok(Json(json!({ "recovery_codes": codes })))
}
