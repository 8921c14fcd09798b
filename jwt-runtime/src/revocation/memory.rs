//! The default store: revocations in process memory, dropped once the token can no longer be
//! accepted (`retain_until`: its `exp` plus the verifier's leeway).

use std::collections::HashMap;
use std::sync::RwLock;

use super::{
    Blocklist, BlocklistError, Family, NewSession, ProofLog, ProofRecord, RefreshCheck, Rotation,
    RotationStep, SessionInfo, Standing, StoreClock, TokenInfo, MAX_MEMORY_PROOFS,
};

/// Revocations held in memory (the default store). Entries are dropped once their token can no
/// longer be accepted ([`TokenInfo::retain_until`]: `exp` plus the verifier's leeway). Fine for one process; it forgets revocations on restart and does not share them
/// between instances: use `RedisBlocklist` or `SqlBlocklist` for that.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use jwt_runtime::stores::{Blocklist, MemoryBlocklist, TokenInfo};
/// let store = MemoryBlocklist::new();
/// let info = TokenInfo { jti: Some("j1".into()), token_type: "access".into(), user: "alice".into(), issued_at: 1, expires_at: None, retain_until: None };
/// assert!(!store.is_revoked(&info).await.unwrap());
/// store.revoke(&info).await.unwrap();
/// assert!(store.is_revoked(&info).await.unwrap());
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryBlocklist {
    state: RwLock<State>,
    clock: StoreClock,
    /// The most unexpired DPoP proofs held ([`with_max_proofs`](Self::with_max_proofs)).
    max_proofs: usize,
}

impl Default for MemoryBlocklist {
    fn default() -> Self {
        MemoryBlocklist {
            state: RwLock::default(),
            clock: StoreClock::default(),
            max_proofs: MAX_MEMORY_PROOFS,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// jti -> keep until (unix seconds: `exp` + leeway), `None` for tokens that never expire.
    tokens: HashMap<String, Option<i64>>,
    /// user -> tokens issued at or before this time are revoked.
    users: HashMap<String, i64>,
    /// session id -> its refresh-token family (`JWT_REFRESH_ROTATION`).
    sessions: HashMap<String, Family>,
    /// DPoP proofs seen (RFC 9449 §11.1), bounded by `max_proofs`.
    proofs: ProofLog,
}

impl MemoryBlocklist {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// This store, holding at most `max` unexpired DPoP proofs (default [`MAX_MEMORY_PROOFS`],
    /// about 270 bytes each). A proof is kept for `JWT_DPOP_PROOF_MAX_AGE` (60 s by default), so
    /// the default serves about 17,000 DPoP requests per second; past the cap a new proof is
    /// refused (503, fail closed) until older ones expire, never an unexpired one forgotten.
    /// Size it for the instance's peak DPoP rate times the window.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use jwt_runtime::stores::{Blocklist, MemoryBlocklist, ProofRecord};
    /// let store = MemoryBlocklist::new().with_max_proofs(1);
    /// let proof = |key: &str| ProofRecord { key: key.repeat(64), retain_until: i64::MAX };
    /// assert!(store.record_proof(&proof("a")).await.unwrap());
    /// assert!(store.record_proof(&proof("b")).await.is_err(), "full: refused, not forgotten");
    /// assert!(!store.record_proof(&proof("a")).await.unwrap(), "still a replay");
    /// # }
    /// ```
    pub fn with_max_proofs(mut self, max: usize) -> Self {
        self.max_proofs = max;
        self
    }

    /// Whether `session` is live now.
    fn live(&self, session: &str) -> bool {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.seconds();
        state.sessions.get(session).is_some_and(|f| f.is_live(now))
    }

    /// How many token revocations are held (those past `retain_until` are dropped as new ones
    /// arrive).
    pub fn len(&self) -> usize {
        self.state.read().map(|s| s.tokens.len()).unwrap_or(0)
    }

    /// Whether no token revocation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `token` is revoked, by its `jti` or by its user's cut-off (answered in place).
    fn revoked(&self, token: &TokenInfo) -> bool {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let by_jti = token
            .jti
            .as_ref()
            .is_some_and(|j| state.tokens.contains_key(j));
        let by_user = state
            .users
            .get(&token.user)
            .is_some_and(|before| token.issued_at <= *before);
        by_jti || by_user
    }

    /// Records a DPoP proof (in place).
    fn record(&self, proof: &ProofRecord) -> Result<bool, BlocklistError> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.seconds();
        state.proofs.record(proof, now, self.max_proofs)
    }
}

impl Blocklist for MemoryBlocklist {
    fn use_clock(&mut self, clock: std::sync::Arc<dyn crate::vocabulary::Clock>) {
        self.clock.set(clock);
    }

    async fn is_revoked(&self, token: &TokenInfo) -> Result<bool, BlocklistError> {
        Ok(self.revoked(token))
    }

    fn is_revoked_now(&self, token: &TokenInfo) -> Option<Result<bool, BlocklistError>> {
        Some(Ok(self.revoked(token)))
    }

    async fn revoke(&self, token: &TokenInfo) -> Result<(), BlocklistError> {
        match &token.jti {
            None => Err(BlocklistError::new(
                "a token without a jti cannot be revoked on its own",
            )),
            Some(jti) => {
                let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
                let now = self.clock.seconds();
                state
                    .tokens
                    .retain(|_, until| until.is_none_or(|u| u >= now));
                // The same jti revoked twice (instances with different leeways): keep the longer.
                let until = match state.tokens.get(jti) {
                    Some(None) => None,
                    Some(Some(old)) => token.retain_until.map(|u| u.max(*old)),
                    None => token.retain_until,
                };
                state.tokens.insert(jti.clone(), until);
                Ok(())
            }
        }
    }

    async fn revoke_user(&self, user: &str, issued_before: i64) -> Result<(), BlocklistError> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let entry = state.users.entry(user.to_string()).or_insert(issued_before);
        *entry = (*entry).max(issued_before);
        for family in state.sessions.values_mut() {
            if family.user == user && family.is_cut_off(issued_before) {
                family.ended = true;
            }
        }
        Ok(())
    }

    fn keeps_sessions(&self) -> bool {
        true
    }

    async fn start_session(&self, session: &NewSession) -> Result<(), BlocklistError> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.seconds();
        state
            .sessions
            .retain(|_, family| family.retain_until.is_none_or(|u| u >= now));
        state
            .sessions
            .insert(session.session.clone(), Family::start(session));
        Ok(())
    }

    async fn rotate(&self, step: &RotationStep) -> Result<Rotation, BlocklistError> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if step.adopt && !state.sessions.contains_key(&step.session) {
            state
                .sessions
                .insert(step.session.clone(), Family::adopt(step));
        }
        Ok(match state.sessions.get_mut(&step.session) {
            Some(family) => family.step(step),
            None => Rotation::Ended,
        })
    }

    async fn check_refresh(&self, check: &RefreshCheck) -> Result<Standing, BlocklistError> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        Ok(match state.sessions.get_mut(&check.session) {
            Some(family) => family.check(check),
            None if check.adopt => Standing::Current,
            None => Standing::Ended,
        })
    }

    async fn session_is_live(&self, session: &str) -> Result<bool, BlocklistError> {
        Ok(self.live(session))
    }

    fn session_is_live_now(&self, session: &str) -> Option<Result<bool, BlocklistError>> {
        Some(Ok(self.live(session)))
    }

    async fn sessions(&self, user: &str) -> Result<Vec<SessionInfo>, BlocklistError> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.seconds();
        let mut live: Vec<SessionInfo> = state
            .sessions
            .iter()
            .filter(|(_, f)| f.user == user && f.is_live(now))
            .map(|(id, f)| f.info(id))
            .collect();
        live.sort_by(|a, b| (a.created_at, &a.session).cmp(&(b.created_at, &b.session)));
        Ok(live)
    }

    async fn end_session(&self, user: &str, session: &str) -> Result<bool, BlocklistError> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let now = self.clock.seconds();
        match state.sessions.get_mut(session) {
            Some(f) if f.user == user && f.is_live(now) => {
                f.ended = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn keeps_proofs(&self) -> bool {
        true
    }

    async fn record_proof(&self, proof: &ProofRecord) -> Result<bool, BlocklistError> {
        self.record(proof)
    }

    fn record_proof_now(&self, proof: &ProofRecord) -> Option<Result<bool, BlocklistError>> {
        Some(self.record(proof))
    }
}
