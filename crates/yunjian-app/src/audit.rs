//! Reading the audit trail. Security auditors, third-party auditors and the management
//! unit see every record; a tenant administrator sees its own tenant's slice; the other
//! roles see none (the administrators whose actions are audited do not read the trail).

use yunjian_core::role::Role;
use yunjian_store::{AuditFilter, AuditOutcome, AuditRecord};

use crate::error::AppError;
use crate::{App, Context};

impl App {
    pub async fn audit_records(
        &self,
        context: &Context,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, AppError> {
        let principal = &context.principal;
        let filter = match (principal.role, principal.tenant) {
            (Role::SecurityAuditor | Role::Auditor | Role::Supervisor, _) => AuditFilter {
                limit,
                ..AuditFilter::default()
            },
            (Role::TenantAdmin, Some(tenant)) => AuditFilter {
                tenant_id: Some(tenant.0),
                limit,
                ..AuditFilter::default()
            },
            _ => {
                let record = self.record(context, "audit.read", AuditOutcome::Denied);
                self.record_denial(record, "role may not read the audit trail")
                    .await;
                return Err(AppError::Forbidden(
                    "audit records are for auditors, the management unit and tenants".into(),
                ));
            }
        };
        Ok(self.store.audit_records(&filter).await?)
    }
}
