//! Sessions for refresh-token rotation (`JWT_REFRESH_ROTATION`): what a store is told and
//! answers ([`NewSession`], [`RotationStep`], [`Rotation`], [`SessionInfo`]), and [`Family`], the
//! rules of one session that every store applies (the memory store directly, Redis in a Lua
//! script, SQL with a compare-and-swap).
//!
//! A session is a family of refresh tokens descended from one login. Its record holds the ids of
//! its current refresh tokens and of those the last rotation retired. Presenting a current one
//! rotates; presenting one the last rotation retired, within the grace window, adds a sibling (a
//! concurrent refresh); anything else is a reuse and ends the session.

use serde::{Deserialize, Serialize};

/// At most this many sibling tokens are live at once in one session (concurrent refreshes within
/// the grace window); one more is treated as a reuse.
pub const MAX_SIBLINGS: usize = 8;

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

/// One use of a refresh token of a session: retire `used`, admit `new`.
///
/// ```
/// use jwt_runtime::stores::RotationStep;
/// let step = RotationStep { session: "s1".into(), user: "alice".into(), used: "j1".into(), new: "j2".into(), now: 20, grace: 10, retain_until: Some(200) };
/// assert_eq!(step.now + step.grace as i64, 30);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationStep {
    /// The session id (`fam` claim).
    pub session: String,
    /// Its user, as [`TokenInfo::user`](super::TokenInfo::user).
    pub user: String,
    /// The `jti` of the refresh token presented.
    pub used: String,
    /// The `jti` of the refresh token minted to replace it.
    pub new: String,
    /// Now (unix seconds).
    pub now: i64,
    /// `JWT_REFRESH_ROTATION_GRACE`: a retired token is still accepted while less than this many
    /// seconds passed since the rotation that retired it (0: never).
    pub grace: u64,
    /// Until when the store keeps the session now: the new token's `exp` plus the leeway.
    pub retain_until: Option<i64>,
}

/// What a store answers to a [`RotationStep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// `used` was current: it is retired, `new` is the current token.
    Rotated,
    /// `used` was retired by a rotation within the grace window (a concurrent refresh): `new` is
    /// admitted beside the token that rotation minted.
    Grace,
    /// `used` was retired earlier: a reuse. The session is ended.
    Reused,
    /// The session is unknown, expired or ended: nothing changed.
    Ended,
}

impl Rotation {
    /// Its name in logs and SQL audit columns.
    ///
    /// ```
    /// assert_eq!(jwt_runtime::stores::Rotation::Reused.as_str(), "reused");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Rotation::Rotated => "rotated",
            Rotation::Grace => "grace",
            Rotation::Reused => "reused",
            Rotation::Ended => "ended",
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
    /// The `jti`s that may rotate now.
    pub(crate) current: Vec<String>,
    /// The `jti`s the last rotation retired (accepted within the grace window).
    pub(crate) previous: Vec<String>,
    pub(crate) rotated_at: i64,
    pub(crate) retain_until: Option<i64>,
    /// Ended: by a reuse, or by its user.
    pub(crate) ended: bool,
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
        }
    }

    /// Whether it is live at `now` (not ended, not past its retention).
    pub(crate) fn is_live(&self, now: i64) -> bool {
        !self.ended && self.retain_until.is_none_or(|until| until >= now)
    }

    /// Applies one use of a refresh token.
    pub(crate) fn step(&mut self, step: &RotationStep) -> Rotation {
        if !self.is_live(step.now) {
            return Rotation::Ended;
        }
        // Strictly less: a grace of 0 accepts no retired token, even in the same second.
        let within_grace = step.now.saturating_sub(self.rotated_at)
            < i64::try_from(step.grace).unwrap_or(i64::MAX);
        let outcome = if self.current.contains(&step.used) {
            self.previous = std::mem::replace(&mut self.current, vec![step.new.clone()]);
            self.rotated_at = step.now;
            Rotation::Rotated
        } else if self.previous.contains(&step.used)
            && within_grace
            && self.current.len() < MAX_SIBLINGS
        {
            self.current.push(step.new.clone());
            Rotation::Grace
        } else {
            self.ended = true;
            return Rotation::Reused;
        };
        self.last_refreshed = step.now;
        self.retain_until = match (self.retain_until, step.retain_until) {
            (Some(old), Some(new)) => Some(old.max(new)),
            _ => None,
        };
        outcome
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
        }
    }

    #[test]
    fn rotates_then_detects_reuse_after_grace() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        assert_eq!(f.retain_until, Some(2000));
        assert_eq!(f.step(&step("b", "c", 300)), Rotation::Rotated);
        assert_eq!(f.step(&step("b", "x", 310)), Rotation::Reused);
        assert!(f.ended);
        assert_eq!(f.step(&step("c", "y", 312)), Rotation::Ended);
    }

    #[test]
    fn a_concurrent_use_within_grace_adds_a_sibling() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        assert_eq!(f.step(&step("a", "b2", 209)), Rotation::Grace);
        // Either sibling rotates afterwards.
        assert_eq!(f.step(&step("b2", "c", 220)), Rotation::Rotated);
        assert_eq!(f.previous, vec!["b".to_string(), "b2".to_string()]);
    }

    #[test]
    fn an_old_token_is_a_reuse_even_within_grace() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 200)), Rotation::Rotated);
        assert_eq!(f.step(&step("b", "c", 201)), Rotation::Rotated);
        assert_eq!(f.step(&step("a", "z", 202)), Rotation::Reused);
    }

    #[test]
    fn siblings_are_bounded() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b0", 200)), Rotation::Rotated);
        for i in 1..MAX_SIBLINGS {
            assert_eq!(f.step(&step("a", &format!("b{i}"), 201)), Rotation::Grace);
        }
        assert_eq!(f.step(&step("a", "over", 202)), Rotation::Reused);
    }

    #[test]
    fn an_expired_session_is_ended() {
        let mut f = family();
        assert_eq!(f.step(&step("a", "b", 1001)), Rotation::Ended);
        assert!(!f.ended);
    }
}
