//! Login-failure handling (guide 7.5.2.3, 7.5.3.8): lock an account after repeated
//! failures, escalate to an administrator unlock after repeated locks. Pure: the state is
//! stored with the account, time comes in as an argument.

use serde::{Deserialize, Serialize};

const MINUTE_NS: i64 = 60 * 1_000_000_000;

/// `Default` is the floor; settings may only be stricter (fewer failures, longer window
/// and lock, earlier escalation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window_ns: i64,
    pub lock_ns: i64,
    /// This many locks within `escalation_window_ns` need an administrator to unlock.
    pub escalate_after: u32,
    pub escalation_window_ns: i64,
}

impl Default for LockoutPolicy {
    fn default() -> LockoutPolicy {
        LockoutPolicy {
            max_failures: 5,
            window_ns: 15 * MINUTE_NS,
            lock_ns: 30 * MINUTE_NS,
            escalate_after: 3,
            escalation_window_ns: 24 * 60 * MINUTE_NS,
        }
    }
}

impl LockoutPolicy {
    pub fn check_settings(&self) -> Result<(), Vec<String>> {
        let floor = LockoutPolicy::default();
        let mut problems = Vec::new();
        if !(1..=floor.max_failures).contains(&self.max_failures) {
            problems.push(format!("max_failures must be 1 to {}", floor.max_failures));
        }
        if self.window_ns < floor.window_ns {
            problems.push("the failure window must be at least 15 minutes".into());
        }
        if self.lock_ns < floor.lock_ns {
            problems.push("a lock must last at least 30 minutes".into());
        }
        if !(1..=floor.escalate_after).contains(&self.escalate_after) {
            problems.push(format!(
                "escalate_after must be 1 to {}",
                floor.escalate_after
            ));
        }
        if self.escalation_window_ns < floor.escalation_window_ns {
            problems.push("the escalation window must be at least 24 hours".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Whether an account may log in now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    Open,
    Until(i64),
    /// Locked until an administrator unlocks it.
    Administrator,
}

/// What a failure led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockEvent {
    Locked { until_ns: i64 },
    Escalated,
}

/// Kept with the account (as JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockState {
    /// Times of recent failures, oldest first.
    #[serde(default)]
    pub failures: Vec<i64>,
    #[serde(default)]
    pub locked_until_ns: Option<i64>,
    /// Times of recent locks, oldest first.
    #[serde(default)]
    pub locks: Vec<i64>,
    #[serde(default)]
    pub administrator_lock: bool,
}

impl LockState {
    pub fn lock(&self, now_ns: i64) -> Lock {
        if self.administrator_lock {
            Lock::Administrator
        } else {
            match self.locked_until_ns {
                Some(until) if now_ns < until => Lock::Until(until),
                _ => Lock::Open,
            }
        }
    }

    /// Records a failed attempt (also while locked: it does not extend the lock, but it
    /// is counted after the lock ends).
    pub fn on_failure(&mut self, now_ns: i64, policy: &LockoutPolicy) -> Option<LockEvent> {
        if self.lock(now_ns) != Lock::Open {
            return None;
        }
        self.failures.retain(|at| now_ns - at < policy.window_ns);
        self.failures.push(now_ns);
        if self.failures.len() < policy.max_failures as usize {
            return None;
        }
        self.failures.clear();
        self.locks
            .retain(|at| now_ns - at < policy.escalation_window_ns);
        self.locks.push(now_ns);
        if self.locks.len() >= policy.escalate_after as usize {
            self.administrator_lock = true;
            self.locked_until_ns = None;
            Some(LockEvent::Escalated)
        } else {
            let until_ns = now_ns + policy.lock_ns;
            self.locked_until_ns = Some(until_ns);
            Some(LockEvent::Locked { until_ns })
        }
    }

    /// A successful login clears the failures (the lock history stays for escalation).
    pub fn on_success(&mut self) {
        self.failures.clear();
        self.locked_until_ns = None;
    }

    /// An administrator's unlock clears everything.
    pub fn unlock(&mut self) {
        *self = LockState::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = MINUTE_NS;

    #[test]
    fn five_failures_in_fifteen_minutes_lock_for_thirty() {
        let policy = LockoutPolicy::default();
        let mut state = LockState::default();
        for i in 0..4 {
            assert_eq!(state.on_failure(i * MINUTE, &policy), None);
        }
        assert_eq!(state.lock(4 * MINUTE), Lock::Open);
        assert_eq!(
            state.on_failure(4 * MINUTE, &policy),
            Some(LockEvent::Locked {
                until_ns: 34 * MINUTE
            })
        );
        assert_eq!(state.lock(20 * MINUTE), Lock::Until(34 * MINUTE));
        assert_eq!(
            state.on_failure(21 * MINUTE, &policy),
            None,
            "no new lock while locked"
        );
        assert_eq!(state.lock(34 * MINUTE), Lock::Open);
    }

    #[test]
    fn failures_spread_out_do_not_lock() {
        let policy = LockoutPolicy::default();
        let mut state = LockState::default();
        for i in 0..20 {
            assert_eq!(
                state.on_failure(i * 4 * MINUTE, &policy),
                None,
                "failure {i}"
            );
        }
    }

    #[test]
    fn repeated_locks_escalate_to_an_administrator() {
        let policy = LockoutPolicy::default();
        let mut state = LockState::default();
        let mut now = 0;
        for lock in 0..3 {
            let mut event = None;
            for _ in 0..5 {
                event = state.on_failure(now, &policy);
                now += MINUTE;
            }
            if lock < 2 {
                assert!(matches!(event, Some(LockEvent::Locked { .. })));
                now += 31 * MINUTE;
            } else {
                assert_eq!(event, Some(LockEvent::Escalated));
            }
        }
        assert_eq!(state.lock(now + 1_000 * MINUTE), Lock::Administrator);
        state.on_success();
        assert_eq!(
            state.lock(now),
            Lock::Administrator,
            "only an administrator unlocks"
        );
        state.unlock();
        assert_eq!(state.lock(now), Lock::Open);
    }

    #[test]
    fn looser_settings_are_refused() {
        assert!(LockoutPolicy::default().check_settings().is_ok());
        assert!(LockoutPolicy {
            max_failures: 6,
            ..LockoutPolicy::default()
        }
        .check_settings()
        .is_err());
        assert!(LockoutPolicy {
            lock_ns: 10 * MINUTE,
            ..LockoutPolicy::default()
        }
        .check_settings()
        .is_err());
        assert!(LockoutPolicy {
            window_ns: 5 * MINUTE,
            ..LockoutPolicy::default()
        }
        .check_settings()
        .is_err());
        assert!(LockoutPolicy {
            max_failures: 3,
            lock_ns: 60 * MINUTE,
            ..LockoutPolicy::default()
        }
        .check_settings()
        .is_ok());
    }
}
