//! Sessions for refresh-token rotation (`JWT_REFRESH_ROTATION`): what a store is told and
//! answers ([`NewSession`], [`RotationStep`], [`Rotation`], [`RefreshCheck`], [`Standing`],
//! [`SessionInfo`]), and [`Family`], the rules of one session that every store applies (the
//! memory store directly, Redis in a Lua script, SQL with a compare-and-swap).
//!
//! A session is a family of refresh tokens descended from one login. Its record holds the id of
//! its current refresh token, the id the last rotation retired, and whether the current one has
//! been presented yet. The rules ([`Family::standing`]):
//!
//! - presenting the current token rotates it (its replacement is new, not yet presented);
//! - presenting the token the last rotation retired, while its replacement has never been
//!   presented (the refresh response was lost, the handler failed, concurrent tabs) or within
//!   the grace window, gets the SAME replacement again: concurrent uses and retries share one
//!   replacement, so no number of them logs anybody out;
//! - anything else (an older token, or the retired one once its replacement was presented and
//!   the grace window passed) is a reuse and ends the session.
//!
//! A refresh token minted before rotation was switched on (no session claim) is adopted: its
//! first use starts the session `jti:<its jti>` with it as the current token and rotates it, in
//! one atomic store operation, so a second use is a retry of that rotation by the same rules.

use serde::{Deserialize, Serialize};

/// The first refresh token of a session (a login).
///
/// ```
/// use jwt_runtime::stores::NewSession;
/// let s = NewSession { session: "s1".into(), user: "alice".into(), jti: "j1".into(), created_at: 10, label: Some("Firefox".into()), retain_until: Some(100) };
/// assert_eq!(s.user, "alice");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The session (family) id, the `fam` claim of its tokens.
    pub session: String,
    /// Its user, as [`TokenInfo::user`](super::TokenInfo::user).
    pub user: String,
    /// The `jti` of its first refresh token.
    pub jti: String,
    /// When it started (unix seconds).
    pub created_at: i64,
    /// A label given at login (a device name, a user agent).
    pub label: Option<String>,
    /// Until when the store keeps it: its refresh token's `exp` plus the leeway. `None`: forever.
    pub retain_until: Option<i64>,
}

/// The session id a refresh token minted before rotation was on (no session claim) is adopted
/// into: derived from its `jti`, so every use of it, on any instance, names the same session.
///
/// ```
/// assert_eq!(jwt_runtime::stores::adopted_session("j1"), "jti:j1");
/// ```
pub fn adopted_session(jti: &str) -> String {
    format!("jti:{jti}")
}

/// One use of a refresh token of a session on a refresh route: retire `used`, admit `new` (or
/// hand out the replacement `used` already has, see [`Rotation::Shared`]).
///
/// ```
/// use jwt_runtime::stores::RotationStep;
/// let step = RotationStep { session: "s1".into(), user: "alice".into(), used: "j1".into(), new: "j2".into(), now: 20, grace: 10, retain_until: Some(200), adopt: false };
/// assert_eq!(step.now + step.grace as i64, 30);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationStep {
    /// The session id (`fam` claim, or [`adopted_session`] of a token without one).
    pub session: String,
    /// Its user, as [`TokenInfo::user`](super::TokenInfo::user).
    pub user: String,
    /// The `jti` of the refresh token presented.
    pub used: String,
    /// A fresh `jti` for the replacement, used when `used` is current.
    pub new: String,
    /// Now (unix seconds).
    pub now: i64,
    /// `JWT_REFRESH_ROTATION_GRACE`: a retired token whose replacement was presented already is
    /// still exchanged while less than this many seconds passed since the rotation that retired
    /// it (0: never).
    pub grace: u64,
    /// Until when the store keeps the session now: the new token's `exp` plus the leeway.
    pub retain_until: Option<i64>,
    /// `used` predates rotation (no session claim): when the session does not exist, the store
    /// first starts it (unlabelled, at `now`) with `used` as its current token, atomically with
    /// the step.
    pub adopt: bool,
}

impl RotationStep {
    /// The session a token minted before rotation was on starts ([`RotationStep::adopt`]):
    /// unlabelled, at `now`, with `used` as its current token.
    pub(crate) fn adopted_start(&self) -> NewSession {
        NewSession {
            session: self.session.clone(),
            user: self.user.clone(),
            jti: self.used.clone(),
            created_at: self.now,
            label: None,
            retain_until: self.retain_until,
        }
    }
}

/// What a store answers to a [`RotationStep`].
///
/// ```
/// use jwt_runtime::stores::Rotation;
/// assert_eq!(Rotation::Shared("j2".into()).as_str(), "shared");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// `used` was current: it is retired, `new` is the current token (mint it).
    Rotated,
    /// `used` is the token the last rotation retired and may still be exchanged (its replacement
    /// was never presented, or the grace window is open): mint this `jti`, the replacement's,
    /// again. Nothing else changes.
    Shared(String),
    /// `used` was retired earlier: a reuse. The session is ended.
    Reused,
    /// The session is unknown, expired, ended or another user's: nothing changed.
    Ended,
}

impl Rotation {
    /// Its name in logs and SQL audit columns.
    ///
    /// ```
    /// assert_eq!(jwt_runtime::stores::Rotation::Reused.as_str(), "reused");
    /// ```
    pub const fn as_str(&self) -> &'static str {
        match self {
            Rotation::Rotated => "rotated",
            Rotation::Shared(_) => "shared",
            Rotation::Reused => "reused",
            Rotation::Ended => "ended",
        }
    }
}

/// A refresh token of a session presented where it is not rotated (a `verify_type = false`
/// route, a hand-written check): the revocation step asks its store how it stands.
///
/// ```
/// use jwt_runtime::stores::RefreshCheck;
/// let check = RefreshCheck { session: "s1".into(), user: "alice".into(), jti: "j1".into(), now: 20, grace: 10, adopt: false };
/// assert_eq!(check.jti, "j1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshCheck {
    /// The session id (`fam` claim, or [`adopted_session`] of a token without one).
    pub session: String,
    /// Its user, as [`TokenInfo::user`](super::TokenInfo::user).
    pub user: String,
    /// The `jti` of the refresh token presented.
    pub jti: String,
    /// Now (unix seconds).
    pub now: i64,
    /// `JWT_REFRESH_ROTATION_GRACE`, as in [`RotationStep::grace`].
    pub grace: u64,
    /// The token predates rotation: an unknown session means it was never used, so it is
    /// [`Standing::Current`].
    pub adopt: bool,
}

/// How a refresh token stands in its session (decided by one statement of the rules that every
/// store applies).
///
/// ```
/// use jwt_runtime::stores::Standing;
/// assert_ne!(Standing::Current, Standing::Retired);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The session's current refresh token (a check marks it presented).
    Current,
    /// Retired by the last rotation, still exchangeable on a refresh route for the replacement;
    /// refused anywhere else.
    Retired,
    /// Retired and no longer exchangeable: a reuse. A check or a rotation ends the session.
    Reused,
    /// The session is unknown, expired, ended or another user's.
    Ended,
}

impl Standing {
    /// Its name, as the Redis scripts answer it.
    ///
    /// ```
    /// assert_eq!(jwt_runtime::stores::Standing::Retired.as_str(), "retired");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Standing::Current => "current",
            Standing::Retired => "retired",
            Standing::Reused => "reused",
            Standing::Ended => "ended",
        }
    }
}

/// A live session, as listed for its user.
///
/// ```
/// use jwt_runtime::stores::SessionInfo;
/// let s = SessionInfo { session: "s1".into(), created_at: 1, last_refreshed: 5, label: None };
/// assert!(s.last_refreshed >= s.created_at);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session id (`fam` claim of its tokens).
    pub session: String,
    /// When its login happened (unix seconds).
    pub created_at: i64,
    /// When its refresh token was last used (unix seconds; the login time until then).
    pub last_refreshed: i64,
    /// The label given at login.
    pub label: Option<String>,
}

/// The state of one session and the rules every store applies to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Family {
    pub(crate) user: String,
    pub(crate) label: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) last_refreshed: i64,
    /// The `jti` that may rotate now (one; versions before 0.x could keep several siblings).
    pub(crate) current: Vec<String>,
    /// The `jti`s the last rotation retired.
    pub(crate) previous: Vec<String>,
    pub(crate) rotated_at: i64,
    pub(crate) retain_until: Option<i64>,
    /// Ended: by a reuse, or by its user.
    pub(crate) ended: bool,
    /// Whether the current token has been presented (rotated or checked) since it was minted.
    pub(crate) seen: bool,
}

impl Family {
    pub(crate) fn start(new: &NewSession) -> Self {
        Family {
            user: new.user.clone(),
            label: new.label.clone(),
            created_at: new.created_at,
            last_refreshed: new.created_at,
            current: vec![new.jti.clone()],
            previous: Vec::new(),
            rotated_at: new.created_at,
            retain_until: new.retain_until,
            ended: false,
            seen: false,
        }
    }

    /// The session an adopted token starts ([`RotationStep::adopt`]): `used` is its current token.
    pub(crate) fn adopt(step: &RotationStep) -> Self {
        Family::start(&step.adopted_start())
    }

    /// Whether it is live at `now` (not ended, not past its retention).
    pub(crate) fn is_live(&self, now: i64) -> bool {
        !self.ended && self.retain_until.is_none_or(|until| until >= now)
    }

    /// Whether its tokens all fall under a user's cut-off at `issued_before` (none was minted
    /// after it): "log out everywhere" ends it.
    pub(crate) fn is_cut_off(&self, issued_before: i64) -> bool {
        self.last_refreshed <= issued_before
    }

    /// The rules: how the refresh token `jti` of `user` stands at `now`. (Restated in the Redis
    /// scripts' `standing`; the SQL store applies this one.)
    pub(crate) fn standing(&self, user: &str, jti: &str, now: i64, grace: u64) -> Standing {
        if !self.is_live(now) || self.user != user {
            return Standing::Ended;
        }
        if self.current.iter().any(|j| j == jti) {
            return Standing::Current;
        }
        // Strictly less: a grace of 0 opens no window, even in the same second.
        let within_grace =
            now.saturating_sub(self.rotated_at) < i64::try_from(grace).unwrap_or(i64::MAX);
        if self.previous.iter().any(|j| j == jti)
            && !self.current.is_empty()
            && (!self.seen || within_grace)
        {
            return Standing::Retired;
        }
        Standing::Reused
    }

    /// Applies one use of a refresh token on a refresh route.
    pub(crate) fn step(&mut self, step: &RotationStep) -> Rotation {
        let outcome = match self.standing(&step.user, &step.used, step.now, step.grace) {
            Standing::Ended => return Rotation::Ended,
            Standing::Reused => {
                self.ended = true;
                return Rotation::Reused;
            }
            Standing::Current => {
                self.previous = std::mem::replace(&mut self.current, vec![step.new.clone()]);
                self.rotated_at = step.now;
                self.seen = false;
                Rotation::Rotated
            }
            Standing::Retired => match self.current.first() {
                Some(replacement) => Rotation::Shared(replacement.clone()),
                None => return Rotation::Ended,
            },
        };
        self.last_refreshed = step.now;
        self.retain_until = match (self.retain_until, step.retain_until) {
            (Some(old), Some(new)) => Some(old.max(new)),
            _ => None,
        };
        outcome
    }

    /// Applies a presentation of a refresh token where it is not rotated: the current token is
    /// now presented; a reuse ends the session.
    pub(crate) fn check(&mut self, check: &RefreshCheck) -> Standing {
        let standing = self.standing(&check.user, &check.jti, check.now, check.grace);
        match standing {
            Standing::Current => self.seen = true,
            Standing::Reused => self.ended = true,
            Standing::Retired | Standing::Ended => {}
        }
        standing
    }

    pub(crate) fn info(&self, session: &str) -> SessionInfo {
        SessionInfo {
            session: session.to_string(),
            created_at: self.created_at,
            last_refreshed: self.last_refreshed,
            label: self.label.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family() -> Family {
        Family::start(&NewSession {
            session: "s".into(),
            user: "u".into(),
            jti: "a".into(),
            created_at: 100,
            label: None,
            retain_until: Some(1000),
        })
    }

    fn step(used: &str, new: &str, now: i64) -> RotationStep {
        RotationStep {
            session: "s".into(),
            user: "u".into(),
            used: used.into(),
            new: new.into(),
            now,
            grace: 10,
            retain_until: Some(2000),
            adopt: false,
        }
    }

    fn check(jti: &str, now: i64) -> RefreshCheck {
        RefreshCheck {
            session: "s".into(),
            user: "u".into(),
            jti: jti.into(),
            now,
            grace: 10,
            adopt: false,
        }
    }

    #[test]
    fn rotates_then_detects_reuse_after_grace() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        assert_eq!(f.retain_until, Some(2000));
        assert_eq!(f.step(&step("b", "c", 300)), Rotation::Rotated);
        assert_eq!(f.step(&step("c", "d", 301)), Rotation::Rotated);
        // `c`'s replacement `d` was never presented, but `b` is two rotations back: a reuse.
        assert_eq!(f.step(&step("b", "x", 310)), Rotation::Reused);
        assert!(f.ended);
        assert_eq!(f.step(&step("d", "y", 312)), Rotation::Ended);
    }

    #[test]
    fn a_concurrent_use_within_grace_shares_the_replacement() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        assert_eq!(f.step(&step("a", "b2", 209)), Rotation::Shared("b".into()));
        assert_eq!(f.current, vec!["b".to_string()]);
        assert_eq!(f.step(&step("b", "c", 220)), Rotation::Rotated);
        assert_eq!(f.previous, vec!["b".to_string()]);
    }

    #[test]
    fn any_number_of_concurrent_uses_share_one_replacement() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        for i in 0..100 {
            let got = f.step(&step("a", &format!("other{i}"), 201));
            assert_eq!(got, Rotation::Shared("b".into()));
        }
        assert!(f.is_live(201));
        assert_eq!(f.step(&step("b", "c", 202)), Rotation::Rotated);
    }

    #[test]
    fn a_retry_after_grace_gets_the_undelivered_replacement() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        // The response carrying `b` failed: the client comes back with `a` an hour later.
        assert_eq!(f.step(&step("a", "z", 1500)), Rotation::Shared("b".into()));
        assert!(!f.ended);
        assert_eq!(f.last_refreshed, 1500);
        assert_eq!(f.step(&step("b", "c", 1501)), Rotation::Rotated);
    }

    #[test]
    fn once_the_replacement_was_presented_the_retired_token_is_a_reuse_after_grace() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        assert_eq!(f.check(&check("b", 201)), Standing::Current);
        // Within the window a concurrent use still shares the replacement...
        assert_eq!(f.step(&step("a", "z", 205)), Rotation::Shared("b".into()));
        // ...after it, it is a reuse.
        assert_eq!(f.step(&step("a", "z", 210)), Rotation::Reused);
        assert!(f.ended);
    }

    #[test]
    fn a_check_refuses_a_retired_token_and_ends_the_session_on_reuse() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        assert_eq!(f.check(&check("a", 1500)), Standing::Retired);
        assert!(!f.ended);
        assert_eq!(f.check(&check("b", 1501)), Standing::Current);
        assert_eq!(f.check(&check("a", 1502)), Standing::Reused);
        assert!(f.ended);
        assert_eq!(f.check(&check("b", 1503)), Standing::Ended);
    }

    #[test]
    fn an_old_token_is_a_reuse_even_within_grace() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        assert_eq!(f.step(&step("b", "c", 201)), Rotation::Rotated);
        assert_eq!(f.step(&step("a", "z", 202)), Rotation::Reused);
    }

    #[test]
    fn another_users_token_is_refused_without_touching_the_session() {
        let mut f = family();
        let mut other = step("a", "b", 200);
        other.user = "v".into();
        assert_eq!(f.step(&other), Rotation::Ended);
        assert!(!f.ended);
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
    }

    #[test]
    fn an_adopted_token_starts_its_session_as_current() {
        let mut s = step("legacy", "b", 200);
        s.adopt = true;
        let mut f = Family::adopt(&s);
        assert_eq!(f.step(&s), Rotation::Rotated);
        // A second use of the legacy token shares the same replacement: no fork.
        assert_eq!(f.step(&s), Rotation::Shared("b".into()));
    }

    #[test]
    fn an_expired_session_is_ended() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 1001)), Rotation::Ended);
        assert!(!f.ended);
    }

    #[test]
    fn a_cut_off_covers_sessions_not_refreshed_after_it() {
        let mut f = family();
        assert!(f.is_cut_off(100) && !f.is_cut_off(99));
        f.step(&step("a", "b", 200));
        assert!(!f.is_cut_off(150));
    }
}
