//! Application state by type: the request's (Poem's `.data(..)`, read by user loaders with
//! [`app_data`](crate::hooks::app_data)) and the manager's ([`AppData`], registered with
//! [`JwtManagerBuilder::data`](crate::JwtManagerBuilder::data) and read by additional-claims
//! loaders, which also run where no request exists). A missing value is a [`MissingAppData`]
//! that names the fix.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::vocabulary::JwtError;

/// Where a missing value should have been installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The request's app data (`.data(value)` on the route tree).
    Request,
    /// The manager's state (`JwtManagerBuilder::data(value)`).
    Manager,
}

/// App data a loader needs was not installed: the error of [`app_data`](crate::hooks::app_data)
/// (a user loader's `.data(...)` on the route tree) and of [`AppData::get`] (an additional-claims
/// loader's [`JwtManagerBuilder::data`](crate::JwtManagerBuilder::data)). Its message names the
/// type and the fix.
///
/// ```
/// use jwt_runtime::hooks::AppData;
/// struct Pool;
/// let err = AppData::default().get::<Pool>().err().unwrap();
/// assert!(err.to_string().contains("JwtManagerBuilder::data"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingAppData {
    type_name: &'static str,
    source: Source,
}

impl MissingAppData {
    /// `T` is not in the request's app data.
    pub(crate) fn in_request<T: ?Sized>() -> Self {
        MissingAppData {
            type_name: std::any::type_name::<T>(),
            source: Source::Request,
        }
    }
}

impl fmt::Display for MissingAppData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Source::Request => write!(
                f,
                "`{}` is not in the request's app data: add `.data(value)` to the route tree",
                self.type_name
            ),
            Source::Manager => write!(
                f,
                "`{}` is not in the manager's data: register it with \
                 `JwtManagerBuilder::data(value)` (an additional-claims loader also runs where no \
                 request exists, so it cannot read the route tree's `.data(..)`)",
                self.type_name
            ),
        }
    }
}

impl std::error::Error for MissingAppData {}

/// A loader's missing state fails the token's creation (500), with the fix in the message.
impl From<MissingAppData> for JwtError {
    fn from(missing: MissingAppData) -> Self {
        JwtError::TokenCreation(missing.to_string().into())
    }
}

/// The manager's application state, one value per type, registered with
/// [`JwtManagerBuilder::data`](crate::JwtManagerBuilder::data): what an additional-claims
/// loader reads (an `#[additional_claims]` fn's second argument `&T`). It is the manager's, not a
/// request's, because a loader runs wherever a token is minted: in a login handler, at startup,
/// in a test, and when a cookie or a refresh token is re-issued after the handler ran.
///
/// ```
/// use jwt_runtime::hooks::AppData;
///
/// #[derive(Debug, PartialEq)]
/// struct Tenant(&'static str);
///
/// let data = AppData::default().with(Tenant("acme"));
/// assert_eq!(data.get::<Tenant>(), Ok(&Tenant("acme")));
/// assert!(data.get::<String>().is_err());
/// ```
#[derive(Clone, Default)]
pub struct AppData {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl AppData {
    /// This state with `value` added (replacing a value of the same type).
    #[must_use]
    pub fn with<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// The value of type `T`.
    ///
    /// # Errors
    /// [`MissingAppData`] (naming `JwtManagerBuilder::data`) when no `T` was registered.
    pub fn get<T: Send + Sync + 'static>(&self) -> Result<&T, MissingAppData> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .ok_or(MissingAppData {
                type_name: std::any::type_name::<T>(),
                source: Source::Manager,
            })
    }

    /// Whether a value of the type `key` names is registered.
    pub(crate) fn has(&self, key: &DataKey) -> bool {
        self.values.contains_key(&key.id)
    }
}

impl fmt::Debug for AppData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppData")
            .field("values", &self.values.len())
            .finish()
    }
}

/// A type of state a loader reads, so that the manager's `build()` can refuse a loader whose
/// state was never registered (instead of every token creation failing later).
///
/// ```
/// use jwt_runtime::hooks::DataKey;
/// struct Pool;
/// assert!(DataKey::of::<Pool>().type_name().ends_with("Pool"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataKey {
    id: TypeId,
    name: &'static str,
}

impl DataKey {
    /// The key of `T`.
    pub fn of<T: Send + Sync + 'static>() -> Self {
        DataKey {
            id: TypeId::of::<T>(),
            name: std::any::type_name::<T>(),
        }
    }

    /// The type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        self.name
    }
}
