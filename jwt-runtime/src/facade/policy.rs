//! Policies: checks a verified token must pass before the handler runs.
//!
//! `#[admin_required]` is [`AdminRequired`]; `#[jwt_required(policy = MyPolicy)]` runs any type
//! implementing [`JwtPolicy`] (flask-jwt-extended's custom-decorator pattern, checked at compile time).

use std::future::Future;

use poem::Request;
use serde_json::Value;

use super::manager::JwtManager;
use crate::vocabulary::{JwtError, VerifiedJwt};

/// A check on a verified token, run after the whole pipeline and before the handler.
///
/// Role checks need no policy of their own: write `#[jwt_required(roles = "editor, admin")]`
/// (see [`Roles`](crate::Roles)). A policy is for any other rule, such as this one:
///
/// ```
/// use jwt_runtime::{jwt_required, JwtError, JwtPolicy, VerifiedJwt};
/// use poem::{handler, Request};
///
/// struct Editors;
/// impl JwtPolicy for Editors {
///     async fn check(&self, token: &VerifiedJwt, _req: &Request) -> Result<(), JwtError> {
///         match token.claims().get("role").and_then(|r| r.as_str()) {
///             Some("editor") => Ok(()),
///             _ => Err(JwtError::Forbidden("Editors only!".into())),
///         }
///     }
/// }
///
/// #[jwt_required(policy = Editors)]
/// #[handler]
/// async fn edit() -> &'static str { "ok" }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JWT policy",
    label = "used as `policy = ...`",
    note = "implement `jwt_runtime::JwtPolicy` for `{Self}`"
)]
pub trait JwtPolicy: Send + Sync + 'static {
    /// `Ok(())` lets the request through; an error becomes its response.
    fn check(
        &self,
        token: &VerifiedJwt,
        req: &Request,
    ) -> impl Future<Output = Result<(), JwtError>> + Send;
}

/// The policy of a plain `#[jwt_required]` and of [`JwtRequired::new`](crate::JwtRequired::new):
/// the pipeline alone decides. The default type parameter of [`JwtRequired`](crate::JwtRequired),
/// so a group without a policy can be named in a field or a return type.
///
/// ```
/// use jwt_runtime::{JwtRequired, NoPolicy};
/// fn api_guard() -> JwtRequired<NoPolicy> {
///     JwtRequired::new().fresh()
/// }
/// # let _ = api_guard();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPolicy;

impl JwtPolicy for NoPolicy {
    async fn check(&self, _: &VerifiedJwt, _: &Request) -> Result<(), JwtError> {
        Ok(())
    }
}

/// The tutorial's `admin_required` decorator: a valid token whose admin claim is `true`, else
/// 403 `{"msg": "Admins only!"}`. The claim is `is_administrator` unless configured.
///
/// ```
/// use jwt_runtime::AdminRequired;
/// const ADMINS: AdminRequired = AdminRequired::claim("is_admin");
/// assert_eq!(ADMINS.claim_name(), "is_admin");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AdminRequired {
    claim: &'static str,
}

impl AdminRequired {
    /// The tutorial's claim name.
    pub const DEFAULT_CLAIM: &'static str = "is_administrator";

    /// Admins are tokens whose `claim` is JSON `true`.
    pub const fn claim(claim: &'static str) -> Self {
        AdminRequired { claim }
    }

    /// The claim this policy reads.
    pub const fn claim_name(&self) -> &'static str {
        self.claim
    }
}

impl Default for AdminRequired {
    fn default() -> Self {
        AdminRequired::claim(Self::DEFAULT_CLAIM)
    }
}

/// The admin claim is this app's own: a token issued elsewhere (a trusted issuer's, the remote
/// key set's) is never an administrator here, whatever it claims, unless its issuer is trusted
/// for this app's claims (`TrustedIssuer::trust_app_claims`, `JWT_DECODE_TRUST_APP_CLAIMS`).
impl JwtPolicy for AdminRequired {
    async fn check(&self, token: &VerifiedJwt, req: &Request) -> Result<(), JwtError> {
        let claims_admin = matches!(token.claims().get(self.claim), Some(Value::Bool(true)));
        // A policy runs after the pipeline, under the manager; without one, nothing is trusted.
        if claims_admin
            && JwtManager::from_request_extensions(req)
                .is_ok_and(|jwt| jwt.engine().trusts_app_claims(token))
        {
            Ok(())
        } else {
            Err(JwtError::Forbidden("Admins only!".into()))
        }
    }
}
