use proptest::prelude::*;
use yunjian_core::role::Role;
use yunjian_core::schema::{Kind, WriteGroup};

use super::*;

fn pdp() -> Pdp {
    Pdp::shipped().expect("the shipped policies load and validate strictly")
}

/// The target each action family is asked about in the matrix.
fn target_of(action: Action) -> Target<'static> {
    match action {
        Action::WorldRead | Action::WorldCreate | Action::WorldUpdate | Action::WorldDelete => {
            Target {
                family: "world",
                kind: "information_systems",
                group: "tenant_declarations",
            }
        }
        Action::OverviewRead => Target::family("overview"),
        Action::AuditRead | Action::AuditVerify | Action::AuditAnomalies | Action::AuditExport => {
            Target::family("audit")
        }
        Action::AccountList
        | Action::AccountCreate
        | Action::AccountRoleAssign
        | Action::AccountPasswordReset
        | Action::AccountUnlock => Target::family("account"),
        Action::AuthorizationRead | Action::AuthorizationGrant | Action::AuthorizationRevoke => {
            Target::family("authorization")
        }
        Action::PrivilegeRead
        | Action::PrivilegeRequest
        | Action::PrivilegeApprove
        | Action::PrivilegeRevoke => Target::family("privilege"),
        Action::CredentialManage => Target::family("credential"),
        Action::EventRead | Action::EventIngest | Action::EventConfigure => Target::family("event"),
        Action::IncidentHandle | Action::IncidentGrade => Target::family("incident"),
        Action::ComplianceRead
        | Action::ComplianceExport
        | Action::ComplianceRun
        | Action::ComplianceEvidenceSubmit
        | Action::ComplianceEvidenceDecide
        | Action::ComplianceWaiverRequest
        | Action::ComplianceWaiverDecide
        | Action::ComplianceConfigure => Target::family("compliance"),
        Action::ProviderRead | Action::ProviderPush | Action::ProviderConfigure => {
            Target::family("provider")
        }
    }
}

/// The relation a role's own unit has to what it acts on.
fn own_relation(role: Role) -> Relation {
    match role {
        Role::TenantAdmin => Relation::OwnTenant,
        Role::ProviderOperator => Relation::OwnProvider,
        _ => Relation::Any,
    }
}

/// The expected matrix, written out by hand from the guide (not derived from the
/// policies): which roles may take each action on their own unit's targets, with a
/// fresh step-up, on another account than their own.
fn expected(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        WorldRead | OverviewRead => true,
        // An information system is a tenant's declaration: the tenant, the system
        // administrator and the management unit write it.
        WorldCreate | WorldUpdate | WorldDelete => {
            matches!(role, SystemAdmin | Supervisor | TenantAdmin)
        }
        AuditRead | AuditExport => {
            matches!(role, SecurityAuditor | Auditor | Supervisor | TenantAdmin)
        }
        AuditVerify | AuditAnomalies => matches!(role, SecurityAuditor | Auditor | Supervisor),
        AccountList => matches!(
            role,
            SystemAdmin | SecurityAdmin | SecurityAuditor | Auditor
        ),
        AccountCreate | AccountPasswordReset | AccountUnlock => role == SystemAdmin,
        AccountRoleAssign => role == SecurityAdmin,
        AuthorizationGrant | AuthorizationRevoke => role == TenantAdmin,
        AuthorizationRead => !matches!(role, SystemAdmin),
        PrivilegeRead | PrivilegeApprove | PrivilegeRevoke => match action {
            PrivilegeRead => matches!(role, SecurityAdmin | SecurityAuditor | Auditor | Supervisor),
            _ => role == SecurityAdmin,
        },
        PrivilegeRequest => role == SecurityAdmin,
        // Only one's own keys (relation "self", not the unit's).
        CredentialManage => false,
        EventRead => !matches!(role, SystemAdmin),
        // Devices and platforms report through their provider's integration.
        EventIngest => role == ProviderOperator,
        // Sources, rules, key tenants: the security administrator and the management unit.
        EventConfigure => matches!(role, SecurityAdmin | Supervisor),
        // Everyone responsible handles incidents in their own scope (8.3.9).
        IncidentHandle => matches!(
            role,
            SecurityAdmin | Supervisor | TenantAdmin | ProviderOperator
        ),
        // Grading is the management unit's and the security administrator's (8.3.12).
        IncidentGrade => matches!(role, SecurityAdmin | Supervisor),
        // Everyone reads compliance results in their own scope.
        ComplianceRead | ComplianceExport => true,
        ComplianceRun => matches!(role, SystemAdmin | SecurityAdmin | Supervisor),
        ComplianceEvidenceSubmit | ComplianceWaiverRequest => {
            matches!(
                role,
                TenantAdmin | ProviderOperator | SecurityAdmin | Supervisor
            )
        }
        ComplianceEvidenceDecide => matches!(role, SecurityAdmin | Supervisor),
        // Accepting a risk is the management unit's alone.
        ComplianceWaiverDecide => role == Supervisor,
        ComplianceConfigure => matches!(role, SecurityAdmin | Supervisor),
        // Tenants read the changes to their own resources; providers their own.
        ProviderRead => true,
        // Only a provider reports its platform.
        ProviderPush => role == ProviderOperator,
        ProviderConfigure => matches!(role, SystemAdmin | Supervisor),
    }
}

#[test]
fn every_role_and_action_decides_as_the_guide_says() {
    let pdp = pdp();
    let mut mismatches = Vec::new();
    for role in Role::ALL {
        for action in Action::ALL {
            let mut question = Question::new(role, action, target_of(action), own_relation(role));
            question.step_up_fresh = true;
            let decision = pdp.decide(&question);
            if decision.allowed != expected(role, action) {
                mismatches.push(format!(
                    "{} {}: {} by {:?}",
                    role.as_str(),
                    action.as_str(),
                    decision.allowed,
                    decision.policies
                ));
            }
            if decision.allowed {
                assert!(!decision.policies.is_empty(), "an allow names its permit");
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// The world write matrix as it stood before the PDP (issue 2's `may_write`), kept as
/// the oracle: the policies must decide every role × kind exactly so.
fn write_oracle(role: Role, group: WriteGroup) -> bool {
    match role {
        Role::SystemAdmin => group != WriteGroup::TenantSecurityPolicy,
        Role::SecurityAdmin => group == WriteGroup::TenantSecurityPolicy,
        Role::Supervisor => matches!(
            group,
            WriteGroup::Directory
                | WriteGroup::ProviderInfrastructure
                | WriteGroup::TenantDeclarations
        ),
        Role::ProviderOperator => matches!(
            group,
            WriteGroup::ProviderInfrastructure
                | WriteGroup::TenantResources
                | WriteGroup::TenantSecurityPolicy
        ),
        Role::TenantAdmin => matches!(
            group,
            WriteGroup::TenantDeclarations | WriteGroup::TenantSecurityPolicy
        ),
        Role::SecurityAuditor | Role::Auditor => false,
    }
}

#[test]
fn world_writes_follow_the_matrix_for_every_role_and_kind() {
    let pdp = pdp();
    for role in Role::ALL {
        for kind in Kind::ALL {
            let spec = kind.spec();
            let target = Target {
                family: "world",
                kind: spec.table,
                group: spec.write.as_str(),
            };
            for action in [
                Action::WorldCreate,
                Action::WorldUpdate,
                Action::WorldDelete,
            ] {
                let mut question = Question::new(role, action, target, own_relation(role));
                question.tenant_owned = true;
                question.tenant_authorized = true;
                assert_eq!(
                    pdp.decide(&question).allowed,
                    write_oracle(role, spec.write),
                    "{} {} {}",
                    role.as_str(),
                    action.as_str(),
                    spec.table
                );
                // Outside the unit nothing is writable.
                question.relation = Relation::Hidden;
                if !matches!(
                    role,
                    Role::SystemAdmin | Role::SecurityAdmin | Role::Supervisor
                ) {
                    assert!(!pdp.decide(&question).allowed);
                }
            }
        }
    }
}

#[test]
fn each_forbid_of_the_guide_refuses_and_names_itself() {
    let pdp = pdp();
    let world = Target {
        family: "world",
        kind: "vms",
        group: "tenant_resources",
    };
    // 7.2.5.5: a provider operator on a tenant's VM without the tenant's authorization.
    let mut question = Question::new(
        Role::ProviderOperator,
        Action::WorldUpdate,
        world,
        Relation::OwnProvider,
    );
    question.tenant_owned = true;
    let refused = pdp.decide(&question);
    assert!(!refused.allowed);
    assert_eq!(
        refused.policies,
        ["forbid.provider-without-tenant-authorization"]
    );
    question.tenant_authorized = true;
    let allowed = pdp.decide(&question);
    assert!(allowed.allowed);
    assert_eq!(allowed.policies, ["world.write.provider"]);
    // Provider infrastructure of its own needs no tenant's word.
    let host = Target {
        family: "world",
        kind: "hosts",
        group: "provider_infrastructure",
    };
    let mut own = Question::new(
        Role::ProviderOperator,
        Action::WorldCreate,
        host,
        Relation::OwnProvider,
    );
    own.tenant_owned = false;
    assert!(pdp.decide(&own).allowed);
    // Another provider's objects: nothing permits.
    own.relation = Relation::Hidden;
    let other = pdp.decide(&own);
    assert!(!other.allowed && other.policies.is_empty());

    // Step-up before sensitive actions.
    let assign = Question::new(
        Role::SecurityAdmin,
        Action::AccountRoleAssign,
        Target::family("account"),
        Relation::Any,
    );
    assert_eq!(pdp.decide(&assign).policies, ["forbid.step-up-required"]);
    // Never on oneself.
    let mut own_account = assign;
    own_account.step_up_fresh = true;
    own_account.self_target = true;
    assert_eq!(
        pdp.decide(&own_account).policies,
        ["forbid.self-administration"]
    );
    // No second factor enrolled: nothing at all.
    let mut unenrolled = Question::new(Role::SystemAdmin, Action::WorldRead, world, Relation::Any);
    unenrolled.second_factor = false;
    assert_eq!(
        pdp.decide(&unenrolled).policies,
        ["forbid.second-factor-missing"]
    );
    // 三员分立: the system administrator does not read the audit trail, even with a
    // temporary privilege, and no privilege administers accounts.
    let mut audit = Question::new(
        Role::SystemAdmin,
        Action::AuditRead,
        Target::family("audit"),
        Relation::Any,
    );
    audit.privileged = true;
    let decision = pdp.decide(&audit);
    assert!(!decision.allowed);
    assert_eq!(decision.policies, ["forbid.operators-never-audit"]);
    let mut grant = Question::new(
        Role::SystemAdmin,
        Action::AccountRoleAssign,
        Target::family("account"),
        Relation::Any,
    );
    grant.privileged = true;
    grant.step_up_fresh = true;
    assert_eq!(
        pdp.decide(&grant).policies,
        ["forbid.privilege-for-account-administration"]
    );
    // A privilege does permit what it names, within the unit.
    let mut unlock_world = Question::new(
        Role::TenantAdmin,
        Action::WorldUpdate,
        world,
        Relation::OwnTenant,
    );
    assert!(
        !pdp.decide(&unlock_world).allowed,
        "tenants do not update VMs"
    );
    unlock_world.privileged = true;
    assert_eq!(pdp.decide(&unlock_world).policies, ["privilege.temporary"]);
    unlock_world.relation = Relation::Hidden;
    assert_eq!(
        pdp.decide(&unlock_world).policies,
        ["forbid.privilege-outside-unit"]
    );
}

#[test]
fn policies_that_do_not_fit_the_schema_do_not_load() {
    let unknown_attribute =
        r#"@id("x") permit (principal, action, resource) when { principal.rank == "high" };"#;
    assert!(matches!(
        Pdp::load(SCHEMA, unknown_attribute),
        Err(PolicyError::Validation(_))
    ));
    let unknown_action =
        r#"@id("x") permit (principal, action == Yunjian::Action::"world.burn", resource);"#;
    assert!(Pdp::load(SCHEMA, unknown_action).is_err());
    let no_id = r#"permit (principal, action, resource);"#;
    assert!(matches!(
        Pdp::load(SCHEMA, no_id),
        Err(PolicyError::Policy { .. })
    ));
    let twice = r#"@id("x") permit (principal, action, resource); @id("x") forbid (principal, action, resource);"#;
    assert!(matches!(
        Pdp::load(SCHEMA, twice),
        Err(PolicyError::Policy { .. })
    ));
    assert!(Pdp::load(SCHEMA, "permit (").is_err());
}

#[test]
fn every_policy_names_the_guide_clause_it_implements() {
    let pdp = pdp();
    let ids = pdp.policy_ids();
    assert!(ids.len() >= 25, "{ids:?}");
    for (id, guide) in ids {
        if id != "overview.read" {
            assert!(!guide.is_empty(), "{id} has no @guide");
        }
    }
    // Every forbid says why in words a refused user reads.
    for forbid in POLICIES
        .split("@id(\"")
        .skip(1)
        .filter(|text| text.contains("\nforbid ("))
    {
        let id = forbid.split('"').next().unwrap_or("");
        let decision = Decision {
            allowed: false,
            policies: vec![id.to_owned()],
        };
        assert!(
            !pdp.explain(&decision).starts_with("refused by"),
            "{id} has no @reason"
        );
    }
}

fn any_role() -> impl Strategy<Value = Role> {
    proptest::sample::select(Role::ALL.to_vec())
}

fn any_action() -> impl Strategy<Value = Action> {
    proptest::sample::select(Action::ALL.to_vec())
}

fn any_relation() -> impl Strategy<Value = Relation> {
    proptest::sample::select(vec![
        Relation::Any,
        Relation::OwnTenant,
        Relation::OwnProvider,
        Relation::Directory,
        Relation::OwnAccount,
        Relation::Hidden,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    /// Whatever the facts: auditors never write, administrators never audit, an
    /// unenrolled MFA role does nothing, a stale step-up never passes a sensitive action
    /// of an MFA role, and a decision always names its policies when it allows.
    #[test]
    fn the_guides_forbids_hold_for_every_question(
        role in any_role(),
        action in any_action(),
        relation in any_relation(),
        facts in proptest::collection::vec(any::<bool>(), 6),
        group in proptest::sample::select(vec!["directory", "provider_infrastructure", "tenant_resources", "tenant_declarations", "tenant_security_policy", ""]),
    ) {
        let pdp = PDP.with(|pdp| pdp.clone());
        let question = Question {
            role,
            second_factor: facts[0],
            action,
            target: Target { family: "world", kind: "vms", group },
            relation,
            step_up_fresh: facts[1],
            self_target: facts[2],
            tenant_owned: facts[3],
            tenant_authorized: facts[4],
            privileged: facts[5],
        };
        let decision = pdp.decide(&question);
        prop_assert!(!decision.policies.iter().any(|p| p.starts_with("error:")), "{:?}", decision);
        // Slicing the policies by action changes no decision.
        prop_assert_eq!(decision.allowed, pdp.decide_unsliced(&question));
        if decision.allowed {
            prop_assert!(!decision.policies.is_empty());
            prop_assert!(!role.needs_second_factor() || question.second_factor);
            prop_assert!(!(matches!(role, Role::SecurityAuditor | Role::Auditor)
                && matches!(action, Action::WorldCreate | Action::WorldUpdate | Action::WorldDelete)));
            prop_assert!(!(matches!(role, Role::SystemAdmin | Role::SecurityAdmin | Role::ProviderOperator)
                && action.as_str().starts_with("audit.")));
            let sensitive = matches!(action, Action::AuditExport | Action::AccountCreate
                | Action::AccountRoleAssign | Action::AuthorizationGrant | Action::PrivilegeApprove
                | Action::ComplianceEvidenceDecide | Action::ComplianceWaiverDecide
                | Action::ComplianceConfigure | Action::ProviderConfigure);
            prop_assert!(!(sensitive && role.needs_second_factor() && !question.step_up_fresh));
            prop_assert!(!(question.self_target && matches!(action, Action::AccountRoleAssign
                | Action::AccountPasswordReset | Action::AccountUnlock | Action::PrivilegeApprove
                | Action::ComplianceEvidenceDecide | Action::ComplianceWaiverDecide)));
            prop_assert!(!(matches!(role, Role::SecurityAuditor | Role::Auditor)
                && action.as_str().starts_with("compliance.")
                && !matches!(action, Action::ComplianceRead | Action::ComplianceExport)));
        }
    }
}

thread_local! {
    static PDP: std::rc::Rc<Pdp> = std::rc::Rc::new(pdp());
}
