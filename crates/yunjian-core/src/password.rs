//! Password policy (guide 7.5.2.3, 7.5.3.1): the guide's floors, checks of a new
//! password, and its age. Pure: hashing and history comparison (argon2 verification
//! of earlier hashes) happen in the app.

use serde::Serialize;

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// The policy. `Default` is the guide's floors; settings may only be stricter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// At least this many characters (floor 14).
    pub min_length: usize,
    /// At least this many of: lower case, upper case, digits, other (floor 3).
    pub min_classes: usize,
    /// Not one of the last N passwords (floor 5).
    pub history: usize,
    /// Changed at least this often (ceiling 90 days: "at least every 3 months").
    pub max_age_days: u32,
    /// Not changed again sooner than this, unless a change is forced (floor 1 day).
    pub min_age_days: u32,
    /// Reminders start this many days before expiry.
    pub warn_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 14,
            min_classes: 3,
            history: 5,
            max_age_days: 90,
            min_age_days: 1,
            warn_days: 14,
        }
    }
}

impl PasswordPolicy {
    /// Refuses settings looser than the guide's floors, naming each.
    pub fn check_settings(&self) -> Result<(), Vec<String>> {
        let floor = PasswordPolicy::default();
        let mut problems = Vec::new();
        if self.min_length < floor.min_length {
            problems.push(format!("min_length must be at least {}", floor.min_length));
        }
        if !(floor.min_classes..=4).contains(&self.min_classes) {
            problems.push(format!("min_classes must be {} or 4", floor.min_classes));
        }
        if self.history < floor.history {
            problems.push(format!("history must be at least {}", floor.history));
        }
        if self.max_age_days == 0 || self.max_age_days > floor.max_age_days {
            problems.push(format!("max_age_days must be 1 to {}", floor.max_age_days));
        }
        if self.min_age_days < floor.min_age_days || self.min_age_days >= self.max_age_days {
            problems.push("min_age_days must be at least 1 and below max_age_days".into());
        }
        if self.warn_days >= self.max_age_days {
            problems.push("warn_days must be below max_age_days".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// What is wrong with a new password for `username` (empty when it is acceptable).
    pub fn check(&self, password: &str, username: &str) -> Vec<PasswordProblem> {
        let mut problems = Vec::new();
        let length = password.chars().count();
        if length < self.min_length {
            problems.push(PasswordProblem::TooShort {
                min: self.min_length,
            });
        }
        if length > 256 {
            problems.push(PasswordProblem::TooLong { max: 256 });
        }
        let found = classes(password);
        if found < self.min_classes {
            problems.push(PasswordProblem::TooFewClasses {
                min: self.min_classes,
                found,
            });
        }
        let lower = password.to_lowercase();
        let name = username.to_lowercase();
        if name.chars().count() >= 3 && lower.contains(&name) {
            problems.push(PasswordProblem::ContainsUsername);
        }
        if is_common(password) {
            problems.push(PasswordProblem::Common);
        }
        if is_repetitive(password) {
            problems.push(PasswordProblem::Repetitive);
        }
        problems
    }

    /// Where a password set at `changed_at_ns` stands at `now_ns`.
    pub fn age(&self, changed_at_ns: i64, now_ns: i64) -> PasswordAge {
        let expires_at_ns = changed_at_ns + i64::from(self.max_age_days) * DAY_NS;
        if now_ns >= expires_at_ns {
            PasswordAge::Expired
        } else if now_ns >= expires_at_ns - i64::from(self.warn_days) * DAY_NS {
            PasswordAge::ExpiresSoon {
                days_left: ((expires_at_ns - now_ns) + DAY_NS - 1) / DAY_NS,
            }
        } else {
            PasswordAge::Fresh
        }
    }

    /// Whether a voluntary change is allowed yet (a forced change always is).
    pub fn may_change(&self, changed_at_ns: i64, now_ns: i64, forced: bool) -> bool {
        forced || now_ns - changed_at_ns >= i64::from(self.min_age_days) * DAY_NS
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PasswordAge {
    Fresh,
    ExpiresSoon { days_left: i64 },
    Expired,
}

/// One reason a password is refused; `code` is stable for clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    TooFewClasses {
        min: usize,
        found: usize,
    },
    ContainsUsername,
    Common,
    Repetitive,
    /// Set by the app: equal to one of the last N passwords.
    Reused {
        history: usize,
    },
    /// Set by the app: changed too recently.
    TooSoon {
        min_age_days: u32,
    },
}

impl PasswordProblem {
    pub fn code(self) -> &'static str {
        match self {
            PasswordProblem::TooShort { .. } => "password_too_short",
            PasswordProblem::TooLong { .. } => "password_too_long",
            PasswordProblem::TooFewClasses { .. } => "password_too_simple",
            PasswordProblem::ContainsUsername => "password_contains_username",
            PasswordProblem::Common => "password_common",
            PasswordProblem::Repetitive => "password_repetitive",
            PasswordProblem::Reused { .. } => "password_reused",
            PasswordProblem::TooSoon { .. } => "password_changed_too_recently",
        }
    }

    pub fn message(self) -> String {
        match self {
            PasswordProblem::TooShort { min } => format!("at least {min} characters (7.5.3.1)"),
            PasswordProblem::TooLong { max } => format!("at most {max} characters"),
            PasswordProblem::TooFewClasses { min, found } => format!(
                "at least {min} of: lower case, upper case, digits, other characters ({found} found)"
            ),
            PasswordProblem::ContainsUsername => "must not contain the username".into(),
            PasswordProblem::Common => {
                "too common: built on a well-known password or keyboard pattern".into()
            }
            PasswordProblem::Repetitive => {
                "too repetitive: a character four times in a row or one short part repeated".into()
            }
            PasswordProblem::Reused { history } => {
                format!("must differ from the last {history} passwords")
            }
            PasswordProblem::TooSoon { min_age_days } => {
                format!("a password is kept at least {min_age_days} day(s) before a change")
            }
        }
    }
}

fn classes(password: &str) -> usize {
    let mut seen = [false; 4];
    for c in password.chars() {
        let class = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            3
        };
        seen[class] = true;
    }
    seen.iter().filter(|seen| **seen).count()
}

const COMMON: &str = include_str!("../data/common-passwords.txt");

fn common_words() -> impl Iterator<Item = &'static str> {
    COMMON
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Lower case with the usual letter substitutions undone.
fn normalize(password: &str) -> String {
    password
        .to_lowercase()
        .chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '0' => 'o',
            '1' | '!' | '|' => 'i',
            '3' => 'e',
            '$' | '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// Built on a common word: the password with digits and symbols trimmed from both ends
/// (before or after undoing substitutions) is a common word, or a common word or
/// keyboard pattern of 8+ characters makes up most of it.
fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let normalized = normalize(password);
    let trim =
        |text: &str| -> String { text.trim_matches(|c: char| !c.is_alphabetic()).to_owned() };
    let cores = [
        lower.clone(),
        normalized.clone(),
        trim(&lower),
        trim(&normalized),
    ];
    let letters_only: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    common_words().any(|word| {
        cores.iter().any(|core| core == word)
            || letters_only == word
            || (word.chars().count() >= 8
                && (lower.contains(word) || normalized.contains(word))
                && word.chars().count() * 2 >= lower.chars().count())
    })
}

/// A character four times in a row (ignoring case), or the whole password one short
/// unit repeated.
fn is_repetitive(password: &str) -> bool {
    let chars: Vec<char> = password.to_lowercase().chars().collect();
    if chars.windows(4).any(|w| w.iter().all(|c| *c == w[0])) {
        return true;
    }
    (1..=chars.len() / 3).any(|unit| {
        chars.len().is_multiple_of(unit) && chars.chunks(unit).all(|chunk| chunk == &chars[..unit])
    })
}

#[cfg(test)]
mod tests;
