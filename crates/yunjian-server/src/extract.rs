//! Request extractors: request id, client address, API and console authentication, and
//! JSON objects with our own error answers.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value as Json};
use yunjian_app::{AppError, Context, SessionToken};

use crate::error::ApiError;
use crate::AppState;

/// The id of this request, set by the observing middleware and answered in
/// `x-request-id`.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId("unknown".into())))
    }
}

/// The peer's address, when the server knows it (tests in memory have none).
pub fn client_address(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
}

/// The source's own clock, from the HTTP `Date` header (RFC 9110, IMF-fixdate), kept in
/// audit records beside the server's time so skew can be seen.
pub fn source_time(parts: &Parts) -> Option<i64> {
    let value = parts.headers.get(axum::http::header::DATE)?.to_str().ok()?;
    chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .timestamp_nanos_opt()
}

/// The peer's address as an extractor.
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

pub const SESSION_COOKIE: &str = "yj_session";
pub const LANG_COOKIE: &str = "yj_lang";
pub const LOGIN_CSRF_COOKIE: &str = "yj_login_csrf";

/// The value of a cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn bearer_token(headers: &HeaderMap) -> Option<SessionToken> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| SessionToken(token.trim().to_owned()))
}

/// An authenticated API caller. The API takes bearer tokens only: a browser's cookie
/// does not authenticate API calls, so no cross-site form can drive the API.
pub struct ApiAuth {
    pub context: Context,
    pub token: SessionToken,
}

impl FromRequestParts<AppState> for ApiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = api_auth(parts, state, false).await?;
        // Per-principal call limit (7.3.1.2): counted once the caller is known.
        state
            .app
            .admit_call(&auth.context)
            .await
            .map_err(|error| ApiError::from_app(error, &auth.context.request_id))?;
        Ok(auth)
    }
}

/// An API caller who may still have to change the password or enrol a second factor:
/// for doing that, `me` and logout only.
pub struct RestrictedAuth(pub ApiAuth);

impl FromRequestParts<AppState> for RestrictedAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        api_auth(parts, state, true).await.map(RestrictedAuth)
    }
}

/// A caller authenticated by a signed request (set by [`signed_requests`]).
#[derive(Clone)]
pub struct SignedCaller {
    pub authenticated: yunjian_app::Authenticated,
    pub credential: String,
}

/// The body limit of a signed request: the routes that take files or inventory chunks
/// allow their own larger bodies, everything else the server's limit.
fn body_limit(path: &str, default: usize) -> usize {
    if path.starts_with("/api/v1/provider/snapshots/") && path.contains("/chunks/") {
        yunjian_app::MAX_CHUNK_BYTES.max(default)
    } else if path == "/api/v1/events/batches" {
        crate::events::MAX_BATCH_BYTES.max(default)
    } else if path == "/api/v1/compliance/evidence" {
        (yunjian_app::MAX_EVIDENCE_BYTES + 1024).max(default)
    } else {
        default
    }
}

/// The name of the signed-request scheme in `Authorization`.
pub const SIGNED_SCHEME: &str = "YJ1-HMAC-SM3 ";

/// Verifies signed API requests (guide 7.3.1.1) before routing: reads the body (within
/// the body limit), checks the signature, time, nonce and body hash through the app,
/// and hands the caller to the extractors. Requests without the scheme pass untouched.
pub async fn signed_requests(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let signed = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(SIGNED_SCHEME));
    if !signed || !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map_or_else(|| "unknown".to_owned(), |id| id.0.clone());
    let (mut parts, body) = request.into_parts();
    let limit = body_limit(parts.uri.path(), state.http.max_body_bytes);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body exceeds {limit} bytes"),
                &request_id,
            )
            .into_response()
        }
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|value| (name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    let source = client_address(&parts);
    let verified = state
        .app
        .authenticate_signed(&yunjian_app::SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &headers,
            body: &bytes,
            source_address: source.as_deref(),
            request_id: &request_id,
        })
        .await;
    match verified {
        Ok((authenticated, credential)) => {
            parts.extensions.insert(SignedCaller {
                authenticated,
                credential,
            });
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(error) => ApiError::from_app(error, &request_id).into_response(),
    }
}

async fn api_auth(
    parts: &mut Parts,
    state: &AppState,
    restricted: bool,
) -> Result<ApiAuth, ApiError> {
    let RequestId(request_id) = RequestId::from_request_parts(parts, state)
        .await
        .unwrap_or_else(|never| match never {});
    if let Some(caller) = parts.extensions.get::<SignedCaller>().cloned() {
        if restricted {
            // Password changes, enrolment and logout belong to interactive sessions.
            return Err(ApiError::from_app(
                AppError::Forbidden("this call needs a session, not an API key".into()),
                &request_id,
            ));
        }
        return Ok(ApiAuth {
            context: Context {
                principal: caller.authenticated.principal,
                request_id,
                source_address: client_address(parts),
                source_time_ns: source_time(parts),
                credential: Some(caller.credential),
                second_factor_at_ns: None,
            },
            // Not a session: session-only actions (logout, password change, step-up)
            // find no session under this token.
            token: SessionToken(String::new()),
        });
    }
    let Some(token) = bearer_token(&parts.headers) else {
        return Err(ApiError::from_app(AppError::Unauthenticated, &request_id));
    };
    let authenticated = if restricted {
        state.app.authenticate_restricted(&token).await
    } else {
        state.app.authenticate(&token).await
    };
    let authenticated = authenticated.map_err(|error| ApiError::from_app(error, &request_id))?;
    Ok(ApiAuth {
        context: Context {
            principal: authenticated.principal,
            request_id,
            source_address: client_address(parts),
            source_time_ns: source_time(parts),
            credential: Some(token.credential()),
            second_factor_at_ns: authenticated.second_factor_at_ns,
        },
        token,
    })
}

/// A JSON object body. Wrong content type, malformed JSON, a body that is not an object
/// and an oversized body each get their own code.
pub struct JsonObject(pub Map<String, Json>);

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map_or_else(|| "unknown".to_owned(), |id| id.0.clone());
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                let mime = value.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
                &request_id,
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("the body exceeds {} bytes", state.http.max_body_bytes),
                        &request_id,
                    )
                } else {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "unreadable_body",
                        "the body could not be read",
                        &request_id,
                    )
                }
            })?;
        match serde_json::from_slice::<Json>(&bytes) {
            Ok(Json::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "expected_object",
                "the body must be a JSON object",
                &request_id,
            )),
            Err(error) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!(
                    "malformed JSON at line {} column {}",
                    error.line(),
                    error.column()
                ),
                &request_id,
            )),
        }
    }
}
