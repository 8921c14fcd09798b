//! Creating access and refresh tokens with the reference's payload shape.

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::engine::Engine;
use crate::jose::dpop::DpopProof;
use crate::jose::jws::encode_segment;
use crate::revocation::NewSession;
use crate::vocabulary::{Binding, Expiry, JsonObject, JwtError, TokenType, VerifiedJwt};

/// The `fresh` value of a new access token: the reference accepts a bool, a duration (stored as
/// the timestamp `now + duration`) or an absolute timestamp.
///
/// ```
/// use jwt_runtime::Fresh;
/// let f: Fresh = true.into();
/// assert_eq!(f, Fresh::Bool(true));
/// let f: Fresh = std::time::Duration::from_secs(300).into();
/// assert_eq!(f, Fresh::For(std::time::Duration::from_secs(300)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fresh {
    /// `fresh: true` or `fresh: false`.
    Bool(bool),
    /// Fresh until `now + duration`: stored as a float timestamp.
    For(std::time::Duration),
    /// Fresh until this unix timestamp (seconds).
    Until(f64),
}

impl From<bool> for Fresh {
    fn from(b: bool) -> Self {
        Fresh::Bool(b)
    }
}

impl From<std::time::Duration> for Fresh {
    fn from(d: std::time::Duration) -> Self {
        Fresh::For(d)
    }
}

/// A token being made; `.await` it to get the encoded JWT.
///
/// Made by [`JwtManager::create_access_token`](crate::JwtManager::create_access_token) and
/// [`JwtManager::create_refresh_token`](crate::JwtManager::create_refresh_token). The
/// options mirror the reference's `create_access_token(identity, fresh, expires_delta,
/// additional_claims, additional_headers)`.
///
/// ```
/// # async fn demo(jwt: jwt_runtime::JwtManager) -> Result<(), jwt_runtime::JwtError> {
/// use serde_json::json;
/// let token = jwt
///     .create_access_token("alice")
///     .fresh(true)
///     .expires(jwt_runtime::Expiry::minutes(5))
///     .additional_claims(json!({"role": "editor"}))
///     .additional_headers(json!({"kid": "k1"}))
///     .await?;
/// assert_eq!(token.matches('.').count(), 2);
/// # Ok(()) }
/// ```
#[must_use = "a token builder does nothing until it is awaited"]
pub struct TokenBuilder {
    engine: Arc<Engine>,
    kind: TokenType,
    identity: Result<Value, JwtError>,
    fresh: Fresh,
    expires: Option<Expiry>,
    claims: Result<JsonObject, JwtError>,
    headers: Result<JsonObject, JwtError>,
    /// A re-issue of a verified token ([`reissue`]): the identity is already the identity claim
    /// (no `user_identity` mapping), and the library's own claims win over the loader's.
    reissue: bool,
    /// The session (`fam` claim) of the token, under `JWT_REFRESH_ROTATION`.
    session: SessionClaim,
    /// A `jti` chosen by the caller (a rotation records it before handing the token out).
    jti: Option<String>,
    /// The RFC 7638 thumbprint of the DPoP key the token is bound to (`cnf.jkt`).
    bound_to: Option<String>,
}

/// The `fam` claim a new token gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionClaim {
    /// None; a refresh token under rotation starts a new, unlabelled session.
    Default,
    /// Starts this session (a login): recorded in the store before the token is returned.
    Start { id: String, label: Option<String> },
    /// Belongs to an existing session (a rotation, an access token of the session).
    Join(String),
}

/// The claim holding a token's session (refresh-token family) id.
pub(crate) const SESSION_CLAIM: &str = "fam";

pub(crate) fn to_object(value: impl serde::Serialize, what: &str) -> Result<JsonObject, JwtError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(JwtError::TokenCreation(
            format!("{what} must be a JSON object, got {other}").into(),
        )),
        Err(e) => Err(JwtError::TokenCreation(
            format!("{what} cannot be serialized: {e}").into(),
        )),
    }
}

impl TokenBuilder {
    pub(crate) fn new(
        engine: Arc<Engine>,
        kind: TokenType,
        identity: impl serde::Serialize,
    ) -> Self {
        TokenBuilder {
            engine,
            kind,
            identity: serde_json::to_value(identity).map_err(|e| {
                JwtError::TokenCreation(format!("identity cannot be serialized: {e}").into())
            }),
            fresh: Fresh::Bool(false),
            expires: None,
            claims: Ok(Map::new()),
            headers: Ok(Map::new()),
            reissue: false,
            session: SessionClaim::Default,
            jti: None,
            bound_to: None,
        }
    }

    /// A builder whose `.await` fails with [`JwtError::TokenCreation`]`(reason)`.
    pub(crate) fn refused(engine: Arc<Engine>, kind: TokenType, reason: &'static str) -> Self {
        let mut builder = TokenBuilder::new(engine, kind, Value::Null);
        builder.identity = Err(JwtError::TokenCreation(reason.into()));
        builder
    }

    /// The token's session claim (see [`SessionClaim`]).
    pub(crate) fn session_claim(mut self, session: SessionClaim) -> Self {
        self.session = session;
        self
    }

    /// The token's `jti`, chosen by the caller.
    pub(crate) fn jti(mut self, jti: String) -> Self {
        self.jti = Some(jti);
        self
    }

    /// Under `JWT_REFRESH_ROTATION`, makes this token part of the session `id` (its `fam` claim):
    /// it is refused once that session ends (a reuse, "log out other devices"). Sessions are
    /// started by [`JwtManager::login`](crate::JwtManager::login).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), jwt_runtime::JwtError> {
    /// let mut config = jwt_runtime::JwtConfig::default().with_secret("k".repeat(32));
    /// config.refresh_rotation = true;
    /// let jwt = jwt_runtime::JwtManager::new(config).unwrap();
    /// let login = jwt.login("alice").await?;
    /// let access = jwt.create_access_token("alice").session(&login.session).await?;
    /// assert_eq!(jwt.decode_token(&access)?["fam"], login.session.as_str());
    /// # Ok(()) }
    /// ```
    pub fn session(self, id: impl Into<String>) -> Self {
        self.session_claim(SessionClaim::Join(id.into()))
    }

    /// Binds the token to the key of a verified DPoP proof (RFC 9449 section 6): it gets
    /// `"cnf": {"jkt": "<the key's RFC 7638 thumbprint>"}`, and is then accepted only as
    /// `Authorization: DPoP <token>` with a proof made by that key (never as `Bearer`).
    /// No claim given elsewhere replaces it.
    ///
    /// ```no_run
    /// use jwt_runtime::{DpopProof, JwtManager};
    /// # async fn demo(jwt: JwtManager, proof: DpopProof) -> Result<(), jwt_runtime::JwtError> {
    /// let access = jwt.create_access_token("alice").bind(&proof).await?;
    /// assert_eq!(jwt.decode_token(&access)?["cnf"]["jkt"], proof.thumbprint());
    /// # Ok(()) }
    /// ```
    pub fn bind(self, proof: &DpopProof) -> Self {
        self.bind_thumbprint(proof.thumbprint().to_string())
    }

    /// Binds the token to the DPoP key with this thumbprint (a re-issue of a bound token).
    pub(crate) fn bind_thumbprint(mut self, jkt: String) -> Self {
        self.bound_to = Some(jkt);
        self
    }

    /// Marks an access token fresh (`true`), fresh for a while (a `Duration`), or not.
    /// Ignored on refresh tokens, which are never fresh.
    pub fn fresh(mut self, fresh: impl Into<Fresh>) -> Self {
        self.fresh = fresh.into();
        self
    }

    /// Overrides the configured lifetime (`expires_delta`); [`Expiry::Never`] omits `exp`.
    pub fn expires(mut self, expires: impl Into<Expiry>) -> Self {
        self.expires = Some(expires.into());
        self
    }

    /// Claims merged over the reserved ones and over the additional-claims loader's (this call
    /// wins); they may override reserved claims, as in the reference. Must serialize to an object.
    /// They belong to this token only: a re-issue of it (implicit cookie refresh, refresh-token
    /// rotation) does not carry them over; claims that must last belong in the loader.
    pub fn additional_claims(mut self, claims: impl serde::Serialize) -> Self {
        self.claims = to_object(claims, "additional claims");
        self
    }

    /// Header parameters merged over `{"alg", "typ": "JWT"}`. A `typ` of `null` removes `typ`.
    /// `alg` cannot be changed here: the signing algorithm is the configured one.
    pub fn additional_headers(mut self, headers: impl serde::Serialize) -> Self {
        self.headers = to_object(headers, "additional headers");
        self
    }

    async fn build(self) -> Result<String, JwtError> {
        let inner = &*self.engine;
        let config = &inner.config;
        let identity = self.identity?;
        let now = inner.clock.now();
        let iat = now.floor() as i64;

        // The reference's order: headers loader, claims loader, identity loader, encode key.
        let loader_headers = inner
            .hooks
            .additional_headers
            .as_ref()
            .map(|f| f(&identity));
        let key = inner.hooks.encode_key.as_ref().and_then(|f| f(&identity));
        let mut extra = match &inner.hooks.additional_claims {
            Some(loader) => loader.load(&identity, &inner.hooks.data).await?,
            None => Map::new(),
        };
        extra.extend(self.claims?);

        // The reference's order: fresh, iat, jti, type, <identity>, nbf, csrf, aud, iss, exp.
        let mut payload = Map::new();
        let fresh = match (self.kind, self.fresh) {
            (TokenType::Refresh, _) => Value::Bool(false),
            (_, Fresh::Bool(b)) => Value::Bool(b),
            (_, Fresh::For(d)) => serde_json::json!(now + d.as_secs_f64()),
            (_, Fresh::Until(t)) => serde_json::json!(t),
        };
        payload.insert("fresh".into(), fresh.clone());
        payload.insert("iat".into(), iat.into());
        let chosen_jti = self.jti.is_some();
        let jti = self.jti.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        payload.insert("jti".into(), jti.as_str().into());
        payload.insert("type".into(), self.kind.as_str().into());
        let identity = match &inner.hooks.user_identity {
            Some(map) if !self.reissue => map(&identity),
            _ => identity,
        };
        payload.insert(config.identity_claim.clone(), identity.clone());
        if config.encode_nbf {
            payload.insert("nbf".into(), iat.into());
        }
        if config.cookie_csrf_protect {
            payload.insert("csrf".into(), uuid::Uuid::new_v4().to_string().into());
        }
        if let Some(aud) = &config.encode_audience {
            let aud = match aud.as_slice() {
                [one] => Value::from(one.as_str()),
                many => Value::from(many.to_vec()),
            };
            payload.insert("aud".into(), aud);
        }
        if let Some(iss) = &config.encode_issuer {
            payload.insert("iss".into(), iss.as_str().into());
        }
        let lifetime = self.expires.unwrap_or(match self.kind {
            TokenType::Access => config.access_token_expires,
            TokenType::Refresh => config.refresh_token_expires,
        });
        if let Some(secs) = lifetime.as_seconds() {
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            payload.insert("exp".into(), iat.saturating_add(secs).into());
        }
        payload.extend(extra);
        if self.reissue {
            // A re-issued token's own claims are the library's: no loader claim replaces them.
            payload.insert("fresh".into(), fresh);
            payload.insert("type".into(), self.kind.as_str().into());
            payload.insert(config.identity_claim.clone(), identity);
        }
        if let Some(jkt) = self.bound_to {
            // The proven key: no claim replaces the binding.
            payload.insert("cnf".into(), serde_json::json!({ "jkt": jkt }));
        }
        if chosen_jti {
            // A rotation records this jti: no claim overrides it.
            payload.insert("jti".into(), jti.as_str().into());
        }
        let session = match self.session {
            _ if !config.refresh_rotation => None,
            SessionClaim::Join(id) => Some((id, None)),
            SessionClaim::Start { id, label } => Some((id, Some(label))),
            SessionClaim::Default if self.kind == TokenType::Refresh => {
                Some((uuid::Uuid::new_v4().to_string(), Some(None)))
            }
            SessionClaim::Default => None,
        };
        if let Some((id, start)) = session {
            payload.insert(SESSION_CLAIM.into(), id.as_str().into());
            if let (Some(label), TokenType::Refresh) = (start, self.kind) {
                let info = inner.token_info(&payload);
                // The jti the token carries (an additional claim may have replaced ours).
                let jti = info.jti.unwrap_or(jti);
                let new = NewSession {
                    session: id,
                    user: info.user,
                    jti,
                    created_at: iat,
                    label,
                    retain_until: info.retain_until,
                };
                inner.store.start_session(&new).await.map_err(|e| {
                    JwtError::TokenCreation(
                        format!("the session could not be recorded: {e}").into(),
                    )
                })?;
            }
        }

        // PyJWT writes the header with sorted keys.
        let mut header: BTreeMap<String, Value> = BTreeMap::new();
        header.insert("alg".into(), inner.keys.algorithm_name.clone().into());
        header.insert("typ".into(), "JWT".into());
        if let Some(kid) = &inner.keys.encode_kid {
            header.insert("kid".into(), kid.as_str().into());
        }
        let mut merged = loader_headers.unwrap_or_default();
        merged.extend(self.headers?);
        for (k, v) in merged {
            match (k.as_str(), v) {
                ("alg", _) => {
                    return Err(JwtError::TokenCreation(
                        "the `alg` header is set by JWT_ALGORITHM, not per token".into(),
                    ))
                }
                ("typ", Value::Null) => {
                    header.remove("typ");
                }
                (_, v) => {
                    header.insert(k, v);
                }
            }
        }

        let signing_input = format!("{}.{}", encode_segment(&header)?, encode_segment(&payload)?);
        let signature = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            match &key {
                Some(key) => key,
                None => inner.keys.encoding()?,
            },
            inner.keys.algorithm,
        )
        .map_err(|e| JwtError::TokenCreation(format!("signing failed: {e}").into()))?;
        tracing::debug!(
            target: "jwt_runtime",
            token_type = self.kind.as_str(),
            jti = payload.get("jti").and_then(serde_json::Value::as_str).unwrap_or_default(),
            "token created"
        );
        Ok(format!("{signing_input}.{signature}"))
    }
}

/// Re-issues `token` (verified on this request, not revoked) as a new token of `kind`: the one
/// rule of implicit cookie refresh and of refresh-token rotation.
///
/// What is carried over from the old token: its identity claim, as is (no second
/// `user_identity` mapping), and its session (`fam` claim, under `JWT_REFRESH_ROTATION`). The
/// library's own claims are new (`iat`, `jti`, `exp`, `nbf`, `csrf`, `aud`, `iss`), with
/// `fresh: false` and the token type. Every other claim comes from the additional-claims loader,
/// called anew with the identity claim's value, as the reference re-mints from the identity:
/// a claim copied from the old token (an admin flag, a role the application has withdrawn since)
/// never is, and claims given to one token with
/// [`TokenBuilder::additional_claims`] are not carried over (put them in the loader). The loader
/// cannot replace the identity, `fresh` or `type` of a re-issued token.
pub(crate) fn reissue(engine: &Arc<Engine>, token: &VerifiedJwt, kind: TokenType) -> TokenBuilder {
    let mut builder = TokenBuilder::new(engine.clone(), kind, token.identity());
    builder.reissue = true;
    // Dropped by `build` when rotation is off.
    if let Some(session) = token.claims().get(SESSION_CLAIM).and_then(Value::as_str) {
        builder.session = SessionClaim::Join(session.to_string());
    }
    // A bound token passed the pipeline with a proof by its key: its successor stays bound to
    // that key (a rotated refresh token of a DPoP client).
    if let Binding::Jkt(jkt) = &token.parts().facts().binding {
        builder.bound_to = Some(jkt.to_string());
    }
    builder
}

impl IntoFuture for TokenBuilder {
    type Output = Result<String, JwtError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.build())
    }
}

impl std::fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("kind", &self.kind)
            .field("fresh", &self.fresh)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}
