//! The policy decision point (PDP): one place that decides whether a principal may take
//! an action on a target, for every API, console and CLI action.
//!
//! Policies are data: `policies/yunjian.cedar` (Cedar), validated in strict mode against
//! `policies/yunjian.cedarschema` when the PDP is built, so a policy naming an unknown
//! action or attribute never loads. Forbids override permits, anything not permitted is
//! denied, and every decision names the policies that determined it (their `@id`), which
//! go into the audit record. The application supplies the facts (relation of the target
//! to the principal's unit, step-up freshness, tenant authorizations, temporary
//! privileges) from the relational tables; this crate does no IO.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use yunjian_core::role::Role;

/// The schema, as shipped.
pub const SCHEMA: &str = include_str!("../policies/yunjian.cedarschema");
/// The policies, as shipped.
pub const POLICIES: &str = include_str!("../policies/yunjian.cedar");

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy schema does not parse: {0}")]
    Schema(String),
    #[error("the policies do not parse: {0}")]
    Parse(String),
    #[error("policy {policy}: {problem}")]
    Policy { policy: String, problem: String },
    #[error("the policies do not validate against the schema: {0}")]
    Validation(String),
}

/// Every action the PDP decides. The identifiers are the Cedar action ids and the audit
/// records' action names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    WorldRead,
    WorldCreate,
    WorldUpdate,
    WorldDelete,
    OverviewRead,
    AuditRead,
    AuditVerify,
    AuditAnomalies,
    AuditExport,
    AccountList,
    AccountCreate,
    AccountRoleAssign,
    AccountPasswordReset,
    AccountUnlock,
    AuthorizationRead,
    AuthorizationGrant,
    AuthorizationRevoke,
    PrivilegeRead,
    PrivilegeRequest,
    PrivilegeApprove,
    PrivilegeRevoke,
    CredentialManage,
    EventRead,
    EventIngest,
    EventConfigure,
    IncidentHandle,
    IncidentGrade,
    ComplianceRead,
    ComplianceExport,
    ComplianceRun,
    ComplianceEvidenceSubmit,
    ComplianceEvidenceDecide,
    ComplianceWaiverRequest,
    ComplianceWaiverDecide,
    ComplianceConfigure,
    ProviderRead,
    ProviderPush,
    ProviderConfigure,
}

impl Action {
    pub const ALL: [Action; 38] = [
        Action::WorldRead,
        Action::WorldCreate,
        Action::WorldUpdate,
        Action::WorldDelete,
        Action::OverviewRead,
        Action::AuditRead,
        Action::AuditVerify,
        Action::AuditAnomalies,
        Action::AuditExport,
        Action::AccountList,
        Action::AccountCreate,
        Action::AccountRoleAssign,
        Action::AccountPasswordReset,
        Action::AccountUnlock,
        Action::AuthorizationRead,
        Action::AuthorizationGrant,
        Action::AuthorizationRevoke,
        Action::PrivilegeRead,
        Action::PrivilegeRequest,
        Action::PrivilegeApprove,
        Action::PrivilegeRevoke,
        Action::CredentialManage,
        Action::EventRead,
        Action::EventIngest,
        Action::EventConfigure,
        Action::IncidentHandle,
        Action::IncidentGrade,
        Action::ComplianceRead,
        Action::ComplianceExport,
        Action::ComplianceRun,
        Action::ComplianceEvidenceSubmit,
        Action::ComplianceEvidenceDecide,
        Action::ComplianceWaiverRequest,
        Action::ComplianceWaiverDecide,
        Action::ComplianceConfigure,
        Action::ProviderRead,
        Action::ProviderPush,
        Action::ProviderConfigure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::WorldRead => "world.read",
            Action::WorldCreate => "world.create",
            Action::WorldUpdate => "world.update",
            Action::WorldDelete => "world.delete",
            Action::OverviewRead => "overview.read",
            Action::AuditRead => "audit.read",
            Action::AuditVerify => "audit.verify",
            Action::AuditAnomalies => "audit.anomalies",
            Action::AuditExport => "audit.export",
            Action::AccountList => "account.list",
            Action::AccountCreate => "account.create",
            Action::AccountRoleAssign => "account.role.assign",
            Action::AccountPasswordReset => "account.password.reset",
            Action::AccountUnlock => "account.unlock",
            Action::AuthorizationRead => "authorization.read",
            Action::AuthorizationGrant => "authorization.grant",
            Action::AuthorizationRevoke => "authorization.revoke",
            Action::PrivilegeRead => "privilege.read",
            Action::PrivilegeRequest => "privilege.request",
            Action::PrivilegeApprove => "privilege.approve",
            Action::PrivilegeRevoke => "privilege.revoke",
            Action::CredentialManage => "credential.manage",
            Action::EventRead => "event.read",
            Action::EventIngest => "event.ingest",
            Action::EventConfigure => "event.configure",
            Action::IncidentHandle => "incident.handle",
            Action::IncidentGrade => "incident.grade",
            Action::ComplianceRead => "compliance.read",
            Action::ComplianceExport => "compliance.export",
            Action::ComplianceRun => "compliance.run",
            Action::ComplianceEvidenceSubmit => "compliance.evidence.submit",
            Action::ComplianceEvidenceDecide => "compliance.evidence.decide",
            Action::ComplianceWaiverRequest => "compliance.waiver.request",
            Action::ComplianceWaiverDecide => "compliance.waiver.decide",
            Action::ComplianceConfigure => "compliance.configure",
            Action::ProviderRead => "provider.read",
            Action::ProviderPush => "provider.push",
            Action::ProviderConfigure => "provider.configure",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
    }
}

/// How the target relates to the principal's unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    /// Platform-wide: the principal's unit is the platform.
    Any,
    OwnTenant,
    OwnProvider,
    /// Shared reference data (zones, providers, public images).
    Directory,
    /// The principal's own account or request.
    OwnAccount,
    /// Nothing the principal's unit has.
    Hidden,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Any => "any",
            Relation::OwnTenant => "own_tenant",
            Relation::OwnProvider => "own_provider",
            Relation::Directory => "directory",
            Relation::OwnAccount => "self",
            Relation::Hidden => "hidden",
        }
    }
}

/// What an action is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target<'a> {
    /// "world", "audit", "account", "authorization", "privilege", "overview".
    pub family: &'a str,
    /// A world table name, or the family.
    pub kind: &'a str,
    /// A world kind's write group (`WriteGroup::as_str`), or "".
    pub group: &'a str,
}

impl<'a> Target<'a> {
    pub fn family(family: &'a str) -> Target<'a> {
        Target {
            family,
            kind: family,
            group: "",
        }
    }
}

/// One question to the PDP.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    pub role: Role,
    /// The account has a second factor enrolled.
    pub second_factor: bool,
    pub action: Action,
    pub target: Target<'a>,
    pub relation: Relation,
    pub step_up_fresh: bool,
    pub self_target: bool,
    pub tenant_owned: bool,
    pub tenant_authorized: bool,
    pub privileged: bool,
}

impl<'a> Question<'a> {
    /// A question with every fact at its most restrictive value but the ones given.
    pub fn new(role: Role, action: Action, target: Target<'a>, relation: Relation) -> Self {
        Question {
            role,
            second_factor: role.needs_second_factor(),
            action,
            target,
            relation,
            step_up_fresh: false,
            self_target: false,
            tenant_owned: false,
            tenant_authorized: false,
            privileged: false,
        }
    }
}

/// The PDP's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The `@id`s of the policies that determined the answer: the permits that allowed
    /// it, or the forbids that refused it (empty: refused because nothing permits).
    pub policies: Vec<String>,
}

impl Decision {
    /// A sentence for the refusal: which forbid, or that nothing permits.
    pub fn reason(&self) -> String {
        if self.allowed {
            "allowed".into()
        } else if self.policies.is_empty() {
            "no policy permits this action for this role and target".into()
        } else {
            format!("refused by policy {}", self.policies.join(", "))
        }
    }
}

/// The loaded, validated policies.
pub struct Pdp {
    schema: Schema,
    /// Per action, only the policies whose action scope can match it (a policy whose
    /// scope names other actions cannot apply, so leaving it out changes no decision;
    /// the equivalence is tested). Cedar evaluates every policy it is given.
    by_action: HashMap<Action, PolicySet>,
    /// The action hierarchy (groups such as "sensitive"), from the schema.
    action_entities: Entities,
    policies: PolicySet,
    authorizer: Authorizer,
    account_type: EntityTypeName,
    target_type: EntityTypeName,
    actions: HashMap<Action, EntityUid>,
    guides: HashMap<String, String>,
    /// The `@reason` of each forbid: the sentence a refusal answers.
    reasons: HashMap<String, String>,
    /// Entity stores (principal, target and the action hierarchy) by what they hold:
    /// a few hundred combinations, built once each, because building one (transitive
    /// closure included) costs more than the decision itself.
    stores: std::sync::RwLock<HashMap<StoreKey, Arc<Entities>>>,
}

/// What an entity store holds: the principal's role and second factor, the target.
type StoreKey = (Role, bool, String, String, String);

impl std::fmt::Debug for Pdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pdp")
            .field("policies", &self.guides.len())
            .finish()
    }
}

impl Pdp {
    /// The shipped policies.
    pub fn shipped() -> Result<Pdp, PolicyError> {
        Pdp::load(SCHEMA, POLICIES)
    }

    /// Parses the schema and the policies, names each policy by its `@id` (required and
    /// unique), and validates them strictly.
    pub fn load(schema_text: &str, policies_text: &str) -> Result<Pdp, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(schema_text)
            .map_err(|error| PolicyError::Schema(format!("{error:?}")))?;
        let parsed = PolicySet::from_str(policies_text)
            .map_err(|error| PolicyError::Parse(format!("{error:?}")))?;
        let mut policies = PolicySet::new();
        let mut guides = HashMap::new();
        let mut reasons = HashMap::new();
        for policy in parsed.policies() {
            let Some(id) = policy.annotation("id") else {
                return Err(PolicyError::Policy {
                    policy: policy.id().to_string(),
                    problem: "has no @id annotation".into(),
                });
            };
            if guides.contains_key(id) {
                return Err(PolicyError::Policy {
                    policy: id.into(),
                    problem: "the @id is used twice".into(),
                });
            }
            if let Some(reason) = policy.annotation("reason") {
                reasons.insert(id.to_owned(), reason.to_owned());
            }
            guides.insert(
                id.to_owned(),
                policy.annotation("guide").unwrap_or("").to_owned(),
            );
            policies
                .add(policy.new_id(PolicyId::new(id)))
                .map_err(|error| PolicyError::Policy {
                    policy: id.into(),
                    problem: error.to_string(),
                })?;
        }
        let validation = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !validation.validation_passed() {
            let problems: Vec<String> = validation
                .validation_errors()
                .map(|error| error.to_string())
                .collect();
            return Err(PolicyError::Validation(problems.join("; ")));
        }
        let name = |text: &str| {
            EntityTypeName::from_str(text).map_err(|error| PolicyError::Schema(error.to_string()))
        };
        let action_type = name("Yunjian::Action")?;
        let actions: HashMap<Action, EntityUid> = Action::ALL
            .into_iter()
            .map(|action| {
                (
                    action,
                    EntityUid::from_type_name_and_id(
                        action_type.clone(),
                        EntityId::new(action.as_str()),
                    ),
                )
            })
            .collect();
        let action_entities = schema
            .action_entities()
            .map_err(|error| PolicyError::Schema(error.to_string()))?;
        let by_action = slice_by_action(&policies, &action_entities, &actions)?;
        Ok(Pdp {
            by_action,
            action_entities,
            schema,
            policies,
            authorizer: Authorizer::new(),
            account_type: name("Yunjian::Account")?,
            target_type: name("Yunjian::Target")?,
            actions,
            guides,
            reasons,
            stores: std::sync::RwLock::new(HashMap::new()),
        })
    }

    /// The sentence for a decision: the `@reason` of each forbid that refused it, or
    /// that nothing permits.
    pub fn explain(&self, decision: &Decision) -> String {
        let reasons: Vec<&str> = decision
            .policies
            .iter()
            .filter_map(|id| self.reasons.get(id).map(String::as_str))
            .collect();
        if decision.allowed || reasons.is_empty() {
            decision.reason()
        } else {
            format!("{} ({})", reasons.join("; "), decision.policies.join(", "))
        }
    }

    /// The policies' ids with the guide clauses each names.
    pub fn policy_ids(&self) -> Vec<(&str, &str)> {
        let mut ids: Vec<(&str, &str)> = self
            .guides
            .iter()
            .map(|(id, guide)| (id.as_str(), guide.as_str()))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Decides one question. Never panics; an evaluation problem refuses (and names
    /// itself as the determining "policy" so the audit record shows it).
    pub fn decide(&self, question: &Question<'_>) -> Decision {
        match self.try_decide(question) {
            Ok(decision) => decision,
            Err(problem) => Decision {
                allowed: false,
                policies: vec![format!("error:{problem}")],
            },
        }
    }

    fn principal_uid(&self) -> EntityUid {
        EntityUid::from_type_name_and_id(self.account_type.clone(), EntityId::new("p"))
    }

    fn target_uid(&self) -> EntityUid {
        EntityUid::from_type_name_and_id(self.target_type.clone(), EntityId::new("t"))
    }

    /// The entity store for this question's principal and target, built on first use.
    fn entities(&self, question: &Question<'_>) -> Result<Arc<Entities>, String> {
        let key: StoreKey = (
            question.role,
            question.second_factor,
            question.target.family.to_owned(),
            question.target.kind.to_owned(),
            question.target.group.to_owned(),
        );
        if let Some(found) = self
            .stores
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
        {
            return Ok(found.clone());
        }
        let string = |text: &str| RestrictedExpression::new_string(text.to_owned());
        let account = Entity::new(
            self.principal_uid(),
            HashMap::from([
                ("role".to_owned(), string(question.role.as_str())),
                (
                    "second_factor_required".to_owned(),
                    RestrictedExpression::new_bool(question.role.needs_second_factor()),
                ),
                (
                    "second_factor".to_owned(),
                    RestrictedExpression::new_bool(question.second_factor),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(|error| error.to_string())?;
        let target = Entity::new(
            self.target_uid(),
            HashMap::from([
                ("family".to_owned(), string(question.target.family)),
                ("kind".to_owned(), string(question.target.kind)),
                ("group".to_owned(), string(question.target.group)),
            ]),
            HashSet::new(),
        )
        .map_err(|error| error.to_string())?;
        let entities = Arc::new(
            self.action_entities
                .clone()
                .add_entities([account, target], Some(&self.schema))
                .map_err(|error| error.to_string())?,
        );
        let mut stores = self
            .stores
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Bounded: targets come from the schema's kinds and a few families, but never
        // let a caller's strings grow it without end.
        if stores.len() > 10_000 {
            stores.clear();
        }
        stores.insert(key, entities.clone());
        Ok(entities)
    }

    fn try_decide(&self, question: &Question<'_>) -> Result<Decision, String> {
        let entities = self.entities(question)?;
        let facts = facts(question)?;
        let action = self
            .actions
            .get(&question.action)
            .cloned()
            .ok_or_else(|| format!("unknown action {}", question.action.as_str()))?;
        // The facts are built here, by type; the schema check of each request runs in
        // debug builds (every test) and is skipped in release, where it cost as much as
        // the decision.
        let schema = cfg!(debug_assertions).then_some(&self.schema);
        let request = Request::new(
            self.principal_uid(),
            action,
            self.target_uid(),
            facts,
            schema,
        )
        .map_err(|error| error.to_string())?;
        let policies = self
            .by_action
            .get(&question.action)
            .unwrap_or(&self.policies);
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|error| error.to_string())
            .collect();
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        policies.sort_unstable();
        Ok(Decision {
            allowed: response.decision() == CedarDecision::Allow,
            policies,
        })
    }
}

/// The request context of a question (the schema's `Facts`).
fn facts(question: &Question<'_>) -> Result<Context, String> {
    let fact = |name: &str, value: bool| (name.to_owned(), RestrictedExpression::new_bool(value));
    Context::from_pairs([
        (
            "relation".to_owned(),
            RestrictedExpression::new_string(question.relation.as_str().to_owned()),
        ),
        fact("step_up_fresh", question.step_up_fresh),
        fact("self_target", question.self_target),
        fact("tenant_owned", question.tenant_owned),
        fact("tenant_authorized", question.tenant_authorized),
        fact("privileged", question.privileged),
    ])
    .map_err(|error| error.to_string())
}

/// The policies that can apply to each action: unconstrained ones, and those whose
/// scope names the action or a group it belongs to.
fn slice_by_action(
    policies: &PolicySet,
    action_entities: &Entities,
    actions: &HashMap<Action, EntityUid>,
) -> Result<HashMap<Action, PolicySet>, PolicyError> {
    let mut sliced = HashMap::new();
    for (action, uid) in actions {
        let mut applicable: HashSet<EntityUid> = action_entities
            .ancestors(uid)
            .map(|ancestors| ancestors.cloned().collect())
            .unwrap_or_default();
        applicable.insert(uid.clone());
        let mut set = PolicySet::new();
        for policy in policies.policies() {
            let applies = match policy.action_constraint() {
                cedar_policy::ActionConstraint::Any => true,
                cedar_policy::ActionConstraint::Eq(named) => applicable.contains(&named),
                cedar_policy::ActionConstraint::In(named) => {
                    named.iter().any(|named| applicable.contains(named))
                }
            };
            if applies {
                set.add(policy.clone())
                    .map_err(|error| PolicyError::Policy {
                        policy: policy.id().to_string(),
                        problem: error.to_string(),
                    })?;
            }
        }
        sliced.insert(*action, set);
    }
    Ok(sliced)
}

/// The full policy set, for tests that compare the sliced decision with it.
#[cfg(test)]
impl Pdp {
    fn decide_unsliced(&self, question: &Question<'_>) -> bool {
        let entities = self.entities(question).expect("entities");
        let facts = facts(question).expect("facts");
        let request = Request::new(
            self.principal_uid(),
            self.actions[&question.action].clone(),
            self.target_uid(),
            facts,
            Some(&self.schema),
        )
        .expect("request");
        self.authorizer
            .is_authorized(&request, &self.policies, &entities)
            .decision()
            == CedarDecision::Allow
    }
}

#[cfg(test)]
mod tests;
