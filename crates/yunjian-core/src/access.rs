//! Who may read and write which kind of world object, and in which scope.
//!
//! The read scope is handed to every store query, so tenant isolation is enforced where
//! the rows are selected, not filtered afterwards (invariant 2). Whether a role may read
//! or write a kind at all is the policy decision point's (yunjian-policy); the scope
//! here is the structural part: which column ties a row to a tenant or provider.

use crate::role::{Principal, Role};
use crate::schema::{Kind, ProviderAccess, TenantAccess};

/// The rows of one kind a principal can see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadScope {
    /// Every row.
    All,
    /// Rows whose `column` equals `id`.
    Column { column: &'static str, id: i64 },
    /// Rows whose `column` equals `id` or is empty.
    ColumnOrShared { column: &'static str, id: i64 },
    /// None: the kind is not visible to this principal.
    Nothing,
}

pub fn read_scope(principal: &Principal, kind: Kind) -> ReadScope {
    let spec = kind.spec();
    match principal.role {
        Role::SystemAdmin
        | Role::SecurityAdmin
        | Role::SecurityAuditor
        | Role::Supervisor
        | Role::Auditor => ReadScope::All,
        Role::TenantAdmin => {
            let Some(tenant) = principal.tenant else {
                return ReadScope::Nothing;
            };
            match spec.tenant_access {
                TenantAccess::Column(column) => ReadScope::Column {
                    column,
                    id: tenant.0,
                },
                TenantAccess::ColumnOrShared(column) => ReadScope::ColumnOrShared {
                    column,
                    id: tenant.0,
                },
                TenantAccess::Directory => ReadScope::All,
                TenantAccess::Hidden => ReadScope::Nothing,
            }
        }
        Role::ProviderOperator => {
            let Some(provider) = principal.provider else {
                return ReadScope::Nothing;
            };
            match spec.provider_access {
                ProviderAccess::Column(column) => ReadScope::Column {
                    column,
                    id: provider.0,
                },
                ProviderAccess::Directory => ReadScope::All,
                ProviderAccess::Hidden => ReadScope::Nothing,
            }
        }
    }
}

/// The scope a written row must fall in: the same as what the writer can read, with
/// shared rows excluded (a tenant may not create a public image).
pub fn write_scope(principal: &Principal, kind: Kind) -> ReadScope {
    match read_scope(principal, kind) {
        ReadScope::ColumnOrShared { column, id } => ReadScope::Column { column, id },
        scope => scope,
    }
}

impl ReadScope {
    /// Whether a row with these ownership values is inside the scope. `lookup` answers a
    /// column's value for the row (the id column included).
    pub fn admits(self, lookup: impl Fn(&str) -> Option<i64>) -> bool {
        match self {
            ReadScope::All => true,
            ReadScope::Nothing => false,
            ReadScope::Column { column, id } => lookup(column) == Some(id),
            ReadScope::ColumnOrShared { column, id } => {
                lookup(column).is_none() || lookup(column) == Some(id)
            }
        }
    }
}

#[cfg(test)]
mod tests;
