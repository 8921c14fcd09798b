//! [`JwtError`]: one variant per failure kind, each with the reference's status and message.

use std::borrow::Cow;
use std::fmt;

use poem::http::StatusCode;
use poem::Response;

/// Why a request was refused (or a token could not be made).
///
/// The default response of each kind is the reference's: a JSON body `{"<JWT_ERROR_MESSAGE_KEY>":
/// "<message>"}` with the status below. [`JwtManager::error_response`](crate::JwtManager::error_response)
/// builds it.
///
/// ```
/// use jwt_runtime::JwtError;
/// let e = JwtError::NoAuthorization("Missing Authorization Header".into());
/// assert_eq!(e.status().as_u16(), 401);
/// assert_eq!(e.message(), "Missing Authorization Header");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// No token in any location (the reference's `NoAuthorizationError`): 401.
    NoAuthorization(Cow<'static, str>),
    /// A cookie token failed its CSRF double-submit check: 401.
    Csrf(Cow<'static, str>),
    /// A present token (or its carrier) is malformed or fails verification, or has the wrong
    /// type: 422, with the message the reference gives.
    InvalidToken(Cow<'static, str>),
    /// `exp` is in the past: 401 `Token has expired`.
    Expired,
    /// The route wants a fresh token: 401 `Fresh token required`.
    FreshRequired,
    /// The token was revoked: 401 `Token has been revoked`.
    Revoked,
    /// A custom claims check failed: 400 `User claims verification failed`.
    ClaimsVerificationFailed,
    /// The body that would carry the token (or the CSRF form field) is larger than
    /// `JWT_JSON_BODY_LIMIT`: 413.
    PayloadTooLarge(Cow<'static, str>),
    /// A policy (such as `#[admin_required]`) refused a valid token: 403 with its message.
    Forbidden(Cow<'static, str>),
    /// The revocation store could not answer, so the token cannot be trusted (fail closed):
    /// 503 `Token revocation store unavailable`.
    RevocationUnavailable,
    /// The user lookup returned nothing for the identity: 401 `Error loading the user <identity>`.
    UserLookup(Cow<'static, str>),
    /// The server is misconfigured (for example the `JwtManager` middleware is missing): 500.
    Misconfigured(Cow<'static, str>),
    /// A token could not be created (claims that are not a JSON object, a signing failure): 500.
    TokenCreation(Cow<'static, str>),
    /// A cookie could not be written: a `CookieOptions` value or a token that would inject
    /// attributes (`;`, control characters, ...). An application error: 500.
    Cookie(Cow<'static, str>),
}

/// Every value of [`JwtError::kind`] (the keys of `JWT_STATUS_CODES`).
pub const KINDS: &[&str] = &[
    "no_authorization",
    "csrf",
    "invalid_token",
    "expired",
    "fresh_required",
    "revoked",
    "revocation_unavailable",
    "user_lookup",
    "claims_verification_failed",
    "payload_too_large",
    "forbidden",
    "misconfigured",
    "token_creation",
    "cookie",
];

impl JwtError {
    /// The default HTTP status of this kind (the reference's).
    pub fn status(&self) -> StatusCode {
        match self {
            JwtError::NoAuthorization(_)
            | JwtError::Csrf(_)
            | JwtError::Expired
            | JwtError::FreshRequired
            | JwtError::Revoked
            | JwtError::UserLookup(_) => StatusCode::UNAUTHORIZED,
            JwtError::RevocationUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            JwtError::InvalidToken(_) => StatusCode::UNPROCESSABLE_ENTITY,
            JwtError::ClaimsVerificationFailed => StatusCode::BAD_REQUEST,
            JwtError::Forbidden(_) => StatusCode::FORBIDDEN,
            JwtError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            JwtError::Misconfigured(_) | JwtError::TokenCreation(_) | JwtError::Cookie(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The message of the default body, byte for byte the reference's.
    pub fn message(&self) -> &str {
        match self {
            JwtError::NoAuthorization(m)
            | JwtError::Csrf(m)
            | JwtError::InvalidToken(m)
            | JwtError::Forbidden(m)
            | JwtError::PayloadTooLarge(m)
            | JwtError::UserLookup(m)
            | JwtError::Misconfigured(m)
            | JwtError::TokenCreation(m)
            | JwtError::Cookie(m) => m,
            JwtError::Expired => "Token has expired",
            JwtError::FreshRequired => "Fresh token required",
            JwtError::Revoked => "Token has been revoked",
            JwtError::RevocationUnavailable => "Token revocation store unavailable",
            JwtError::ClaimsVerificationFailed => "User claims verification failed",
        }
    }

    /// A short, stable name of the kind, used in tracing events.
    pub fn kind(&self) -> &'static str {
        match self {
            JwtError::NoAuthorization(_) => "no_authorization",
            JwtError::Csrf(_) => "csrf",
            JwtError::InvalidToken(_) => "invalid_token",
            JwtError::Expired => "expired",
            JwtError::FreshRequired => "fresh_required",
            JwtError::Revoked => "revoked",
            JwtError::RevocationUnavailable => "revocation_unavailable",
            JwtError::UserLookup(_) => "user_lookup",
            JwtError::ClaimsVerificationFailed => "claims_verification_failed",
            JwtError::Forbidden(_) => "forbidden",
            JwtError::PayloadTooLarge(_) => "payload_too_large",
            JwtError::Misconfigured(_) => "misconfigured",
            JwtError::TokenCreation(_) => "token_creation",
            JwtError::Cookie(_) => "cookie",
        }
    }

    pub(crate) fn invalid(msg: impl Into<Cow<'static, str>>) -> Self {
        JwtError::InvalidToken(msg.into())
    }

    /// The default response: `{"<key>":"<message>"}` plus a newline, as Flask's `jsonify` writes it.
    ///
    /// ```
    /// use jwt_runtime::JwtError;
    /// let resp = JwtError::Expired.to_response("msg");
    /// assert_eq!(resp.status().as_u16(), 401);
    /// ```
    pub fn to_response(&self, message_key: &str) -> Response {
        json_message_response(self.status(), message_key, self.message())
    }
}

/// `{"<key>":"<message>"}\n` with `Content-Type: application/json`.
pub(crate) fn json_message_response(status: StatusCode, key: &str, message: &str) -> Response {
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), message.into());
    let mut text = serde_json::Value::Object(body).to_string();
    text.push('\n');
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(text)
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for JwtError {}

/// Lets handlers use `?` on token creation; the body uses the default message key `msg`.
impl poem::error::ResponseError for JwtError {
    fn status(&self) -> StatusCode {
        JwtError::status(self)
    }

    fn as_response(&self) -> Response {
        self.to_response("msg")
    }
}

/// A configuration value that cannot work, found when the [`JwtManager`](crate::JwtManager) is
/// built. The message names the option.
///
/// ```
/// use jwt_runtime::{JwtConfig, JwtManager};
/// let err = JwtManager::new(JwtConfig::default()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "JWT_SECRET_KEY must be set when using symmetric algorithm \"HS256\""
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(msg: impl Into<String>) -> Self {
        ConfigError(msg.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
