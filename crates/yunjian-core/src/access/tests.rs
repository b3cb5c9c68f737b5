use super::{read_scope, write_scope, ReadScope};
use crate::ids::{AccountId, ProviderId, TenantId};
use crate::role::{Principal, Role};
use crate::schema::Kind;

fn principal(role: Role, tenant: Option<i64>, provider: Option<i64>) -> Principal {
    Principal {
        account_id: AccountId(1),
        username: "u".into(),
        role,
        tenant: tenant.map(TenantId),
        provider: provider.map(ProviderId),
        second_factor: true,
    }
}

#[test]
fn a_tenant_admin_sees_only_its_own_tenant_resources() {
    let admin = principal(Role::TenantAdmin, Some(7), None);
    assert_eq!(
        read_scope(&admin, Kind::Vpc),
        ReadScope::Column {
            column: "tenant_id",
            id: 7
        }
    );
    assert_eq!(
        read_scope(&admin, Kind::Tenant),
        ReadScope::Column {
            column: "id",
            id: 7
        }
    );
    assert_eq!(read_scope(&admin, Kind::Host), ReadScope::Nothing);
    assert_eq!(read_scope(&admin, Kind::Zone), ReadScope::All);
    assert_eq!(
        read_scope(&admin, Kind::Image),
        ReadScope::ColumnOrShared {
            column: "tenant_id",
            id: 7
        }
    );
    assert_eq!(
        write_scope(&admin, Kind::Image),
        ReadScope::Column {
            column: "tenant_id",
            id: 7
        }
    );
}

#[test]
fn an_unbound_scoped_role_sees_nothing() {
    assert_eq!(
        read_scope(&principal(Role::TenantAdmin, None, None), Kind::Zone),
        ReadScope::Nothing
    );
    assert_eq!(
        read_scope(&principal(Role::ProviderOperator, None, None), Kind::Zone),
        ReadScope::Nothing
    );
}

#[test]
fn a_provider_operator_sees_its_own_platform_and_the_directory() {
    let operator = principal(Role::ProviderOperator, None, Some(2));
    assert_eq!(
        read_scope(&operator, Kind::Host),
        ReadScope::Column {
            column: "provider_id",
            id: 2
        }
    );
    assert_eq!(read_scope(&operator, Kind::Tenant), ReadScope::All);
    assert_eq!(
        read_scope(&operator, Kind::InformationSystem),
        ReadScope::Nothing
    );
}

#[test]
fn admits_checks_the_scoped_column() {
    let scope = ReadScope::Column {
        column: "tenant_id",
        id: 3,
    };
    assert!(scope.admits(|column| (column == "tenant_id").then_some(3)));
    assert!(!scope.admits(|_| Some(4)));
    assert!(!scope.admits(|_| None));
    let shared = ReadScope::ColumnOrShared {
        column: "tenant_id",
        id: 3,
    };
    assert!(shared.admits(|_| None));
    assert!(!ReadScope::Nothing.admits(|_| Some(3)));
}
