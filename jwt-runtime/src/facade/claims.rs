//! Typed claims: the [`JwtClaims`] trait, derived with `#[derive(JwtClaims)]`.

use crate::vocabulary::JsonObject;

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
