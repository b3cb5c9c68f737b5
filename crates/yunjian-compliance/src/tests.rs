//! The engine over the demo world: the planted flaws are found, at the right scope, with
//! the right party to act; attestations, inheritance, waivers, loose parameters and
//! failing custom controls behave as documented.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use yunjian_core::demo::{generate, DemoWorld, Scale};
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;

use crate::evaluate::{evaluate, Attestation, CustomRun, Evaluation, Inputs, Override, Waiver};
use crate::inventory::{AccountFact, Facts, Inventory, PrivilegeFact, RefusalFact, Settings};
use crate::{Catalog, ControlInfo, ParameterValues, Party, PartySet, Scope, Status};

const DAY_NS: i64 = 86_400_000_000_000;

fn inventory_of(world: &DemoWorld) -> Inventory {
    let mut inventory = Inventory::default();
    for (kind, rows) in &world.kinds {
        for (id, values) in &rows.rows {
            inventory.push(*kind, *id, values);
        }
        if *kind == Kind::InformationSystem {
            for (system, vpc) in &rows.links {
                if let Some(row) = inventory.systems.iter_mut().find(|row| row.id == *system) {
                    row.vpc_ids.push(*vpc);
                }
            }
        }
    }
    inventory
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).expect("date")
}

fn now_ns() -> i64 {
    today()
        .and_hms_opt(12, 0, 0)
        .expect("time")
        .and_utc()
        .timestamp_nanos_opt()
        .expect("ns")
}

fn account(id: i64, role: Role, person: Option<&str>, second_factor: bool) -> AccountFact {
    AccountFact {
        id,
        username: format!("user{id}"),
        role,
        tenant_id: (role == Role::TenantAdmin).then_some(1),
        provider_id: (role == Role::ProviderOperator).then_some(1),
        person_id: person.map(str::to_owned),
        second_factor,
        active: true,
    }
}

fn facts() -> Facts {
    Facts {
        today: today(),
        now_ns: now_ns(),
        settings: Settings {
            log_retention_months: 6.0,
            password_min_length: 14.0,
            password_max_age_days: 90.0,
            lockout_max_failures: 5.0,
            lockout_minutes: 30.0,
        },
        accounts: vec![
            account(1, Role::SystemAdmin, Some("P1"), true),
            account(2, Role::SecurityAdmin, Some("P2"), true),
            account(3, Role::SecurityAuditor, Some("P3"), true),
            account(4, Role::TenantAdmin, None, false),
            account(5, Role::ProviderOperator, None, true),
        ],
        privileges: vec![
            PrivilegeFact {
                id: 1,
                account_id: 20,
                holder: "ops".to_owned(),
                privilege: "world.update".to_owned(),
                decided_at_ns: Some(now_ns() - 41 * DAY_NS),
                provider_id: Some(2),
                tenant_id: None,
                state: "approved".to_owned(),
                starts_at_ns: now_ns() - 40 * DAY_NS,
                ends_at_ns: now_ns() - DAY_NS,
            },
            // Renewed back to back: 60 + 58 days without a break (provider 3).
            PrivilegeFact {
                id: 2,
                account_id: 21,
                holder: "ops3".to_owned(),
                privilege: "world.delete".to_owned(),
                decided_at_ns: Some(now_ns() - 121 * DAY_NS),
                provider_id: Some(3),
                tenant_id: None,
                state: "expired".to_owned(),
                starts_at_ns: now_ns() - 120 * DAY_NS,
                ends_at_ns: now_ns() - 60 * DAY_NS,
            },
            PrivilegeFact {
                id: 3,
                account_id: 21,
                holder: "ops3".to_owned(),
                privilege: "world.delete".to_owned(),
                decided_at_ns: Some(now_ns() - 61 * DAY_NS),
                provider_id: Some(3),
                tenant_id: None,
                state: "expired".to_owned(),
                starts_at_ns: now_ns() - 60 * DAY_NS,
                ends_at_ns: now_ns() - 2 * DAY_NS,
            },
        ],
        refusals: vec![RefusalFact {
            sequence: 77,
            at_ns: now_ns() - DAY_NS,
            provider_id: 1,
            tenant_id: Some(3),
            actor: "ops-telecom".to_owned(),
            target: "vms/12 update".to_owned(),
        }],
        refusal_window_days: 30,
        approved_images: Default::default(),
        network: None,
        container_owners: Default::default(),
    }
}

struct World {
    catalog: Catalog,
    inventory: Inventory,
    demo: DemoWorld,
}

fn world() -> World {
    let demo = generate(Scale::Small, 7);
    World {
        catalog: Catalog::shipped().expect("catalog"),
        inventory: inventory_of(&demo),
        demo,
    }
}

#[derive(Default)]
struct Extra {
    configured: BTreeMap<String, f64>,
    attestations: Vec<Attestation>,
    waivers: Vec<Waiver>,
    overrides: Vec<Override>,
    custom: Vec<CustomRun>,
}

fn run(world: &World, extra: Extra) -> Evaluation {
    let facts = facts();
    let parameters = ParameterValues::new(&world.catalog, &extra.configured);
    evaluate(Inputs {
        catalog: &world.catalog,
        inventory: &world.inventory,
        facts: &facts,
        parameters: &parameters,
        attestations: &extra.attestations,
        waivers: &extra.waivers,
        overrides: &extra.overrides,
        custom: extra.custom,
    })
}

fn result<'a>(evaluation: &'a Evaluation, clause: &str, scope: Scope) -> &'a crate::ClauseResult {
    evaluation
        .results
        .iter()
        .find(|row| row.clause == clause && row.scope == scope)
        .unwrap_or_else(|| panic!("no result for {clause} at {scope}"))
}

fn provider_of_planted(world: &World, what: &str, kind: Kind) -> i64 {
    let flaw = world
        .demo
        .planted
        .iter()
        .find(|flaw| flaw.what.contains(what))
        .unwrap_or_else(|| panic!("no planted flaw {what}"));
    let rows = &world.demo.rows(kind).rows;
    let values = &rows[(flaw.id - 1) as usize].1;
    values["provider_id"].as_int().expect("provider")
}

/// A tenant whose VPCs are all with `provider`, and one with none there.
fn tenants_by_provider(world: &World, provider: i64) -> (i64, i64) {
    let mut providers: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for vpc in &world.inventory.vpcs {
        providers
            .entry(vpc.tenant_id)
            .or_default()
            .push(vpc.provider_id);
    }
    let only = providers
        .iter()
        .find(|(_, list)| list.iter().all(|id| *id == provider))
        .map(|(tenant, _)| *tenant)
        .expect("a tenant only on the provider");
    let never = providers
        .iter()
        .find(|(_, list)| list.iter().all(|id| *id != provider))
        .map(|(tenant, _)| *tenant)
        .expect("a tenant never on the provider");
    (only, never)
}

#[test]
fn the_planted_flaws_are_found_with_the_party_that_must_act() {
    let world = world();
    let evaluation = run(&world, Extra::default());

    // A single-carrier datacentre: the provider fails 7.2.2.2 and must act.
    let single = provider_of_planted(&world, "single carrier", Kind::Datacenter);
    let row = result(&evaluation, "7.2.2.2", Scope::Provider(single));
    assert_eq!(row.status, Status::Fail, "{}", row.message_en);
    assert_eq!(row.must_act, PartySet::of(&[Party::Provider]));
    assert!(row.outcomes[0]
        .evidence
        .iter()
        .any(|item| item.failing && item.kind == "datacenter" && item.value == "china_telecom"));
    // Its tenants see the provider's failure; others inherit.
    let (on_it, elsewhere) = tenants_by_provider(&world, single);
    let row = result(&evaluation, "7.2.2.2", Scope::Tenant(on_it));
    assert_eq!(row.status, Status::Fail);
    assert_eq!(row.must_act, PartySet::of(&[Party::Provider]));
    assert_eq!(
        result(&evaluation, "7.2.2.2", Scope::Tenant(elsewhere)).status,
        Status::Inherited
    );

    // The expired platform assessment (7.1.11).
    let expired = provider_of_planted(&world, "assessment expired", Kind::Platform);
    assert_eq!(
        result(&evaluation, "7.1.11", Scope::Provider(expired)).status,
        Status::Fail
    );

    // An internet-zone VM on an extranet host (7.1.2): the host's provider.
    let fails: Vec<i64> = evaluation
        .results
        .iter()
        .filter(|row| row.clause == "7.1.2" && row.status == Status::Fail)
        .filter_map(|row| match row.scope {
            Scope::Provider(id) => Some(id),
            _ => None,
        })
        .collect();
    assert!(!fails.is_empty());

    // Bad security group rules: the tenant must act (IaaS: the annex shares the tenant's
    // virtual network domain between provider and tenant).
    let sg_flaws: Vec<_> = world
        .demo
        .planted
        .iter()
        .filter(|flaw| flaw.kind == Kind::SecurityGroupRule)
        // Exposure to the world is 7.2.3.1's; the planted cross-tenant SSH rule is
        // network verification's (network.isolation).
        .filter(|flaw| flaw.what.contains("0.0.0.0/0") || flaw.what.contains("any-to-any"))
        .collect();
    assert!(!sg_flaws.is_empty());
    for flaw in sg_flaws {
        let tenant = world
            .inventory
            .rules
            .iter()
            .find(|rule| rule.id == flaw.id)
            .expect("rule")
            .tenant_id;
        let row = result(&evaluation, "7.2.3.1", Scope::Tenant(tenant));
        assert_eq!(
            row.status,
            Status::Fail,
            "{}: {}",
            flaw.what,
            row.message_en
        );
        assert!(row.must_act.contains(Party::Tenant));
        assert!(row
            .outcomes
            .iter()
            .flat_map(|outcome| &outcome.evidence)
            .any(|item| item.failing && item.id == flaw.id));
    }

    // The stale restore test (7.5.6.3), on the system, rolled up into its tenant.
    let flaw = world
        .demo
        .planted
        .iter()
        .find(|flaw| flaw.kind == Kind::Backup)
        .expect("backup flaw");
    let backup = world
        .inventory
        .backups
        .iter()
        .find(|backup| backup.id == flaw.id)
        .expect("backup");
    let system = backup.system_id.expect("system");
    assert_eq!(
        result(&evaluation, "7.5.6.3", Scope::System(system)).status,
        Status::Fail
    );
    assert_eq!(
        result(&evaluation, "7.5.6.3", Scope::Tenant(backup.tenant_id)).status,
        Status::Fail
    );

    // Unencrypted volumes of level-3 systems (7.5.9.3).
    assert!(evaluation.results.iter().any(|row| row.clause == "7.5.9.3"
        && matches!(row.scope, Scope::System(_))
        && row.status == Status::Fail));

    // Records: the stale temporary privilege, the tenant admin without MFA, the refused
    // provider operation.
    let row = result(&evaluation, "7.5.3.5", Scope::Provider(2));
    assert_eq!(row.status, Status::Fail);
    assert!(row.outcomes[0].evidence[0].value.contains("past its end"));
    // Renewals that add up to more than three months without a break.
    let row = result(&evaluation, "7.5.3.5", Scope::Provider(3));
    assert_eq!(row.status, Status::Fail, "{}", row.message_en);
    let renewed = &row.outcomes[0].evidence[0];
    assert!(
        renewed
            .value
            .contains("held 118 days through grants #2, #3"),
        "{}",
        renewed.value
    );
    assert_eq!(
        result(&evaluation, "7.5.3.3", Scope::Tenant(1)).status,
        Status::Fail
    );
    assert_eq!(
        result(&evaluation, "7.2.5.5", Scope::Provider(1)).status,
        Status::Fail
    );
    assert_eq!(
        result(&evaluation, "7.2.5.5", Scope::Provider(2)).status,
        Status::Pass
    );

    // yunjian's own three roles pass at the platform; the platform's row still rolls up
    // the providers, who have no evidence for their own administrators yet.
    assert_eq!(separation_verdict(&evaluation), crate::Verdict::Pass);
    assert_eq!(
        result(&evaluation, "7.5.3.6", Scope::Platform).status,
        Status::Fail
    );
}

#[test]
fn every_clause_has_a_platform_result_and_clauses_without_data_await_evidence() {
    let world = world();
    let evaluation = run(&world, Extra::default());
    let platform: Vec<_> = evaluation
        .results
        .iter()
        .filter(|row| row.scope == Scope::Platform)
        .collect();
    assert_eq!(platform.len(), world.catalog.clauses.len());
    // An evidence clause of the provider with no control: MANUAL at each provider.
    let row = result(&evaluation, "8.3.3", Scope::Provider(1));
    assert_eq!(row.status, Status::Manual);
    assert_eq!(row.must_act, PartySet::of(&[Party::Provider]));
    // Definitions are not assessed.
    assert_eq!(
        result(&evaluation, "3.1", Scope::Platform).status,
        Status::NotApplicable
    );
    // Roll-up at the platform: FAIL when a provider fails.
    assert_eq!(
        result(&evaluation, "7.2.2.2", Scope::Platform).status,
        Status::Fail
    );
}

#[test]
fn attestations_inheritance_and_their_expiry() {
    let world = world();
    let providers: Vec<i64> = world.inventory.providers.iter().map(|row| row.id).collect();
    // 8.3.3 is the provider's alone: attest it for every provider.
    let attest = |expires_at_ns: i64| -> Vec<Attestation> {
        providers
            .iter()
            .map(|provider| Attestation {
                id: *provider,
                clause: "8.3.3".to_owned(),
                scope: Scope::Provider(*provider),
                expires_at_ns,
                file_name: "team.pdf".to_owned(),
                sm3: "ab".repeat(32),
            })
            .collect()
    };
    let evaluation = run(
        &world,
        Extra {
            attestations: attest(now_ns() + DAY_NS),
            ..Extra::default()
        },
    );
    assert_eq!(
        result(&evaluation, "8.3.3", Scope::Provider(1)).status,
        Status::Attested
    );
    let tenant = world.inventory.tenants[0].id;
    assert_eq!(
        result(&evaluation, "8.3.3", Scope::Tenant(tenant)).status,
        Status::Inherited
    );

    let evaluation = run(
        &world,
        Extra {
            attestations: attest(now_ns() - 1),
            ..Extra::default()
        },
    );
    let row = result(&evaluation, "8.3.3", Scope::Provider(1));
    assert_eq!(row.status, Status::Manual);
    assert_eq!(row.expired_note.as_deref(), Some("attestation #1 expired"));
    // And the tenant sees a FAIL of the provider.
    let row = result(&evaluation, "8.3.3", Scope::Tenant(tenant));
    assert_eq!(row.status, Status::Fail);
    assert_eq!(row.must_act, PartySet::of(&[Party::Provider]));
}

#[test]
fn waivers_hold_until_they_expire() {
    let world = world();
    let single = provider_of_planted(&world, "single carrier", Kind::Datacenter);
    let waiver = |expires_at_ns| Waiver {
        id: 9,
        clause: "7.2.2.2".to_owned(),
        scope: Scope::Provider(single),
        expires_at_ns,
        justification: "second carrier contracted, live 2027-01".to_owned(),
    };
    let evaluation = run(
        &world,
        Extra {
            waivers: vec![waiver(now_ns() + DAY_NS)],
            ..Extra::default()
        },
    );
    let row = result(&evaluation, "7.2.2.2", Scope::Provider(single));
    assert_eq!(row.status, Status::Waived);
    assert_eq!(row.waived, Some((9, Status::Fail)));
    assert!(row.must_act.is_empty());

    let evaluation = run(
        &world,
        Extra {
            waivers: vec![waiver(now_ns())],
            ..Extra::default()
        },
    );
    let row = result(&evaluation, "7.2.2.2", Scope::Provider(single));
    assert_eq!(row.status, Status::Fail);
    assert_eq!(row.expired_note.as_deref(), Some("waiver #9 expired"));
}

#[test]
fn a_parameter_looser_than_its_floor_fails_every_result_that_uses_it() {
    let world = world();
    let mut configured = BTreeMap::new();
    configured.insert("carriers_min".to_owned(), 1.0);
    let evaluation = run(
        &world,
        Extra {
            configured,
            ..Extra::default()
        },
    );
    for provider in &world.inventory.providers {
        let row = result(&evaluation, "7.2.2.2", Scope::Provider(provider.id));
        assert_eq!(row.status, Status::Fail);
        assert!(row.outcomes[0].evidence[0].kind == "parameter");
        assert!(
            row.message_en.contains("carriers_min = 1"),
            "{}",
            row.message_en
        );
    }
    assert_eq!(
        result(&evaluation, "7.2.2.2", Scope::Platform).status,
        Status::Fail
    );

    // Stricter than the floor is fine: 3 carriers fail everyone with 2, for the right reason.
    let mut configured = BTreeMap::new();
    configured.insert("carriers_min".to_owned(), 3.0);
    let evaluation = run(
        &world,
        Extra {
            configured,
            ..Extra::default()
        },
    );
    let row = result(&evaluation, "7.2.2.2", Scope::Provider(1));
    assert_eq!(row.status, Status::Fail);
    assert!(row.outcomes[0]
        .evidence
        .iter()
        .all(|item| item.kind == "datacenter"));
}

#[test]
fn a_contract_override_moves_the_responsibility() {
    let world = world();
    // An IaaS tenant's VMs (compute.tenant) are its own; a contract gives them to the
    // provider, so the tenant inherits 7.2.4.1 instead of owing evidence.
    let tenant = world
        .inventory
        .systems
        .iter()
        .find(|system| system.service_model == Some(crate::ServiceModel::Iaas))
        .expect("an IaaS system")
        .tenant_id;
    let before = run(&world, Extra::default());
    assert!(result(&before, "7.2.4.1", Scope::Tenant(tenant))
        .responsible
        .contains(Party::Tenant));
    let after = run(
        &world,
        Extra {
            overrides: vec![Override {
                id: 4,
                tenant_id: tenant,
                provider_id: None,
                component: "compute.tenant".to_owned(),
                parties: PartySet::of(&[Party::Provider]),
                contract_ref: "合同 2026-017 第5条".to_owned(),
            }],
            ..Extra::default()
        },
    );
    let row = result(&after, "7.2.4.1", Scope::Tenant(tenant));
    assert_eq!(row.responsible, PartySet::of(&[Party::Provider]));
    assert_eq!(row.override_id, Some(4));
    assert!(matches!(row.status, Status::Fail | Status::Inherited));
    assert!(!row.must_act.contains(Party::Tenant));
}

#[test]
fn a_control_that_errors_gives_error_for_its_clauses_only() {
    let world = world();
    let evaluation = run(
        &world,
        Extra {
            custom: vec![CustomRun {
                info: ControlInfo {
                    id: "custom.broken".to_owned(),
                    title_zh: "坏的".to_owned(),
                    title_en: "broken".to_owned(),
                    clauses: vec!["8.2.5".to_owned()],
                    parameters: Vec::new(),
                    origin: "custom:1".to_owned(),
                },
                outcomes: Err("undefined reference data.inventory.nope".to_owned()),
            }],
            ..Extra::default()
        },
    );
    let row = result(&evaluation, "8.2.5", Scope::Platform);
    assert_eq!(row.status, Status::Error);
    assert!(row.message_en.contains("undefined reference"));
    assert_eq!(evaluation.control_errors.len(), 1);
    // Everything else ran.
    assert_eq!(separation_verdict(&evaluation), crate::Verdict::Pass);
}

fn separation_verdict(evaluation: &Evaluation) -> crate::Verdict {
    result(evaluation, "7.5.3.6", Scope::Platform)
        .outcomes
        .iter()
        .find(|outcome| outcome.control == "identity.separation")
        .expect("the separation control's outcome")
        .verdict
        .clone()
}

#[test]
fn the_evaluation_is_deterministic() {
    let world = world();
    let first = run(&world, Extra::default());
    let second = run(&world, Extra::default());
    let digest = |evaluation: &Evaluation| -> Vec<(String, Scope, Status, String)> {
        evaluation
            .results
            .iter()
            .map(|row| {
                (
                    row.clause.clone(),
                    row.scope,
                    row.status,
                    row.message_en.clone(),
                )
            })
            .collect()
    };
    assert_eq!(digest(&first), digest(&second));
}

#[test]
fn roll_up_orders_fail_error_manual_then_the_rest() {
    use Status::*;
    assert_eq!(Status::roll_up([Pass, Manual, Fail, Error]), Fail);
    assert_eq!(Status::roll_up([Pass, Manual, Error]), Error);
    assert_eq!(Status::roll_up([Pass, Attested, Manual, Waived]), Manual);
    assert_eq!(Status::roll_up([Inherited, Attested, Waived]), Pass);
    assert_eq!(
        Status::roll_up([NotApplicable, NotApplicable]),
        NotApplicable
    );
    assert_eq!(Status::roll_up([NotApplicable, Attested]), Pass);
    assert_eq!(Status::roll_up([]), NotApplicable);
}

mod properties {
    use proptest::prelude::*;

    use crate::Status;

    fn status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }

    proptest! {
        /// The roll-up is the worst open status when there is one, and never hides one.
        #[test]
        fn roll_up_never_hides_an_open_status(statuses in proptest::collection::vec(status(), 0..12)) {
            let rolled = Status::roll_up(statuses.iter().copied());
            let worst_open = statuses.iter().copied().filter(|status| status.is_open()).min_by_key(|status| status.rank());
            match worst_open {
                Some(worst) => prop_assert_eq!(rolled, worst),
                None => prop_assert!(!rolled.is_open()),
            }
            // Order does not matter.
            let mut reversed = statuses.clone();
            reversed.reverse();
            prop_assert_eq!(Status::roll_up(reversed), rolled);
        }
    }
}

#[test]
fn an_image_the_registry_does_not_approve_fails_its_provider() {
    let world = world();
    let catalog = &world.catalog;
    let parameters = ParameterValues::new(catalog, &BTreeMap::new());
    let evaluate_with = |facts: &Facts| {
        evaluate(Inputs {
            catalog,
            inventory: &world.inventory,
            facts,
            parameters: &parameters,
            attestations: &[],
            waivers: &[],
            overrides: &[],
            custom: Vec::new(),
        })
    };
    let everything = facts();
    let unregistered = evaluate_with(&everything);
    let mut approved = facts();
    for image in &world.inventory.images {
        approved
            .approved_images
            .entry(Some(image.provider_id))
            .or_default()
            .insert(image.digest.clone());
    }
    let tampered = &world.inventory.images[0];
    let provider = Scope::Provider(tampered.provider_id);
    let all_approved = evaluate_with(&approved);
    // With every digest approved, the registry changes nothing.
    assert_eq!(
        result(&all_approved, "7.5.7.1", provider).status,
        result(&unregistered, "7.5.7.1", provider).status
    );
    // One provider's image whose digest is not approved: that provider fails, naming it.
    let mut one_missing = approved.clone();
    one_missing
        .approved_images
        .get_mut(&Some(tampered.provider_id))
        .expect("the provider's set")
        .remove(&tampered.digest);
    let evaluation = evaluate_with(&one_missing);
    let row = result(&evaluation, "7.5.7.1", provider);
    assert_eq!(row.status, Status::Fail);
    assert!(
        format!("{:?}", row.outcomes).contains(&tampered.name),
        "{:?}",
        row.outcomes
    );
}
