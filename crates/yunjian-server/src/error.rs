//! The one mapping from errors to HTTP answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use yunjian_app::AppError;

/// An error answered by the JSON API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<yunjian_core::value::FieldError>,
    /// A refused batch's problems, each with its object's position.
    pub problems: Vec<serde_json::Value>,
    pub request_id: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        request_id: &str,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            problems: Vec::new(),
            request_id: request_id.to_owned(),
        }
    }

    pub fn from_app(error: AppError, request_id: &str) -> ApiError {
        let status = status_of(&error);
        let code = error.code();
        match error {
            AppError::Invalid(fields) => ApiError {
                status,
                code,
                message: fields
                    .iter()
                    .map(|field| field.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                fields,
                problems: Vec::new(),
                request_id: request_id.to_owned(),
            },
            AppError::Conflict { field, message } => ApiError {
                status,
                code,
                fields: field
                    .map(|field| {
                        vec![yunjian_core::value::FieldError::new(
                            field,
                            "conflict",
                            message.clone(),
                        )]
                    })
                    .unwrap_or_default(),
                message,
                problems: Vec::new(),
                request_id: request_id.to_owned(),
            },
            AppError::BatchRefused(problems) => {
                let message = AppError::BatchRefused(problems.clone()).to_string();
                ApiError {
                    status,
                    code,
                    message,
                    fields: Vec::new(),
                    problems: problems
                        .iter()
                        .map(|problem| serde_json::to_value(problem).unwrap_or_default())
                        .collect(),
                    request_id: request_id.to_owned(),
                }
            }
            AppError::Internal(detail) => {
                // Logged with the request id; the client gets only the id.
                tracing::error!(request_id, %detail, "internal error");
                ApiError::new(
                    status,
                    code,
                    "internal error; quote the request id to an administrator",
                    request_id,
                )
            }
            other => ApiError::new(status, code, other.to_string(), request_id),
        }
    }
}

pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::Unauthenticated | AppError::BadCredentials | AppError::TotpRequired => {
            StatusCode::UNAUTHORIZED
        }
        AppError::Forbidden(_)
        | AppError::PasswordChangeRequired
        | AppError::TotpEnrolmentRequired
        | AppError::StepUpRequired => StatusCode::FORBIDDEN,
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Invalid(_) | AppError::BatchRefused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict { .. } => StatusCode::CONFLICT,
        AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let fields: Vec<_> = self
            .fields
            .iter()
            .map(
                |field| json!({"field": field.field, "code": field.code, "message": field.message}),
            )
            .collect();
        let mut body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "fields": fields,
                "request_id": self.request_id,
            }
        });
        if !self.problems.is_empty() {
            body["error"]["problems"] = serde_json::Value::Array(self.problems);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"yunjian\""),
            );
        }
        response
    }
}
