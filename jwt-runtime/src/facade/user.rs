//! Loading the user of a verified token: the reference's `user_lookup_loader` and
//! `current_user`, as `#[user_lookup_loader]` and [`CurrentUser<U>`].

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use poem::Request;

use super::extract::{required, FromVerifiedJwt, Identity};
use super::manager::JwtManager;
pub use crate::engine::app_data::MissingAppData;
use crate::engine::refuse_without_engine;
use crate::vocabulary::{BoxFuture, JwtError, VerifiedJwt};

/// A user type with a loader: implemented by `#[user_lookup_loader]` on the function that loads
/// it, so a handler can take [`CurrentUser<U>`] only when a loader for `U` exists (checked at
/// compile time).
#[diagnostic::on_unimplemented(
    message = "no `#[user_lookup_loader]` returns `{Self}`",
    label = "`CurrentUser<{Self}>` needs a loader",
    note = "write `#[user_lookup_loader] async fn load(token: &VerifiedJwt, req: &poem::Request) -> Option<{Self}>`"
)]
pub trait UserLookup: Sized + Send + Sync + 'static {
    /// Loads the user of `token`; `Ok(None)` means no such user (401).
    fn lookup<'a>(
        token: &'a VerifiedJwt,
        req: &'a Request,
    ) -> BoxFuture<'a, Result<Option<Self>, JwtError>>;
}

/// The user the token belongs to, loaded by the type's `#[user_lookup_loader]` after every other
/// check passed (the reference's `current_user`). Take `Option<CurrentUser<U>>` on optional routes.
///
/// ```
/// use jwt_runtime::{jwt_required, user_lookup_loader, CurrentUser, VerifiedJwt};
/// use poem::{handler, Request};
///
/// struct User { name: String }
///
/// #[user_lookup_loader]
/// async fn load_user(token: &VerifiedJwt, _req: &Request) -> Option<User> {
///     token.identity().as_str().map(|name| User { name: name.to_string() })
/// }
///
/// #[jwt_required]
/// #[handler]
/// async fn me(user: CurrentUser<User>) -> String {
///     user.name.clone()
/// }
/// ```
pub struct CurrentUser<U>(Arc<U>);

impl<U> CurrentUser<U> {
    /// The loaded user, shared.
    pub fn into_inner(self) -> Arc<U> {
        self.0
    }
}

impl<U> Deref for CurrentUser<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

impl<U: fmt::Debug> fmt::Debug for CurrentUser<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CurrentUser").field(&self.0).finish()
    }
}

/// A loaded user in the request extensions.
struct Loaded<U>(Arc<U>);

impl<U> Clone for Loaded<U> {
    fn clone(&self) -> Self {
        Loaded(self.0.clone())
    }
}

// No `UserLookup` bound here: the macros check for the loader once, where they name it, so a
// missing loader is reported once.
impl<U: Send + Sync + 'static> FromVerifiedJwt for CurrentUser<U> {
    fn from_verified(req: &Request, token: Option<&Arc<VerifiedJwt>>) -> poem::Result<Self> {
        required(token)?;
        match req.extensions().get::<Loaded<U>>() {
            Some(Loaded(user)) => Ok(CurrentUser(user.clone())),
            // Only reachable when the handler was not wrapped by the macros' loader step.
            None => Err(refuse_without_engine(
                req,
                &JwtError::Misconfigured("the user was not loaded for this route".into()),
            )),
        }
    }
}

/// The `U` already loaded into this request, if any.
pub(crate) fn loaded<U: Send + Sync + 'static>(req: &Request) -> Option<CurrentUser<U>> {
    req.extensions()
        .get::<Loaded<U>>()
        .map(|Loaded(user)| CurrentUser(user.clone()))
}

/// Step 7: runs `U`'s loader; a missing user or a failed lookup is the refusal to answer with.
pub(crate) async fn load_user<U: UserLookup>(
    manager: &JwtManager,
    token: &Arc<VerifiedJwt>,
    req: &Request,
) -> poem::Result<CurrentUser<U>> {
    let error = match U::lookup(token, req).await {
        Ok(Some(user)) => {
            tracing::debug!(target: "jwt_runtime", user_type = std::any::type_name::<U>(), "user loaded");
            return Ok(CurrentUser(Arc::new(user)));
        }
        Ok(None) => {
            let identity = Identity::of(token);
            JwtError::UserLookup(format!("Error loading the user {identity}").into())
        }
        Err(error) => error,
    };
    Err(manager.engine().refuse(req, &error, Some(token)))
}

/// Step 7 for the macros: runs `U`'s loader once per request and stores the user for
/// `CurrentUser<U>`.
pub(crate) async fn load_into_request<U: UserLookup>(
    manager: &JwtManager,
    token: &Arc<VerifiedJwt>,
    req: &mut Request,
) -> poem::Result<()> {
    if req.extensions().get::<Loaded<U>>().is_some() {
        return Ok(());
    }
    let CurrentUser(user) = load_user::<U>(manager, token, req).await?;
    req.extensions_mut().insert(Loaded(user));
    Ok(())
}

/// What a `#[user_lookup_loader]` may return: `Option<U>`, or `Result<Option<U>, E>` whose
/// error (a database failure, say) is logged and answered with 500.
pub trait IntoLookup<U> {
    /// The lookup's outcome.
    fn into_lookup(self) -> Result<Option<U>, JwtError>;
}

impl<U> IntoLookup<U> for Option<U> {
    fn into_lookup(self) -> Result<Option<U>, JwtError> {
        Ok(self)
    }
}

impl<U, E: fmt::Display> IntoLookup<U> for Result<Option<U>, E> {
    fn into_lookup(self) -> Result<Option<U>, JwtError> {
        self.map_err(|e| {
            tracing::error!(target: "jwt_runtime", reason = %e, "user lookup failed");
            JwtError::UserLookupFailed
        })
    }
}

impl<'a, U: Send + Sync + 'static> poem::FromRequest<'a> for CurrentUser<U>
where
    super::extract::Unprotected: super::extract::NeedsJwtRequired<'a, CurrentUser<U>>,
{
    #[allow(refining_impl_trait)]
    fn from_request(
        req: &'a Request,
        body: &mut poem::RequestBody,
    ) -> std::future::Ready<poem::Result<Self>> {
        super::extract::never_extracted(req, body)
    }
}

/// The app data of type `T` (installed with Poem's `.data(value)`), for user loaders: a missing
/// value is an error that names the fix, so the request gets 500 `User lookup failed` and an
/// ERROR log, not the 401 of a user that does not exist.
///
/// ```
/// use jwt_runtime::{hooks::app_data, user_lookup_loader, VerifiedJwt};
/// use poem::Request;
///
/// #[derive(Clone)]
/// struct Directory(std::sync::Arc<Vec<String>>);
/// struct User(String);
///
/// #[user_lookup_loader]
/// async fn load(token: &VerifiedJwt, req: &Request) -> Result<Option<User>, jwt_runtime::hooks::MissingAppData> {
///     let directory = app_data::<Directory>(req)?;
///     let name = token.identity().as_str().unwrap_or_default();
///     Ok(directory.0.iter().find(|n| *n == name).map(|n| User(n.clone())))
/// }
/// ```
///
/// # Errors
/// [`MissingAppData`] when no `T` was installed.
pub fn app_data<T: Send + Sync + 'static>(req: &Request) -> Result<&T, MissingAppData> {
    req.data::<T>().ok_or_else(MissingAppData::in_request::<T>)
}
