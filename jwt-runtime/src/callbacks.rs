//! The reference's loader callbacks: response callbacks per error kind, and token callbacks
//! (additional headers, claims verification, encode and decode keys). Registered on
//! [`JwtManager`](crate::JwtManager) with closures; the ones that may do I/O are async.

use std::future::Future;
use std::sync::Arc;

use jsonwebtoken::{DecodingKey, EncodingKey};
use poem::Response;
use serde_json::Value;

use crate::jose::JsonObject;
use crate::manager::BoxFuture;
use crate::verify::VerifiedJwt;

/// A response built from the token's verified header and payload (expired, needs-fresh,
/// revoked, user-lookup-error and verification-failed callbacks).
pub type TokenResponder = dyn Fn(&JsonObject, &JsonObject) -> Response + Send + Sync;

/// A response built from the error message (invalid-token and unauthorized callbacks).
pub type MessageResponder = dyn Fn(&str) -> Response + Send + Sync;

/// The reference's `token_verification_loader`: an async check of a verified token, after the
/// revocation check and before the user lookup. `false` answers 400
/// `User claims verification failed`.
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

/// The reference's `decode_key_loader`: picks the verification key from the *unverified* header
/// and payload (per tenant, per issuer, fetched from a JWKS ...). `None` falls back to the
/// configured keys. The header's `alg` must still be an allowed algorithm.
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
pub type HeadersLoader = dyn Fn(&Value) -> JsonObject + Send + Sync;

/// The signing key for an identity (`None`: the configured key).
pub type EncodeKeyLoader = dyn Fn(&Value) -> Option<EncodingKey> + Send + Sync;

/// Every callback a manager may hold.
#[derive(Clone, Default)]
pub(crate) struct Callbacks {
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
}

impl Callbacks {
    /// The registered response for `error`, if any (`token` for the kinds that get one).
    pub(crate) fn respond(
        &self,
        error: &crate::JwtError,
        token: Option<&VerifiedJwt>,
    ) -> Option<Response> {
        use crate::JwtError as E;
        let with_token = |cb: &Option<Arc<TokenResponder>>| {
            let (cb, token) = (cb.as_ref()?, token?);
            Some(cb(token.header(), token.claims()))
        };
        let with_message =
            |cb: &Option<Arc<MessageResponder>>| cb.as_ref().map(|cb| cb(error.message()));
        match error {
            E::Expired => with_token(&self.expired),
            E::FreshRequired => with_token(&self.needs_fresh),
            E::Revoked => with_token(&self.revoked),
            E::UserLookup(_) => with_token(&self.user_lookup_error),
            E::ClaimsVerificationFailed => with_token(&self.verification_failed),
            E::InvalidToken(_) => with_message(&self.invalid),
            E::NoAuthorization(_) | E::Csrf(_) => with_message(&self.unauthorized),
            _ => None,
        }
    }
}
