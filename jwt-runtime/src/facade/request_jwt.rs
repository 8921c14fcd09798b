//! The [`JwtManager`] middleware, and the one slot this crate keeps in a request's extensions:
//! the manager serving the request, and what the protection in front of the handler decided (the
//! token the pipeline verified, or that an optional route let the request through anonymously).
//!
//! The middleware inserts the slot once per request; the protection fills it in place. So an
//! authenticated request costs no allocation and no insertion into poem's extensions map beyond
//! the manager's own, and the extractors find the manager and the token with one lookup.
//!
//! Only this crate can write the slot (its type is private): a token read from it was verified
//! by the pipeline on this request.

use std::sync::Arc;

use poem::{Endpoint, FromRequest, Middleware, Request, RequestBody};

use super::manager::JwtManager;
use crate::engine::dpop::{RequestPath, DPOP_HEADER};
use crate::engine::{refuse_without_engine, Engine};
use crate::operations::rotation::Rotated;
use crate::vocabulary::{JwtError, VerifiedJwt};

impl JwtManager {
    /// The manager a request was routed through (installed by `.with(manager)`). On a refresh
    /// request that rotated, it belongs to the request's session: the access tokens it mints
    /// join it (see [`create_access_token`](Self::create_access_token)).
    ///
    /// # Errors
    /// [`JwtError::Misconfigured`] when the route tree was not wrapped with the manager.
    pub fn from_request_extensions(req: &Request) -> Result<JwtManager, JwtError> {
        let manager = manager(req).ok_or_else(|| {
            tracing::error!(target: "jwt_runtime", "a protected route was reached without the JwtManager middleware");
            JwtError::Misconfigured(
                "JwtManager is not installed: add `.with(jwt_manager)` to the route tree".into(),
            )
        })?;
        if !manager.config().refresh_rotation {
            return Ok(manager);
        }
        Ok(match req.extensions().get::<Rotated>() {
            Some(rotated) => manager.joining(rotated.session.as_str().into()),
            None => manager,
        })
    }

    /// The manager of `req`, or the refusal to answer with.
    pub(crate) fn of_request(req: &Request) -> poem::Result<JwtManager> {
        Self::from_request_extensions(req).map_err(|e| refuse_without_engine(req, &e))
    }
}

/// Handlers take the manager as an argument to create tokens; on a refresh request that
/// rotated, it belongs to that request's session ([`JwtManager::from_request_extensions`]).
impl<'a> FromRequest<'a> for JwtManager {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        Self::of_request(req)
    }
}

impl<E: Endpoint> Middleware<E> for JwtManager {
    type Output = JwtManagerEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        JwtManagerEndpoint {
            manager: self.clone(),
            inner: ep,
        }
    }
}

/// The endpoint [`JwtManager`] wraps routes in: it makes the manager reachable from every request.
#[derive(Debug)]
pub struct JwtManagerEndpoint<E> {
    manager: JwtManager,
    inner: E,
}

impl<E: Endpoint> Endpoint for JwtManagerEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        install(&mut req, &self.manager);
        self.inner.call(req).await
    }
}

/// The slot. It holds the manager's engine, not a [`JwtManager`]: the extractors make the manager
/// (bound to the request's session when it rotated), and the slot stays as small as the
/// allocation every request makes for it.
#[derive(Debug, Clone)]
struct RequestJwt {
    engine: Arc<Engine>,
    checked: Checked,
}

/// What the protection of a route decided about a request.
#[derive(Debug, Clone)]
pub(crate) enum Checked {
    /// No protection ran (an unprotected route, or the protection has not run yet).
    Unchecked,
    /// The pipeline verified this token.
    Verified(Arc<VerifiedJwt>),
    /// A protection let the request through without a token (`optional`: the route allows that).
    Anonymous { optional: bool },
}

/// The middleware's step: `manager` serves this request. A decision already recorded (by a
/// protection above a nested manager) is kept.
pub(crate) fn install(req: &mut Request, manager: &JwtManager) {
    // The path a DPoP proof names, before nested routes strip their prefixes (poem's
    // `original_uri` holds it for requests a server read; this is for the others).
    if req.headers().contains_key(DPOP_HEADER) && req.extensions().get::<RequestPath>().is_none() {
        let path = RequestPath(req.uri().path().to_string());
        req.extensions_mut().insert(path);
    }
    let slot = RequestJwt {
        engine: manager.engine().clone(),
        checked: Checked::Unchecked,
    };
    if let Some(outer) = req.extensions_mut().insert(slot)
        && !matches!(outer.checked, Checked::Unchecked)
    {
        record(req, manager, outer.checked);
    }
}

/// The manager serving this request: the middleware's, or one installed as plain data
/// (`.data(manager)`).
pub(crate) fn manager(req: &Request) -> Option<JwtManager> {
    match req.extensions().get::<RequestJwt>() {
        Some(slot) => Some(JwtManager::from_engine(slot.engine.clone())),
        None => req.extensions().get::<JwtManager>().cloned(),
    }
}

/// Records the protection's decision (`manager` made it; the slot is created when the manager
/// was installed without the middleware).
pub(crate) fn record(req: &mut Request, manager: &JwtManager, checked: Checked) {
    match req.extensions_mut().get_mut::<RequestJwt>() {
        Some(slot) => slot.checked = checked,
        None => {
            req.extensions_mut().insert(RequestJwt {
                engine: manager.engine().clone(),
                checked,
            });
        }
    }
}

/// What the protection decided about this request ([`Checked::Unchecked`] when none ran).
pub(crate) fn checked(req: &Request) -> &Checked {
    match req.extensions().get::<RequestJwt>() {
        Some(slot) => &slot.checked,
        None => &Checked::Unchecked,
    }
}

/// The token the pipeline verified on this request, if any.
pub(crate) fn verified_token(req: &Request) -> Option<&Arc<VerifiedJwt>> {
    match checked(req) {
        Checked::Verified(token) => Some(token),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JwtConfig;

    fn manager() -> JwtManager {
        JwtManager::new(JwtConfig::default().with_secret("k".repeat(32))).expect("manager")
    }

    async fn token(jwt: &JwtManager) -> Arc<VerifiedJwt> {
        let encoded = jwt.create_access_token("alice").await.expect("token");
        let verified = super::super::private::verify_as_the_pipeline(jwt, &encoded);
        Arc::new(verified.expect("verified"))
    }

    #[test]
    fn a_request_without_the_middleware_is_unchecked_and_has_no_manager() {
        let req = Request::default();
        assert!(super::manager(&req).is_none());
        assert!(matches!(checked(&req), Checked::Unchecked));
        assert!(verified_token(&req).is_none());
    }

    #[tokio::test]
    async fn the_recorded_token_is_what_the_extractors_read() {
        let jwt = manager();
        let mut req = Request::default();
        install(&mut req, &jwt);
        assert!(super::manager(&req).is_some());
        assert!(verified_token(&req).is_none());
        let verified = token(&jwt).await;
        record(&mut req, &jwt, Checked::Verified(verified.clone()));
        assert!(verified_token(&req).is_some_and(|t| Arc::ptr_eq(t, &verified)));
    }

    #[tokio::test]
    async fn a_nested_manager_keeps_the_decision_of_the_protection_above_it() {
        let (outer, inner) = (manager(), manager());
        let mut req = Request::default();
        install(&mut req, &outer);
        let verified = token(&outer).await;
        record(&mut req, &outer, Checked::Verified(verified.clone()));
        install(&mut req, &inner);
        assert!(verified_token(&req).is_some_and(|t| Arc::ptr_eq(t, &verified)));
        // An anonymous decision too.
        let mut req = Request::default();
        install(&mut req, &outer);
        record(&mut req, &outer, Checked::Anonymous { optional: true });
        install(&mut req, &inner);
        assert!(matches!(
            checked(&req),
            Checked::Anonymous { optional: true }
        ));
    }

    #[tokio::test]
    async fn a_manager_installed_as_data_still_serves_and_records() {
        let jwt = manager();
        let mut req = Request::default();
        req.extensions_mut().insert(jwt.clone());
        assert!(super::manager(&req).is_some());
        let verified = token(&jwt).await;
        record(&mut req, &jwt, Checked::Verified(verified.clone()));
        assert!(verified_token(&req).is_some_and(|t| Arc::ptr_eq(t, &verified)));
    }
}
