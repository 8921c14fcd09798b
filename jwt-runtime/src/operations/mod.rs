//! Layer 3, operations: what a manager does with its engine. The verification [`pipeline`],
//! token building ([`mint`]) and [`cookies`] (including implicit refresh).

pub(crate) mod cookies;
pub(crate) mod dpop;
pub(crate) mod mint;
pub(crate) mod pipeline;
#[cfg(test)]
mod pipeline_equivalence;
#[cfg(all(test, feature = "remote-jwks"))]
mod remote_cache;
pub(crate) mod rotation;
pub(crate) mod session_check;

pub use cookies::CookieOptions;
pub use mint::{Fresh, TokenBuilder};
pub use pipeline::VerifyOptions;
