//! flask-jwt-extended's `additional_claims_loader`: the [`AdditionalClaimsLoader`] trait, what a
//! loader may return ([`IntoClaims`]), and closures as loaders.

use std::future::Future;

use serde_json::Value;

use super::app_data::{AppData, DataKey};
use crate::vocabulary::{BoxFuture, ConfigError, JsonObject, JwtError};

/// flask-jwt-extended's `additional_claims_loader`: claims added to every new token.
///
/// Write it with `#[additional_claims]` on an `async fn(identity: &serde_json::Value) -> R`
/// (R: a `serde_json::Map`, a `Value` object, or any map that serializes to one), optionally
/// with a second argument `&T` for state registered with
/// [`JwtManagerBuilder::data`](crate::JwtManagerBuilder::data); or pass a closure
/// (`async |identity| ..`, `|identity| async move { .. }`, which gets the identity as an owned
/// `Value`); or implement it by hand. Its claims go over the reserved ones; the call site's
/// `additional_claims` go over its.
///
/// A re-issued token (implicit cookie refresh, refresh-token rotation) gets this loader's claims
/// anew, called with the identity claim's value: no claim is copied from the old token, so a
/// privilege the application withdrew is gone from the next re-issued token.
///
/// ```
/// use jwt_runtime::{hooks::AdditionalClaimsLoader, JsonObject, JwtError};
/// use jwt_runtime::hooks::{AppData, BoxFuture};
///
/// struct Tenant;
/// impl AdditionalClaimsLoader for Tenant {
///     fn load<'a>(&'a self, _identity: &'a serde_json::Value, _data: &'a AppData) -> BoxFuture<'a, Result<JsonObject, JwtError>> {
///         Box::pin(async { Ok(serde_json::json!({"tenant": "acme"}).as_object().cloned().unwrap_or_default()) })
///     }
/// }
/// ```
pub trait AdditionalClaimsLoader: Send + Sync + 'static {
    /// The claims for a token of `identity`; `data` is the manager's state
    /// ([`JwtManagerBuilder::data`](crate::JwtManagerBuilder::data)).
    fn load<'a>(
        &'a self,
        identity: &'a Value,
        data: &'a AppData,
    ) -> BoxFuture<'a, Result<JsonObject, JwtError>>;

    /// The state types [`load`](Self::load) reads from `data`: the manager's `build()` refuses
    /// the loader when one of them was not registered. None by default.
    fn required_data(&self) -> Vec<DataKey> {
        Vec::new()
    }
}

/// A closure of the identity (owned) returning a future of the claims:
/// `async |identity| json!({..})`, or `|identity| async move { .. }` when it clones captured
/// state into the future. Annotate the argument (`identity: Value`) when the body calls its
/// methods; comparisons (`identity == "admin"`) need no annotation.
///
/// ```
/// use jwt_runtime::{JwtConfig, JwtManager};
/// use serde_json::{json, Value};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtManager::builder(JwtConfig::default().with_secret("k".repeat(32)))
///     .additional_claims(async |identity: Value| json!({"name": identity.as_str().map(str::to_uppercase)}))
///     .build()?;
/// let token = jwt.create_access_token("alice").await?;
/// assert_eq!(jwt.decode_token(&token)?["name"], "ALICE");
/// # Ok(())
/// # }
/// ```
impl<F, Fut> AdditionalClaimsLoader for F
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoClaims,
{
    fn load<'a>(
        &'a self,
        identity: &'a Value,
        _data: &'a AppData,
    ) -> BoxFuture<'a, Result<JsonObject, JwtError>> {
        let claims = self(identity.clone());
        Box::pin(async move { claims.await.into_claims() })
    }
}

/// `build()`'s check: every state type `loader` reads is registered.
pub(crate) fn check_required_data(
    loader: &dyn AdditionalClaimsLoader,
    data: &AppData,
) -> Result<(), ConfigError> {
    match loader
        .required_data()
        .into_iter()
        .find(|key| !data.has(key))
    {
        None => Ok(()),
        Some(key) => Err(ConfigError::about(
            "JwtManagerBuilder::data",
            format!(
                "the additional-claims loader reads `{}`, which is not registered: add \
                 `.data(value)` to the JwtManagerBuilder",
                key.type_name()
            ),
        )),
    }
}

/// Converts what an additional-claims loader returns into the claims object.
#[diagnostic::on_unimplemented(
    message = "an `#[additional_claims]` loader cannot return `{Self}`",
    label = "must be a claims object",
    note = "return a `serde_json::Value` object, a `serde_json::Map`, a `HashMap` or a `BTreeMap`"
)]
pub trait IntoClaims {
    /// The claims, or why they are not a JSON object.
    fn into_claims(self) -> Result<JsonObject, JwtError>;
}

impl IntoClaims for JsonObject {
    fn into_claims(self) -> Result<JsonObject, JwtError> {
        Ok(self)
    }
}

impl IntoClaims for Value {
    fn into_claims(self) -> Result<JsonObject, JwtError> {
        match self {
            Value::Object(map) => Ok(map),
            other => Err(JwtError::TokenCreation(
                format!("the additional claims loader must return a JSON object, got {other}")
                    .into(),
            )),
        }
    }
}

impl<K: Into<String>, V: serde::Serialize> IntoClaims for std::collections::HashMap<K, V> {
    fn into_claims(self) -> Result<JsonObject, JwtError> {
        collect_claims(self)
    }
}

impl<K: Into<String>, V: serde::Serialize> IntoClaims for std::collections::BTreeMap<K, V> {
    fn into_claims(self) -> Result<JsonObject, JwtError> {
        collect_claims(self)
    }
}

fn collect_claims<K: Into<String>, V: serde::Serialize>(
    items: impl IntoIterator<Item = (K, V)>,
) -> Result<JsonObject, JwtError> {
    items
        .into_iter()
        .map(|(k, v)| {
            serde_json::to_value(v).map(|v| (k.into(), v)).map_err(|e| {
                JwtError::TokenCreation(
                    format!("an additional claim cannot be serialized: {e}").into(),
                )
            })
        })
        .collect()
}
