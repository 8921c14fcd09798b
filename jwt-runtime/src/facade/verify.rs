//! [`verify_jwt_in_request`]: the pipeline for hand-written middleware and policies; and
//! [`check_jwt_in_request`], the same pipeline for code that holds the request by reference
//! (poem-openapi's `#[derive(SecurityScheme)]` `checker`).

use std::sync::Arc;

use poem::Request;

use super::manager::JwtManager;
use super::policy::{JwtPolicy, NoPolicy};
use super::request_jwt::{self, Checked};
use crate::engine::preflight_response;
use crate::operations::pipeline::{self, is_preflight, VerifyOptions};
use crate::operations::rotation::rotate;
use crate::vocabulary::{JwtError, VerifiedJwt};

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

/// The pipeline of [`verify_jwt_in_request`] for a request held by reference: what a
/// poem-openapi `#[derive(SecurityScheme)]` with `checker = "..."` calls, so an existing security
/// scheme keeps its name in the document and gets this crate's checks and refusals.
///
/// It runs the same pipeline (locations, CSRF, signature, claims, token type, freshness, issuers,
/// scopes, revocation), under `options`, with the manager that `.with(jwt)` installed above the
/// service, and answers the reference's status and message for the first check that fails,
/// shaped by the manager's config and `on_error`. It returns the verified token.
///
/// ```
/// use std::sync::Arc;
/// use jwt_runtime::{check_jwt_in_request, JwtConfig, JwtManager, VerifiedJwt, VerifyOptions};
/// use poem::{http::StatusCode, test::TestClient, EndpointExt, Request, Route};
/// use poem_openapi::{auth::Bearer, payload::PlainText, OpenApi, OpenApiService, SecurityScheme};
///
/// /// The application's own scheme, as poem-openapi users write it.
/// #[derive(SecurityScheme)]
/// #[oai(ty = "bearer", bearer_format = "JWT", checker = "jwt_checker")]
/// struct JwtAuth(Arc<VerifiedJwt>);
///
/// // poem-openapi parsed the header into `Bearer`; the pipeline reads the request itself.
/// async fn jwt_checker(req: &Request, _: Bearer) -> poem::Result<Arc<VerifiedJwt>> {
///     check_jwt_in_request(req, &VerifyOptions::new()).await
/// }
///
/// struct Api;
///
/// #[OpenApi]
/// impl Api {
///     #[oai(path = "/me", method = "get")]
///     async fn me(&self, auth: JwtAuth) -> PlainText<String> {
///         PlainText(auth.0.identity().as_str().unwrap_or_default().to_string())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtManager::new(JwtConfig::default().with_secret("k".repeat(32)))?;
/// let api = OpenApiService::new(Api, "Demo", "1.0");
/// let cli = TestClient::new(Route::new().nest("/", api).with(jwt.clone()));
///
/// let token = jwt.create_access_token("ann").await?;
/// let resp = cli.get("/me").header("Authorization", format!("Bearer {token}")).send().await;
/// resp.assert_text("ann").await;
/// let refresh = jwt.create_refresh_token("ann").await?;
/// let resp = cli.get("/me").header("Authorization", format!("Bearer {refresh}")).send().await;
/// resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
/// resp.assert_json(serde_json::json!({"msg": "Only non-refresh tokens are allowed"})).await;
/// # Ok(())
/// # }
/// ```
///
/// What differs from a protected handler, because a checker holds the request by reference and
/// does not see the response:
/// - a token is always required (`optional` is ignored): poem-openapi calls a checker only when
///   its scheme found a credential, and answers a request without one itself (its own `401`,
///   not the reference's `Missing Authorization Header`);
/// - the body is not read: poem-openapi has taken it by then, so the `json` location finds no
///   token and a cookie's CSRF value must come in its header (`X-CSRF-TOKEN`), not a form field;
/// - nothing is recorded in the request (the operation takes the token from the scheme's value,
///   not `Identity` or `Jwt<C>`), there is no implicit cookie refresh and no `CurrentUser<U>`
///   loading (call the loader yourself);
/// - a refresh-token check (`VerifyOptions::new().refresh()`) with `JWT_REFRESH_ROTATION` on is
///   refused with a 500 and an ERROR log: the rotated token could not reach the response. Protect
///   refresh operations with `#[jwt_required(refresh)]` under `#[jwt_runtime::openapi]`.
///
/// For a policy too (a [`Roles`](crate::Roles) check, [`AdminRequired`](crate::AdminRequired),
/// your own), see [`check_jwt_in_request_with`].
///
/// # Errors
/// The reference's response for the first check that fails; a 500 when the manager is not
/// installed above the service, or for a refresh check under rotation.
pub async fn check_jwt_in_request(
    req: &Request,
    options: &VerifyOptions,
) -> poem::Result<Arc<VerifiedJwt>> {
    check_jwt_in_request_with(req, options, &NoPolicy).await
}

/// [`check_jwt_in_request`], then `policy` on the verified token, refused as a protected handler
/// refuses it (`403` with the policy's message for a [`Roles`](crate::Roles) check).
///
/// ```
/// use std::sync::Arc;
/// use jwt_runtime::{check_jwt_in_request_with, Roles, VerifiedJwt, VerifyOptions};
/// use poem::Request;
/// use poem_openapi::{auth::Bearer, SecurityScheme};
///
/// #[derive(SecurityScheme)]
/// #[oai(ty = "bearer", checker = "editor_checker")]
/// struct Editor(Arc<VerifiedJwt>);
///
/// // `#[jwt_required(fresh, roles = "editor")]`, as a checker.
/// async fn editor_checker(req: &Request, _: Bearer) -> poem::Result<Arc<VerifiedJwt>> {
///     const OPTIONS: VerifyOptions = VerifyOptions::new().fresh();
///     check_jwt_in_request_with(req, &OPTIONS, &Roles::any(["editor"])).await
/// }
/// ```
///
/// # Errors
/// As [`check_jwt_in_request`], and the policy's refusal.
pub async fn check_jwt_in_request_with<P: JwtPolicy>(
    req: &Request,
    options: &VerifyOptions,
    policy: &P,
) -> poem::Result<Arc<VerifiedJwt>> {
    let options = options.required();
    if is_preflight(req, &options) {
        return Err(poem::Error::from_response(preflight_response()));
    }
    let manager = JwtManager::of_request(req)?;
    let engine = manager.engine();
    if options.is_refresh() && manager.config().refresh_rotation {
        let error = JwtError::Misconfigured(
            "a refresh token checked by reference (check_jwt_in_request) cannot be rotated: \
             protect the refresh operation with #[jwt_required(refresh)]"
                .into(),
        );
        return Err(engine.refuse(req, &error, None));
    }
    // The pipeline takes the request mutably (it may read a body): it gets a copy of what it
    // reads, the method, URI, headers and extensions. The body is poem-openapi's by now.
    let mut copy = detached(req);
    match pipeline::verify(engine, &mut copy, &options).await? {
        Some(token) => match policy.check(&token, req).await {
            Ok(()) => Ok(token),
            Err(error) => Err(engine.refuse(req, &error, Some(&token))),
        },
        // Not reached: the options require a token, so the pipeline refuses its absence.
        None => {
            let error = JwtError::Misconfigured("the pipeline returned no required token".into());
            Err(engine.refuse(req, &error, None))
        }
    }
}

/// A body-less copy of `req`: its method, URI, version, headers and extensions.
fn detached(req: &Request) -> Request {
    let mut copy = Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone())
        .version(req.version())
        .finish();
    *copy.headers_mut() = req.headers().clone();
    *copy.extensions_mut() = req.extensions().clone();
    copy
}
