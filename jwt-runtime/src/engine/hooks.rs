//! The application's hooks: flask-jwt-extended's loader callbacks (responses per error kind, additional
//! claims and headers, identity mapping, claims verification, encode and decode keys) and the
//! `on_error` hook. Registered on the [`JwtManagerBuilder`](crate::JwtManagerBuilder) with
//! closures; the ones that may do I/O are async.

use std::future::Future;
use std::sync::Arc;

use jsonwebtoken::{DecodingKey, EncodingKey};
use poem::Response;
use serde_json::Value;

use super::app_data::AppData;
pub use super::claims_loader::AdditionalClaimsLoader;
use crate::vocabulary::{BoxFuture, JsonObject, JwtError, VerifiedJwt};

/// A response built from the token's verified header and payload (expired, needs-fresh,
/// revoked, user-lookup-error and verification-failed callbacks).
pub(crate) type TokenResponder = dyn Fn(&JsonObject, &JsonObject) -> Response + Send + Sync;

/// A response built from the error message (invalid-token and unauthorized callbacks).
pub(crate) type MessageResponder = dyn Fn(&str) -> Response + Send + Sync;

/// Reshapes an error response: gets the error and, where flask-jwt-extended passes it, the verified
/// token; `None` keeps the default response.
pub(crate) type ErrorHook =
    dyn Fn(&JwtError, Option<&VerifiedJwt>) -> Option<Response> + Send + Sync;

/// Maps the identity given to `create_*_token` to the identity claim.
pub(crate) type IdentityMapper = dyn Fn(&Value) -> Value + Send + Sync;

/// flask-jwt-extended's `token_verification_loader`: an async check of a verified token, after
/// the revocation check and before the user lookup. `false` answers 400
/// `User claims verification failed`. Register it with
/// [`JwtManagerBuilder::token_verification_loader`](crate::JwtManagerBuilder::token_verification_loader):
/// a closure `|token: Arc<VerifiedJwt>| async move { .. }`, or a type holding what the check needs.
///
/// ```
/// use std::sync::Arc;
/// use jwt_runtime::hooks::{BoxFuture, TokenVerifier};
/// use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager, VerifiedJwt};
/// use poem::{get, handler, http::StatusCode, test::TestClient, EndpointExt, Route};
/// use serde_json::json;
///
/// // Tokens of suspended accounts are refused while they are still valid.
/// struct NotSuspended(Arc<Vec<String>>);
/// impl TokenVerifier for NotSuspended {
///     fn verify(&self, token: Arc<VerifiedJwt>) -> BoxFuture<'static, bool> {
///         let suspended = self.0.clone();
///         Box::pin(async move { !suspended.iter().any(|name| token.identity() == name.as_str()) })
///     }
/// }
///
/// #[jwt_required]
/// #[handler]
/// async fn me(identity: Identity) -> String {
///     identity.to_string()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
///     .token_verification_loader(NotSuspended(Arc::new(vec!["mallory".into()])))
///     .build()?;
/// let cli = TestClient::new(Route::new().at("/me", get(me)).with(jwt.clone()));
/// let alice = jwt.create_access_token("alice").await?;
/// let resp = cli.get("/me").header("Authorization", format!("Bearer {alice}")).send().await;
/// resp.assert_text("alice").await;
/// let mallory = jwt.create_access_token("mallory").await?;
/// let resp = cli.get("/me").header("Authorization", format!("Bearer {mallory}")).send().await;
/// resp.assert_status(StatusCode::BAD_REQUEST);
/// resp.assert_json(json!({"msg": "User claims verification failed"})).await;
/// # Ok(())
/// # }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Whether the token's claims are acceptable.
    fn verify(&self, token: Arc<VerifiedJwt>) -> BoxFuture<'static, bool>;
}

impl<F, Fut> TokenVerifier for F
where
    F: Fn(Arc<VerifiedJwt>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    fn verify(&self, token: Arc<VerifiedJwt>) -> BoxFuture<'static, bool> {
        Box::pin(self(token))
    }
}

/// flask-jwt-extended's `decode_key_loader`: picks the verification key from the *unverified*
/// header and payload (per tenant, per issuer, fetched from a JWKS ...). `None` falls back to the
/// configured keys. The header's `alg` must still be an allowed algorithm. Register it with
/// [`JwtManagerBuilder::decode_key_loader`](crate::JwtManagerBuilder::decode_key_loader): an
/// async closure of the header and payload, or a type implementing this trait.
///
/// ```
/// use jwt_runtime::{jwt_required, keys::DecodingKey, Identity, JsonObject, JwtConfig, JwtManager};
/// use poem::{get, handler, http::StatusCode, test::TestClient, EndpointExt, Route};
/// use serde_json::json;
///
/// // Each tenant signs with its own secret; the unverified `tenant` claim picks the key that
/// // the signature is then checked with.
/// const ACME_SECRET: &str = "the-acme-tenant-secret-32-bytes!";
///
/// #[jwt_required]
/// #[handler]
/// async fn me(identity: Identity) -> String {
///     identity.to_string()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
///     .decode_key_loader(|_header: JsonObject, payload: JsonObject| async move {
///         let tenant = payload.get("tenant").and_then(|t| t.as_str());
///         (tenant == Some("acme")).then(|| DecodingKey::from_secret(ACME_SECRET.as_bytes()))
///     })
///     .build()?;
/// let cli = TestClient::new(Route::new().at("/me", get(me)).with(jwt));
///
/// // The tenant's own service minted these tokens with the tenant's secret.
/// let acme = JwtManager::new(JwtConfig::default().with_secret(ACME_SECRET))?;
/// let token = acme.create_access_token("alice").additional_claims(json!({"tenant": "acme"})).await?;
/// let resp = cli.get("/me").header("Authorization", format!("Bearer {token}")).send().await;
/// resp.assert_text("alice").await;
///
/// // Claiming another tenant selects no key: the configured one fails the signature.
/// let token = acme.create_access_token("eve").additional_claims(json!({"tenant": "globex"})).await?;
/// let resp = cli.get("/me").header("Authorization", format!("Bearer {token}")).send().await;
/// resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
/// resp.assert_json(json!({"msg": "Signature verification failed"})).await;
/// # Ok(())
/// # }
/// ```
pub trait DecodeKeyLoader: Send + Sync + 'static {
    /// The key for this token, if the loader has one.
    fn key(
        &self,
        header: JsonObject,
        payload: JsonObject,
    ) -> BoxFuture<'static, Option<DecodingKey>>;
}

impl<F, Fut> DecodeKeyLoader for F
where
    F: Fn(JsonObject, JsonObject) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<DecodingKey>> + Send + 'static,
{
    fn key(
        &self,
        header: JsonObject,
        payload: JsonObject,
    ) -> BoxFuture<'static, Option<DecodingKey>> {
        Box::pin(self(header, payload))
    }
}

/// Header parameters for new tokens, from the raw identity.
pub(crate) type HeadersLoader = dyn Fn(&Value) -> JsonObject + Send + Sync;

/// The signing key for an identity (`None`: the configured key).
pub(crate) type EncodeKeyLoader = dyn Fn(&Value) -> Option<EncodingKey> + Send + Sync;

/// Every hook a manager may hold, fixed when it is built.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) additional_claims: Option<Arc<dyn AdditionalClaimsLoader>>,
    pub(crate) user_identity: Option<Arc<IdentityMapper>>,
    pub(crate) on_error: Option<Arc<ErrorHook>>,
    pub(crate) expired: Option<Arc<TokenResponder>>,
    pub(crate) needs_fresh: Option<Arc<TokenResponder>>,
    pub(crate) revoked: Option<Arc<TokenResponder>>,
    pub(crate) user_lookup_error: Option<Arc<TokenResponder>>,
    pub(crate) verification_failed: Option<Arc<TokenResponder>>,
    pub(crate) invalid: Option<Arc<MessageResponder>>,
    pub(crate) unauthorized: Option<Arc<MessageResponder>>,
    pub(crate) token_verification: Option<Arc<dyn TokenVerifier>>,
    pub(crate) additional_headers: Option<Arc<HeadersLoader>>,
    pub(crate) encode_key: Option<Arc<EncodeKeyLoader>>,
    pub(crate) decode_key: Option<Arc<dyn DecodeKeyLoader>>,
    /// The application state loaders read ([`JwtManagerBuilder::data`](crate::JwtManagerBuilder::data)).
    pub(crate) data: AppData,
}

impl Hooks {
    /// The application's response for `error`, if it registered one: flask-jwt-extended's callback
    /// for the kind (with `token` for the kinds that get one), else the `on_error` hook.
    pub(crate) fn response_for(
        &self,
        error: &JwtError,
        token: Option<&VerifiedJwt>,
    ) -> Option<Response> {
        self.callback_response(error, token)
            .or_else(|| self.on_error.as_ref().and_then(|hook| hook(error, token)))
    }

    fn callback_response(&self, error: &JwtError, token: Option<&VerifiedJwt>) -> Option<Response> {
        use JwtError as E;
        let with_token = |cb: &Option<Arc<TokenResponder>>| {
            let (cb, token) = (cb.as_ref()?, token?);
            Some(cb(token.header(), token.claims()))
        };
        let with_message =
            |cb: &Option<Arc<MessageResponder>>| cb.as_ref().map(|cb| cb(error.message()));
        match error {
            E::Expired => with_token(&self.expired),
            E::FreshRequired => with_token(&self.needs_fresh),
            E::Revoked | E::RefreshReused => with_token(&self.revoked),
            E::UserLookup(_) => with_token(&self.user_lookup_error),
            E::ClaimsVerificationFailed => with_token(&self.verification_failed),
            E::InvalidToken(_) => with_message(&self.invalid),
            E::NoAuthorization(_) | E::Csrf(_) => with_message(&self.unauthorized),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |present: bool| if present { "set" } else { "unset" };
        f.debug_struct("Hooks")
            .field("additional_claims", &set(self.additional_claims.is_some()))
            .field("user_identity", &set(self.user_identity.is_some()))
            .field("on_error", &set(self.on_error.is_some()))
            .field(
                "token_verification",
                &set(self.token_verification.is_some()),
            )
            .field("decode_key", &set(self.decode_key.is_some()))
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}
