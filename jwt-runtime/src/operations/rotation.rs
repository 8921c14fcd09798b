//! Refresh-token rotation with reuse detection (`JWT_REFRESH_ROTATION`): on a refresh route, the
//! refresh token presented is exchanged for a new one of the same session before the handler
//! runs. The store answers which `jti` to mint (see
//! [`Family`](crate::revocation::Family) for the rules): a new one, or, for the token the
//! last rotation retired, the replacement it already has (a retry, a concurrent use); a token
//! that is a reuse ends its session.

use std::sync::Arc;

use poem::Response;
use serde_json::Value;

use super::cookies::{sets_cookie, CookieOptions, Cookies};
use super::mint::{reissue, SessionClaim, SESSION_CLAIM};
use super::pipeline::check_not_revoked;
use super::session_check::{reused, unavailable};
use crate::engine::Engine;
use crate::revocation::{adopted_session, Rotation, RotationStep};
use crate::vocabulary::{JwtError, Location, TokenType, VerifiedJwt};

/// The refresh token that replaced the one presented on this request, with its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rotated {
    pub(crate) refresh_token: String,
    pub(crate) session: String,
}

/// Exchanges the refresh token `token` (verified on this request) for a new one of its session.
/// `None`: nothing to rotate (rotation off, not a refresh token, a token issued elsewhere).
///
/// The token passes the revocation check here too when the route skipped it, so nothing is
/// re-issued from a revoked token. A token from before rotation was turned on (no session) is
/// adopted: the store starts the session [`adopted_session`] of its `jti` and rotates it in one
/// atomic step, so concurrent first uses share one session and one replacement.
pub(crate) async fn rotate(
    engine: &Arc<Engine>,
    token: &VerifiedJwt,
    revocation_checked: bool,
) -> Result<Option<Rotated>, JwtError> {
    if !engine.config.refresh_rotation
        || token.token_type() != TokenType::Refresh.as_str()
        || engine.is_foreign(token)
    {
        return Ok(None);
    }
    if !revocation_checked {
        check_not_revoked(engine, token, true).await?;
    }
    let used = token
        .jti()
        .ok_or_else(|| JwtError::invalid("Missing claim: jti"))?
        .to_string();
    let builder = reissue(engine, token, TokenType::Refresh);
    let (session, adopt) = match token.claims().get(SESSION_CLAIM).and_then(Value::as_str) {
        Some(session) => (session.to_string(), false),
        // Issued before rotation was on: the store adopts it into a session of its own.
        None => (adopted_session(&used), true),
    };
    let config = &engine.config;
    let now = engine.now().floor() as i64;
    let retain_until = config.refresh_token_expires.as_seconds().map(|secs| {
        now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
            .saturating_add(i64::try_from(config.decode_leeway).unwrap_or(i64::MAX))
    });
    let step = RotationStep {
        session,
        user: token.parts().store_info().user.clone(),
        used,
        new: uuid::Uuid::new_v4().to_string(),
        now,
        grace: config.refresh_rotation_grace,
        retain_until,
        adopt,
    };
    let outcome = engine.store.rotate(&step).await.map_err(unavailable)?;
    tracing::debug!(target: "jwt_runtime", session = step.session, outcome = outcome.as_str(), "refresh token rotation");
    // The replacement is minted once the store said which: a failure from here on (or a lost
    // response) leaves it undelivered, and the retired token is exchanged for it again.
    let jti = match outcome {
        Rotation::Rotated => step.new,
        Rotation::Shared(jti) => jti,
        Rotation::Reused => return Err(reused(&step.session)),
        Rotation::Ended => return Err(JwtError::Revoked),
    };
    let refresh_token = builder
        .session_claim(SessionClaim::Join(step.session.clone()))
        .jti(jti)
        .await?;
    Ok(Some(Rotated {
        refresh_token,
        session: step.session,
    }))
}

/// Sets the rotated refresh token's cookies (and its CSRF cookie) on the response when the used
/// token came from a cookie, unless the response sets or clears the refresh cookie itself.
pub(crate) fn set_rotated_cookies(
    engine: &Engine,
    token: &VerifiedJwt,
    rotated: &Rotated,
    resp: &mut Response,
) {
    if token.location() != Location::Cookies
        || sets_cookie(resp, &engine.settings.names(TokenType::Refresh).cookie)
    {
        return;
    }
    if let Err(e) = Cookies(engine).set_cookies(
        resp,
        &rotated.refresh_token,
        &CookieOptions::default(),
        TokenType::Refresh,
    ) {
        tracing::warn!(target: "jwt_runtime", reason = e.message(), "the rotated refresh cookie could not be set");
    }
}
