//! Step 5 for the tokens of a rotated session (`JWT_REFRESH_ROTATION`): which session a token
//! belongs to ([`membership`]), and whether it may pass ([`check_session`]). An access token of
//! a session is refused once the session ended; a refresh token must also stand in it by the
//! rules of rotation ([`Standing`]): where it is not rotated, a retired one is refused, and one
//! that is a reuse ends the session. On a refresh route the rotation itself applies the rules,
//! atomically, after the policies ran.

use std::borrow::Cow;

use serde_json::Value;

use super::mint::SESSION_CLAIM;
use crate::engine::Engine;
use crate::revocation::{adopted_session, BlocklistError, RefreshCheck, Standing};
use crate::vocabulary::{JwtError, TokenType, VerifiedJwt};

/// The session a token belongs to, under `JWT_REFRESH_ROTATION`.
pub(crate) enum Membership<'a> {
    /// A token of the session that is not one of its refresh tokens (an access token, a foreign
    /// token): refused once the session ended.
    Token(&'a str),
    /// A refresh token of this app: current in its session, retired, or reused.
    Refresh {
        /// Its `fam` claim, or [`adopted_session`] for a token minted before rotation was on.
        session: Cow<'a, str>,
        jti: &'a str,
        /// Minted before rotation was on: an unknown session means it was never used.
        adopt: bool,
    },
}

/// Which session `token` belongs to; `None` when rotation is off or it belongs to none.
pub(crate) fn membership<'a>(engine: &Engine, token: &'a VerifiedJwt) -> Option<Membership<'a>> {
    if !engine.config.refresh_rotation {
        return None;
    }
    let fam = token.claims().get(SESSION_CLAIM).and_then(Value::as_str);
    let own_refresh =
        token.token_type() == TokenType::Refresh.as_str() && !engine.is_foreign(token);
    match (own_refresh, token.jti(), fam) {
        (true, Some(jti), Some(session)) => Some(Membership::Refresh {
            session: Cow::Borrowed(session),
            jti,
            adopt: false,
        }),
        (true, Some(jti), None) => Some(Membership::Refresh {
            session: Cow::Owned(adopted_session(jti)),
            jti,
            adopt: true,
        }),
        (_, _, fam) => fam.map(Membership::Token),
    }
}

/// What the session part of step 5 needs to know about a token.
enum SessionQuestion<'a> {
    /// Nothing: rotation is off, the token belongs to no session, or its rotation decides.
    Nothing,
    /// Whether its session is live.
    Live(Cow<'a, str>),
    /// How the refresh token stands in its session (applied atomically by the store).
    Standing(RefreshCheck),
}

/// What step 5 asks about `token`'s session. `rotates`: the route exchanges this refresh token
/// (its rotation decides, atomically, whether a retired one gets its replacement); elsewhere a
/// retired refresh token is refused and a reused one ends its session.
fn question<'a>(engine: &Engine, token: &'a VerifiedJwt, rotates: bool) -> SessionQuestion<'a> {
    match membership(engine, token) {
        None => SessionQuestion::Nothing,
        Some(Membership::Token(session)) => SessionQuestion::Live(Cow::Borrowed(session)),
        Some(Membership::Refresh { adopt: true, .. }) if rotates => SessionQuestion::Nothing,
        Some(Membership::Refresh { session, .. }) if rotates => SessionQuestion::Live(session),
        Some(Membership::Refresh {
            session,
            jti,
            adopt,
        }) => SessionQuestion::Standing(RefreshCheck {
            session: session.into_owned(),
            user: token.parts().store_info().user.clone(),
            jti: jti.to_string(),
            now: engine.now().floor() as i64,
            grace: engine.config.refresh_rotation_grace,
            adopt,
        }),
    }
}

/// The session part of step 5, from what the store has at hand
/// ([`session_is_live_now`](crate::stores::Blocklist::session_is_live_now)): `None` when it has
/// to be asked ([`check_session`]).
pub(crate) fn check_session_now(
    engine: &Engine,
    token: &VerifiedJwt,
    rotates: bool,
) -> Option<Result<(), JwtError>> {
    match question(engine, token, rotates) {
        SessionQuestion::Nothing => Some(Ok(())),
        SessionQuestion::Live(session) => engine.store.session_is_live_now(&session).map(live),
        SessionQuestion::Standing(_) => None,
    }
}

/// The session part of step 5, asking the store.
pub(crate) async fn check_session(
    engine: &Engine,
    token: &VerifiedJwt,
    rotates: bool,
) -> Result<(), JwtError> {
    match question(engine, token, rotates) {
        SessionQuestion::Nothing => Ok(()),
        SessionQuestion::Live(session) => live(engine.store.session_is_live(&session).await),
        SessionQuestion::Standing(check) => match engine
            .store
            .check_refresh(&check)
            .await
            .map_err(unavailable)?
        {
            Standing::Current => Ok(()),
            Standing::Retired | Standing::Ended => Err(JwtError::Revoked),
            Standing::Reused => Err(reused(&check.session)),
        },
    }
}

/// Whether the store's answer about a session's liveness lets its token through; a store
/// error refuses (fail closed). The one verdict for an answer at hand and an awaited one.
fn live(answer: Result<bool, BlocklistError>) -> Result<(), JwtError> {
    match answer {
        Ok(true) => Ok(()),
        Ok(false) => Err(JwtError::Revoked),
        Err(e) => Err(unavailable(e)),
    }
}

/// A reuse detected (by a check or a rotation): logged, the session already ended by the store.
pub(crate) fn reused(session: &str) -> JwtError {
    tracing::warn!(target: "jwt_runtime", session, "a retired refresh token was presented again; its session is ended");
    JwtError::RefreshReused
}

/// A store that failed answering about a session: refused (fail closed), logged.
pub(crate) fn unavailable(e: BlocklistError) -> JwtError {
    tracing::error!(target: "jwt_runtime", reason = %e, "revocation store unavailable; refusing (fail closed)");
    JwtError::RevocationUnavailable
}
