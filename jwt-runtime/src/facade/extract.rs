//! What a protected handler can ask for: [`Identity`], [`Jwt<C>`], [`JwtHeader`], [`TokenLocation`].
//!
//! These types are not Poem extractors on their own: only a handler under `#[jwt_required]` (or
//! another policy macro) can take them, so reading claims in an unprotected handler is a compile
//! error instead of flask-jwt-extended's run-time `RuntimeError`. Take `Option<...>` of them on an
//! `optional` route.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::Request;
use serde_json::Value;

use super::claims::JwtClaims;
use super::manager::JwtManager;
use super::revoke::UserRef;
use crate::engine::preflight_response;
use crate::engine::refuse_without_engine;
use crate::vocabulary::{JsonObject, JwtError, Location, ReservedClaims, VerifiedJwt};

/// The identity of the verified token (flask-jwt-extended's `get_jwt_identity()`): the value of
/// `JWT_IDENTITY_CLAIM`, `sub` by default.
///
/// ```
/// use jwt_runtime::{jwt_required, Identity};
/// use poem::{handler, web::Json};
/// use serde_json::{json, Value};
///
/// #[jwt_required]
/// #[handler]
/// async fn protected(identity: Identity) -> Json<Value> {
///     Json(json!({ "logged_in_as": identity }))
/// }
/// ```
///
/// It shares the verified token rather than copying the claim out of it: taking it costs no
/// allocation.
#[derive(Clone)]
pub struct Identity(Arc<VerifiedJwt>);

impl Identity {
    pub(crate) fn of(token: &Arc<VerifiedJwt>) -> Self {
        Identity(token.clone())
    }

    /// The verified token it is the identity of.
    pub(crate) fn token(&self) -> &VerifiedJwt {
        &self.0
    }

    /// The identity as a string, when it is one (it always is under `JWT_VERIFY_SUB`).
    pub fn as_str(&self) -> Option<&str> {
        self.value().as_str()
    }

    /// The identity as JSON.
    pub fn value(&self) -> &Value {
        self.0.identity()
    }

    /// The identity as owned JSON.
    pub fn into_value(self) -> Value {
        self.value().clone()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Identity").field(self.value()).finish()
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl serde::Serialize for Identity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            Value::String(s) => f.write_str(s),
            other => write!(f, "{other}"),
        }
    }
}

impl PartialEq<str> for Identity {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Identity {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

/// The verified token's claims (flask-jwt-extended's `get_jwt()`), typed as `C`.
///
/// `C` defaults to the raw claims object; a struct with `#[derive(Deserialize, JwtClaims)]`
/// gets typed fields. The reserved claims stay available through [`reserved`](Self::reserved).
///
/// ```
/// use jwt_runtime::{jwt_required, Jwt, JwtClaims};
/// use poem::{handler, web::Json};
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JwtClaims)]
/// struct MyClaims { foo: String }
///
/// #[jwt_required]
/// #[handler]
/// async fn protected(jwt: Jwt<MyClaims>) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "foo": jwt.foo, "jti": jwt.reserved().jti }))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Jwt<C = JsonObject> {
    claims: C,
    token: Arc<VerifiedJwt>,
}

impl<C> Jwt<C> {
    /// The verified token the claims were read from.
    pub(crate) fn token(&self) -> &VerifiedJwt {
        &self.token
    }

    /// The typed claims.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// The typed claims, owned.
    pub fn into_claims(self) -> C {
        self.claims
    }

    /// The identity claim, as [`Identity`] (it displays a string identity without quotes).
    pub fn identity(&self) -> Identity {
        Identity::of(&self.token)
    }

    /// The reserved claims (`type`, `fresh`, `jti`, `iat`, `nbf`, `exp`, `csrf`, `aud`, `iss`).
    pub fn reserved(&self) -> ReservedClaims {
        ReservedClaims::from_token(&self.token)
    }

    /// Every claim as JSON, reserved ones included.
    pub fn raw(&self) -> &JsonObject {
        self.token.claims()
    }

    /// The JOSE header (flask-jwt-extended's `get_jwt_header()`).
    pub fn header(&self) -> &JsonObject {
        self.token.header()
    }

    /// Where the token was found (flask-jwt-extended's `get_jwt_request_location()`).
    pub fn location(&self) -> Location {
        self.token.location()
    }
}

impl<C> Deref for Jwt<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.claims
    }
}

/// The verified token's JOSE header (flask-jwt-extended's `get_jwt_header()`), for handlers
/// under `#[jwt_required]` (`Option<JwtHeader>` on `optional` routes). It dereferences to the
/// header's JSON object.
///
/// ```
/// use jwt_runtime::{jwt_required, JwtConfig, JwtHeader, JwtManager};
/// use poem::{get, handler, test::TestClient, EndpointExt, Route};
///
/// #[jwt_required]
/// #[handler]
/// async fn key_id(header: JwtHeader) -> String {
///     format!("{} signed with key {}", header["alg"], header["kid"])
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = JwtConfig { encode_kid: Some("2026-12".into()), ..JwtConfig::default() };
/// let jwt = JwtManager::new(config.with_secret("k".repeat(32)))?;
/// let cli = TestClient::new(Route::new().at("/kid", get(key_id)).with(jwt.clone()));
/// let token = jwt.create_access_token("alice").await?;
/// let resp = cli.get("/kid").header("Authorization", format!("Bearer {token}")).send().await;
/// resp.assert_text(r#""HS256" signed with key "2026-12""#).await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct JwtHeader(pub JsonObject);

impl Deref for JwtHeader {
    type Target = JsonObject;
    fn deref(&self) -> &JsonObject {
        &self.0
    }
}

/// Where the verified token was found (flask-jwt-extended's `get_jwt_request_location()`), for
/// handlers under `#[jwt_required]` (`Option<TokenLocation>` on `optional` routes).
///
/// ```
/// use jwt_runtime::{jwt_required, JwtConfig, JwtManager, Location, TokenLocation};
/// use poem::{get, handler, test::TestClient, EndpointExt, Route};
///
/// #[jwt_required(locations = "headers, query_string")]
/// #[handler]
/// async fn whence(TokenLocation(location): TokenLocation) -> String {
///     match location {
///         Location::QueryString => "query string: it ends up in logs".into(),
///         other => other.to_string(),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtManager::new(JwtConfig::default().with_secret("k".repeat(32)))?;
/// let cli = TestClient::new(Route::new().at("/whence", get(whence)).with(jwt.clone()));
/// let token = jwt.create_access_token("alice").await?;
/// let resp = cli.get("/whence").header("Authorization", format!("Bearer {token}")).send().await;
/// resp.assert_text("headers").await;
/// let resp = cli.get("/whence").query("jwt", &token).send().await;
/// resp.assert_text("query string: it ends up in logs").await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLocation(pub Location);

/// A value a protected handler can take, built from the verified token of the request.
///
/// Implemented for the extractor types of this module and for `Option` of them; the macros use
/// it, users normally don't.
pub trait FromVerifiedJwt: Sized + Send {
    /// Builds the value; `token` is `None` for OPTIONS requests and anonymous optional requests.
    fn from_verified(req: &Request, token: Option<&Arc<VerifiedJwt>>) -> poem::Result<Self>;
}

/// A required value with no token can only happen on OPTIONS (which passes unauthenticated):
/// the handler cannot run, so the preflight gets an empty 204.
pub(crate) fn required(token: Option<&Arc<VerifiedJwt>>) -> poem::Result<&Arc<VerifiedJwt>> {
    token.ok_or_else(|| poem::Error::from_response(preflight_response()))
}

impl FromVerifiedJwt for Identity {
    fn from_verified(_: &Request, token: Option<&Arc<VerifiedJwt>>) -> poem::Result<Self> {
        required(token).map(Identity::of)
    }
}

impl FromVerifiedJwt for JwtHeader {
    fn from_verified(_: &Request, token: Option<&Arc<VerifiedJwt>>) -> poem::Result<Self> {
        Ok(JwtHeader(required(token)?.header().clone()))
    }
}

impl FromVerifiedJwt for TokenLocation {
    fn from_verified(_: &Request, token: Option<&Arc<VerifiedJwt>>) -> poem::Result<Self> {
        Ok(TokenLocation(required(token)?.location()))
    }
}

impl<C: JwtClaims> FromVerifiedJwt for Jwt<C> {
    fn from_verified(req: &Request, token: Option<&Arc<VerifiedJwt>>) -> poem::Result<Self> {
        let token = required(token)?;
        let claims = C::from_claims(token.claims()).map_err(|why| {
            // The token verified, but it was minted without claims the handler requires: a token
            // from before a deploy that added a field, or a loader that is not registered. The
            // client gets 422 `Invalid claims: ...` (a new login mints a token that fits); the
            // operator gets an ERROR naming the fix.
            tracing::error!(
                target: "jwt_runtime",
                path = %req.uri().path(),
                claims = std::any::type_name::<C>(),
                reason = %why,
                "the claims of a verified token do not fit the handler's type; if a loader adds \
                 them, register it with `JwtManagerBuilder::additional_claims`, otherwise make \
                 the field optional (`#[serde(default)]`)"
            );
            let error = JwtError::invalid(format!("Invalid claims: {why}"));
            match JwtManager::from_request_extensions(req) {
                Ok(manager) => manager.engine().refuse(req, &error, Some(token)),
                Err(_) => refuse_without_engine(req, &error),
            }
        })?;
        Ok(Jwt {
            claims,
            token: token.clone(),
        })
    }
}

impl<T: FromVerifiedJwt> FromVerifiedJwt for Option<T> {
    fn from_verified(req: &Request, token: Option<&Arc<VerifiedJwt>>) -> poem::Result<Self> {
        token.map(|t| T::from_verified(req, Some(t))).transpose()
    }
}

/// Taken by a handler that no policy macro protects. Never implemented: the `FromRequest` impls
/// below require it, so such a handler fails to compile with this message instead of a bare
/// "`FromRequest` is not implemented".
#[diagnostic::on_unimplemented(
    message = "`{T}` comes from a verified token: this handler needs `#[jwt_required]`",
    label = "only a handler under `#[jwt_required]` (or `#[admin_required]`) can take this",
    note = "write `#[jwt_required]` above `#[handler]`; for a route that also serves anonymous requests, `#[jwt_required(optional)]` with `Option<...>`",
    note = "the macros recognize these types by name: a type alias of them is not recognized",
    note = "under a route group protected by `.with(JwtRequired::new())`, take `Guarded<{T}>`",
    note = "in a poem-openapi `#[OpenApi]` impl, put `#[jwt_runtime::openapi]` above `#[OpenApi]` and `#[jwt_required]` on the operation (feature `openapi`)"
)]
pub trait NeedsJwtRequired<'a, T> {}

/// The handler a [`NeedsJwtRequired`] bound is checked for: one that no policy macro protects.
/// (A type of its own rather than the extractor itself, so that the compiler reports this
/// trait's message, and not "`FromRequest` is not satisfied", at the handler's parameter.)
#[derive(Debug)]
pub struct Unprotected;

/// The body of the `FromRequest` impls that [`NeedsJwtRequired`] keeps from compiling. A ready
/// future rather than an `async fn`: awaiting an `async fn`'s future would check the impl's bound
/// once more, a third copy of the same error.
pub(crate) fn never_extracted<T>(
    _req: &Request,
    _body: &mut poem::RequestBody,
) -> std::future::Ready<poem::Result<T>> {
    std::future::ready(Err(poem::Error::from_status(
        StatusCode::INTERNAL_SERVER_ERROR,
    )))
}

/// Not an extractor on its own: only a handler under a policy macro takes it.
impl<'a> poem::FromRequest<'a> for Identity
where
    Unprotected: NeedsJwtRequired<'a, Identity>,
{
    #[allow(refining_impl_trait)]
    fn from_request(
        req: &'a Request,
        body: &mut poem::RequestBody,
    ) -> std::future::Ready<poem::Result<Self>> {
        never_extracted(req, body)
    }
}

/// Not an extractor on its own: only a handler under a policy macro takes it.
impl<'a> poem::FromRequest<'a> for JwtHeader
where
    Unprotected: NeedsJwtRequired<'a, JwtHeader>,
{
    #[allow(refining_impl_trait)]
    fn from_request(
        req: &'a Request,
        body: &mut poem::RequestBody,
    ) -> std::future::Ready<poem::Result<Self>> {
        never_extracted(req, body)
    }
}

/// Not an extractor on its own: only a handler under a policy macro takes it.
impl<'a> poem::FromRequest<'a> for TokenLocation
where
    Unprotected: NeedsJwtRequired<'a, TokenLocation>,
{
    #[allow(refining_impl_trait)]
    fn from_request(
        req: &'a Request,
        body: &mut poem::RequestBody,
    ) -> std::future::Ready<poem::Result<Self>> {
        never_extracted(req, body)
    }
}

/// Not an extractor on its own: only a handler under a policy macro takes it.
impl<'a, C: Send + 'static> poem::FromRequest<'a> for Jwt<C>
where
    Unprotected: NeedsJwtRequired<'a, Jwt<C>>,
{
    #[allow(refining_impl_trait)]
    fn from_request(
        req: &'a Request,
        body: &mut poem::RequestBody,
    ) -> std::future::Ready<poem::Result<Self>> {
        never_extracted(req, body)
    }
}

/// The user of the request's verified token (this app's, or a trusted issuer's).
impl<'a> From<&'a Identity> for UserRef<'a> {
    fn from(identity: &'a Identity) -> Self {
        UserRef::from(identity.token())
    }
}

/// The user of the request's verified token (this app's, or a trusted issuer's).
impl<'a, C> From<&'a Jwt<C>> for UserRef<'a> {
    fn from(jwt: &'a Jwt<C>) -> Self {
        UserRef::from(jwt.token())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::TokenParts;
    use serde_json::json;

    fn identity_of(claims: Value) -> Identity {
        let claims = claims.as_object().cloned().unwrap_or_default();
        let parts = Arc::new(TokenParts::new(Default::default(), claims, "sub"));
        Identity::of(&Arc::new(VerifiedJwt::new(parts, Location::Headers)))
    }

    #[test]
    fn an_identity_reads_as_the_claim_it_shares() {
        let alice = identity_of(json!({ "sub": "alice", "jti": "j" }));
        assert_eq!(alice.as_str(), Some("alice"));
        assert_eq!(alice.to_string(), "alice");
        assert_eq!(format!("{alice:?}"), r#"Identity(String("alice"))"#);
        assert_eq!(serde_json::to_value(&alice).ok(), Some(json!("alice")));
        assert!(alice == "alice" && alice == *"alice");
        // Equal when the claims are, whatever else the tokens hold.
        assert_eq!(
            alice,
            identity_of(json!({ "sub": "alice", "jti": "other" }))
        );
        assert_ne!(alice, identity_of(json!({ "sub": "bob" })));
        assert_eq!(alice.clone().into_value(), json!("alice"));

        let object = identity_of(json!({ "sub": { "id": 7 } }));
        assert_eq!(object.as_str(), None);
        assert_eq!(object.to_string(), r#"{"id":7}"#);
        assert_eq!(object.value(), &json!({ "id": 7 }));
        assert_eq!(serde_json::to_value(&object).ok(), Some(json!({ "id": 7 })));
    }
}
