//! The protection every protected request runs through, a macro-wrapped handler's and a route
//! group's alike ([`run_protected`]): OPTIONS answered, the pipeline, the policy, user loading,
//! rotation, the handler, then the implicit refresh or the rotated cookies.

use std::future::Future;
use std::sync::Arc;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};

use super::manager::JwtManager;
use super::policy::JwtPolicy;
use super::request_jwt::{self, Checked};
use crate::engine::dpop::DPOP_NONCE_HEADER;
use crate::engine::preflight_response;
use crate::operations::cookies::refresh_if_expiring;
use crate::operations::dpop::PipelineProof;
use crate::operations::pipeline::{self, is_preflight, VerifyOptions};
use crate::operations::rotation::{rotate, set_rotated_cookies};
use crate::vocabulary::{BoxFuture, VerifiedJwt};

/// Loads one user type into the request (step 7), for a `CurrentUser<U>` parameter.
pub type UserLoaderFn = for<'a> fn(
    &'a JwtManager,
    &'a Arc<VerifiedJwt>,
    &'a mut Request,
) -> BoxFuture<'a, poem::Result<()>>;

/// The protection of a macro-wrapped handler and of a route group: answer OPTIONS (unless
/// optional), verify, apply the policy, load users, call the inner endpoint, then the implicit
/// refresh.
///
/// A future that owns the request in place (an `async move` block, not an `async fn`, which
/// would keep a second copy of it), so the future every protected request moves is smaller.
#[allow(clippy::manual_async_fn)] // on purpose: see above
pub(crate) fn run_protected<'a, E: Endpoint, P: JwtPolicy>(
    options: &'a VerifyOptions,
    policy: &'a P,
    users: &'a [UserLoaderFn],
    inner: &'a E,
    mut req: Request,
) -> impl Future<Output = poem::Result<Response>> + 'a {
    async move {
        if is_preflight(&req, options) {
            return Ok(preflight_response());
        }
        let manager = JwtManager::of_request(&req)?;
        let engine = manager.engine();
        // A repeated token usually settles without waiting (no pipeline future is built).
        let token = match pipeline::verify_now(engine, &req, options) {
            Ok(settled) => settled?,
            Err(resume) => pipeline::verify_from(engine, &mut req, options, resume).await?,
        };
        if let Some(token) = &token {
            request_jwt::record(&mut req, &manager, Checked::Verified(token.clone()));
            if let Err(error) = policy.check(token, &req).await {
                return Err(engine.refuse(&req, &error, Some(token)));
            }
            for load in users {
                load(&manager, token, &mut req).await?;
            }
        }
        // Rotation last: a refusal above never retires the refresh token.
        let rotated = match &token {
            Some(token) if options.is_refresh() => {
                match rotate(engine, token, !options.skips_revocation_check()).await {
                    Ok(rotated) => rotated,
                    Err(error) => return Err(engine.refuse(&req, &error, Some(token))),
                }
            }
            _ => None,
        };
        if let Some(rotated) = &rotated {
            req.extensions_mut().insert(rotated.clone());
        }
        // What `Guarded<T>` checks: a handler reached without a recorded decision answers 500
        // instead of running.
        if token.is_none() {
            let optional = options.is_optional();
            request_jwt::record(&mut req, &manager, Checked::Anonymous { optional });
        }
        // A DPoP client whose nonce nears its end gets the next one with this response.
        let renewed_nonce = req
            .extensions()
            .get::<PipelineProof>()
            .and_then(|PipelineProof(proof)| {
                engine.settings.dpop.renewed_nonce(proof, engine.now())
            })
            .and_then(|nonce| HeaderValue::from_str(&nonce).ok());
        let mut resp = inner.call(req).await?.into_response();
        if let Some(nonce) = renewed_nonce
            && !resp.headers().contains_key(DPOP_NONCE_HEADER)
        {
            resp.headers_mut().insert(DPOP_NONCE_HEADER, nonce);
        }
        if let Some(token) = &token {
            match &rotated {
                Some(rotated) => set_rotated_cookies(engine, token, rotated, &mut resp),
                None => refresh_if_expiring(engine, token, &mut resp).await,
            }
        }
        Ok(resp)
    }
}
