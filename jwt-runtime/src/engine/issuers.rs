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
    pub(super) audience: Option<Vec<String>>,
    pub(crate) identity_claim: String,
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
        let key = keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid))
            .ok_or_else(|| {
                JwtError::invalid(format!(
                    "Unable to find a signing key that matches: \"{kid}\""
                ))
            })?;
        if key.alg_name != alg {
            return Err(not_allowed());
        }
        Ok(key.choice())
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

/// Checks the trusted issuers against the app's own config and opens each one's key set.
#[cfg(feature = "remote-jwks")]
pub(super) async fn open(
    config: &JwtConfig,
    trusted: Vec<TrustedIssuer>,
) -> Result<Vec<Issuer>, ConfigError> {
    let mut issuers: Vec<Issuer> = Vec::with_capacity(trusted.len());
    for t in trusted {
        let option = format!("trusted issuer \"{}\"", t.issuer);
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
        if own || issuers.iter().any(|i| i.iss[0] == t.issuer) {
            return Err(ConfigError::sentence(
                option,
                "is trusted twice (or is also this app's own issuer)",
            ));
        }
        remote::check_options(config, &option)?;
        let discovery = t.jwks_url.is_none().then(|| t.issuer.clone());
        let set = remote::RemoteJwks::open(config, &option, t.jwks_url, discovery).await?;
        issuers.push(Issuer {
            iss: vec![t.issuer],
            algorithms: t.algorithms,
            audience: t.audience,
            identity_claim: t.identity_claim,
            remote: set,
        });
    }
    Ok(issuers)
}
