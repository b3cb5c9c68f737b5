//! Passwords and login failures through the app: lockout after five failures (the same
//! answer as a wrong password), escalation to an administrator unlock, resets that force
//! a change and end sessions, history, minimum and maximum age.

use yunjian_app::{AppError, Context, NewAccountInput};
use yunjian_core::ids::AccountId;
use yunjian_core::role::Role;

use super::{context, harness, records, Harness};

const MINUTE: i64 = 60 * 1_000_000_000;
const DAY: i64 = 24 * 60 * MINUTE;
const FIRST: &str = "a-long-enough-passphrase";

/// A supervisor made by the system administrator, with its password changed once.
async fn supervisor(h: &Harness, password: &str) -> AccountId {
    let account = h
        .app
        .create_account(
            &h.admin,
            NewAccountInput {
                username: "supervisor1".into(),
                display_name: None,
                password: FIRST.into(),
                role: Role::Supervisor,
                tenant: None,
                provider: None,
                person_id: None,
            },
        )
        .await
        .expect("account");
    let login = h
        .app
        .login("supervisor1", FIRST, "r", None)
        .await
        .expect("login");
    let own = Context::new(login.principal.clone(), "r", None);
    h.app
        .change_password(&own, &login.token, FIRST, password)
        .await
        .expect("first change");
    account.id
}

async fn fails(h: &Harness, password: &str) -> bool {
    matches!(
        h.app
            .login("supervisor1", password, "r", Some("198.51.100.9"))
            .await,
        Err(AppError::BadCredentials)
    )
}

#[tokio::test]
async fn five_failures_lock_for_thirty_minutes_with_the_same_answer() {
    let h = harness().await;
    supervisor(&h, "Nine-Tails#Fox-2026").await;
    for _ in 0..5 {
        assert!(fails(&h, "wrong-but-long-guess").await);
    }
    assert!(
        fails(&h, "Nine-Tails#Fox-2026").await,
        "locked: the right password fails alike"
    );
    let locks = records(&h, "auth.lockout").await;
    assert_eq!(locks.len(), 1);
    let failed = records(&h, "auth.login").await;
    assert!(failed
        .iter()
        .any(|r| r.record.reason.as_deref() == Some("account locked")));
    h.clock.advance_ns(31 * MINUTE);
    let login = h
        .app
        .login("supervisor1", "Nine-Tails#Fox-2026", "r", None)
        .await
        .expect("unlocked after 30 minutes");
    assert!(!login.password_change_required);
}

#[tokio::test]
async fn repeated_locks_need_the_system_administrator() {
    let h = harness().await;
    let id = supervisor(&h, "Nine-Tails#Fox-2026").await;
    for _ in 0..3 {
        for _ in 0..5 {
            fails(&h, "wrong-but-long-guess").await;
        }
        h.clock.advance_ns(31 * MINUTE);
    }
    h.clock.advance_ns(DAY);
    assert!(
        fails(&h, "Nine-Tails#Fox-2026").await,
        "escalated: no timeout unlocks it"
    );
    let security_admin = context(Role::SecurityAdmin, None, None);
    assert!(matches!(
        h.app.unlock_account(&security_admin, id).await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        h.app
            .unlock_account(&h.admin, h.admin.principal.account_id)
            .await,
        Err(AppError::Forbidden(_))
    ));
    h.app
        .unlock_account(&h.admin, id)
        .await
        .expect("the system administrator unlocks");
    h.app
        .login("supervisor1", "Nine-Tails#Fox-2026", "r", None)
        .await
        .expect("open again");
    assert_eq!(
        records(&h, "account.unlock").await.len(),
        3,
        "both refusals and the unlock"
    );
}

#[tokio::test]
async fn a_reset_forces_a_change_and_ends_the_sessions() {
    let h = harness().await;
    let id = supervisor(&h, "Nine-Tails#Fox-2026").await;
    let before = h
        .app
        .login("supervisor1", "Nine-Tails#Fox-2026", "r", None)
        .await
        .expect("login");
    let auditor = context(Role::SecurityAuditor, None, None);
    assert!(matches!(
        h.app.reset_password(&auditor, id).await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        h.app
            .reset_password(&h.admin, h.admin.principal.account_id)
            .await,
        Err(AppError::Forbidden(_))
    ));
    let one_time = h.app.reset_password(&h.admin, id).await.expect("reset");
    assert!(matches!(
        h.app.authenticate(&before.token).await,
        Err(AppError::Unauthenticated)
    ));
    let login = h
        .app
        .login("supervisor1", &one_time, "r", None)
        .await
        .expect("one-time password");
    assert!(login.password_change_required);
    assert!(matches!(
        h.app.authenticate(&login.token).await,
        Err(AppError::PasswordChangeRequired)
    ));
    assert!(records(&h, "account.password.reset")
        .await
        .iter()
        .all(|r| !r.line.as_deref().unwrap_or("").contains(&one_time)));
}

#[tokio::test]
async fn history_and_minimum_and_maximum_age_hold() {
    let h = harness().await;
    supervisor(&h, "Nine-Tails#Fox-2026").await;
    let login = h
        .app
        .login("supervisor1", "Nine-Tails#Fox-2026", "r", None)
        .await
        .expect("login");
    let own = Context::new(login.principal.clone(), "r", None);
    let codes = |error: AppError| match error {
        AppError::Invalid(fields) => fields.iter().map(|f| f.code).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let soon = h
        .app
        .change_password(
            &own,
            &login.token,
            "Nine-Tails#Fox-2026",
            "Amber-Comet#4410-Ridge",
        )
        .await
        .expect_err("too soon");
    assert_eq!(codes(soon), vec!["password_changed_too_recently"]);
    h.clock.advance_ns(2 * DAY);
    // (Sessions last hours, not days: log in again.)
    let login = h
        .app
        .login("supervisor1", "Nine-Tails#Fox-2026", "r", None)
        .await
        .expect("login");
    let other = h
        .app
        .login("supervisor1", "Nine-Tails#Fox-2026", "r", None)
        .await
        .expect("second session");
    let own = Context::new(login.principal.clone(), "r", None);
    let reused = h
        .app
        .change_password(&own, &login.token, "Nine-Tails#Fox-2026", FIRST)
        .await
        .expect_err("reused");
    assert!(codes(reused).contains(&"password_reused"));
    let wrong = h
        .app
        .change_password(
            &own,
            &login.token,
            "not-the-password",
            "Amber-Comet#4410-Ridge",
        )
        .await
        .expect_err("wrong current");
    assert_eq!(codes(wrong), vec!["wrong_password"]);
    h.app
        .change_password(
            &own,
            &login.token,
            "Nine-Tails#Fox-2026",
            "Amber-Comet#4410-Ridge",
        )
        .await
        .expect("changed");
    assert!(
        h.app.authenticate(&login.token).await.is_ok(),
        "this session stays"
    );
    assert!(
        matches!(
            h.app.authenticate(&other.token).await,
            Err(AppError::Unauthenticated)
        ),
        "the others end"
    );
    // Ninety days later the password has expired: login works, everything else waits.
    h.clock.advance_ns(91 * DAY);
    let late = h
        .app
        .login("supervisor1", "Amber-Comet#4410-Ridge", "r", None)
        .await
        .expect("login");
    assert!(late.password_change_required);
}

#[tokio::test]
async fn an_address_gets_ten_login_attempts_a_minute() {
    let h = harness().await;
    supervisor(&h, "Nine-Tails#Fox-2026").await;
    for _ in 0..yunjian_app::LOGIN_BURST {
        let _ = h
            .app
            .login("nobody", "wrong-but-long-guess", "r", Some("203.0.113.5"))
            .await;
    }
    assert!(matches!(
        h.app
            .login(
                "supervisor1",
                "Nine-Tails#Fox-2026",
                "r",
                Some("203.0.113.5")
            )
            .await,
        Err(AppError::RateLimited)
    ));
    // Another address is not affected, and the first one may try again a minute later.
    h.app
        .login(
            "supervisor1",
            "Nine-Tails#Fox-2026",
            "r",
            Some("203.0.113.6"),
        )
        .await
        .expect("other address");
    h.clock.advance_ns(MINUTE);
    h.app
        .login(
            "supervisor1",
            "Nine-Tails#Fox-2026",
            "r",
            Some("203.0.113.5"),
        )
        .await
        .expect("a minute later");
    let limited = records(&h, "auth.login").await;
    assert!(limited.iter().any(|r| r
        .record
        .reason
        .as_deref()
        .is_some_and(|reason| reason.starts_with("rate limited"))));
}

/// TOTP: enrolment confirmed by a code, then login needs a code (after the right
/// password), each code works once, a wrong one counts towards the lock, and a recovery
/// code works once.
#[tokio::test]
async fn a_second_factor_is_enrolled_then_required_once_per_code() {
    let h = harness().await;
    let app = h
        .app
        .clone()
        .with_sealing(yunjian_gm::SealingKey::generate());
    supervisor(&h, "Nine-Tails#Fox-2026").await;
    let login = app
        .login("supervisor1", "Nine-Tails#Fox-2026", "r", None)
        .await
        .expect("login");
    let own = Context::new(login.principal.clone(), "r", None);
    let enrolment = app.begin_totp_enrolment(&own).await.expect("enrol");
    assert!(enrolment
        .otpauth_uri
        .starts_with("otpauth://totp/yunjian%3Asupervisor1?secret="));
    let totp = yunjian_gm::Totp::from_base32(&enrolment.secret_base32).expect("base32");
    let unix = |h: &Harness| (yunjian_app::Clock::now_ns(&*h.clock) / 1_000_000_000) as u64;
    assert!(
        app.confirm_totp_enrolment(&own, &login.token, "000000")
            .await
            .is_err()
            || totp.code_at(unix(&h)) == "000000"
    );
    let recovery = app
        .confirm_totp_enrolment(&own, &login.token, &totp.code_at(unix(&h)))
        .await
        .expect("confirmed");
    assert_eq!(recovery.len(), 10);
    h.clock.advance_ns(60 * 1_000_000_000);
    // Password right, no code: the code is asked for.
    assert!(matches!(
        app.login("supervisor1", "Nine-Tails#Fox-2026", "r", None)
            .await,
        Err(AppError::TotpRequired)
    ));
    // Password wrong, no code: the usual answer (the second factor is not revealed).
    assert!(matches!(
        app.login("supervisor1", "wrong-but-long-guess", "r", None)
            .await,
        Err(AppError::BadCredentials)
    ));
    let code = totp.code_at(unix(&h));
    app.login_with("supervisor1", "Nine-Tails#Fox-2026", Some(&code), "r", None)
        .await
        .expect("with the code");
    assert!(
        matches!(
            app.login_with("supervisor1", "Nine-Tails#Fox-2026", Some(&code), "r", None)
                .await,
            Err(AppError::BadCredentials)
        ),
        "a code is good once"
    );
    app.login_with(
        "supervisor1",
        "Nine-Tails#Fox-2026",
        Some(&recovery[0]),
        "r",
        None,
    )
    .await
    .expect("recovery code");
    assert!(
        matches!(
            app.login_with(
                "supervisor1",
                "Nine-Tails#Fox-2026",
                Some(&recovery[0]),
                "r",
                None
            )
            .await,
            Err(AppError::BadCredentials)
        ),
        "a recovery code is good once"
    );
    let wrong = records(&h, "auth.login").await;
    assert!(wrong
        .iter()
        .any(|r| r.record.reason.as_deref() == Some("wrong second factor")));
    assert_eq!(
        records(&h, "auth.totp.confirm")
            .await
            .iter()
            .filter(|r| r.record.actor_username.as_deref() == Some("supervisor1"))
            .count(),
        1
    );
}

/// PBKDF2-HMAC-SM3 for national-algorithm-only deployments: new hashes use it, logins
/// verify it, and switching back to argon2id keeps every stored hash working.
#[tokio::test]
async fn a_national_algorithm_deployment_hashes_with_pbkdf2_sm3() {
    let h = harness().await;
    let settings = yunjian_app::IdentitySettings {
        password_hashing: yunjian_app::PasswordHashing::Pbkdf2Sm3,
        ..yunjian_app::IdentitySettings::default()
    };
    let app = h.app.clone().with_identity(settings);
    app.create_account(
        &h.admin,
        NewAccountInput {
            username: "gm-only".into(),
            display_name: None,
            password: FIRST.into(),
            role: Role::Supervisor,
            tenant: None,
            provider: None,
            person_id: None,
        },
    )
    .await
    .expect("account");
    let stored = app
        .store()
        .account_by_username("gm-only")
        .await
        .expect("read")
        .expect("present");
    assert!(
        stored.password_hash.starts_with("$pbkdf2-sm3$i=600000$"),
        "{}",
        stored.password_hash
    );
    app.login("gm-only", FIRST, "r", None)
        .await
        .expect("pbkdf2 login");
    assert!(matches!(
        app.login("gm-only", "a-long-enough-passphrasE", "r", None)
            .await,
        Err(AppError::BadCredentials)
    ));
    // Back to argon2id: the stored PBKDF2 hash still verifies.
    h.app
        .login("gm-only", FIRST, "r", None)
        .await
        .expect("still verifies");
}
