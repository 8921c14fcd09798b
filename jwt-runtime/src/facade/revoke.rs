//! [`UserRef`]: whose tokens "log out everywhere" ([`JwtManager::revoke_all_for_user`])
//! revokes: one of this app's users, or a provider's (a trusted issuer's, the remote key set's),
//! never both.

use serde_json::Value;

use crate::engine::Engine;
use crate::revocation::user_key;
use crate::vocabulary::{JwtError, VerifiedJwt};
#[cfg(doc)]
use crate::JwtManager;

/// A user whose tokens [`JwtManager::revoke_all_for_user`] revokes. This app's own users and a
/// provider's users (a trusted issuer's, `JwtManagerBuilder::trust_issuer`, or the remote key
/// set's, `JWT_DECODE_JWKS_URL` / `JWT_DECODE_ISSUER_DISCOVERY`) are kept apart: the same name at
/// two issuers is two people, and logging one out never logs out the other.
///
/// - The user a verified token belongs to, from the handler: `&identity` (an [`Identity`](crate::Identity)),
///   `&jwt` (a [`Jwt`](crate::Jwt)) or a [`VerifiedJwt`]. The token says which issuer's user it is. This is
///   the form to use in a handler, for this app's users and a provider's alike.
/// - One of this app's own users by identity, without a token (an admin acting on a user id):
///   `&json!("alice")` (a [`Value`]). Never a provider's user, whose identity lives under its
///   issuer: pass `&identity`, not `identity.value()`, from a handler that may see them.
/// - A provider's user without a token: [`UserRef::of_issuer`].
///
/// ```
/// use jwt_runtime::{jwt_required, Identity, JwtManager};
/// use poem::handler;
///
/// /// "Log out everywhere": every token of the caller, whoever issued it.
/// #[jwt_required]
/// #[handler]
/// async fn logout_everywhere(identity: Identity, jwt: JwtManager) -> poem::Result<&'static str> {
///     jwt.revoke_all_for_user(&identity).await?;
///     Ok("logged out everywhere")
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UserRef<'a>(Whose<'a>);

#[derive(Debug, Clone, Copy)]
enum Whose<'a> {
    Own(&'a Value),
    Token(&'a VerifiedJwt),
    Issuer {
        issuer: &'a str,
        identity: &'a Value,
    },
}

impl<'a> UserRef<'a> {
    /// The user of a provider whose tokens carry `identity` in that provider's identity claim
    /// (`TrustedIssuer::identity_claim`; `JWT_IDENTITY_CLAIM` for the remote key set), for when
    /// no token is at hand. `issuer` is what [`VerifiedJwt::trusted_issuer`] gives for the
    /// user's tokens:
    ///
    /// - a trusted issuer;
    /// - for the remote key set, one of the issuers its tokens may name (the discovered issuer
    ///   of `JWT_DECODE_ISSUER_DISCOVERY`, or one of `JWT_DECODE_ISSUER`), or, for a
    ///   `JWT_DECODE_JWKS_URL` without `JWT_DECODE_ISSUER`, that URL as configured.
    ///
    /// ```
    /// # async fn run(jwt: jwt_runtime::JwtManager) -> Result<(), jwt_runtime::JwtError> {
    /// use jwt_runtime::UserRef;
    /// let email = serde_json::json!("alice@example.com");
    /// jwt.revoke_all_for_user(UserRef::of_issuer("https://auth.example.com/realms/acme", &email))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// [`JwtManager::revoke_all_for_user`] answers 500 (`Misconfigured`) when `issuer` names
    /// none of this manager's providers.
    pub fn of_issuer(issuer: &'a str, identity: &'a Value) -> Self {
        UserRef(Whose::Issuer { issuer, identity })
    }

    /// The key the store files this user's cut-off under: the one the user's tokens are checked
    /// against.
    pub(crate) fn key(self, engine: &Engine) -> Result<String, JwtError> {
        match self.0 {
            Whose::Own(identity) => Ok(user_key(identity)),
            Whose::Token(token) => Ok(token.parts().store_info().user.clone()),
            Whose::Issuer { issuer, identity } => {
                engine.issuer_user(issuer, identity).ok_or_else(|| {
                    JwtError::Misconfigured(
                        format!(
                            "\"{issuer}\" is neither a trusted issuer of this manager \
                             (JwtManagerBuilder::trust_issuer) nor an issuer of its remote key \
                             set (JWT_DECODE_ISSUER, JWT_DECODE_ISSUER_DISCOVERY; its \
                             JWT_DECODE_JWKS_URL without an issuer rule)"
                        )
                        .into(),
                    )
                })
            }
        }
    }
}

/// One of this app's own users, by identity.
impl<'a> From<&'a Value> for UserRef<'a> {
    fn from(identity: &'a Value) -> Self {
        UserRef(Whose::Own(identity))
    }
}

/// The user the verified token belongs to (this app's, or a provider's).
impl<'a> From<&'a VerifiedJwt> for UserRef<'a> {
    fn from(token: &'a VerifiedJwt) -> Self {
        UserRef(Whose::Token(token))
    }
}
