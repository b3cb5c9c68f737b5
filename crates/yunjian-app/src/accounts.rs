//! Accounts: the first administrators, new accounts, and the demo's accounts.
//!
//! The full identity policy (three-role exclusivity across assignments, MFA, password
//! rules, lockout, grants) builds on this; today an account has one role, fixed at
//! creation, bound to a tenant or provider exactly when the role needs it.

use serde_json::json;
use yunjian_core::demo::DemoWorld;
use yunjian_core::ids::{AccountId, ProviderId, TenantId};
use yunjian_core::role::{Binding, Role};
use yunjian_core::schema::Kind;
use yunjian_gm::random_password;
use yunjian_store::{Account, AuditOutcome, NewAccount, NewAuditRecord, ReadScope};

use yunjian_policy::{Action, Target};

use crate::authz::{stamp, unit_relation};
use crate::error::AppError;
use crate::{App, Context};

/// The guide's floor for password length (7.5.3.1).
pub const MIN_PASSWORD_CHARS: usize = 14;

#[derive(Clone, Debug)]
pub struct NewAccountInput {
    pub username: String,
    pub display_name: Option<String>,
    pub password: String,
    pub role: Role,
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
    /// The natural person behind the account (a staff number): required for the three
    /// separated administrator roles, one of which a person holds at most. Without it
    /// the account is taken to be its own person (`account:<username>`).
    pub person_id: Option<String>,
}

/// A new role for an existing account, with the binding the role needs.
#[derive(Clone, Copy, Debug)]
pub struct RoleAssignment {
    pub role: Role,
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
}

/// An account just made, with its one-time password where yunjian chose it.
#[derive(Clone)]
pub struct CreatedAccount {
    pub id: AccountId,
    pub username: String,
    pub role: Role,
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
    pub password: String,
    /// The demo's accounts of roles that need a second factor come enrolled: the TOTP
    /// secret (base32), for an authenticator app or `oathtool --totp -b`.
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for CreatedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedAccount")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("password", &"<redacted>")
            .finish()
    }
}

fn check_username(username: &str) -> Result<(), AppError> {
    let valid = (3..=64).contains(&username.chars().count())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid {
        Ok(())
    } else {
        Err(AppError::invalid(
            "username",
            "invalid_username",
            "'username' must be 3 to 64 letters, digits, '.', '_', '-' or '@'",
        ))
    }
}

/// A role is bound to a tenant, a provider or neither, and to nothing else.
fn check_binding(
    role: Role,
    tenant: Option<TenantId>,
    provider: Option<ProviderId>,
) -> Result<(), AppError> {
    match (role.binding(), tenant, provider) {
        (Binding::Platform, None, None)
        | (Binding::Tenant, Some(_), None)
        | (Binding::Provider, None, Some(_)) => Ok(()),
        (Binding::Tenant, _, _) => Err(AppError::invalid(
            "tenant_id",
            "binding",
            "a tenant administrator needs 'tenant_id' and nothing else",
        )),
        (Binding::Provider, _, _) => Err(AppError::invalid(
            "provider_id",
            "binding",
            "a provider operator needs 'provider_id' and nothing else",
        )),
        (Binding::Platform, _, _) => Err(AppError::invalid(
            "role",
            "binding",
            "platform roles are bound to no tenant or provider",
        )),
    }
}

/// The person id an account is stored with.
fn check_person_id(given: Option<&str>, username: &str, role: Role) -> Result<String, AppError> {
    match given.map(str::trim) {
        Some(person) => {
            let valid = (1..=64).contains(&person.chars().count())
                && !person.starts_with("account:")
                && person.chars().all(|c| !c.is_control());
            if valid {
                Ok(person.to_owned())
            } else {
                Err(AppError::invalid(
                    "person_id",
                    "invalid_person_id",
                    "'person_id' must be 1 to 64 printable characters, not starting with 'account:'",
                ))
            }
        }
        None if role.is_separated_admin() => Err(AppError::invalid(
            "person_id",
            "required",
            "the three separated administrator roles need 'person_id' (the person's staff number): one person holds at most one of them (三员分立)",
        )),
        None => Ok(format!("account:{username}")),
    }
}

fn separation_conflict(holder: AccountId, role: Role) -> AppError {
    AppError::Conflict {
        field: Some("role".into()),
        message: format!(
            "this person already holds the {} role (account {}): system, security and audit administrators are never the same person (三员分立, guide 7.5.3.6)",
            role.as_str(),
            holder.0
        ),
    }
}

fn check_password_floor(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "password",
            "password_too_short",
            format!(
                "'password' must have at least {MIN_PASSWORD_CHARS} characters (guide 7.5.3.1)"
            ),
        ));
    }
    Ok(())
}

impl App {
    /// Creates an account (system administrators only). The binding must fit the role,
    /// and the tenant or provider must exist.
    pub async fn create_account(
        &self,
        context: &Context,
        input: NewAccountInput,
    ) -> Result<Account, AppError> {
        // Creating an account gives it a role: the PDP wants the system administrator,
        // after a step-up.
        let decision = self
            .authorize_account(context, Action::AccountCreate, None)
            .await?;
        check_username(&input.username)?;
        check_password_floor(&input.password)?;
        check_binding(input.role, input.tenant, input.provider)?;
        self.check_binding_targets(input.tenant, input.provider)
            .await?;
        let person_id = check_person_id(input.person_id.as_deref(), &input.username, input.role)?;
        if self
            .store
            .account_by_username(&input.username)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict {
                field: Some("username".into()),
                message: "this username is taken".into(),
            });
        }
        let hash = self.hash_password(input.password.clone()).await?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        if input.role.is_separated_admin() {
            if let Some((holder, role)) = tx.person_holds_separated_role(&person_id, None).await? {
                drop(tx);
                let mut record = self.record(context, "account.create", AuditOutcome::Denied);
                record.object_kind = Some("account".into());
                let error = separation_conflict(holder, role);
                self.record_denial(record, &error.to_string()).await;
                return Err(error);
            }
        }
        let id = tx
            .insert_account(
                &NewAccount {
                    username: &input.username,
                    display_name: input.display_name.as_deref(),
                    password_hash: &hash,
                    role: input.role,
                    tenant: input.tenant,
                    provider: input.provider,
                    must_change_password: true,
                    person_id: &person_id,
                },
                now,
            )
            .await?;
        let mut record = self.record(context, "account.create", AuditOutcome::Succeeded);
        record.object_kind = Some("account".into());
        record.object_id = Some(id.0);
        record.tenant_id = input.tenant.map(|tenant| tenant.0);
        record.detail = Some(json!({
            "username": input.username,
            "role": input.role.as_str(),
            "tenant_id": input.tenant.map(|t| t.0),
            "provider_id": input.provider.map(|p| p.0),
            "person_id": person_id,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store.account(id).await?.ok_or(AppError::NotFound)
    }

    /// The tenant or provider an account is bound to must exist.
    async fn check_binding_targets(
        &self,
        tenant: Option<TenantId>,
        provider: Option<ProviderId>,
    ) -> Result<(), AppError> {
        if let Some(tenant) = tenant {
            if self
                .store
                .get(Kind::Tenant, tenant.0, ReadScope::All)
                .await?
                .is_none()
            {
                return Err(AppError::invalid(
                    "tenant_id",
                    "unknown_reference",
                    "no such tenant",
                ));
            }
        }
        if let Some(provider) = provider {
            if self
                .store
                .get(Kind::Provider, provider.0, ReadScope::All)
                .await?
                .is_none()
            {
                return Err(AppError::invalid(
                    "provider_id",
                    "unknown_reference",
                    "no such provider",
                ));
            }
        }
        Ok(())
    }

    /// Gives another account a new role (三员: granting authority is the security
    /// administrator's duty). Never one's own; after a step-up; never a second separated
    /// administrator role to the same person (the store's index refuses it as well).
    /// The account's sessions end, so the new role takes effect at its next login.
    pub async fn assign_role(
        &self,
        context: &Context,
        id: AccountId,
        assignment: RoleAssignment,
    ) -> Result<Account, AppError> {
        let action = "account.role.assign";
        let decision = self
            .authorize_account(context, Action::AccountRoleAssign, Some(id))
            .await?;
        check_binding(assignment.role, assignment.tenant, assignment.provider)?;
        self.check_binding_targets(assignment.tenant, assignment.provider)
            .await?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let account = tx.account_for_update(id).await?.ok_or(AppError::NotFound)?;
        if assignment.role.is_separated_admin() {
            let person = account
                .person_id
                .clone()
                .unwrap_or_else(|| format!("account:{}", account.username));
            if let Some((holder, role)) = tx.person_holds_separated_role(&person, Some(id)).await? {
                drop(tx);
                let mut record = self.record(context, action, AuditOutcome::Denied);
                record.object_kind = Some("account".into());
                record.object_id = Some(id.0);
                let error = separation_conflict(holder, role);
                self.record_denial(record, &error.to_string()).await;
                return Err(error);
            }
        }
        tx.set_role(
            id,
            assignment.role,
            assignment.tenant,
            assignment.provider,
            now,
        )
        .await?;
        let ended = tx.delete_sessions_of(id, None).await?;
        let mut record = self.record(context, action, AuditOutcome::Succeeded);
        record.object_kind = Some("account".into());
        record.object_id = Some(id.0);
        record.tenant_id = assignment.tenant.or(account.tenant).map(|t| t.0);
        record.detail = Some(json!({
            "username": account.username,
            "before": {
                "role": account.role.as_str(),
                "tenant_id": account.tenant.map(|t| t.0),
                "provider_id": account.provider.map(|p| p.0),
            },
            "after": {
                "role": assignment.role.as_str(),
                "tenant_id": assignment.tenant.map(|t| t.0),
                "provider_id": assignment.provider.map(|p| p.0),
            },
            "sessions_ended": ended,
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.store.account(id).await?.ok_or(AppError::NotFound)
    }

    /// Accounts, for the three platform administrators and the auditors.
    pub async fn accounts(&self, context: &Context) -> Result<Vec<Account>, AppError> {
        self.authorize_account(context, Action::AccountList, None)
            .await?;
        Ok(self.store.accounts().await?)
    }

    /// Asks the PDP about an account action; `target` is the account acted on (never
    /// one's own for administration: the policies forbid it).
    pub(crate) async fn authorize_account(
        &self,
        context: &Context,
        action: Action,
        target: Option<AccountId>,
    ) -> Result<yunjian_policy::Decision, AppError> {
        let mut question = self.question(
            context,
            action,
            Target::family("account"),
            unit_relation(&context.principal),
        );
        question.self_target = target == Some(context.principal.account_id);
        let mut record = self.record(context, action.as_str(), AuditOutcome::Denied);
        record.object_kind = Some("account".into());
        record.object_id = target.map(|id| id.0);
        self.authorize(context, question, record).await
    }

    /// Creates the first administrators, one per separated role, with one-time
    /// passwords. Refused once any account exists.
    pub async fn initialize_administrators(&self) -> Result<Vec<CreatedAccount>, AppError> {
        let plan = [
            ("sysadmin", Role::SystemAdmin),
            ("secadmin", Role::SecurityAdmin),
            ("secauditor", Role::SecurityAuditor),
        ];
        let mut hashed = Vec::new();
        for (username, role) in plan {
            let password = random_password(20);
            let hash = self.hash_password(password.clone()).await?;
            hashed.push((username, role, password, hash));
        }
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        if tx.account_count().await? > 0 {
            return Err(AppError::Conflict {
                field: None,
                message: "administrators already exist; admin init runs once on an empty store"
                    .into(),
            });
        }
        let mut created = Vec::new();
        for (username, role, password, hash) in hashed {
            let id = tx
                .insert_account(
                    &NewAccount {
                        username,
                        display_name: Some(role.label_zh()),
                        password_hash: &hash,
                        role,
                        tenant: None,
                        provider: None,
                        must_change_password: true,
                        person_id: &format!("account:{username}"),
                    },
                    now,
                )
                .await?;
            tx.append_audit(&system_record(
                now,
                "account.create",
                Some(id.0),
                json!({"username": username, "role": role.as_str(), "by": "admin init"}),
            ))
            .await?;
            created.push(CreatedAccount {
                id,
                username: username.to_owned(),
                role,
                tenant: None,
                provider: None,
                password,
                totp_secret: None,
            });
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Loads a generated demo world into an empty store with its demo accounts: one per
    /// role, tenant administrators of two tenants and an operator per provider.
    pub async fn load_demo(&self, world: &DemoWorld) -> Result<Vec<CreatedAccount>, AppError> {
        let mut plan: Vec<(String, Role, Option<TenantId>, Option<ProviderId>)> = vec![
            ("sysadmin".into(), Role::SystemAdmin, None, None),
            ("secadmin".into(), Role::SecurityAdmin, None, None),
            ("secauditor".into(), Role::SecurityAuditor, None, None),
            ("supervisor".into(), Role::Supervisor, None, None),
            ("auditor".into(), Role::Auditor, None, None),
        ];
        for (index, provider) in world.providers.iter().enumerate() {
            plan.push((
                format!("provider{}", index + 1),
                Role::ProviderOperator,
                None,
                Some(ProviderId(provider.id)),
            ));
        }
        for (index, (tenant, _)) in world.admin_tenants.iter().enumerate() {
            plan.push((
                format!("tenant{}", index + 1),
                Role::TenantAdmin,
                Some(TenantId(*tenant)),
                None,
            ));
        }
        let mut hashed = Vec::new();
        for (username, role, tenant, provider) in plan {
            let password = random_password(16);
            let hash = self.hash_password(password.clone()).await?;
            hashed.push((username, role, tenant, provider, password, hash));
        }
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        if tx.account_count().await? > 0 || tx.count_all(Kind::Tenant).await? > 0 {
            return Err(AppError::Conflict {
                field: None,
                message: "the demo loads only into an empty store".into(),
            });
        }
        let mut counts = serde_json::Map::new();
        for (kind, rows) in &world.kinds {
            tx.bulk_insert(*kind, &rows.rows, &rows.links, now).await?;
            counts.insert(kind.spec().table.to_owned(), json!(rows.rows.len()));
        }
        let mut created = Vec::new();
        for (username, role, tenant, provider, password, hash) in hashed {
            let id = tx
                .insert_account(
                    &NewAccount {
                        username: &username,
                        display_name: Some(role.label_zh()),
                        password_hash: &hash,
                        role,
                        tenant,
                        provider,
                        must_change_password: false,
                        person_id: &format!("account:{username}"),
                    },
                    now,
                )
                .await?;
            // Roles the guide wants a second factor for come enrolled (when the sealing
            // key is there), so a tester logs in with oathtool or a phone app.
            let totp_secret = match (&self.sealing, role.needs_second_factor()) {
                (Some(sealing), true) => {
                    let totp = yunjian_gm::Totp::generate();
                    let sealed = sealing.seal(totp.secret(), crate::identity::TOTP_SEAL_CONTEXT);
                    tx.activate_totp(id, &sealed, 0, &[], now).await?;
                    Some(totp.to_base32().to_string())
                }
                _ => None,
            };
            created.push(CreatedAccount {
                id,
                username,
                role,
                tenant,
                provider,
                password,
                totp_secret,
            });
        }
        // Something to look at in the access pages: the first tenant's authorization for
        // its provider to patch its VMs, and a privilege request waiting for approval.
        let tenant_admin = created.iter().find(|a| a.role == Role::TenantAdmin);
        let operator = created.iter().find(|a| a.role == Role::ProviderOperator);
        if let (Some(admin), Some(operator)) = (tenant_admin, operator) {
            if let (Some(tenant), Some(provider)) = (admin.tenant, operator.provider) {
                let day = 86_400 * 1_000_000_000_i64;
                let kinds = ["vms".to_owned(), "snapshots".to_owned()];
                let actions = ["update".to_owned()];
                let id = tx
                    .insert_tenant_authorization(
                        &yunjian_store::NewTenantAuthorization {
                            tenant,
                            provider,
                            kinds: &kinds,
                            object_ids: &[],
                            actions: &actions,
                            reason: "季度安全补丁 / quarterly security patching",
                            starts_at_ns: now,
                            expires_at_ns: now + 30 * day,
                            granted_by: admin.id,
                        },
                        now,
                    )
                    .await?;
                let mut record = crate::ledger::local_record(now, "authorization.grant");
                record.object_kind = Some("tenant_authorization".into());
                record.object_id = Some(id);
                record.tenant_id = Some(tenant.0);
                record.detail = Some(json!({ "by": "demo", "provider_id": provider.0 }));
                tx.append_audit(&record).await?;
                // And its consent that the provider reports its security status and
                // resource use to the management unit (7.1.5).
                let report_kinds = [crate::grants::REPORT_CONSENT_KIND.to_owned()];
                let report_actions = [crate::grants::REPORT_CONSENT_ACTION.to_owned()];
                tx.insert_tenant_authorization(
                    &yunjian_store::NewTenantAuthorization {
                        tenant,
                        provider,
                        kinds: &report_kinds,
                        object_ids: &[],
                        actions: &report_actions,
                        reason:
                            "同意云服务商按季度向管理单位报送安全情况 / quarterly security reports",
                        starts_at_ns: now,
                        expires_at_ns: now + 90 * day,
                        granted_by: admin.id,
                    },
                    now,
                )
                .await?;
                tx.insert_temporary_privilege(
                    &yunjian_store::NewTemporaryPrivilege {
                        account: admin.id,
                        privilege: "world.update",
                        reason: "迁移期间自行调整虚拟机 / adjusting own VMs during the migration",
                        requested_by: admin.id,
                        starts_at_ns: now,
                        expires_at_ns: now + 14 * day,
                    },
                    now,
                )
                .await?;
            }
        }
        // A provider operator whose privilege to delete tenants' VMs was renewed back to
        // back: 118 days without a break, each grant within the 92-day cap (7.5.3.5).
        let security_admin = created.iter().find(|a| a.role == Role::SecurityAdmin);
        if let (Some(operator), Some(approver)) = (operator, security_admin) {
            let day = 86_400 * 1_000_000_000_i64;
            for (starts, expires) in [
                (now - 120 * day, now - 60 * day),
                (now - 60 * day, now - 2 * day),
            ] {
                let id = tx
                    .insert_temporary_privilege(
                        &yunjian_store::NewTemporaryPrivilege {
                            account: operator.id,
                            privilege: "world.delete",
                            reason: "迁移期间清理旧虚拟机 / removing old VMs during the migration",
                            requested_by: operator.id,
                            starts_at_ns: starts,
                            expires_at_ns: expires,
                        },
                        starts - day,
                    )
                    .await?;
                tx.decide_temporary_privilege(
                    id,
                    &[yunjian_store::PrivilegeState::Requested],
                    yunjian_store::PrivilegeState::Approved,
                    approver.id,
                    "同意 / approved",
                    starts - day,
                )
                .await?;
            }
        }
        tx.set_meta("demo", "true").await?;
        tx.append_audit(&system_record(
            now,
            "demo.load",
            None,
            json!({ "counts": counts, "accounts": created.len() }),
        ))
        .await?;
        tx.commit().await?;
        Ok(created)
    }
}

/// A record of an action taken by yunjian itself (the CLI on the operator's machine).
fn system_record(
    now: i64,
    action: &str,
    object_id: Option<i64>,
    detail: serde_json::Value,
) -> NewAuditRecord {
    let mut record = crate::ledger::local_record(now, action);
    record.object_kind = object_id.map(|_| "account".to_owned());
    record.object_id = object_id;
    record.detail = Some(detail);
    record
}
