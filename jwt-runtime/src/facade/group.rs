//! Route groups: [`JwtRequired`], the middleware that protects a whole route tree with the
//! macros' options and policies, and [`Guarded<T>`], the extractor its handlers take.
//!
//! Both paths (a macro-wrapped handler, a group) run
//! [`run_protected`](super::protection::run_protected): the same pipeline, policy, user loading
//! and implicit refresh.

use std::future::Future;
use std::sync::Arc;

use poem::{Endpoint, FromRequest, Middleware, Request, RequestBody, Response};

use super::claims::JwtClaims;
use super::extract::{FromVerifiedJwt, Identity, Jwt, JwtHeader, TokenLocation};
use super::manager::JwtManager;
use super::policy::{JwtPolicy, NoPolicy};
use super::protection::run_protected;
use super::request_jwt::{self, Checked};
use super::user::{load_user, loaded, CurrentUser, UserLookup};
use crate::engine::refuse_without_engine;
use crate::operations::pipeline::VerifyOptions;
use crate::vocabulary::{JwtError, Location, VerifiedJwt};

/// Protects every route of a tree, the way `#[jwt_required(...)]` protects one handler: the same
/// options (built like [`VerifyOptions`]), the same [`JwtPolicy`] (a [`Roles`](crate::Roles)
/// check, [`AdminRequired`](crate::AdminRequired), your own), the same refusals, OPTIONS answered
/// `204` without running a handler (except on `optional` groups), the implicit cookie refresh.
///
/// Handlers under it read the token with [`Guarded<T>`]: `Guarded<Identity>`, `Guarded<Jwt<C>>`,
/// `Guarded<CurrentUser<U>>`, ... The [`JwtManager`] must wrap the tree above the group.
///
/// Over a poem-openapi `OpenApiService`, a group protects the operations but does not show in
/// the generated document (poem-openapi builds it from the API's types, without the route
/// tree's middleware): protect the impl with `#[jwt_runtime::openapi(jwt_required(...))]`
/// instead, which takes the same options and policies and documents them (feature `openapi`;
/// see "Route groups and the document" there).
///
/// ```
/// use jwt_runtime::{Guarded, Identity, JwtConfig, JwtManager, JwtRequired, Roles};
/// use poem::{get, handler, http::StatusCode, EndpointExt, Route};
///
/// #[handler]
/// async fn stats(Guarded(who): Guarded<Identity>) -> String {
///     format!("stats for {who}")
/// }
///
/// #[handler]
/// async fn health() -> &'static str { "ok" }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // `#[jwt_required(fresh, roles = "admin")]` for every route of the tree.
/// let admin = Route::new()
///     .at("/stats", get(stats))
///     .with(JwtRequired::new().fresh().policy(Roles::any(["admin"])));
/// let jwt = JwtManager::new(JwtConfig::default().with_secret("k".repeat(32)))?;
/// let app = Route::new()
///     .nest("/admin", admin)
///     .at("/health", get(health))   // not protected
///     .with(jwt.clone());
///
/// let cli = poem::test::TestClient::new(app);
/// cli.get("/health").send().await.assert_text("ok").await;
/// cli.get("/admin/stats").send().await.assert_status(StatusCode::UNAUTHORIZED);
/// let admin = serde_json::json!({"roles": ["admin"]});
/// let stale = jwt.create_access_token("ann").additional_claims(admin.clone()).await?;
/// let resp = cli.get("/admin/stats").header("Authorization", format!("Bearer {stale}")).send().await;
/// resp.assert_status(StatusCode::UNAUTHORIZED); // Fresh token required
/// let fresh = jwt.create_access_token("ann").fresh(true).additional_claims(admin).await?;
/// let resp = cli.get("/admin/stats").header("Authorization", format!("Bearer {fresh}")).send().await;
/// resp.assert_text("stats for ann").await;
/// let editor = jwt.create_access_token("eve").fresh(true).additional_claims(serde_json::json!({"roles": "editor"})).await?;
/// let resp = cli.get("/admin/stats").header("Authorization", format!("Bearer {editor}")).send().await;
/// resp.assert_status(StatusCode::FORBIDDEN); // One of these roles is required: admin
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct JwtRequired<P = NoPolicy> {
    options: VerifyOptions,
    policy: Arc<P>,
}

impl JwtRequired {
    /// A required access token from the configured locations (`#[jwt_required]`).
    pub fn new() -> Self {
        Self::with_options(VerifyOptions::new())
    }

    /// A group with these options (`VerifyOptions::new().fresh()` is `#[jwt_required(fresh)]`).
    pub fn with_options(options: VerifyOptions) -> Self {
        JwtRequired {
            options,
            policy: Arc::new(NoPolicy),
        }
    }
}

impl Default for JwtRequired {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> JwtRequired<P> {
    /// `optional`: a request without a token reaches the handlers anonymously (they take
    /// `Guarded<Option<..>>`); a bad token is still refused.
    pub fn optional(mut self) -> Self {
        self.options = self.options.optional();
        self
    }

    /// `fresh`: the token must be fresh.
    pub fn fresh(mut self) -> Self {
        self.options = self.options.fresh();
        self
    }

    /// `refresh`: only refresh tokens.
    pub fn refresh(mut self) -> Self {
        self.options = self.options.refresh();
        self
    }

    /// `verify_type = false` accepts both token types.
    pub fn verify_type(mut self, verify: bool) -> Self {
        self.options = self.options.verify_type(verify);
        self
    }

    /// `skip_revocation_check`.
    pub fn skip_revocation_check(mut self) -> Self {
        self.options = self.options.skip_revocation_check();
        self
    }

    /// `locations = "..."`: overrides `JWT_TOKEN_LOCATION` for the group.
    pub fn locations(mut self, locations: &'static [Location]) -> Self {
        self.options = self.options.locations(locations);
        self
    }

    /// `issuer = "..."`: only tokens whose `iss` is one of `issuers` (this app's own
    /// `JWT_ENCODE_ISSUER`, a trusted issuer's); any other is refused, 422 `Invalid issuer`.
    ///
    /// ```
    /// use jwt_runtime::JwtRequired;
    /// let partner_api = JwtRequired::new().issuers(&["https://partner.example"]);
    /// assert_eq!(partner_api.options().accepted_issuers(), Some(&["https://partner.example"][..]));
    /// ```
    pub fn issuers(mut self, issuers: &'static [&'static str]) -> Self {
        self.options = self.options.issuers(issuers);
        self
    }

    /// `scopes = "..."` / `any_scopes = "..."`: the OAuth scopes every request's token must hold
    /// (see [`Scopes`](crate::Scopes)); checked in the pipeline, before the policy.
    ///
    /// ```
    /// use jwt_runtime::{JwtRequired, Scopes};
    /// let reports = JwtRequired::new().scopes(Scopes::all(&["reports:read"]));
    /// assert_eq!(reports.options().required_scopes().unwrap().names(), ["reports:read"]);
    /// ```
    pub fn scopes(mut self, scopes: crate::vocabulary::Scopes) -> Self {
        self.options = self.options.scopes(scopes);
        self
    }

    /// `dpop = "..."`: the DPoP policy (RFC 9449) of every route of the group, over `JWT_DPOP`
    /// (see [`VerifyOptions::dpop`]).
    ///
    /// ```
    /// use jwt_runtime::{DpopMode, JwtRequired};
    /// let bound = JwtRequired::new().dpop(DpopMode::Required);
    /// assert_eq!(bound.options().dpop_mode(), Some(DpopMode::Required));
    /// ```
    pub fn dpop(mut self, mode: crate::vocabulary::DpopMode) -> Self {
        self.options = self.options.dpop(mode);
        self
    }

    /// The group's options.
    pub fn options(&self) -> &VerifyOptions {
        &self.options
    }

    /// Runs `policy` after every other check (replacing any earlier one): a
    /// [`Roles`](crate::Roles) check, [`AdminRequired`](crate::AdminRequired), or your own
    /// [`JwtPolicy`]. On an `optional` group it runs only when a token is present.
    pub fn policy<Q: JwtPolicy>(self, policy: Q) -> JwtRequired<Q> {
        JwtRequired {
            options: self.options,
            policy: Arc::new(policy),
        }
    }
}

impl<E: Endpoint, P: JwtPolicy> Middleware<E> for JwtRequired<P> {
    type Output = JwtRequiredEndpoint<E, P>;

    fn transform(&self, inner: E) -> Self::Output {
        JwtRequiredEndpoint {
            options: self.options,
            policy: self.policy.clone(),
            inner,
        }
    }
}

/// The endpoint [`JwtRequired`] wraps a route tree in.
#[derive(Debug)]
pub struct JwtRequiredEndpoint<E, P = NoPolicy> {
    options: VerifyOptions,
    policy: Arc<P>,
    inner: E,
}

impl<E: Endpoint, P: JwtPolicy> Endpoint for JwtRequiredEndpoint<E, P> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        run_protected(&self.options, &*self.policy, &[], &self.inner, req).await
    }
}

/// A value a handler under a route group takes through [`Guarded<T>`]: [`Identity`],
/// [`Jwt<C>`], [`JwtHeader`], [`TokenLocation`], [`CurrentUser<U>`] (its user is loaded here,
/// so `U` needs a `#[user_lookup_loader]`), and `Option` of each for `optional` groups.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not come from the verified token",
    label = "not a value of the verified token",
    note = "`Guarded<T>` takes `Identity`, `Jwt<C>`, `JwtHeader`, `TokenLocation`, `CurrentUser<U>`, or `Option` of them"
)]
pub trait FromGuarded: Sized + Send + 'static {
    /// Whether the value can exist without a token (`Option<..>`).
    const ANONYMOUS: bool = false;

    /// Builds the value from the verified token of the request (`None`: anonymous request on an
    /// optional group).
    fn from_guarded<'a>(
        req: &'a Request,
        token: Option<&'a Arc<VerifiedJwt>>,
    ) -> impl Future<Output = poem::Result<Self>> + Send + 'a;
}

macro_rules! from_guarded_via_verified {
    ($($ty:ty),*) => {$(
        impl FromGuarded for $ty {
            async fn from_guarded<'a>(
                req: &'a Request,
                token: Option<&'a Arc<VerifiedJwt>>,
            ) -> poem::Result<Self> {
                <$ty as FromVerifiedJwt>::from_verified(req, token)
            }
        }
    )*};
}

from_guarded_via_verified!(Identity, JwtHeader, TokenLocation);

impl<C: JwtClaims + Send> FromGuarded for Jwt<C> {
    async fn from_guarded<'a>(
        req: &'a Request,
        token: Option<&'a Arc<VerifiedJwt>>,
    ) -> poem::Result<Self> {
        <Jwt<C> as FromVerifiedJwt>::from_verified(req, token)
    }
}

impl<U: UserLookup> FromGuarded for CurrentUser<U> {
    async fn from_guarded<'a>(
        req: &'a Request,
        token: Option<&'a Arc<VerifiedJwt>>,
    ) -> poem::Result<Self> {
        let token = super::extract::required(token)?;
        // A macro-wrapped handler has loaded it already; a group has not.
        if let Some(user) = loaded::<U>(req) {
            return Ok(user);
        }
        let manager = JwtManager::of_request(req)?;
        load_user::<U>(&manager, token, req).await
    }
}

impl<T: FromGuarded> FromGuarded for Option<T> {
    const ANONYMOUS: bool = true;

    async fn from_guarded<'a>(
        req: &'a Request,
        token: Option<&'a Arc<VerifiedJwt>>,
    ) -> poem::Result<Self> {
        match token {
            Some(token) => T::from_guarded(req, Some(token)).await.map(Some),
            None => Ok(None),
        }
    }
}

/// A value of the verified token, for a handler under a [`JwtRequired`] route group (or under
/// `#[jwt_required]`, where it works too): `Guarded<Identity>`, `Guarded<Jwt<C>>`,
/// `Guarded<CurrentUser<U>>`, `Guarded<Option<Identity>>` on an `optional` group.
///
/// The group's middleware cannot be seen by the compiler, so this is checked when the request
/// arrives: a handler that takes it with no protection above it never runs. (In a
/// `#[jwt_runtime::openapi]` impl it is a compile error: the document cannot show a group, so
/// those operations are protected by the attribute and take the values themselves.) The request is
/// answered 500 with the bare body `{"msg": "Internal server error"}` (the manager's `on_error`
/// may reshape it) and an ERROR log names the fix. Likewise `Guarded<Identity>` (not `Option`)
/// on an anonymous request of an `optional` group.
///
/// ```
/// use jwt_runtime::{Guarded, Jwt};
/// use poem::handler;
///
/// #[handler]
/// async fn whoami(Guarded(jwt): Guarded<Jwt>) -> String {
///     jwt.identity().to_string()
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Guarded<T>(pub T);

impl<T> Guarded<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Guarded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'a, T: FromGuarded> FromRequest<'a> for Guarded<T> {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let checked = request_jwt::checked(req);
        let fault = match checked {
            // Only a protection records a token, after the pipeline verified it (a group, a
            // macro or a middleware calling `verify_jwt_in_request`).
            Checked::Verified(_) => None,
            Checked::Anonymous { optional: true } if T::ANONYMOUS => None,
            Checked::Anonymous { .. } => Some(format!(
                "`Guarded<{0}>` on an anonymous request of an optional route: take \
                 `Guarded<Option<{0}>>`",
                std::any::type_name::<T>()
            )),
            Checked::Unchecked => Some(format!(
                "a handler taking `Guarded<{}>` was reached without a token check: mount its \
                 route under `.with(JwtRequired::new())` or put `#[jwt_required]` on the handler",
                std::any::type_name::<T>()
            )),
        };
        if let Some(why) = fault {
            let error = JwtError::Misconfigured(why.into());
            return Err(match JwtManager::from_request_extensions(req) {
                Ok(manager) => manager.engine().refuse(req, &error, None),
                Err(_) => refuse_without_engine(req, &error),
            });
        }
        T::from_guarded(req, request_jwt::verified_token(req))
            .await
            .map(Guarded)
    }
}
