//! Layer 4, the facade: what applications and the macros touch. [`JwtManager`] (built with
//! [`JwtManagerBuilder`], the Poem middleware), the extractors, policies, user loading,
//! [`verify_jwt_in_request`], and the macros' private module.

mod builder;
mod claims;
mod dpop;
pub(crate) mod extract;
mod group;
mod manager;
#[cfg(feature = "openapi")]
mod openapi;
mod policy;
pub(crate) mod private;
mod protection;
mod request_jwt;
mod resource;
mod revoke;
mod roles;
mod sessions;
mod user;
mod verify;

pub use builder::JwtManagerBuilder;
pub use claims::JwtClaims;
pub use dpop::OptionalDpopProof;
pub use extract::{FromVerifiedJwt, Identity, Jwt, JwtHeader, TokenLocation};
pub use group::{FromGuarded, Guarded, JwtRequired, JwtRequiredEndpoint};
pub use manager::JwtManager;
pub use policy::{AdminRequired, JwtPolicy, NoPolicy};
pub use request_jwt::JwtManagerEndpoint;
pub use resource::ResourceMetadata;
pub use revoke::UserRef;
pub use roles::Roles;
pub use sessions::{session_of, Login, RotatedRefreshToken, SessionTokens};
pub use user::{app_data, CurrentUser, IntoLookup, MissingAppData, UserLookup};
pub use verify::{check_jwt_in_request, check_jwt_in_request_with, verify_jwt_in_request};
