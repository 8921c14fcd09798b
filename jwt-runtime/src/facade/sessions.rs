//! Sessions under refresh-token rotation (`JWT_REFRESH_ROTATION`): [`JwtManager::login`] starts
//! one, [`RotatedRefreshToken`] hands a refresh route the token that replaced the one presented,
//! and the manager lists and ends a user's sessions.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use poem::{FromRequest, Request, RequestBody};
use serde_json::Value;

use super::manager::JwtManager;
use super::request_jwt::{checked, Checked};
use crate::operations::mint::{to_object, SessionClaim, TokenBuilder};
use crate::operations::rotation::Rotated;
use crate::revocation::{user_key, SessionInfo};
use crate::vocabulary::{JsonObject, JwtError, TokenType};

/// The refresh token that replaced the one presented on this refresh route
/// (`JWT_REFRESH_ROTATION`): return it to the client (a cookie client gets it as a cookie
/// already). The access tokens the handler mints with its [`JwtManager`] argument belong to the
/// same session without being told.
///
/// It exists only where a rotation happened: taking it on a route that did not rotate is a
/// server misconfiguration, answered 500 and logged (at ERROR) with the fix, never an empty
/// token: rotation is off (`JWT_REFRESH_ROTATION`), or the route is not a refresh route
/// (`#[jwt_required(refresh)]`), or the token presented was another issuer's. On an `optional`
/// refresh route, take `Option<RotatedRefreshToken>`.
///
/// ```
/// use jwt_runtime::{jwt_required, Identity, JwtManager, RotatedRefreshToken};
/// use poem::{handler, web::Json};
/// use serde_json::{json, Value};
///
/// #[jwt_required(refresh)]
/// #[handler]
/// async fn refresh(identity: Identity, rotated: RotatedRefreshToken, jwt: JwtManager) -> poem::Result<Json<Value>> {
///     let access = jwt.create_access_token(identity.value()).await?; // joins rotated.session()
///     Ok(Json(json!({"access_token": access, "refresh_token": rotated.token()})))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedRefreshToken {
    token: String,
    session: String,
}

impl RotatedRefreshToken {
    /// The new refresh token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Its session id (the `fam` claim it shares with the access tokens minted on this request).
    pub fn session(&self) -> &str {
        &self.session
    }
}

impl<'a> FromRequest<'a> for RotatedRefreshToken {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        if let Some(rotated) = req.extensions().get::<Rotated>() {
            return Ok(RotatedRefreshToken {
                token: rotated.refresh_token.clone(),
                session: rotated.session.clone(),
            });
        }
        let manager = JwtManager::of_request(req)?;
        let engine = manager.engine();
        let error = if !engine.config.refresh_rotation {
            rotation_off("RotatedRefreshToken")
        } else if matches!(checked(req), Checked::Anonymous { .. }) {
            JwtError::NoAuthorization("Missing refresh token".into())
        } else {
            JwtError::Misconfigured(
                "RotatedRefreshToken is only set on a refresh route (#[jwt_required(refresh)]) \
                 that rotated one of this application's refresh tokens: this request rotated none"
                    .into(),
            )
        };
        Err(engine.refuse(req, &error, None))
    }
}

/// What using the session API without rotation answers: a 500 that names the fix (logged by
/// whoever answers it).
fn rotation_off(what: &str) -> JwtError {
    JwtError::Misconfigured(
        format!(
            "{what} needs refresh-token rotation: set JWT_REFRESH_ROTATION=true \
             (JwtConfig::refresh_rotation)"
        )
        .into(),
    )
}

/// The tokens of a new session, made by [`JwtManager::login`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), jwt_runtime::JwtError> {
/// # let mut config = jwt_runtime::JwtConfig::default().with_secret("k".repeat(32));
/// # config.refresh_rotation = true;
/// # let jwt = jwt_runtime::JwtManager::new(config).unwrap();
/// let tokens = jwt.login("alice").await?;
/// let claims = jwt.decode_token(&tokens.refresh_token)?;
/// assert_eq!(jwt_runtime::session_of(&claims), Some(tokens.session.as_str()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTokens {
    /// An access token of the session (refused once it ends).
    pub access_token: String,
    /// Its first refresh token.
    pub refresh_token: String,
    /// The session id: the `fam` claim of both tokens.
    pub session: String,
}

/// A login being made; `.await` it to get the [`SessionTokens`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), jwt_runtime::JwtError> {
/// # let mut config = jwt_runtime::JwtConfig::default().with_secret("k".repeat(32));
/// # config.refresh_rotation = true;
/// # let jwt = jwt_runtime::JwtManager::new(config).unwrap();
/// let tokens = jwt.login("alice").label("Firefox on a laptop").fresh(true).await?;
/// assert_eq!(jwt.decode_token(&tokens.access_token)?["fresh"], true);
/// # Ok(()) }
/// ```
#[must_use = "a login does nothing until it is awaited"]
#[derive(Debug)]
pub struct Login {
    manager: JwtManager,
    identity: Result<Value, JwtError>,
    label: Option<String>,
    fresh: bool,
    claims: Result<JsonObject, JwtError>,
    /// The DPoP key both tokens are bound to.
    bound_to: Option<String>,
}

impl Login {
    /// A label shown in the session list (a device name, a user agent), kept to 200 characters.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into().chars().take(200).collect());
        self
    }

    /// Whether the access token is fresh (a login with a password usually is).
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }

    /// Claims the handler already has (read with the user it just checked: a role, a tenant),
    /// for both tokens of this login: what the handler read need not be read again by a loader
    /// (a loader that looks the user up still runs, once per token). They combine with
    /// the additional-claims loader as [`TokenBuilder::additional_claims`] does (and the
    /// reference's `additional_claims` argument): the loader still runs, and these go over its
    /// claims where both set one. They belong to this login's tokens only: tokens minted later
    /// (an access token on a refresh route, a rotated refresh token) get the loader's claims, so
    /// claims that must last belong in the loader. Must serialize to a JSON object.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use serde_json::json;
    /// let mut config = jwt_runtime::JwtConfig::default().with_secret("k".repeat(32));
    /// config.refresh_rotation = true;
    /// let jwt = jwt_runtime::JwtManager::builder(config)
    ///     .additional_claims(async |_identity| json!({"tenant": "acme", "role": "reader"}))
    ///     .build()?;
    /// // The handler checked the password and read the user's role on the way.
    /// let tokens = jwt.login("ann").claims(json!({"role": "editor"})).await?;
    /// let access = jwt.decode_token(&tokens.access_token)?;
    /// assert_eq!((access["tenant"].as_str(), access["role"].as_str()), (Some("acme"), Some("editor")));
    /// assert_eq!(jwt.decode_token(&tokens.refresh_token)?["role"], "editor");
    /// # Ok(()) }
    /// ```
    pub fn claims(mut self, claims: impl serde::Serialize) -> Self {
        self.claims = to_object(claims, "login claims");
        self
    }

    /// Binds both tokens to the key of the request's verified DPoP proof (RFC 9449): they get
    /// `"cnf": {"jkt": ...}` and are accepted only as `Authorization: DPoP` with a proof by that
    /// key; the refresh token's rotations stay bound to it.
    ///
    /// ```no_run
    /// use jwt_runtime::{DpopProof, JwtManager};
    /// # async fn demo(jwt: JwtManager, proof: DpopProof) -> Result<(), jwt_runtime::JwtError> {
    /// let tokens = jwt.login("alice").bind(&proof).await?;
    /// assert_eq!(jwt.decode_token(&tokens.refresh_token)?["cnf"]["jkt"], proof.thumbprint());
    /// # Ok(()) }
    /// ```
    pub fn bind(mut self, proof: &crate::DpopProof) -> Self {
        self.bound_to = Some(proof.thumbprint().to_string());
        self
    }

    async fn run(self) -> Result<SessionTokens, JwtError> {
        self.manager.rotation_on("JwtManager::login")?;
        let identity = self.identity?;
        let claims = self.claims?;
        let session = uuid::Uuid::new_v4().to_string();
        let engine = self.manager.engine();
        let bind = |builder: TokenBuilder| match &self.bound_to {
            Some(jkt) => builder.bind_thumbprint(jkt.clone()),
            None => builder,
        };
        let refresh_token = bind(TokenBuilder::new(
            engine.clone(),
            TokenType::Refresh,
            &identity,
        ))
        .session_claim(SessionClaim::Start {
            id: session.clone(),
            label: self.label,
        })
        .additional_claims(&claims)
        .await?;
        let access_token = bind(TokenBuilder::new(
            engine.clone(),
            TokenType::Access,
            &identity,
        ))
        .fresh(self.fresh)
        .session(session.clone())
        .additional_claims(claims)
        .await?;
        Ok(SessionTokens {
            access_token,
            refresh_token,
            session,
        })
    }
}

impl IntoFuture for Login {
    type Output = Result<SessionTokens, JwtError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

fn store_failed(e: crate::revocation::BlocklistError) -> JwtError {
    tracing::error!(target: "jwt_runtime", reason = %e, "session store failed");
    JwtError::RevocationUnavailable
}

impl JwtManager {
    /// `Ok` under `JWT_REFRESH_ROTATION`; otherwise the error naming the fix, logged here (the
    /// caller's `?` answers it as a plain 500).
    fn rotation_on(&self, what: &str) -> Result<(), JwtError> {
        if self.engine().config.refresh_rotation {
            return Ok(());
        }
        let error = rotation_off(what);
        tracing::error!(target: "jwt_runtime", reason = error.message(), "session API used without rotation");
        Err(error)
    }

    /// Starts a session for `identity` (a login under `JWT_REFRESH_ROTATION`): an access and a
    /// refresh token sharing its id.
    ///
    /// Awaiting it without rotation is an error (500 [`JwtError::Misconfigured`], logged, naming
    /// `JWT_REFRESH_ROTATION`): the session would exist nowhere.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), jwt_runtime::JwtError> {
    /// use jwt_runtime::{JwtConfig, JwtManager};
    /// let mut config = JwtConfig::default().with_secret("k".repeat(32));
    /// config.refresh_rotation = true;
    /// let jwt = JwtManager::new(config).unwrap();
    /// let login = jwt.login("alice").label("phone").await?;
    /// let sessions = jwt.sessions(&"alice".into()).await?;
    /// assert_eq!(sessions[0].session, login.session);
    /// assert_eq!(sessions[0].label.as_deref(), Some("phone"));
    /// # Ok(()) }
    /// ```
    pub fn login(&self, identity: impl serde::Serialize) -> Login {
        Login {
            manager: self.clone(),
            identity: serde_json::to_value(identity).map_err(|e| {
                JwtError::TokenCreation(format!("identity cannot be serialized: {e}").into())
            }),
            label: None,
            fresh: false,
            claims: Ok(JsonObject::new()),
            bound_to: None,
        }
    }

    /// The live sessions of `identity` (as its tokens' identity claim), oldest first.
    /// See [`login`](Self::login) for an example.
    ///
    /// # Errors
    /// 500 when rotation is off; 503 when the store failed.
    pub async fn sessions(&self, identity: &Value) -> Result<Vec<SessionInfo>, JwtError> {
        self.rotation_on("JwtManager::sessions")?;
        self.engine()
            .store
            .sessions(&user_key(identity))
            .await
            .map_err(store_failed)
    }

    /// Ends one session of `identity`: its tokens are refused from now on. `false` when
    /// `identity` has no such live session.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), jwt_runtime::JwtError> {
    /// # let mut config = jwt_runtime::JwtConfig::default().with_secret("k".repeat(32));
    /// # config.refresh_rotation = true;
    /// # let jwt = jwt_runtime::JwtManager::new(config).unwrap();
    /// let login = jwt.login("alice").await?;
    /// assert!(!jwt.end_session(&"bob".into(), &login.session).await?);
    /// assert!(jwt.end_session(&"alice".into(), &login.session).await?);
    /// assert!(jwt.sessions(&"alice".into()).await?.is_empty());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// 500 when rotation is off; 503 when the store failed.
    pub async fn end_session(&self, identity: &Value, session: &str) -> Result<bool, JwtError> {
        self.rotation_on("JwtManager::end_session")?;
        let ended = self
            .engine()
            .store
            .end_session(&user_key(identity), session)
            .await
            .map_err(store_failed)?;
        if ended {
            tracing::info!(target: "jwt_runtime", session, "session ended");
        }
        Ok(ended)
    }

    /// "Log out other devices": ends every session of `identity` but `current`; how many ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), jwt_runtime::JwtError> {
    /// # let mut config = jwt_runtime::JwtConfig::default().with_secret("k".repeat(32));
    /// # config.refresh_rotation = true;
    /// # let jwt = jwt_runtime::JwtManager::new(config).unwrap();
    /// let (laptop, _phone) = (jwt.login("alice").await?, jwt.login("alice").await?);
    /// let alice = serde_json::json!("alice");
    /// assert_eq!(jwt.end_other_sessions(&alice, &laptop.session).await?, 1);
    /// assert_eq!(jwt.sessions(&alice).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// 500 when rotation is off; 503 when the store failed.
    pub async fn end_other_sessions(
        &self,
        identity: &Value,
        current: &str,
    ) -> Result<usize, JwtError> {
        let mut ended = 0;
        for session in self.sessions(identity).await? {
            if session.session != current && self.end_session(identity, &session.session).await? {
                ended += 1;
            }
        }
        Ok(ended)
    }
}

/// The session id of a verified token's claims (its `fam` claim), if any.
///
/// ```
/// let claims = serde_json::json!({"fam": "s1"});
/// assert_eq!(jwt_runtime::session_of(claims.as_object().unwrap()), Some("s1"));
/// ```
pub fn session_of(claims: &crate::JsonObject) -> Option<&str> {
    claims
        .get(crate::operations::mint::SESSION_CLAIM)
        .and_then(Value::as_str)
}
