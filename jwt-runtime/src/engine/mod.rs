//! Layer 2, the engine: what a manager is made of, fixed when it is built. The config resolved
//! into typed [`settings`], the [`keys`], the JWS layer ([`jws`]), locating a token in a request
//! ([`locate`]), the [`revocation`] stores, the application's [`hooks`], and [`respond`], the one
//! place that logs a refusal and shapes its response.

pub(crate) mod hooks;
pub(crate) mod jws;
pub(crate) mod keys;
pub(crate) mod locate;
mod respond;
pub(crate) mod revocation;
pub(crate) mod settings;
mod token_cache;

use std::sync::Arc;

use crate::config::JwtConfig;
use crate::vocabulary::{Clock, ConfigError, JsonObject, JwtError, TokenParts};
use hooks::Hooks;
use jws::ClaimRules;
use keys::KeySet;
use revocation::{DynBlocklist, TokenInfo};
use settings::Settings;
use token_cache::VerifiedTokenCache;

pub(crate) use respond::refuse_without_engine;

/// Everything a manager is made of. Immutable once built; shared by every request.
pub(crate) struct Engine {
    pub(crate) config: JwtConfig,
    pub(crate) settings: Settings,
    pub(crate) keys: KeySet,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Arc<dyn DynBlocklist>,
    pub(crate) hooks: Hooks,
    verified_tokens: VerifiedTokenCache,
}

impl Engine {
    /// Checks the config, loads the keys, installs the crypto provider and gives the store the
    /// clock.
    pub(crate) fn new(
        config: JwtConfig,
        clock: Arc<dyn Clock>,
        mut store: Box<dyn DynBlocklist>,
        hooks: Hooks,
    ) -> Result<Self, ConfigError> {
        keys::install_crypto_provider();
        let settings = Settings::resolve(&config)?;
        let keys = KeySet::from_config(&config)?;
        store.use_clock(clock.clone());
        let verified_tokens = VerifiedTokenCache::new(config.verified_token_cache_size);
        Ok(Engine {
            config,
            settings,
            keys,
            clock,
            store: Arc::from(store),
            hooks,
            verified_tokens,
        })
    }

    /// The current time of this manager's clock.
    pub(crate) fn now(&self) -> f64 {
        self.clock.now()
    }

    /// What a decode checks beyond the signature, from the config.
    pub(crate) fn claim_rules(&self) -> ClaimRules<'_> {
        let config = &self.config;
        ClaimRules {
            leeway: config.decode_leeway as f64,
            issuer: config.decode_issuer.as_deref(),
            audience: config.decode_audience.as_deref(),
            verify_sub: config.verify_sub,
            identity_claim: &config.identity_claim,
            max_length: config.max_token_length,
        }
    }

    /// The reference's `decode_token`: a full verification with the configured keys; an expired
    /// token is an error.
    pub(crate) fn decode(&self, token: &str) -> Result<JsonObject, JwtError> {
        let decoded = jws::decode(token, &self.keys, &self.claim_rules(), self.now(), None)?;
        if decoded.expired {
            return Err(JwtError::Expired);
        }
        Ok(decoded.claims)
    }

    /// A token checked with the configured keys (see [`jws::decode_with`]): its verified parts
    /// and whether it expired. The signature check and the parsing are done once per distinct
    /// token ([`token_cache`]); the time, claim and CSRF checks run on every call.
    pub(crate) fn verify_token(
        &self,
        token: &str,
        rules: &ClaimRules<'_>,
        now: f64,
        csrf: Option<&str>,
    ) -> Result<(Arc<TokenParts>, bool), JwtError> {
        if let Some(parts) = self.verified_tokens.get(token) {
            let expired = jws::validate_claims(parts.claims(), rules, now)?;
            if let Some(submitted) = csrf {
                jws::check_csrf(parts.claims(), submitted)?;
            }
            return Ok((parts, expired));
        }
        let decoded = jws::decode(token, &self.keys, rules, now, csrf)?;
        let parts = Arc::new(TokenParts::new(decoded.header, decoded.claims));
        if !decoded.expired {
            self.verified_tokens
                .insert(token, parts.clone(), now - rules.leeway);
        }
        Ok((parts, decoded.expired))
    }

    /// What the store is told about a token with these verified claims.
    pub(crate) fn token_info(&self, claims: &JsonObject) -> TokenInfo {
        TokenInfo::from_claims(
            claims,
            &self.config.identity_claim,
            self.config.decode_leeway,
        )
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}
