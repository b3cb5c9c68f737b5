//! 三员分立 in the store itself: whatever sequence of account creations and role
//! assignments arrives (the app's checks bypassed), no person ends up holding two of the
//! system, security and audit administrator roles, and every refused step changes
//! nothing.

use proptest::prelude::*;
use yunjian_core::ids::AccountId;
use yunjian_core::role::Role;
use yunjian_store::{NewAccount, Store, StoreError};
use yunjian_testkit::fresh_store;

#[derive(Clone, Debug)]
enum Step {
    /// Create an account for person `person` with a platform role.
    Create { person: u8, role: Role },
    /// Give the `nth` account created so far (modulo their number) another role.
    Assign { nth: u8, role: Role },
}

fn platform_role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::SystemAdmin),
        Just(Role::SecurityAdmin),
        Just(Role::SecurityAuditor),
        Just(Role::Supervisor),
        Just(Role::Auditor),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..4u8, platform_role()).prop_map(|(person, role)| Step::Create { person, role }),
        (any::<u8>(), platform_role()).prop_map(|(nth, role)| Step::Assign { nth, role }),
    ]
}

/// Separated roles per person, read back from the store.
async fn separated_roles_by_person(store: &Store, prefix: &str) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for account in store.accounts().await.expect("accounts") {
        let Some(person) = account.person_id.filter(|p| p.starts_with(prefix)) else {
            continue;
        };
        if account.role.is_separated_admin() {
            *counts.entry(person).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

#[test]
fn no_sequence_of_assignments_gives_a_person_two_separated_roles() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let test = runtime.block_on(fresh_store());
    let store = test.store.clone();
    let case = std::sync::atomic::AtomicUsize::new(0);
    let refusals = std::sync::atomic::AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    };
    proptest!(config, |(steps in proptest::collection::vec(step(), 1..24))| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("case{case}-");
        runtime.block_on(async {
            let mut created: Vec<(AccountId, String)> = Vec::new();
            for (index, step) in steps.iter().enumerate() {
                let before = separated_roles_by_person(&store, &prefix).await;
                let mut tx = store.begin_write().await.expect("begin");
                let result = match step {
                    Step::Create { person, role } => {
                        let username = format!("{prefix}{index}");
                        let person = format!("{prefix}p{person}");
                        tx.insert_account(
                            &NewAccount {
                                username: &username,
                                display_name: None,
                                password_hash: "x",
                                role: *role,
                                tenant: None,
                                provider: None,
                                must_change_password: false,
                                person_id: &person,
                            },
                            1,
                        )
                        .await
                        .map(|id| created.push((id, person)))
                    }
                    Step::Assign { nth, role } if !created.is_empty() => {
                        let (id, _) = &created[usize::from(*nth) % created.len()];
                        tx.set_role(*id, *role, None, None, 2).await.map(|_| ())
                    }
                    Step::Assign { .. } => Ok(()),
                };
                match result {
                    Ok(()) => tx.commit().await.expect("commit"),
                    Err(StoreError::Conflict(_)) => {
                        drop(tx);
                        refusals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        // A refused step leaves everything as it was.
                        prop_assert_eq!(
                            separated_roles_by_person(&store, &prefix).await,
                            before
                        );
                    }
                    Err(other) => panic!("unexpected store error: {other}"),
                }
                for (person, count) in separated_roles_by_person(&store, &prefix).await {
                    prop_assert!(count <= 1, "{} holds {} separated roles", person, count);
                }
            }
            Ok(())
        })?;
    });
    assert!(
        refusals.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the generated sequences never asked for a second separated role"
    );
}
