//! [`verify_jwt_in_request`]: the pipeline for hand-written middleware and policies.

use std::sync::Arc;

use poem::Request;

use super::manager::JwtManager;
use super::request_jwt::{self, Checked};
use crate::engine::preflight_response;
use crate::operations::pipeline::{self, is_preflight, VerifyOptions};
use crate::operations::rotation::rotate;
use crate::vocabulary::VerifiedJwt;

/// The reference's `verify_jwt_in_request`: runs the pipeline under `options`, stores the verified
/// token in the request for the extractors, and returns it. `Ok(None)` only on an `optional`
/// route without a token.
///
/// An OPTIONS request (a CORS preflight) on a required route is answered here: the error is an
/// empty `204 No Content`, so `?` returns it and whatever comes after never runs without a
/// verified token. (The reference lets OPTIONS through unauthenticated because Flask answers it
/// before the view; a Poem endpoint receives it.) Poem's `Cors` middleware, when installed above,
/// answers real preflights before they get here.
///
/// This is the building block for custom policies:
///
/// ```
/// use jwt_runtime::{verify_jwt_in_request, JwtManager, VerifyOptions};
/// use poem::{Endpoint, EndpointExt, IntoResponse, Request, http::StatusCode};
///
/// async fn editors_only<E: Endpoint>(next: E, mut req: Request) -> poem::Result<poem::Response> {
///     // `?` answers a refusal, and an OPTIONS preflight with 204, without calling `next`.
///     let token = verify_jwt_in_request(&mut req, &VerifyOptions::new()).await?;
///     let role = token.as_ref().and_then(|t| t.claims().get("role")).and_then(|r| r.as_str());
///     if role != Some("editor") {
///         return Err(poem::Error::from_status(StatusCode::FORBIDDEN));
///     }
///     Ok(next.call(req).await?.into_response())
/// }
/// ```
///
/// With `JWT_REFRESH_ROTATION` on, a refresh token verified here under
/// [`VerifyOptions::refresh`] is rotated, as on a `#[jwt_required(refresh)]` route: the handler
/// reads its replacement with [`RotatedRefreshToken`](crate::RotatedRefreshToken) and returns it
/// (a cookie client's cookie is not set here, the response is not seen: set it with
/// `set_refresh_cookies`). A retired refresh token is refused under any other options.
///
/// # Errors
/// The reference's response for the first check that fails, shaped by the manager's config;
/// `204 No Content` for OPTIONS on a required route.
pub async fn verify_jwt_in_request(
    req: &mut Request,
    options: &VerifyOptions,
) -> poem::Result<Option<Arc<VerifiedJwt>>> {
    if is_preflight(req, options) {
        return Err(poem::Error::from_response(preflight_response()));
    }
    let manager = JwtManager::of_request(req)?;
    let token = pipeline::verify(manager.engine(), req, options).await?;
    if let Some(token) = &token {
        if options.is_refresh() {
            let engine = manager.engine();
            match rotate(engine, token, !options.skips_revocation_check()).await {
                Ok(Some(rotated)) => {
                    req.extensions_mut().insert(rotated);
                }
                Ok(None) => {}
                Err(error) => return Err(engine.refuse(req, &error, Some(token))),
            }
        }
        request_jwt::record(req, &manager, Checked::Verified(token.clone()));
    }
    Ok(token)
}
