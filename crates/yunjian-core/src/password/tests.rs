use proptest::prelude::*;

use super::*;

fn codes(password: &str, username: &str) -> Vec<&'static str> {
    PasswordPolicy::default()
        .check(password, username)
        .into_iter()
        .map(PasswordProblem::code)
        .collect()
}

#[test]
fn the_guides_floors_hold_and_looser_settings_are_refused() {
    assert!(PasswordPolicy::default().check_settings().is_ok());
    let stricter = PasswordPolicy {
        min_length: 16,
        min_classes: 4,
        history: 10,
        max_age_days: 60,
        ..PasswordPolicy::default()
    };
    assert!(stricter.check_settings().is_ok());
    for looser in [
        PasswordPolicy {
            min_length: 12,
            ..PasswordPolicy::default()
        },
        PasswordPolicy {
            min_classes: 2,
            ..PasswordPolicy::default()
        },
        PasswordPolicy {
            history: 3,
            ..PasswordPolicy::default()
        },
        PasswordPolicy {
            max_age_days: 120,
            ..PasswordPolicy::default()
        },
        PasswordPolicy {
            min_age_days: 0,
            ..PasswordPolicy::default()
        },
    ] {
        assert!(looser.check_settings().is_err(), "{looser:?}");
    }
}

#[test]
fn weak_passwords_are_refused_with_their_reasons() {
    assert_eq!(codes("Gx7#kPq2vLm9Wd", "ops-zhang"), Vec::<&str>::new());
    assert_eq!(codes("Short1!", "ops"), vec!["password_too_short"]);
    assert_eq!(
        codes("alllowercaseletters", "ops"),
        vec!["password_too_simple"]
    );
    assert!(codes("Ops-Zhang-2026-Spring", "ops-zhang").contains(&"password_contains_username"));
    for common in [
        "P@ssw0rd123456!",
        "Password12345678",
        "1qaz2wsx3edc4rfv",
        "Qwertyuiop!2345",
        "Woaini1314!!AB",
        "Administrator1!",
    ] {
        assert!(
            codes(common, "x").contains(&"password_common"),
            "{common}: {:?}",
            codes(common, "x")
        );
    }
    for repetitive in ["Aaaa1234567890!", "Ab1!Ab1!Ab1!Ab1!"] {
        assert!(
            codes(repetitive, "x").contains(&"password_repetitive"),
            "{repetitive}"
        );
    }
    // Chinese characters count as "other" characters.
    assert_eq!(codes("云监Kp7q2vLm9Wd数据", "ops"), Vec::<&str>::new());
}

#[test]
fn age_warns_before_expiry_and_min_age_holds_unless_forced() {
    let policy = PasswordPolicy::default();
    let day = 86_400 * 1_000_000_000i64;
    assert_eq!(policy.age(0, 10 * day), PasswordAge::Fresh);
    assert_eq!(
        policy.age(0, 80 * day),
        PasswordAge::ExpiresSoon { days_left: 10 }
    );
    assert_eq!(policy.age(0, 90 * day), PasswordAge::Expired);
    assert!(!policy.may_change(0, day / 2, false));
    assert!(policy.may_change(0, day / 2, true));
    assert!(policy.may_change(0, day, false));
}

proptest! {
    /// Random strong-looking passwords of 14-40 characters from all four classes pass
    /// unless they hit a rule, and no input panics.
    #[test]
    fn checking_never_panics(password in "\\PC{0,60}", username in "[a-z0-9._-]{0,12}") {
        let _ = PasswordPolicy::default().check(&password, &username);
    }

    #[test]
    fn any_accepted_password_meets_the_floors(password in "[A-Za-z0-9!@#%^&*_=+-]{14,30}") {
        let problems = PasswordPolicy::default().check(&password, "someone");
        if problems.is_empty() {
            prop_assert!(password.chars().count() >= 14);
            prop_assert!(classes(&password) >= 3);
        }
    }
}
