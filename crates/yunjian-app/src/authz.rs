//! Every action asks the policy decision point (yunjian-policy) first. This module turns
//! a request's context and the relational facts (scope, step-up, tenant authorizations,
//! temporary privileges) into a PDP question, records refusals with the policies that
//! decided them, and stamps the determining policy ids into the audit record of every
//! action that goes ahead.

use std::sync::{Arc, LazyLock};

use serde_json::json;
use yunjian_core::access::ReadScope;
use yunjian_core::role::{Principal, Role};
use yunjian_policy::{Action, Decision, Pdp, Question, Relation, Target};
use yunjian_store::{AuditOutcome, NewAuditRecord};

use crate::error::AppError;
use crate::identity::STEP_UP_WINDOW_NS;
use crate::{App, Context};

/// The shipped policies, loaded once. They are validated by the policy crate's tests
/// and in CI, so a failure here is a build defect, not an operator's mistake.
static SHIPPED: LazyLock<Arc<Pdp>> = LazyLock::new(|| {
    Arc::new(Pdp::shipped().unwrap_or_else(|error| panic!("the shipped policies: {error}")))
});

pub(crate) fn shipped_pdp() -> Arc<Pdp> {
    SHIPPED.clone()
}

/// The relation of a world scope to the principal's unit.
pub(crate) fn relation_of(principal: &Principal, scope: ReadScope) -> Relation {
    match (principal.role, scope) {
        (_, ReadScope::Nothing) => Relation::Hidden,
        (Role::TenantAdmin | Role::ProviderOperator, ReadScope::All) => Relation::Directory,
        (Role::TenantAdmin, _) => Relation::OwnTenant,
        (Role::ProviderOperator, _) => Relation::OwnProvider,
        _ => Relation::Any,
    }
}

/// The relation a principal's unit has to a family of records that belong to tenants
/// (audit records, authorizations): its tenant's, its provider's, or all.
pub(crate) fn unit_relation(principal: &Principal) -> Relation {
    match principal.role {
        Role::TenantAdmin if principal.tenant.is_some() => Relation::OwnTenant,
        Role::ProviderOperator if principal.provider.is_some() => Relation::OwnProvider,
        Role::TenantAdmin | Role::ProviderOperator => Relation::Hidden,
        _ => Relation::Any,
    }
}

/// Adds the determining policies to a record's detail.
pub(crate) fn stamp(record: &mut NewAuditRecord, decision: &Decision) {
    let policies = json!(decision.policies);
    match &mut record.detail {
        Some(serde_json::Value::Object(map)) => {
            map.insert("policies".into(), policies);
        }
        Some(other) => {
            let previous = other.take();
            record.detail = Some(json!({ "value": previous, "policies": policies }));
        }
        None => record.detail = Some(json!({ "policies": policies })),
    }
}

impl App {
    /// A question about `action` on `target` by the context's principal, with the
    /// session's step-up freshness filled in.
    pub(crate) fn question<'a>(
        &self,
        context: &Context,
        action: Action,
        target: Target<'a>,
        relation: Relation,
    ) -> Question<'a> {
        let now = self.now_ns();
        let mut question = Question::new(context.principal.role, action, target, relation);
        question.second_factor = context.principal.second_factor;
        question.step_up_fresh = context
            .second_factor_at_ns
            .is_some_and(|at| at <= now && now - at <= STEP_UP_WINDOW_NS);
        question
    }

    /// Whether the principal may write objects of `kind` in its own scope: a hint for
    /// the console's buttons (the write itself is decided when it is asked for).
    pub fn may_write_kind(&self, context: &Context, kind: yunjian_core::schema::Kind) -> bool {
        let spec = kind.spec();
        let scope = yunjian_core::access::write_scope(&context.principal, kind);
        let mut question = self.question(
            context,
            Action::WorldCreate,
            Target {
                family: "world",
                kind: spec.table,
                group: spec.write.as_str(),
            },
            relation_of(&context.principal, scope),
        );
        // The hint ignores whose row it would be: a provider with a tenant's
        // authorization may well be able to.
        question.tenant_authorized = true;
        self.pdp.decide(&question).allowed
    }

    /// Asks the PDP, then records a refusal as `record` (whose action, object and
    /// tenant the caller set) and answers it as an error. Never call it while holding a
    /// write transaction: the refusal's record needs the writer. Use [`App::decide`]
    /// and [`App::refuse`] there.
    pub(crate) async fn authorize(
        &self,
        context: &Context,
        question: Question<'_>,
        record: NewAuditRecord,
    ) -> Result<Decision, AppError> {
        let decision = self.decide(context, question).await?;
        if decision.allowed {
            Ok(decision)
        } else {
            Err(self.refuse(record, decision).await)
        }
    }

    /// Asks the PDP. When it refuses and the principal holds an approved, unexpired
    /// temporary privilege for the action, asks again with that fact (the guide's
    /// forbids still apply) and names the privilege among the determining policies.
    pub(crate) async fn decide(
        &self,
        context: &Context,
        mut question: Question<'_>,
    ) -> Result<Decision, AppError> {
        let decision = self.pdp.decide(&question);
        if decision.allowed || question.relation == Relation::Hidden {
            return Ok(decision);
        }
        let Some(privilege) = self
            .store
            .active_privilege(
                context.principal.account_id,
                question.action.as_str(),
                self.now_ns(),
            )
            .await?
        else {
            return Ok(decision);
        };
        question.privileged = true;
        let mut privileged = self.pdp.decide(&question);
        if privileged.allowed {
            privileged
                .policies
                .push(format!("temporary-privilege:{}", privilege.id));
            return Ok(privileged);
        }
        Ok(decision)
    }

    /// Records a refusal with the policies that decided it and answers the error.
    pub(crate) async fn refuse(&self, mut record: NewAuditRecord, decision: Decision) -> AppError {
        record.outcome = AuditOutcome::Denied;
        stamp(&mut record, &decision);
        let reason = self.pdp.explain(&decision);
        self.record_denial(record, &reason).await;
        // Only when a step-up is all that stands in the way does the answer say so.
        if decision.policies == ["forbid.step-up-required"] {
            return AppError::StepUpRequired;
        }
        AppError::Forbidden(reason)
    }
}
