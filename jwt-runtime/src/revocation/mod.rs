//! Revocation: the [`Blocklist`] trait (the reference's `token_in_blocklist_loader`) and its
//! stores: [`MemoryBlocklist`] (the default), `RedisBlocklist` (feature `redis`) and
//! `SqlBlocklist` (feature `sqlx`).
//!
//! Stores are keyed by the `jti` of verified claims, never by the token string (an ECDSA token
//! can be re-encoded into a different valid string). The check runs after the type and freshness
//! checks, only for tokens whose signature and claims already verified, so unauthenticated
//! traffic never reaches the store.

#[cfg(any(feature = "redis", feature = "sqlx"))]
mod known_down;
mod memory;
mod proofs;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_link;
#[cfg(feature = "redis")]
mod redis_sessions;
mod sessions;
#[cfg(feature = "sqlx")]
mod sql;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

pub(crate) use crate::vocabulary::user_key;
pub use crate::vocabulary::BlocklistError;
use crate::vocabulary::{BoxFuture, Clock};
pub use crate::vocabulary::{TokenInfo, MAX_JTI_LENGTH};

#[cfg(feature = "redis")]
pub use self::redis::{RedisBlocklist, RedisBlocklistOptions};
pub use memory::MemoryBlocklist;
pub(crate) use proofs::ProofLog;
pub use proofs::{ProofRecord, MAX_MEMORY_PROOFS};
pub(crate) use sessions::Family;
pub use sessions::{
    adopted_session, NewSession, RefreshCheck, Rotation, RotationStep, SessionInfo, Standing,
};
#[cfg(feature = "sqlx")]
pub use sql::{SqlBlocklist, SqlBlocklistOptions};

/// The time a store measures with (pruning, TTLs): the system clock until the manager it is
/// attached to hands it its own ([`Blocklist::use_clock`]). Shared, so a store's background
/// task sees the change.
#[derive(Clone)]
pub(crate) struct StoreClock(Arc<std::sync::RwLock<Arc<dyn Clock>>>);

impl Default for StoreClock {
    fn default() -> Self {
        StoreClock(Arc::new(std::sync::RwLock::new(Arc::new(
            crate::vocabulary::SystemClock,
        ))))
    }
}

impl StoreClock {
    pub(crate) fn set(&self, clock: Arc<dyn Clock>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = clock;
    }

    /// Whole seconds since the unix epoch.
    pub(crate) fn seconds(&self) -> i64 {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .unix_seconds()
    }
}

impl fmt::Debug for StoreClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreClock")
    }
}

/// A revocation store: the reference's `token_in_blocklist_loader`, plus the writes its tutorial
/// performs by hand (revoke one token; "log out everywhere" revokes every token of a user issued
/// until now).
///
/// Implement it for your own store; `MemoryBlocklist`, `RedisBlocklist` and `SqlBlocklist` are
/// provided.
///
/// ```
/// use jwt_runtime::stores::{Blocklist, BlocklistError, TokenInfo};
///
/// /// Revokes nothing: every token is accepted.
/// struct Nothing;
/// impl Blocklist for Nothing {
///     async fn is_revoked(&self, _: &TokenInfo) -> Result<bool, BlocklistError> {
///         Ok(false)
///     }
///     async fn revoke(&self, _: &TokenInfo) -> Result<(), BlocklistError> {
///         Err(BlocklistError::new("read-only"))
///     }
///     async fn revoke_user(&self, _: &str, _: i64) -> Result<(), BlocklistError> {
///         Err(BlocklistError::new("read-only"))
///     }
/// }
/// ```
pub trait Blocklist: Send + Sync + 'static {
    /// Whether `token` was revoked, by its `jti` or because its user's tokens issued at or
    /// before some time were all revoked.
    fn is_revoked(
        &self,
        token: &TokenInfo,
    ) -> impl Future<Output = Result<bool, BlocklistError>> + Send;

    /// [`is_revoked`](Self::is_revoked)'s answer, when the store has it at hand without waiting
    /// (an in-memory set, an up-to-date local mirror): `Some` with exactly the answer
    /// `is_revoked` would give now. `None`, the default, means "ask `is_revoked`".
    ///
    /// The pipeline asks this first on every request, so a store that can answer here spares
    /// each request the boxed future of `is_revoked`. `MemoryBlocklist` always answers here,
    /// `RedisBlocklist` while its mirror is current.
    ///
    /// ```
    /// use jwt_runtime::stores::{Blocklist, MemoryBlocklist, TokenInfo};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryBlocklist::new();
    /// let claims = serde_json::json!({"jti": "j1", "sub": "alice", "iat": 10});
    /// let token = TokenInfo::from_claims(claims.as_object().unwrap(), "sub", 0);
    /// assert!(matches!(store.is_revoked_now(&token), Some(Ok(false))));
    /// store.revoke(&token).await.unwrap();
    /// assert!(matches!(store.is_revoked_now(&token), Some(Ok(true))));
    /// # }
    /// ```
    fn is_revoked_now(&self, token: &TokenInfo) -> Option<Result<bool, BlocklistError>> {
        let _ = token;
        None
    }

    /// Revokes one token, remembering it at least until `token.retain_until`.
    fn revoke(&self, token: &TokenInfo) -> impl Future<Output = Result<(), BlocklistError>> + Send;

    /// Revokes every token of `user` issued at or before `issued_before` (unix seconds). A later
    /// call with an earlier time never lowers the cut-off. A store that keeps sessions also ends
    /// the user's sessions none of whose tokens was minted after the cut-off (not refreshed
    /// since), so they are no longer listed as live.
    fn revoke_user(
        &self,
        user: &str,
        issued_before: i64,
    ) -> impl Future<Output = Result<(), BlocklistError>> + Send;

    /// Receives the manager's clock when the manager is built (before any other call). Stores
    /// that expire entries (pruning, TTLs) measure time with it, so a test's frozen clock governs
    /// them too. The default ignores it.
    fn use_clock(&mut self, clock: Arc<dyn Clock>) {
        let _ = clock;
    }

    /// Whether the store keeps sessions (the methods below), which `JWT_REFRESH_ROTATION` needs;
    /// the manager refuses to build with rotation on over a store that does not. Default `false`.
    fn keeps_sessions(&self) -> bool {
        false
    }

    /// Records a new session (a login under rotation). Default: unsupported.
    fn start_session(
        &self,
        session: &NewSession,
    ) -> impl Future<Output = Result<(), BlocklistError>> + Send {
        let _ = session;
        async { Err(sessions_unsupported()) }
    }

    /// Applies one use of a refresh token to its session, atomically: two uses racing (on any
    /// number of instances) see one another. Default: unsupported.
    fn rotate(
        &self,
        step: &RotationStep,
    ) -> impl Future<Output = Result<Rotation, BlocklistError>> + Send {
        let _ = step;
        async { Err(sessions_unsupported()) }
    }

    /// How the refresh token of a session stands where it is presented without being rotated
    /// (a `verify_type = false` route, a hand-written check), by the rules of rotation, applied
    /// atomically: the current token is marked presented (so its predecessor is no longer
    /// exchanged once the grace window passed), a reuse ends the session. Default: unsupported.
    fn check_refresh(
        &self,
        check: &RefreshCheck,
    ) -> impl Future<Output = Result<Standing, BlocklistError>> + Send {
        let _ = check;
        async { Err(sessions_unsupported()) }
    }

    /// Whether the session is live (known, not ended, not expired). Default: unsupported.
    fn session_is_live(
        &self,
        session: &str,
    ) -> impl Future<Output = Result<bool, BlocklistError>> + Send {
        let _ = session;
        async { Err(sessions_unsupported()) }
    }

    /// [`session_is_live`](Self::session_is_live)'s answer, when the store has it at hand
    /// without waiting (in memory, an up-to-date local mirror): `Some` with exactly the answer
    /// `session_is_live` would give now. `None`, the default, means "ask `session_is_live`".
    ///
    /// The pipeline asks this first for every token of a rotated session, so a store that can
    /// answer here spares each request a round trip. `MemoryBlocklist` always answers here,
    /// `RedisBlocklist` from its mirror while it is current (and "not live" for a session it
    /// knows ended, even while it is stale).
    ///
    /// ```
    /// use jwt_runtime::stores::{Blocklist, MemoryBlocklist, NewSession};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryBlocklist::new();
    /// assert!(matches!(store.session_is_live_now("s1"), Some(Ok(false))));
    /// let session = NewSession {
    ///     session: "s1".into(),
    ///     user: "alice".into(),
    ///     jti: "j1".into(),
    ///     created_at: 0,
    ///     label: None,
    ///     retain_until: None,
    /// };
    /// store.start_session(&session).await.unwrap();
    /// assert!(matches!(store.session_is_live_now("s1"), Some(Ok(true))));
    /// # }
    /// ```
    fn session_is_live_now(&self, session: &str) -> Option<Result<bool, BlocklistError>> {
        let _ = session;
        None
    }

    /// The live sessions of `user`, oldest first. Default: unsupported.
    fn sessions(
        &self,
        user: &str,
    ) -> impl Future<Output = Result<Vec<SessionInfo>, BlocklistError>> + Send {
        let _ = user;
        async { Err(sessions_unsupported()) }
    }

    /// Ends a session of `user`; `false` when `user` has no such live session. Default:
    /// unsupported.
    fn end_session(
        &self,
        user: &str,
        session: &str,
    ) -> impl Future<Output = Result<bool, BlocklistError>> + Send {
        let _ = (user, session);
        async { Err(sessions_unsupported()) }
    }

    /// Whether the store records DPoP proofs ([`record_proof`](Self::record_proof)), which a
    /// manager with DPoP on needs (it refuses to build over a store that does not). Default
    /// `false`.
    fn keeps_proofs(&self) -> bool {
        false
    }

    /// Records a DPoP proof, atomically: `Ok(true)` the first time it is seen (on any instance
    /// sharing the store), `Ok(false)` when it was recorded before (a replay, RFC 9449 §11.1).
    /// The record is kept at least until `proof.retain_until`. A store that cannot answer
    /// returns an error, and the proof is refused (fail closed). Default: unsupported.
    ///
    /// ```
    /// use jwt_runtime::stores::{Blocklist, MemoryBlocklist, ProofRecord};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = MemoryBlocklist::new();
    /// let proof = ProofRecord { key: "0".repeat(64), retain_until: i64::MAX };
    /// assert!(store.record_proof(&proof).await.unwrap());
    /// assert!(!store.record_proof(&proof).await.unwrap(), "a replay");
    /// # }
    /// ```
    fn record_proof(
        &self,
        proof: &ProofRecord,
    ) -> impl Future<Output = Result<bool, BlocklistError>> + Send {
        let _ = proof;
        async { Err(proofs_unsupported()) }
    }

    /// [`record_proof`](Self::record_proof) done in place, when the store can without waiting
    /// (in memory): `Some` with exactly what `record_proof` would answer, having recorded it.
    /// `None`, the default, means "call `record_proof`".
    fn record_proof_now(&self, proof: &ProofRecord) -> Option<Result<bool, BlocklistError>> {
        let _ = proof;
        None
    }
}

fn proofs_unsupported() -> BlocklistError {
    BlocklistError::new("this store does not record DPoP proofs (JWT_DPOP)")
}

fn sessions_unsupported() -> BlocklistError {
    BlocklistError::new("this store does not keep sessions (JWT_REFRESH_ROTATION)")
}

/// [`Blocklist`] as an object (its methods box their futures): what the engine holds.
pub(crate) trait DynBlocklist: Send + Sync + 'static {
    fn is_revoked<'a>(
        &'a self,
        token: &'a TokenInfo,
    ) -> BoxFuture<'a, Result<bool, BlocklistError>>;
    fn is_revoked_now(&self, token: &TokenInfo) -> Option<Result<bool, BlocklistError>>;
    fn revoke<'a>(&'a self, token: &'a TokenInfo) -> BoxFuture<'a, Result<(), BlocklistError>>;
    fn revoke_user<'a>(
        &'a self,
        user: &'a str,
        issued_before: i64,
    ) -> BoxFuture<'a, Result<(), BlocklistError>>;
    fn use_clock(&mut self, clock: Arc<dyn Clock>);
    fn keeps_sessions(&self) -> bool;
    fn start_session<'a>(
        &'a self,
        session: &'a NewSession,
    ) -> BoxFuture<'a, Result<(), BlocklistError>>;
    fn rotate<'a>(
        &'a self,
        step: &'a RotationStep,
    ) -> BoxFuture<'a, Result<Rotation, BlocklistError>>;
    fn check_refresh<'a>(
        &'a self,
        check: &'a RefreshCheck,
    ) -> BoxFuture<'a, Result<Standing, BlocklistError>>;
    fn session_is_live<'a>(
        &'a self,
        session: &'a str,
    ) -> BoxFuture<'a, Result<bool, BlocklistError>>;
    fn session_is_live_now(&self, session: &str) -> Option<Result<bool, BlocklistError>>;
    fn sessions<'a>(
        &'a self,
        user: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionInfo>, BlocklistError>>;
    fn end_session<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
    ) -> BoxFuture<'a, Result<bool, BlocklistError>>;
    fn keeps_proofs(&self) -> bool;
    fn record_proof<'a>(
        &'a self,
        proof: &'a ProofRecord,
    ) -> BoxFuture<'a, Result<bool, BlocklistError>>;
    fn record_proof_now(&self, proof: &ProofRecord) -> Option<Result<bool, BlocklistError>>;
}

impl<B: Blocklist> DynBlocklist for B {
    fn is_revoked<'a>(
        &'a self,
        token: &'a TokenInfo,
    ) -> BoxFuture<'a, Result<bool, BlocklistError>> {
        Box::pin(Blocklist::is_revoked(self, token))
    }

    fn is_revoked_now(&self, token: &TokenInfo) -> Option<Result<bool, BlocklistError>> {
        Blocklist::is_revoked_now(self, token)
    }

    fn revoke<'a>(&'a self, token: &'a TokenInfo) -> BoxFuture<'a, Result<(), BlocklistError>> {
        Box::pin(Blocklist::revoke(self, token))
    }

    fn revoke_user<'a>(
        &'a self,
        user: &'a str,
        issued_before: i64,
    ) -> BoxFuture<'a, Result<(), BlocklistError>> {
        Box::pin(Blocklist::revoke_user(self, user, issued_before))
    }

    fn use_clock(&mut self, clock: Arc<dyn Clock>) {
        Blocklist::use_clock(self, clock)
    }

    fn keeps_sessions(&self) -> bool {
        Blocklist::keeps_sessions(self)
    }

    fn start_session<'a>(
        &'a self,
        session: &'a NewSession,
    ) -> BoxFuture<'a, Result<(), BlocklistError>> {
        Box::pin(Blocklist::start_session(self, session))
    }

    fn rotate<'a>(
        &'a self,
        step: &'a RotationStep,
    ) -> BoxFuture<'a, Result<Rotation, BlocklistError>> {
        Box::pin(Blocklist::rotate(self, step))
    }

    fn check_refresh<'a>(
        &'a self,
        check: &'a RefreshCheck,
    ) -> BoxFuture<'a, Result<Standing, BlocklistError>> {
        Box::pin(Blocklist::check_refresh(self, check))
    }

    fn session_is_live<'a>(
        &'a self,
        session: &'a str,
    ) -> BoxFuture<'a, Result<bool, BlocklistError>> {
        Box::pin(Blocklist::session_is_live(self, session))
    }

    fn session_is_live_now(&self, session: &str) -> Option<Result<bool, BlocklistError>> {
        Blocklist::session_is_live_now(self, session)
    }

    fn sessions<'a>(
        &'a self,
        user: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SessionInfo>, BlocklistError>> {
        Box::pin(Blocklist::sessions(self, user))
    }

    fn end_session<'a>(
        &'a self,
        user: &'a str,
        session: &'a str,
    ) -> BoxFuture<'a, Result<bool, BlocklistError>> {
        Box::pin(Blocklist::end_session(self, user, session))
    }

    fn keeps_proofs(&self) -> bool {
        Blocklist::keeps_proofs(self)
    }

    fn record_proof<'a>(
        &'a self,
        proof: &'a ProofRecord,
    ) -> BoxFuture<'a, Result<bool, BlocklistError>> {
        Box::pin(Blocklist::record_proof(self, proof))
    }

    fn record_proof_now(&self, proof: &ProofRecord) -> Option<Result<bool, BlocklistError>> {
        Blocklist::record_proof_now(self, proof)
    }
}
