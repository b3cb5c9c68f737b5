//! Roles and the authenticated principal.
//!
//! The three platform administrator roles follow 三员分立 (guide 7.5.3.6, 8.3.10): system
//! administrator, security administrator and security auditor. The full identity policy
//! (separation enforcement, MFA, grants) builds on these identifiers.

use crate::ids::{AccountId, ProviderId, TenantId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    SystemAdmin,
    SecurityAdmin,
    SecurityAuditor,
    /// The management unit (政务云平台管理单位).
    Supervisor,
    /// An operator of one cloud service provider.
    ProviderOperator,
    /// An administrator of one tenant.
    TenantAdmin,
    /// An independent third-party auditor: read-only.
    Auditor,
}

/// What an account of a role must be bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binding {
    Platform,
    Tenant,
    Provider,
}

impl Role {
    /// The roles the guide wants a second factor for (7.2.5.2, 7.5.3.2): the three
    /// platform administrators, provider operators and tenant administrators.
    pub fn needs_second_factor(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin
                | Role::SecurityAdmin
                | Role::SecurityAuditor
                | Role::ProviderOperator
                | Role::TenantAdmin
        )
    }
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::SecurityAuditor,
        Role::Supervisor,
        Role::ProviderOperator,
        Role::TenantAdmin,
        Role::Auditor,
    ];

    /// The stable identifier used in the API, the store and `demo-accounts.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SystemAdmin => "system_admin",
            Role::SecurityAdmin => "security_admin",
            Role::SecurityAuditor => "security_auditor",
            Role::Supervisor => "supervisor",
            Role::ProviderOperator => "provider_operator",
            Role::TenantAdmin => "tenant_admin",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::SystemAdmin => "系统管理员",
            Role::SecurityAdmin => "安全管理员",
            Role::SecurityAuditor => "安全审计员",
            Role::Supervisor => "管理单位监管员",
            Role::ProviderOperator => "云服务商运维员",
            Role::TenantAdmin => "云租户管理员",
            Role::Auditor => "第三方审计员",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::SystemAdmin => "System administrator",
            Role::SecurityAdmin => "Security administrator",
            Role::SecurityAuditor => "Security auditor",
            Role::Supervisor => "Supervisor (management unit)",
            Role::ProviderOperator => "Provider operator",
            Role::TenantAdmin => "Tenant administrator",
            Role::Auditor => "Third-party auditor",
        }
    }

    pub fn binding(self) -> Binding {
        match self {
            Role::TenantAdmin => Binding::Tenant,
            Role::ProviderOperator => Binding::Provider,
            _ => Binding::Platform,
        }
    }

    /// The three roles of 三员分立, which no account may combine.
    pub fn is_separated_admin(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin | Role::SecurityAdmin | Role::SecurityAuditor
        )
    }
}

/// The authenticated party behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub account_id: AccountId,
    pub username: String,
    pub role: Role,
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
    /// The account has a second factor enrolled.
    pub second_factor: bool,
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn role_identifiers_round_trip_and_are_the_documented_ones() {
        let ids: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        assert_eq!(
            ids,
            [
                "system_admin",
                "security_admin",
                "security_auditor",
                "supervisor",
                "provider_operator",
                "tenant_admin",
                "auditor"
            ]
        );
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
