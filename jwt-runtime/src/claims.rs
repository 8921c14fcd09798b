//! Typed claims: the [`JwtClaims`] trait (derived with `#[derive(JwtClaims)]`) and the reserved
//! claims every token of this library carries.

use serde_json::Value;

use crate::jose::JsonObject;
use crate::verify::VerifiedJwt;

/// Claim names the library writes itself. A typed claims struct cannot declare a field with one
/// of these names (the derive refuses it at compile time): read them from [`ReservedClaims`].
pub const RESERVED_CLAIMS: &[&str] = &[
    "fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "aud", "iss", "exp",
];

/// A user's claims type, readable from a verified token with `Jwt<Self>`.
///
/// Derive it (with serde's `Deserialize`):
///
/// ```
/// use jwt_runtime::JwtClaims;
/// #[derive(serde::Deserialize, JwtClaims)]
/// struct MyClaims {
///     foo: String,
///     #[serde(default)]
///     upcase_name: Option<String>,
/// }
/// ```
///
/// A field named after a reserved claim is a compile error:
///
/// ```compile_fail
/// #[derive(serde::Deserialize, jwt_runtime::JwtClaims)]
/// struct Bad { exp: u64 }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JWT claims type",
    label = "claims type used in `Jwt<...>`",
    note = "add `#[derive(serde::Deserialize, jwt_runtime::JwtClaims)]` to `{Self}`"
)]
pub trait JwtClaims: Sized + Send + 'static {
    /// Reads the claims from the verified payload; the error explains what does not fit.
    fn from_claims(claims: &JsonObject) -> Result<Self, String>;
}

/// The untyped claims object (the default of `Jwt`).
impl JwtClaims for JsonObject {
    fn from_claims(claims: &JsonObject) -> Result<Self, String> {
        Ok(claims.clone())
    }
}

/// Reads a derived claims type through serde; used by the derive.
pub fn deserialize_claims<C: serde::de::DeserializeOwned>(
    claims: &JsonObject,
) -> Result<C, String> {
    C::deserialize(claims).map_err(|e| e.to_string())
}

/// The claims this library reserves, read from a verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct ReservedClaims {
    /// The identity claim (`JWT_IDENTITY_CLAIM`).
    pub identity: Value,
    /// `type`: `access` (also when absent, as the reference) or `refresh`, or a foreign value.
    pub token_type: String,
    /// `fresh`: a bool, or a timestamp until which the token is fresh. `false` when absent.
    pub fresh: Value,
    /// `jti`: the token's unique id.
    pub jti: Option<String>,
    /// `iat`, seconds.
    pub iat: Option<i64>,
    /// `nbf`, seconds.
    pub nbf: Option<i64>,
    /// `exp`, seconds; `None` for a token that never expires.
    pub exp: Option<i64>,
    /// `csrf`: the double-submit value.
    pub csrf: Option<String>,
    /// `aud`: a string or a list.
    pub aud: Option<Value>,
    /// `iss`.
    pub iss: Option<String>,
}

impl ReservedClaims {
    pub(crate) fn from_token(token: &VerifiedJwt) -> Self {
        let c = token.claims();
        let string = |k: &str| c.get(k).and_then(Value::as_str).map(String::from);
        let seconds = |k: &str| c.get(k).and_then(Value::as_f64).map(|f| f as i64);
        ReservedClaims {
            identity: token.identity().clone(),
            token_type: token.token_type().to_string(),
            fresh: c.get("fresh").cloned().unwrap_or(Value::Bool(false)),
            jti: string("jti"),
            iat: seconds("iat"),
            nbf: seconds("nbf"),
            exp: seconds("exp"),
            csrf: string("csrf"),
            aud: c.get("aud").cloned(),
            iss: string("iss"),
        }
    }
}
