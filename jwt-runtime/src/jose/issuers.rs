//! Other issuers whose tokens are accepted beside the app's own (`JwtManagerBuilder::trust_issuer`):
//! each with its own remote key set, algorithms, audience and identity claim, selected by the
//! token's `iss` before any key is tried.

use std::sync::Arc;

use serde_json::Value;

use super::jws::KeyChoice;
use super::keys::{DecodeKey, RemoteKeys};
use super::remote;
#[cfg(feature = "remote-jwks")]
use crate::config::{JwtConfig, TrustedIssuer};
#[cfg(feature = "remote-jwks")]
use crate::vocabulary::ConfigError;
use crate::vocabulary::{JsonObject, JwtError};

/// Another issuer whose tokens are accepted, with its own key set and rules
/// ([`TrustedIssuer`]).
pub(crate) struct Issuer {
    pub(crate) iss: Vec<String>,
    algorithms: Vec<String>,
    pub(crate) audience: Option<Vec<String>>,
    pub(crate) identity_claim: String,
    /// Its tokens may satisfy this app's own claim policies ([`TrustedIssuer::trust_app_claims`]).
    pub(crate) trust_app_claims: bool,
    /// Its tokens follow RFC 9068 ([`TrustedIssuer::access_token_profile`]).
    pub(crate) access_token_profile: bool,
    remote: Arc<remote::RemoteJwks>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("iss", &self.iss)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// The key for a token of this issuer: only its own set, selected by `kid` (required), bound
    /// to the header's `alg`, which must be one of its algorithms when they are listed.
    pub(crate) fn decoding_for<'k>(
        &self,
        header: &JsonObject,
        keys: &'k [DecodeKey],
    ) -> Result<KeyChoice<'k>, JwtError> {
        let not_allowed = || JwtError::invalid("The specified alg value is not allowed");
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .filter(|a| self.algorithms.is_empty() || self.algorithms.iter().any(|x| x == a))
            .ok_or_else(not_allowed)?;
        let kid = header.get("kid").and_then(Value::as_str).ok_or_else(|| {
            JwtError::invalid("The token has no \"kid\" header to select its key")
        })?;
        Ok(super::keys::select(keys.iter(), kid, alg)?.choice())
    }

    /// Its key set for a token naming `kid` (refetched, rate-limited, when unknown).
    pub(crate) async fn keys_for(&self, kid: Option<&str>) -> RemoteKeys {
        match kid {
            Some(kid) => self.remote.keys_for_kid(kid).await,
            None => self.remote.current(),
        }
    }

    /// Its current key set (no network).
    pub(crate) fn current(&self) -> RemoteKeys {
        self.remote.current()
    }
}

/// Checks the trusted issuers against the app's own config, every one before any is fetched (a
/// bad option fails without touching the network), then opens each one's key set.
#[cfg(feature = "remote-jwks")]
pub(crate) async fn open(
    config: &JwtConfig,
    trusted: Vec<TrustedIssuer>,
) -> Result<Vec<Issuer>, ConfigError> {
    for (i, t) in trusted.iter().enumerate() {
        check(config, t, &trusted[..i])?;
        remote::check_options(config, &option_of(t))?;
    }
    let mut issuers: Vec<Issuer> = Vec::with_capacity(trusted.len());
    for t in trusted {
        let option = option_of(&t);
        let discovery = t.jwks_url.is_none().then(|| t.issuer.clone());
        // A key published without `alg` may be bound to the issuer's algorithms, when listed.
        let allowed = if t.algorithms.is_empty() {
            super::keys::allowed_algorithms(config)
        } else {
            t.algorithms.clone()
        };
        let set = remote::RemoteJwks::open(config, &option, t.jwks_url, discovery, allowed).await?;
        issuers.push(Issuer {
            iss: vec![t.issuer],
            algorithms: t.algorithms,
            audience: if t.any_audience { None } else { t.audience },
            identity_claim: t.identity_claim,
            trust_app_claims: t.trust_app_claims,
            access_token_profile: t.access_token_profile,
            remote: set,
        });
    }
    Ok(issuers)
}

/// How a startup error names a trusted issuer.
#[cfg(feature = "remote-jwks")]
fn option_of(t: &TrustedIssuer) -> String {
    format!("trusted issuer \"{}\"", t.issuer)
}

/// The rules one trusted issuer must follow: an issuer and identity claim, trusted once and not
/// this app's own, and an audience (RFC 8725 section 3.9) unless explicitly any.
#[cfg(feature = "remote-jwks")]
fn check(
    config: &JwtConfig,
    t: &TrustedIssuer,
    before: &[TrustedIssuer],
) -> Result<(), ConfigError> {
    let option = option_of(t);
    if t.issuer.trim().is_empty() || t.identity_claim.trim().is_empty() {
        return Err(ConfigError::sentence(
            option,
            "needs a non-empty issuer and identity claim",
        ));
    }
    let own = config
        .decode_issuer
        .iter()
        .flatten()
        .any(|i| *i == t.issuer)
        || config.encode_issuer.as_deref() == Some(t.issuer.as_str());
    if own || before.iter().any(|b| b.issuer == t.issuer) {
        return Err(ConfigError::sentence(
            option,
            "is trusted twice (or is also this app's own issuer)",
        ));
    }
    let audiences = t.audience.as_deref().unwrap_or_default();
    match (audiences.is_empty(), t.any_audience) {
        (true, false) => Err(ConfigError::sentence(
            option,
            "needs an audience: `.audience(\"<this API's client id>\")`, or `.any_audience()` \
             if every token it issues is meant for this API (without one, a token it issued to \
             any other client is accepted here: RFC 8725 section 3.9)",
        )),
        (false, true) => Err(ConfigError::sentence(
            option,
            "sets both `audience` and `any_audience`: keep one",
        )),
        _ if audiences.iter().any(|a| a.trim().is_empty()) => {
            Err(ConfigError::sentence(option, "has an empty audience"))
        }
        _ => Ok(()),
    }
}
