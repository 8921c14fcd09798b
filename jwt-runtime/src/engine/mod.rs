//! The engine: what a manager is made of, fixed when it is built. The config resolved into
//! typed [`settings`], the keys and issuers of the [`jose`](crate::jose) layer, the
//! [`revocation`](crate::revocation) store, locating a token in a request ([`locate`]), the
//! verified-token cache, the application's [`hooks`], and [`respond`], the one place that logs a
//! refusal and shapes its response.

pub(crate) mod app_data;
pub(crate) mod claims_loader;
pub(crate) mod dpop;
pub(crate) mod hooks;
pub(crate) mod locate;
pub(crate) mod resource;
mod respond;
pub(crate) mod settings;
mod token_cache;

use std::sync::Arc;

use serde_json::Value;

use crate::config::{JwtConfig, TrustedIssuer};
use crate::jose::issuers::Issuer;
use crate::jose::jws::{self, ClaimRules, ClaimsAs, KeyChoice};
use crate::jose::keys::{self, DecodeKey, KeySet, RemoteKeys};
use crate::jose::remote;
use crate::revocation::{DynBlocklist, TokenInfo};
use crate::vocabulary::{
    issuer_user_key, ClaimFacts, Clock, ConfigError, JsonObject, JwtError, KeySource, Location,
    VerifiedJwt,
};
use hooks::Hooks;
use settings::Settings;
use token_cache::VerifiedTokenCache;

pub(crate) use respond::{preflight_response, refuse_without_engine};
pub(crate) use token_cache::VerifiedBy;

/// The option that names a remote key source, when one is set.
fn remote_option(config: &JwtConfig) -> Option<&'static str> {
    if keys::non_empty(&config.decode_jwks_url).is_some() {
        Some("JWT_DECODE_JWKS_URL")
    } else if keys::non_empty(&config.decode_issuer_discovery).is_some() {
        Some("JWT_DECODE_ISSUER_DISCOVERY")
    } else {
        None
    }
}

/// The keys of the remote set, or none.
pub(crate) fn remote_slice(keys: &Option<RemoteKeys>) -> &[DecodeKey] {
    keys.as_deref().map_or(&[], Vec::as_slice)
}

/// Everything a manager is made of. Immutable once built; shared by every request.
pub(crate) struct Engine {
    pub(crate) config: JwtConfig,
    pub(crate) settings: Settings,
    pub(crate) keys: KeySet,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: Arc<dyn DynBlocklist>,
    pub(crate) hooks: Hooks,
    /// The identity provider's key set (`JWT_DECODE_JWKS_URL`, `JWT_DECODE_ISSUER_DISCOVERY`).
    remote: Option<Arc<remote::RemoteJwks>>,
    /// Other issuers, selected by the token's `iss` before any key is tried.
    issuers: Vec<Issuer>,
    verified_tokens: VerifiedTokenCache,
    /// Whether a token must carry a `jti` where revocation is checked: while a revocation store is
    /// in use (registered with `.blocklist(...)`, or keeping rotation's sessions) and
    /// `JWT_ALLOW_TOKENS_WITHOUT_JTI` is off. Without a store, as in flask-jwt-extended, nothing
    /// asks for one.
    jti_required: bool,
}

impl Engine {
    /// Checks the config, loads the keys, installs the crypto provider and gives the store the
    /// clock. A remote key source needs [`new_async`](Self::new_async).
    pub(crate) fn new(
        config: JwtConfig,
        clock: Arc<dyn Clock>,
        store: Box<dyn DynBlocklist>,
        hooks: Hooks,
    ) -> Result<Self, ConfigError> {
        if let Some(issuer) = config.trusted_issuers.first() {
            return Err(ConfigError::sentence(
                format!("trusted issuer \"{}\" (JWT_TRUSTED_ISSUERS)", issuer.issuer),
                "is fetched over the network when the manager is built: build it with \
                 `JwtManagerBuilder::build_async().await`",
            ));
        }
        if let Some(option) = remote_option(&config) {
            return Err(if cfg!(feature = "remote-jwks") {
                ConfigError::sentence(
                    option,
                    "is fetched over the network when the manager is built: build it with \
                     `JwtManagerBuilder::build_async().await`",
                )
            } else {
                ConfigError::sentence(option, "needs the `remote-jwks` feature of jwt-runtime")
            });
        }
        Self::assemble(config, clock, store, hooks, None)
    }

    /// [`new`](Self::new), fetching the remote key set first (discovery, then the JWK set) when
    /// one is configured, and starting its background refresh.
    pub(crate) async fn new_async(
        #[allow(unused_mut)] mut config: JwtConfig,
        clock: Arc<dyn Clock>,
        store: Box<dyn DynBlocklist>,
        hooks: Hooks,
        trusted: Vec<TrustedIssuer>,
    ) -> Result<Self, ConfigError> {
        // `JWT_TRUSTED_ISSUERS` first, then the builder's.
        let trusted: Vec<TrustedIssuer> = config
            .trusted_issuers
            .iter()
            .cloned()
            .chain(trusted)
            .collect();
        #[cfg(feature = "remote-jwks")]
        {
            if remote_option(&config).is_some() || !trusted.is_empty() {
                // Every local check first: a bad option fails without touching the network.
                Settings::resolve(&config)?;
                KeySet::from_config(&config)?;
                let remote = remote::RemoteJwks::start(&mut config).await?;
                let issuers = crate::jose::issuers::open(&config, trusted).await?;
                let mut engine = Self::assemble(config, clock, store, hooks, remote)?;
                engine.issuers = issuers;
                return Ok(engine);
            }
        }
        if !trusted.is_empty() {
            return Err(ConfigError::sentence(
                "trust_issuer",
                "needs the `remote-jwks` feature of jwt-runtime",
            ));
        }
        Self::new(config, clock, store, hooks)
    }

    /// Records whether the application registered a revocation store: with one (or with
    /// rotation, whose sessions live in the store), a token without a usable `jti` is refused
    /// where revocation is checked, unless `JWT_ALLOW_TOKENS_WITHOUT_JTI`.
    pub(crate) fn store_registered(mut self, registered: bool) -> Self {
        self.jti_required =
            (registered || self.config.refresh_rotation) && !self.config.allow_tokens_without_jti;
        self
    }

    /// Whether a token must carry a usable `jti` where revocation is checked (see
    /// [`store_registered`](Self::store_registered)).
    pub(crate) fn requires_jti(&self) -> bool {
        self.jti_required
    }

    /// Whether a verified token was issued elsewhere: by a trusted issuer, or signed with a key of
    /// the remote JWK set (as recorded when its key was chosen, whatever its `kid`). Such a token
    /// is never re-minted as this app's own (implicit refresh, rotation).
    pub(crate) fn is_foreign(&self, token: &VerifiedJwt) -> bool {
        token.parts().source().is_foreign()
    }

    /// Whether a verified token's own claims may satisfy this app's claim policies (the admin
    /// claim, `fresh`, `type: refresh`): this app's own tokens; a trusted issuer's only with
    /// [`TrustedIssuer::trust_app_claims`]; the remote key set's only with
    /// `JWT_DECODE_TRUST_APP_CLAIMS`. A provider's `is_administrator` or `type` means nothing here.
    pub(crate) fn trusts_app_claims(&self, token: &VerifiedJwt) -> bool {
        match token.parts().source() {
            KeySource::Own | KeySource::Loader => true,
            KeySource::Remote(_) => self.config.decode_trust_app_claims,
            KeySource::Issuer(iss) => self
                .issuer_named(Some(iss))
                .is_some_and(|issuer| issuer.trust_app_claims),
        }
    }

    /// The trusted issuer named `iss`: the one verified claims whose `iss` it is were verified
    /// by (a token naming a trusted issuer is verified with that issuer's keys and rules only,
    /// [`Engine::issuer_of`], and no trusted issuer is this app's own).
    fn issuer_named(&self, iss: Option<&str>) -> Option<&Issuer> {
        let iss = iss?;
        self.issuers.iter().find(|i| i.iss[0] == iss)
    }

    /// The trusted issuer a token claims (by its unverified `iss`), if any, with its place in
    /// the list.
    pub(crate) fn issuer_of(&self, token: &str) -> Option<(usize, &Issuer)> {
        if self.issuers.is_empty() {
            return None;
        }
        let (_, payload) = jws::peek(token, self.config.max_token_length).ok()?;
        let iss = payload.get("iss")?.as_str()?;
        self.issuers
            .iter()
            .enumerate()
            .find(|(_, i)| i.iss[0] == iss)
    }

    /// The claim rules of what verified a cached token.
    fn rules_of(&self, by: VerifiedBy) -> Option<ClaimRules<'_>> {
        match by {
            VerifiedBy::Own => Some(self.claim_rules()),
            VerifiedBy::Issuer(index) => self.issuers.get(index).map(|i| self.issuer_rules(i)),
        }
    }

    /// The claim rules of a trusted issuer's tokens: its `iss`, its audience, its identity claim.
    pub(crate) fn issuer_rules<'a>(&'a self, issuer: &'a Issuer) -> ClaimRules<'a> {
        ClaimRules {
            issuer: Some(&issuer.iss),
            audience: issuer.audience.as_deref(),
            identity_claim: &issuer.identity_claim,
            trusted_issuer: Some(&issuer.iss[0]),
            access_token_profile: issuer.access_token_profile,
            ..self.claim_rules()
        }
    }

    fn assemble(
        config: JwtConfig,
        clock: Arc<dyn Clock>,
        mut store: Box<dyn DynBlocklist>,
        hooks: Hooks,
        remote: Option<Arc<remote::RemoteJwks>>,
    ) -> Result<Self, ConfigError> {
        keys::install_crypto_provider();
        let settings = Settings::resolve(&config)?;
        let keys = KeySet::from_config(&config)?;
        if config.refresh_rotation && !store.keeps_sessions() {
            return Err(ConfigError::sentence(
                "JWT_REFRESH_ROTATION",
                "needs a revocation store that keeps sessions (MemoryBlocklist, RedisBlocklist \
                 and SqlBlocklist do; see `Blocklist::keeps_sessions`)",
            ));
        }
        if config.dpop.is_on() && !store.keeps_proofs() {
            return Err(ConfigError::sentence(
                "JWT_DPOP",
                "needs a revocation store that records DPoP proofs against replay \
                 (MemoryBlocklist, RedisBlocklist and SqlBlocklist do; see `Blocklist::keeps_proofs`)",
            ));
        }
        store.use_clock(clock.clone());
        let verified_tokens = VerifiedTokenCache::new(config.verified_token_cache_size);
        Ok(Engine {
            config,
            settings,
            keys,
            clock,
            store: Arc::from(store),
            hooks,
            remote,
            issuers: Vec::new(),
            verified_tokens,
            jti_required: false,
        })
    }

    /// Whether a remote key set is configured.
    pub(crate) fn has_remote_keys(&self) -> bool {
        self.remote.is_some()
    }

    /// The remote set's JWK set URL (`JWT_DECODE_JWKS_URL`), which names its users when no
    /// issuer rule does (see [`KeySource::Remote`]).
    fn remote_set_url(&self) -> Option<&str> {
        keys::non_empty(&self.config.decode_jwks_url).map(str::trim)
    }

    /// Whether the remote set's users can be filed under `name`: one of the issuers its tokens
    /// may name (`JWT_DECODE_ISSUER`, the discovered issuer), or its JWK set URL when no issuer
    /// rule applies.
    fn names_remote_set(&self, name: &str) -> bool {
        self.remote.is_some()
            && match self.config.decode_issuer.as_deref() {
                Some(accepted) => accepted.iter().any(|iss| iss == name),
                None => self.remote_set_url() == Some(name),
            }
    }

    /// The remote key set as it is now (no network).
    pub(crate) fn remote_keys(&self) -> Option<RemoteKeys> {
        self.remote.as_ref().map(|remote| remote.current())
    }

    /// The remote key set to verify `token` with: the current one, or, when the token's `kid`
    /// names no known key, the set after a rate-limited refetch (the one network wait a request
    /// can have). A token whose unverified `iss` this manager does not accept
    /// (`JWT_DECODE_ISSUER`, or the discovered issuer) never causes a refetch: it is refused with
    /// the issuer error its claims check would give (a token that cannot pass must not cost the
    /// provider a request).
    pub(crate) async fn remote_keys_for(
        &self,
        token: &str,
    ) -> Result<Option<RemoteKeys>, JwtError> {
        let Some(remote) = self.remote.as_ref() else {
            return Ok(None);
        };
        let max_length = self.config.max_token_length;
        match jws::peek_kid(token, max_length) {
            Some(kid) if !self.keys.has_kid(&kid) && !remote.has_kid(&kid) => {
                if let Some(accepted) = self.config.decode_issuer.as_deref() {
                    let Ok((_, claims)) = jws::peek(token, max_length) else {
                        // An unreadable payload can never verify: the key error, no refetch.
                        return Ok(Some(remote.current()));
                    };
                    jws::check_issuer(&claims, accepted)?;
                }
                Ok(Some(remote.keys_for_kid(&kid).await))
            }
            _ => Ok(Some(remote.current())),
        }
    }

    /// The current time of this manager's clock.
    pub(crate) fn now(&self) -> f64 {
        self.clock.now()
    }

    /// What a decode checks beyond the signature, from the config: this app's own tokens' rules
    /// and the remote key set's (whose tokens alone are held to the access-token profile of
    /// `JWT_DECODE_ACCESS_TOKEN_PROFILE`: the JWS layer records which keys verified a token).
    pub(crate) fn claim_rules(&self) -> ClaimRules<'_> {
        let config = &self.config;
        ClaimRules {
            leeway: config.decode_leeway as f64,
            issuer: config.decode_issuer.as_deref(),
            audience: config.decode_audience.as_deref(),
            verify_sub: config.verify_sub,
            identity_claim: &config.identity_claim,
            trusted_issuer: None,
            remote_set: self.remote_set_url(),
            access_token_profile: config.decode_access_token_profile,
            max_length: config.max_token_length,
        }
    }

    /// The reference's `decode_token`: a full verification with the configured keys; an expired
    /// token is an error.
    pub(crate) fn decode(&self, token: &str) -> Result<JsonObject, JwtError> {
        let decoded = match self.issuer_of(token) {
            Some((_, issuer)) => {
                let keys = issuer.current();
                jws::decode_with(
                    token,
                    |header| issuer.decoding_for(header, &keys),
                    &self.issuer_rules(issuer),
                    self.now(),
                    None,
                    ClaimsAs::Map,
                )?
            }
            None => {
                let remote = self.remote_keys();
                jws::decode(
                    token,
                    &self.keys,
                    remote_slice(&remote),
                    &self.claim_rules(),
                    self.now(),
                    None,
                    ClaimsAs::Map,
                )?
            }
        };
        if decoded.expired {
            return Err(JwtError::Expired);
        }
        Ok(decoded.parts.into_claims())
    }

    /// A token found at `location`, checked with the configured keys (not the remote set; see
    /// [`jws::decode_with`]): the verified token and whether it expired. The signature check and
    /// the parsing are done once per distinct token ([`token_cache`]); the time, claim and CSRF
    /// checks run on every call.
    pub(crate) fn verify_token(
        &self,
        token: &str,
        location: Location,
        rules: &ClaimRules<'_>,
        now: f64,
        csrf: Option<&str>,
    ) -> Result<(Arc<VerifiedJwt>, bool), JwtError> {
        let key_for = |header: &JsonObject| self.keys.decoding_for(header, &[]);
        self.verify_with(token, location, VerifiedBy::Own, key_for, rules, now, csrf)
    }

    /// A token found at `location`, checked with the key `key_for` picks under `by`'s `rules`,
    /// through the cache: served from it when these bytes verified before under `by` with a key
    /// still in its set, else verified and kept ([`Engine::verify_and_keep`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn verify_with<'k>(
        &self,
        token: &str,
        location: Location,
        by: VerifiedBy,
        key_for: impl Fn(&JsonObject) -> Result<KeyChoice<'k>, JwtError>,
        rules: &ClaimRules<'_>,
        now: f64,
        csrf: Option<&str>,
    ) -> Result<(Arc<VerifiedJwt>, bool), JwtError> {
        if let Some((verified, cached_by)) = self.verified_tokens.get(token.as_bytes())
            && cached_by == by
        {
            return Self::recheck(verified, location, rules, now, csrf);
        }
        self.verify_and_keep(token, location, by, key_for, rules, now, csrf)
    }

    /// [`Engine::verify_token`] for a token just looked for in the cache and not found there.
    pub(crate) fn verify_unseen(
        &self,
        token: &str,
        location: Location,
        rules: &ClaimRules<'_>,
        now: f64,
        csrf: Option<&str>,
    ) -> Result<(Arc<VerifiedJwt>, bool), JwtError> {
        let key_for = |header: &JsonObject| self.keys.decoding_for(header, &[]);
        self.verify_and_keep(token, location, VerifiedBy::Own, key_for, rules, now, csrf)
    }

    /// A token verified in full with the key `key_for` picks under `rules`; kept in the cache
    /// as verified by `by` when it has not expired and its key has an [`InSet`] flag (a
    /// decode-key loader's key has none: its tokens are verified on every request).
    ///
    /// [`InSet`]: crate::jose::keys::InSet
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn verify_and_keep<'k>(
        &self,
        token: &str,
        location: Location,
        by: VerifiedBy,
        key_for: impl Fn(&JsonObject) -> Result<KeyChoice<'k>, JwtError>,
        rules: &ClaimRules<'_>,
        now: f64,
        csrf: Option<&str>,
    ) -> Result<(Arc<VerifiedJwt>, bool), JwtError> {
        let decoded = jws::decode_with(token, key_for, rules, now, csrf, ClaimsAs::Facts)?;
        let verified = Arc::new(VerifiedJwt::new(Arc::new(decoded.parts), location));
        if let (false, Some(key)) = (decoded.expired, decoded.key) {
            self.verified_tokens
                .insert(token, verified.clone(), by, key, now - rules.leeway);
        }
        Ok((verified, decoded.expired))
    }

    /// A cached token's checks that depend on time and on the request (see [`token_cache`]).
    fn recheck(
        verified: Arc<VerifiedJwt>,
        location: Location,
        rules: &ClaimRules<'_>,
        now: f64,
        csrf: Option<&str>,
    ) -> Result<(Arc<VerifiedJwt>, bool), JwtError> {
        let expired = jws::validate_claims(verified.parts(), rules, now)?;
        if let Some(submitted) = csrf {
            jws::check_csrf(verified.claims(), submitted)?;
        }
        Ok((verified.found_at(location), expired))
    }

    /// Whether every token is verified with this manager's own keys and cache
    /// ([`Engine::verify_token`]): no decode-key loader, remote key set or trusted issuer, any of
    /// which can route a token elsewhere (and all of which may have to wait).
    pub(crate) fn verifies_alone(&self) -> bool {
        self.hooks.decode_key.is_none() && self.remote.is_none() && self.issuers.is_empty()
    }

    /// What the pipeline's verification of `token` (found at `location`, with the CSRF value
    /// submitted beside a cookie) answers when the cache alone can tell: these bytes verified
    /// before, with a key still in its set, under the keys and rules that verify them now (those
    /// the entry records: the token's `iss` picks the same ones every time). Its time, claim and
    /// CSRF checks run again here. `None`: verify the token the usual way; always for this app's
    /// own tokens while a decode-key loader is registered (it is asked first, on every request,
    /// and may pick another key). A hit on a header's bytes (those after `Bearer `) means the
    /// bytes are a plain token, so the header was the common `Bearer <token>`.
    pub(crate) fn cached_token(
        &self,
        token: &[u8],
        location: Location,
        now: f64,
        csrf: Option<&str>,
    ) -> Option<Result<(Arc<VerifiedJwt>, bool), JwtError>> {
        let (verified, by) = self.verified_tokens.get(token)?;
        if by == VerifiedBy::Own && self.hooks.decode_key.is_some() {
            return None;
        }
        let rules = self.rules_of(by)?;
        Some(Self::recheck(verified, location, &rules, now, csrf))
    }

    /// How many tokens the verified-token cache holds (for the remote-key tests).
    #[cfg(all(test, feature = "remote-jwks"))]
    pub(crate) fn cached_tokens(&self) -> usize {
        self.verified_tokens.len()
    }

    /// What the store is told about a token with these verified claims: a trusted issuer's
    /// token (its `iss` names one) under that issuer and its identity claim, any other under
    /// this app's identity claim.
    pub(crate) fn token_info(&self, claims: &JsonObject) -> TokenInfo {
        let issuer = self.issuer_named(claims.get("iss").and_then(Value::as_str));
        let identity_claim = issuer.map_or(&self.config.identity_claim, |i| &i.identity_claim);
        TokenInfo::from_facts(
            &ClaimFacts::read(claims, identity_claim),
            self.config.decode_leeway,
            issuer.map(|i| i.iss[0].as_str()),
        )
    }

    /// The key a foreign user is filed under: a trusted issuer's, or the remote set's (under
    /// one of its issuers, or its JWK set URL without an issuer rule); `None` when `issuer`
    /// names neither.
    pub(crate) fn issuer_user(&self, issuer: &str, identity: &Value) -> Option<String> {
        if let Some(trusted) = self.issuer_named(Some(issuer)) {
            return Some(issuer_user_key(&trusted.iss[0], identity));
        }
        self.names_remote_set(issuer)
            .then(|| issuer_user_key(issuer, identity))
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("hooks", &self.hooks)
            .field("remote", &self.remote)
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}
