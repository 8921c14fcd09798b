//! # jwt-runtime: flask-jwt-extended for Poem
//!
//! Protect Poem handlers with attribute macros, the way Flask apps use `@jwt_required()`:
//!
//! ```
//! use jwt_runtime::{jwt_required, Identity, JwtConfig, JwtManager};
//! use poem::{get, handler, post, web::Json, EndpointExt, Route};
//! use serde_json::{json, Value};
//!
//! #[handler]
//! async fn login(jwt: JwtManager) -> poem::Result<Json<Value>> {
//!     let token = jwt.create_access_token("admin").await?;
//!     Ok(Json(json!({ "access_token": token })))
//! }
//!
//! #[jwt_required]
//! #[handler]
//! async fn protected(identity: Identity) -> Json<Value> {
//!     Json(json!({ "logged_in_as": identity }))
//! }
//!
//! let jwt = JwtManager::new(JwtConfig::from_env()?.with_secret("change-me-to-32-random-bytes!!!!"))?;
//! let app = Route::new()
//!     .at("/login", post(login))
//!     .at("/protected", get(protected))
//!     .with(jwt);
//! # Ok::<(), jwt_runtime::ConfigError>(())
//! ```
//!
//! Every status code and message is the reference's, byte for byte; see the README for the
//! documented differences and the feature table.

#![deny(missing_docs)]

mod blocklist;
mod callbacks;
mod claims;
mod config;
mod cookies;
mod error;
mod extract;
mod jose;
mod keys;
mod locate;
mod manager;
mod policy;
mod token;
mod user;
mod verify;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "sqlx")]
pub use blocklist::SqlBlocklist;
pub use blocklist::{Blocklist, BlocklistError, MemoryBlocklist, TokenInfo, MAX_JTI_LENGTH};
#[cfg(feature = "redis")]
pub use blocklist::{RedisBlocklist, RedisBlocklistOptions};
pub use callbacks::{
    DecodeKeyLoader, EncodeKeyLoader, HeadersLoader, MessageResponder, TokenResponder,
    TokenVerifier,
};
pub use claims::{JwtClaims, ReservedClaims, RESERVED_CLAIMS};
pub use config::{DecodeKeyConfig, Expiry, JwtConfig};
pub use cookies::CookieOptions;
pub use error::{ConfigError, JwtError, KINDS as ERROR_KINDS};
pub use extract::{FromVerifiedJwt, Identity, Jwt, JwtHeader, TokenLocation};
pub use jose::JsonObject;
/// jsonwebtoken's key types, for key loaders.
pub use jsonwebtoken::{jwk, Algorithm, DecodingKey, EncodingKey};
pub use locate::Location;
pub use manager::{
    AdditionalClaimsLoader, BoxFuture, Clock, JwtManager, JwtManagerEndpoint, SystemClock,
};
pub use policy::{AdminRequired, JwtPolicy, NoPolicy};
pub use token::{Fresh, TokenBuilder, TokenType};
pub use user::{CurrentUser, IntoLookup, UserLookup};
pub use verify::{verify_jwt_in_request, VerifiedJwt, VerifyOptions};

pub use jwt_macros::{
    additional_claims, admin_required, jwt_required, user_lookup_loader, JwtClaims,
};
