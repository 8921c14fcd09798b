//! Layer 0, the vocabulary: plain data and errors every other layer speaks. Nothing here knows
//! about configuration, keys, stores or requests.

mod clock;
mod dpop;
mod errors;
mod expiry;
mod location;
mod scopes;
mod token;
mod token_info;

use std::future::Future;
use std::pin::Pin;

pub use clock::{Clock, SystemClock};
pub(crate) use dpop::Binding;
pub use dpop::DpopMode;
pub(crate) use errors::message_response;
pub use errors::{BlocklistError, ConfigError, ErrorKind, JwtError};
pub use expiry::Expiry;
pub use location::Location;
pub use scopes::Scopes;
pub(crate) use token::{ClaimFacts, Freshness, KeySource, NumericDate, TokenParts, TypeClaim};
pub use token::{ReservedClaims, TokenType, VerifiedJwt, RESERVED_CLAIMS};
pub(crate) use token_info::{issuer_user_key, user_key};
pub use token_info::{TokenInfo, MAX_JTI_LENGTH};

/// A JSON object (claims, a JOSE header), in insertion order.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// A boxed, `Send` future, as the store and hook traits return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
