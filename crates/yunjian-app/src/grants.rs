//! Tenant authorizations (guide 7.2.5.5) and temporary privileges (7.5.3.5).
//!
//! A tenant administrator authorizes one provider's operators to create, change or
//! delete the tenant's VMs, disks, snapshots, backups, images or database instances, for
//! a reason and at most 90 days; the PDP refuses such writes without one, and the write's
//! audit record names the authorization it used. A temporary privilege lets one account
//! take one more action for at most three months, after a different security
//! administrator approved it; it is checked at use and expired by the reaper, and no row
//! is ever deleted.

use serde_json::json;
use yunjian_core::ids::{AccountId, ProviderId, TenantId};
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_policy::{Action, Relation, Target};
use yunjian_store::{
    AuditOutcome, AuthorizationScope, NewTemporaryPrivilege, NewTenantAuthorization,
    PrivilegeState, ReadScope, TemporaryPrivilege, TenantAuthorization,
};

use crate::authz::{stamp, unit_relation};
use crate::error::AppError;
use crate::{App, Context};

const DAY_NS: i64 = 24 * 60 * 60 * 1_000_000_000;
/// The longest tenant authorization (the table's CHECK agrees).
pub const MAX_AUTHORIZATION_DAYS: i64 = 90;
/// The longest temporary privilege: three months, counted as 92 days (7.5.3.5).
pub const MAX_PRIVILEGE_DAYS: i64 = 92;

/// The kinds a tenant authorization can cover: the tenant's resources a provider
/// operates (the PDP's `forbid.provider-without-tenant-authorization` names the same).
pub const AUTHORIZABLE_KINDS: [Kind; 6] = [
    Kind::Vm,
    Kind::Volume,
    Kind::Snapshot,
    Kind::Backup,
    Kind::Image,
    Kind::PaasInstance,
];
pub const AUTHORIZABLE_ACTIONS: [&str; 3] = ["create", "update", "delete"];
/// A tenant's consent that a provider reports its security status and resource use to
/// the management unit (7.1.5): an authorization of this kind with the action "report".
pub const REPORT_CONSENT_KIND: &str = "security_reports";
pub const REPORT_CONSENT_ACTION: &str = "report";

/// Actions that can be granted as a temporary privilege. Account administration and the
/// privilege and authorization workflows themselves never are.
pub fn grantable(action: Action) -> bool {
    !matches!(
        action,
        Action::AccountCreate
            | Action::AccountRoleAssign
            | Action::AccountPasswordReset
            | Action::AccountUnlock
            | Action::AuthorizationGrant
            | Action::AuthorizationRevoke
            | Action::PrivilegeRequest
            | Action::PrivilegeApprove
            | Action::PrivilegeRevoke
            | Action::PrivilegeRead
            | Action::CredentialManage
    )
}

#[derive(Clone, Debug)]
pub struct AuthorizationInput {
    pub provider: ProviderId,
    pub kinds: Vec<String>,
    pub object_ids: Vec<i64>,
    pub actions: Vec<String>,
    pub reason: String,
    /// Defaults to now.
    pub starts_at_ns: Option<i64>,
    pub expires_at_ns: i64,
}

#[derive(Clone, Debug)]
pub struct PrivilegeInput {
    /// Defaults to the caller.
    pub account: Option<AccountId>,
    pub privilege: String,
    pub reason: String,
    pub starts_at_ns: Option<i64>,
    pub expires_at_ns: i64,
}

fn check_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid(
            "reason",
            "required",
            "'reason' must say why, in 1 to 500 characters",
        ));
    }
    Ok(reason.to_owned())
}

/// The window [start, expiry): start not in the past by more than a minute (clock skew),
/// expiry after start and at most `max_days` later.
fn check_window(
    now: i64,
    starts: Option<i64>,
    expires: i64,
    max_days: i64,
    clause: &str,
) -> Result<(i64, i64), AppError> {
    let starts = starts.unwrap_or(now);
    if starts < now - 60 * 1_000_000_000 {
        return Err(AppError::invalid(
            "starts_at",
            "in_the_past",
            "'starts_at' cannot be in the past",
        ));
    }
    if expires <= starts {
        return Err(AppError::invalid(
            "expires_at",
            "before_start",
            "'expires_at' must come after the start",
        ));
    }
    if expires - starts > max_days * DAY_NS {
        return Err(AppError::invalid(
            "expires_at",
            "too_long",
            format!("at most {max_days} days from the start (guide {clause})"),
        ));
    }
    Ok((starts, expires))
}

impl App {
    /// A tenant administrator authorizes a provider's operators (after a step-up).
    pub async fn grant_authorization(
        &self,
        context: &Context,
        input: AuthorizationInput,
    ) -> Result<TenantAuthorization, AppError> {
        let relation = unit_relation(&context.principal);
        let question = self.question(
            context,
            Action::AuthorizationGrant,
            Target::family("authorization"),
            relation,
        );
        let mut refusal = self.record(context, "authorization.grant", AuditOutcome::Denied);
        refusal.object_kind = Some("tenant_authorization".into());
        refusal.tenant_id = context.principal.tenant.map(|t| t.0);
        let decision = self.authorize(context, question, refusal).await?;
        let tenant = context
            .principal
            .tenant
            .ok_or_else(|| AppError::Forbidden("no tenant".into()))?;
        let reason = check_reason(&input.reason)?;
        let now = self.now_ns();
        let (starts, expires) = check_window(
            now,
            input.starts_at_ns,
            input.expires_at_ns,
            MAX_AUTHORIZATION_DAYS,
            "7.2.5.5",
        )?;
        if input.kinds.iter().any(|kind| kind == REPORT_CONSENT_KIND) {
            return self
                .grant_report_consent(context, &decision, tenant, &input, &reason, starts, expires)
                .await;
        }
        let mut kinds = Vec::new();
        for name in &input.kinds {
            match AUTHORIZABLE_KINDS
                .into_iter()
                .find(|kind| kind.spec().table == name)
            {
                Some(kind) => kinds.push(kind),
                None => {
                    let allowed: Vec<&str> =
                        AUTHORIZABLE_KINDS.iter().map(|k| k.spec().table).collect();
                    return Err(AppError::invalid(
                        "kinds",
                        "unknown_value",
                        format!("'kinds' are among {}", allowed.join(", ")),
                    ));
                }
            }
        }
        kinds.sort_unstable();
        kinds.dedup();
        if kinds.is_empty() {
            return Err(AppError::invalid(
                "kinds",
                "required",
                "name at least one kind",
            ));
        }
        let mut actions: Vec<String> = input.actions.clone();
        actions.sort_unstable();
        actions.dedup();
        if actions.is_empty()
            || actions
                .iter()
                .any(|a| !AUTHORIZABLE_ACTIONS.contains(&a.as_str()))
        {
            return Err(AppError::invalid(
                "actions",
                "unknown_value",
                "'actions' are one or more of create, update, delete",
            ));
        }
        let mut object_ids = input.object_ids.clone();
        object_ids.sort_unstable();
        object_ids.dedup();
        if !object_ids.is_empty() {
            if kinds.len() != 1 {
                return Err(AppError::invalid(
                    "object_ids",
                    "ambiguous",
                    "limit to objects only when naming exactly one kind",
                ));
            }
            let own = ReadScope::Column {
                column: "tenant_id",
                id: tenant.0,
            };
            for id in &object_ids {
                if self.store.get(kinds[0], *id, own).await?.is_none() {
                    return Err(AppError::invalid(
                        "object_ids",
                        "unknown_reference",
                        format!("no {} {id} of your tenant", kinds[0].as_str()),
                    ));
                }
            }
        }
        if self
            .store
            .get(Kind::Provider, input.provider.0, ReadScope::All)
            .await?
            .is_none()
        {
            return Err(AppError::invalid(
                "provider_id",
                "unknown_reference",
                "no such provider",
            ));
        }
        let kind_names: Vec<String> = kinds.iter().map(|k| k.spec().table.to_owned()).collect();
        let mut tx = self.store.begin_write().await?;
        let id = tx
            .insert_tenant_authorization(
                &NewTenantAuthorization {
                    tenant,
                    provider: input.provider,
                    kinds: &kind_names,
                    object_ids: &object_ids,
                    actions: &actions,
                    reason: &reason,
                    starts_at_ns: starts,
                    expires_at_ns: expires,
                    granted_by: context.principal.account_id,
                },
                now,
            )
            .await?;
        let mut record = self.record(context, "authorization.grant", AuditOutcome::Succeeded);
        record.object_kind = Some("tenant_authorization".into());
        record.object_id = Some(id);
        record.tenant_id = Some(tenant.0);
        record.detail = Some(json!({
            "provider_id": input.provider.0,
            "kinds": kind_names,
            "object_ids": object_ids,
            "actions": actions,
            "reason": reason,
            "starts_at": yunjian_core::audit::format_time(starts),
            "expires_at": yunjian_core::audit::format_time(expires),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .tenant_authorization(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The tenant's consent to the provider's periodic report (7.1.5): an authorization
    /// of kind `security_reports`, action `report`, alone.
    #[allow(clippy::too_many_arguments)]
    async fn grant_report_consent(
        &self,
        context: &Context,
        decision: &yunjian_policy::Decision,
        tenant: TenantId,
        input: &AuthorizationInput,
        reason: &str,
        starts: i64,
        expires: i64,
    ) -> Result<TenantAuthorization, AppError> {
        if input.kinds.iter().any(|kind| kind != REPORT_CONSENT_KIND)
            || input
                .actions
                .iter()
                .any(|action| action != REPORT_CONSENT_ACTION)
            || input.actions.is_empty()
            || !input.object_ids.is_empty()
        {
            return Err(AppError::invalid(
                "kinds",
                "report_consent_alone",
                "a consent to security reports (security_reports) stands alone, with the action 'report' and no objects",
            ));
        }
        if self
            .store
            .get(Kind::Provider, input.provider.0, ReadScope::All)
            .await?
            .is_none()
        {
            return Err(AppError::invalid(
                "provider_id",
                "unknown_reference",
                "no such provider",
            ));
        }
        let kinds = [REPORT_CONSENT_KIND.to_owned()];
        let actions = [REPORT_CONSENT_ACTION.to_owned()];
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let id = tx
            .insert_tenant_authorization(
                &NewTenantAuthorization {
                    tenant,
                    provider: input.provider,
                    kinds: &kinds,
                    object_ids: &[],
                    actions: &actions,
                    reason,
                    starts_at_ns: starts,
                    expires_at_ns: expires,
                    granted_by: context.principal.account_id,
                },
                now,
            )
            .await?;
        let mut record = self.record(context, "authorization.grant", AuditOutcome::Succeeded);
        record.object_kind = Some("tenant_authorization".into());
        record.object_id = Some(id);
        record.tenant_id = Some(tenant.0);
        record.detail = Some(json!({
            "provider_id": input.provider.0,
            "kinds": kinds,
            "actions": actions,
            "reason": reason,
            "starts_at": yunjian_core::audit::format_time(starts),
            "expires_at": yunjian_core::audit::format_time(expires),
        }));
        stamp(&mut record, decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .tenant_authorization(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The tenant administrator ends an authorization early.
    pub async fn revoke_authorization(
        &self,
        context: &Context,
        id: i64,
        reason: &str,
    ) -> Result<TenantAuthorization, AppError> {
        let Some(existing) = self.visible_authorization(context, id).await? else {
            return Err(AppError::NotFound);
        };
        let relation = if context.principal.tenant == Some(existing.tenant) {
            Relation::OwnTenant
        } else {
            unit_relation(&context.principal)
        };
        let question = self.question(
            context,
            Action::AuthorizationRevoke,
            Target::family("authorization"),
            relation,
        );
        let mut refusal = self.record(context, "authorization.revoke", AuditOutcome::Denied);
        refusal.object_kind = Some("tenant_authorization".into());
        refusal.object_id = Some(id);
        refusal.tenant_id = Some(existing.tenant.0);
        let decision = self.authorize(context, question, refusal).await?;
        let reason = check_reason(reason)?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        if !tx
            .revoke_tenant_authorization(id, context.principal.account_id, &reason, now)
            .await?
        {
            return Err(AppError::Conflict {
                field: None,
                message: "this authorization is already revoked".into(),
            });
        }
        let mut record = self.record(context, "authorization.revoke", AuditOutcome::Succeeded);
        record.object_kind = Some("tenant_authorization".into());
        record.object_id = Some(id);
        record.tenant_id = Some(existing.tenant.0);
        record.detail = Some(json!({
            "provider_id": existing.provider.0,
            "reason": reason,
            "was_active": existing.active_at(now),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .tenant_authorization(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The scope of the caller's unit for rows that belong to a tenant and a provider
    /// (authorizations, security events): a tenant's own, a provider's own, or all for
    /// oversight. A tenant or provider role without its binding matches nothing.
    pub(crate) fn unit_scope(&self, context: &Context) -> AuthorizationScope {
        match context.principal.role {
            Role::TenantAdmin => AuthorizationScope {
                tenant: Some(context.principal.tenant.unwrap_or(TenantId(0))),
                provider: None,
            },
            Role::ProviderOperator => AuthorizationScope {
                tenant: None,
                provider: Some(context.principal.provider.unwrap_or(ProviderId(0))),
            },
            _ => AuthorizationScope::default(),
        }
    }

    async fn visible_authorization(
        &self,
        context: &Context,
        id: i64,
    ) -> Result<Option<TenantAuthorization>, AppError> {
        let scope = self.unit_scope(context);
        Ok(self.store.tenant_authorization(id).await?.filter(|found| {
            scope.tenant.is_none_or(|t| t == found.tenant)
                && scope.provider.is_none_or(|p| p == found.provider)
        }))
    }

    /// Authorizations the caller's unit may see, newest first: a tenant its own, a
    /// provider those given to it, oversight all. Filtered in SQL.
    pub async fn authorizations(
        &self,
        context: &Context,
    ) -> Result<Vec<TenantAuthorization>, AppError> {
        let question = self.question(
            context,
            Action::AuthorizationRead,
            Target::family("authorization"),
            unit_relation(&context.principal),
        );
        let record = self.record(context, "authorization.read", AuditOutcome::Denied);
        self.authorize(context, question, record).await?;
        Ok(self
            .store
            .tenant_authorizations(self.unit_scope(context), 1000)
            .await?)
    }

    /// Asks for a temporary privilege: for oneself, or (a security administrator) for
    /// another account.
    pub async fn request_privilege(
        &self,
        context: &Context,
        input: PrivilegeInput,
    ) -> Result<TemporaryPrivilege, AppError> {
        let holder = input.account.unwrap_or(context.principal.account_id);
        let relation = if holder == context.principal.account_id {
            Relation::OwnAccount
        } else {
            unit_relation(&context.principal)
        };
        let question = self.question(
            context,
            Action::PrivilegeRequest,
            Target::family("privilege"),
            relation,
        );
        let mut refusal = self.record(context, "privilege.request", AuditOutcome::Denied);
        refusal.object_kind = Some("account".into());
        refusal.object_id = Some(holder.0);
        let decision = self.authorize(context, question, refusal).await?;
        let action = Action::parse(&input.privilege)
            .filter(|action| grantable(*action))
            .ok_or_else(|| {
                let allowed: Vec<&str> = Action::ALL
                    .into_iter()
                    .filter(|a| grantable(*a))
                    .map(Action::as_str)
                    .collect();
                AppError::invalid(
                    "privilege",
                    "unknown_value",
                    format!("'privilege' is one of {}", allowed.join(", ")),
                )
            })?;
        let reason = check_reason(&input.reason)?;
        let now = self.now_ns();
        let (starts, expires) = check_window(
            now,
            input.starts_at_ns,
            input.expires_at_ns,
            MAX_PRIVILEGE_DAYS,
            "7.5.3.5",
        )?;
        let account = self.store.account(holder).await?.ok_or_else(|| {
            AppError::invalid("account_id", "unknown_reference", "no such account")
        })?;
        let mut tx = self.store.begin_write().await?;
        let id = tx
            .insert_temporary_privilege(
                &NewTemporaryPrivilege {
                    account: holder,
                    privilege: action.as_str(),
                    reason: &reason,
                    requested_by: context.principal.account_id,
                    starts_at_ns: starts,
                    expires_at_ns: expires,
                },
                now,
            )
            .await?;
        let mut record = self.record(context, "privilege.request", AuditOutcome::Succeeded);
        record.object_kind = Some("temporary_privilege".into());
        record.object_id = Some(id);
        record.tenant_id = account.tenant.map(|t| t.0);
        record.detail = Some(json!({
            "account_id": holder.0,
            "username": account.username,
            "privilege": action.as_str(),
            "reason": reason,
            "starts_at": yunjian_core::audit::format_time(starts),
            "expires_at": yunjian_core::audit::format_time(expires),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .temporary_privilege(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// A security administrator who neither asked for it nor would hold it approves,
    /// rejects or revokes a privilege (approval after a step-up).
    pub async fn decide_privilege(
        &self,
        context: &Context,
        id: i64,
        to: PrivilegeState,
        note: &str,
    ) -> Result<TemporaryPrivilege, AppError> {
        let (action, audit_action, from): (Action, &str, &[PrivilegeState]) = match to {
            PrivilegeState::Approved => (
                Action::PrivilegeApprove,
                "privilege.approve",
                &[PrivilegeState::Requested],
            ),
            PrivilegeState::Rejected => (
                Action::PrivilegeApprove,
                "privilege.reject",
                &[PrivilegeState::Requested],
            ),
            PrivilegeState::Revoked => (
                Action::PrivilegeRevoke,
                "privilege.revoke",
                &[PrivilegeState::Requested, PrivilegeState::Approved],
            ),
            PrivilegeState::Requested | PrivilegeState::Expired => {
                return Err(AppError::invalid(
                    "state",
                    "unknown_value",
                    "a privilege is approved, rejected or revoked",
                ))
            }
        };
        let me = context.principal.account_id;
        let mut question = self.question(
            context,
            action,
            Target::family("privilege"),
            unit_relation(&context.principal),
        );
        let mut refusal = self.record(context, audit_action, AuditOutcome::Denied);
        refusal.object_kind = Some("temporary_privilege".into());
        refusal.object_id = Some(id);
        // First whether the role may decide at all (so a role without the right learns
        // nothing about which privileges exist), then for this one.
        self.authorize(context, question, refusal.clone()).await?;
        let existing = self
            .store
            .temporary_privilege(id)
            .await?
            .ok_or(AppError::NotFound)?;
        // Approvals need a second person: not the requester, not the holder.
        question.self_target = existing.requested_by == me || existing.account == me;
        let decision = self.authorize(context, question, refusal).await?;
        let note = note.trim();
        if note.chars().count() > 500 {
            return Err(AppError::invalid(
                "note",
                "too_long",
                "at most 500 characters",
            ));
        }
        let now = self.now_ns();
        if to == PrivilegeState::Approved && existing.expires_at_ns <= now {
            return Err(AppError::Conflict {
                field: None,
                message: "this request's window has passed; ask again".into(),
            });
        }
        let mut tx = self.store.begin_write().await?;
        if !tx
            .decide_temporary_privilege(id, from, to, me, note, now)
            .await?
        {
            return Err(AppError::Conflict {
                field: None,
                message: format!(
                    "this privilege is {} and cannot become {}",
                    existing.state.as_str(),
                    to.as_str()
                ),
            });
        }
        let mut record = self.record(context, audit_action, AuditOutcome::Succeeded);
        record.object_kind = Some("temporary_privilege".into());
        record.object_id = Some(id);
        record.detail = Some(json!({
            "account_id": existing.account.0,
            "privilege": existing.privilege,
            "requested_by": existing.requested_by.0,
            "note": note,
            "expires_at": yunjian_core::audit::format_time(existing.expires_at_ns),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store
            .temporary_privilege(id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Temporary privileges: security administrators and oversight see all, everybody
    /// else their own. Expired ones show as expired even before the reaper ran.
    pub async fn privileges(&self, context: &Context) -> Result<Vec<TemporaryPrivilege>, AppError> {
        let oversight = matches!(
            context.principal.role,
            Role::SecurityAdmin | Role::SecurityAuditor | Role::Auditor | Role::Supervisor
        );
        let relation = if oversight {
            Relation::Any
        } else {
            Relation::OwnAccount
        };
        let question = self.question(
            context,
            Action::PrivilegeRead,
            Target::family("privilege"),
            relation,
        );
        let record = self.record(context, "privilege.read", AuditOutcome::Denied);
        self.authorize(context, question, record).await?;
        let account = (!oversight).then_some(context.principal.account_id);
        let now = self.now_ns();
        let mut found = self.store.temporary_privileges(account, 1000).await?;
        for privilege in &mut found {
            if privilege.state == PrivilegeState::Approved && privilege.expires_at_ns <= now {
                privilege.state = PrivilegeState::Expired;
            }
        }
        Ok(found)
    }

    /// The reaper: marks privileges past expiry as expired and records each, and
    /// records each tenant authorization's expiry once. Runs with the checkpointer.
    pub async fn reap_grants(&self) -> Result<usize, AppError> {
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let privileges = tx.expire_temporary_privileges(now).await?;
        let authorizations = tx.expire_tenant_authorizations(now).await?;
        for (id, account, privilege) in &privileges {
            let mut record = crate::ledger::local_record(now, "privilege.expire");
            record.actor_username = Some("yunjian-serve".into());
            record.object_kind = Some("temporary_privilege".into());
            record.object_id = Some(*id);
            record.detail = Some(json!({ "account_id": account.0, "privilege": privilege }));
            tx.append_audit(&record).await?;
        }
        for (id, tenant, provider) in &authorizations {
            let mut record = crate::ledger::local_record(now, "authorization.expire");
            record.actor_username = Some("yunjian-serve".into());
            record.object_kind = Some("tenant_authorization".into());
            record.object_id = Some(*id);
            record.tenant_id = Some(tenant.0);
            record.detail = Some(json!({ "provider_id": provider.0 }));
            tx.append_audit(&record).await?;
        }
        tx.commit().await?;
        Ok(privileges.len() + authorizations.len())
    }
}
