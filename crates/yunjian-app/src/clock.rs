//! The one clock (invariant 4): UTC nanoseconds from the server's clock.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    /// Nanoseconds since the Unix epoch, UTC.
    fn now_ns(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the wall clock
    fn now_ns(&self) -> i64 {
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
    }
}

/// A clock tests set and advance explicitly (no sleeping).
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(now_ns: i64) -> FixedClock {
        FixedClock(AtomicI64::new(now_ns))
    }

    pub fn advance_ns(&self, delta: i64) {
        self.0.fetch_add(delta, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_ns(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
