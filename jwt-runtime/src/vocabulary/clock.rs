//! The one time source: token times, every time check, store pruning and Redis TTLs.

/// The time source of a [`JwtManager`](crate::JwtManager): `iat`/`exp` of new tokens, every time
/// check, and the revocation stores' pruning and TTLs.
///
/// Production uses [`SystemClock`]; tests freeze time with
/// [`JwtManagerBuilder::clock`](crate::JwtManagerBuilder::clock). Any `Fn() -> f64` is a clock.
///
/// ```
/// use jwt_runtime::hooks::Clock;
/// let frozen = || 1_700_000_000.0;
/// assert_eq!(frozen.now(), 1_700_000_000.0);
/// assert_eq!(frozen.unix_seconds(), 1_700_000_000);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the unix epoch, with a fraction.
    fn now(&self) -> f64;

    /// Whole seconds since the unix epoch.
    fn unix_seconds(&self) -> i64 {
        self.now().floor() as i64
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

impl<F: Fn() -> f64 + Send + Sync + 'static> Clock for F {
    fn now(&self) -> f64 {
        self()
    }
}
