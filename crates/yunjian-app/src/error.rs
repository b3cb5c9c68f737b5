use thiserror::Error;
use yunjian_core::value::FieldError;
use yunjian_store::StoreError;

/// Errors split by audience: everything but `Internal` is the user's to fix and carries
/// a message fit to show; `Internal` text is logged, never answered.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    /// The same answer for an unknown user, a wrong password and a disabled account.
    #[error("invalid username or password")]
    BadCredentials,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("conflict: {message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    /// The password was right and the account has a second factor: send `totp`.
    #[error("a one-time code from the authenticator (or a recovery code) is required")]
    TotpRequired,
    /// Too many attempts from one source; try again later.
    #[error("too many attempts from this address; wait a minute")]
    RateLimited,
    /// The session's password must change before anything else.
    #[error("change your password first (first login, a reset, or expiry)")]
    PasswordChangeRequired,
    /// The role needs a second factor and the account has none yet: enrol TOTP
    /// before anything else (7.2.5.2, 7.5.3.2).
    #[error("enrol a second factor (TOTP) first: your role requires it")]
    TotpEnrolmentRequired,
    /// A sensitive action wants a second factor proved within the last five minutes.
    #[error("confirm with a fresh one-time code first (step-up, valid five minutes)")]
    StepUpRequired,
    /// A pushed or pulled batch refused whole: every object's problem, by position.
    #[error("the batch was refused: {} problem(s), the first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    BatchRefused(Vec<yunjian_connectors::sync::BatchError>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, code, message)])
    }

    /// The stable machine-readable code answered to clients.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => "unauthenticated",
            AppError::BadCredentials => "bad_credentials",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Invalid(_) => "validation_failed",
            AppError::Conflict { .. } => "conflict",
            AppError::PasswordChangeRequired => "password_change_required",
            AppError::RateLimited => "rate_limited",
            AppError::TotpRequired => "totp_required",
            AppError::TotpEnrolmentRequired => "totp_enrolment_required",
            AppError::StepUpRequired => "step_up_required",
            AppError::BatchRefused(_) => "batch_refused",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(detail) => {
                // The database's own text names tables and constraints: log it, answer
                // a plain sentence.
                tracing::info!(%detail, "store refused a write");
                AppError::Conflict {
                    field: None,
                    message: "the change conflicts with stored data (a duplicate, or a reference that is missing or still in use)".into(),
                }
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}
