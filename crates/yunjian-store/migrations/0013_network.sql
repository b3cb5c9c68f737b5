-- yunjian schema, version 13: what network isolation verification reads (issue 8,
-- guide 5.2.2, 5.3, 7.1.2, 7.2.2.3, 7.2.4.2, 7.5.12): which security groups each VM's
-- interfaces carry, subnet ACLs and their rules, tenants' north-south firewall rules,
-- VPC peerings, the exchanges the management unit approved, route tables, tenants'
-- management endpoints; and the log of what each policy change did to the findings
-- (7.2.4.7: the tenant sees its own).
CREATE TABLE vm_security_groups (
    vm_id @INT@ NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    security_group_id @INT@ NOT NULL REFERENCES security_groups(id),
    PRIMARY KEY (vm_id, security_group_id)
);
CREATE INDEX vm_security_groups_group_idx ON vm_security_groups (security_group_id);

CREATE TABLE network_acls (
    id @ID@,
    vpc_id @INT@ NOT NULL REFERENCES vpcs(id),
    name TEXT NOT NULL,
    description TEXT,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    external_id TEXT,
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1,
    UNIQUE (vpc_id, name)
);
CREATE INDEX network_acls_vpc_id_idx ON network_acls (vpc_id);
CREATE INDEX network_acls_tenant_id_idx ON network_acls (tenant_id);
CREATE INDEX network_acls_provider_id_idx ON network_acls (provider_id);
CREATE INDEX network_acls_name_idx ON network_acls (name);
CREATE UNIQUE INDEX network_acls_external_id_idx ON network_acls (provider_id, external_id) WHERE external_id IS NOT NULL;
CREATE TABLE network_acl_subnets (
    network_acl_id @INT@ NOT NULL REFERENCES network_acls(id) ON DELETE CASCADE,
    subnet_id @INT@ NOT NULL REFERENCES subnets(id),
    PRIMARY KEY (network_acl_id, subnet_id)
);
-- A subnet has at most one ACL.
CREATE UNIQUE INDEX network_acl_subnets_subnet_idx ON network_acl_subnets (subnet_id);

CREATE TABLE network_acl_rules (
    id @ID@,
    network_acl_id @INT@ NOT NULL REFERENCES network_acls(id),
    direction TEXT NOT NULL,
    position @INT@ NOT NULL,
    action TEXT NOT NULL,
    protocol TEXT NOT NULL,
    port_from @INT@,
    port_to @INT@,
    remote_cidr TEXT NOT NULL,
    description TEXT,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    external_id TEXT,
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1
);
CREATE INDEX network_acl_rules_acl_idx ON network_acl_rules (network_acl_id);
CREATE INDEX network_acl_rules_tenant_id_idx ON network_acl_rules (tenant_id);
CREATE INDEX network_acl_rules_provider_id_idx ON network_acl_rules (provider_id);
CREATE UNIQUE INDEX network_acl_rules_external_id_idx ON network_acl_rules (provider_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE firewall_rules (
    id @ID@,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    name TEXT NOT NULL,
    position @INT@ NOT NULL,
    action TEXT NOT NULL,
    protocol TEXT NOT NULL,
    port_from @INT@,
    port_to @INT@,
    source_cidr TEXT NOT NULL,
    destination_cidr TEXT NOT NULL,
    application TEXT,
    description TEXT,
    external_id TEXT,
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX firewall_rules_tenant_id_idx ON firewall_rules (tenant_id);
CREATE INDEX firewall_rules_provider_id_idx ON firewall_rules (provider_id);
CREATE INDEX firewall_rules_name_idx ON firewall_rules (name);
CREATE UNIQUE INDEX firewall_rules_external_id_idx ON firewall_rules (provider_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE vpc_peerings (
    id @ID@,
    vpc_id @INT@ NOT NULL REFERENCES vpcs(id),
    peer_vpc_id @INT@ NOT NULL REFERENCES vpcs(id),
    name TEXT NOT NULL,
    description TEXT,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    external_id TEXT,
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1,
    UNIQUE (vpc_id, name)
);
CREATE INDEX vpc_peerings_vpc_id_idx ON vpc_peerings (vpc_id);
CREATE INDEX vpc_peerings_peer_vpc_id_idx ON vpc_peerings (peer_vpc_id);
CREATE INDEX vpc_peerings_tenant_id_idx ON vpc_peerings (tenant_id);
CREATE INDEX vpc_peerings_provider_id_idx ON vpc_peerings (provider_id);
CREATE INDEX vpc_peerings_name_idx ON vpc_peerings (name);
CREATE UNIQUE INDEX vpc_peerings_external_id_idx ON vpc_peerings (provider_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE exchange_rules (
    id @ID@,
    from_vpc_id @INT@ NOT NULL REFERENCES vpcs(id),
    to_vpc_id @INT@ NOT NULL REFERENCES vpcs(id),
    protocol TEXT NOT NULL,
    port_from @INT@,
    port_to @INT@,
    approval TEXT NOT NULL,
    description TEXT,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1
);
CREATE INDEX exchange_rules_from_vpc_id_idx ON exchange_rules (from_vpc_id);
CREATE INDEX exchange_rules_to_vpc_id_idx ON exchange_rules (to_vpc_id);
CREATE INDEX exchange_rules_tenant_id_idx ON exchange_rules (tenant_id);
CREATE INDEX exchange_rules_provider_id_idx ON exchange_rules (provider_id);

CREATE TABLE routes (
    id @ID@,
    vpc_id @INT@ NOT NULL REFERENCES vpcs(id),
    destination TEXT NOT NULL,
    next_hop TEXT NOT NULL,
    peering_id @INT@ REFERENCES vpc_peerings(id),
    description TEXT,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    external_id TEXT,
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1
);
CREATE INDEX routes_vpc_id_idx ON routes (vpc_id);
CREATE INDEX routes_peering_id_idx ON routes (peering_id);
CREATE INDEX routes_tenant_id_idx ON routes (tenant_id);
CREATE INDEX routes_provider_id_idx ON routes (provider_id);
CREATE UNIQUE INDEX routes_external_id_idx ON routes (provider_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE management_endpoints (
    id @ID@,
    vm_id @INT@ NOT NULL REFERENCES vms(id),
    name TEXT NOT NULL,
    endpoint_kind TEXT NOT NULL,
    description TEXT,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, name)
);
CREATE INDEX management_endpoints_vm_id_idx ON management_endpoints (vm_id);
CREATE INDEX management_endpoints_tenant_id_idx ON management_endpoints (tenant_id);
CREATE INDEX management_endpoints_provider_id_idx ON management_endpoints (provider_id);
CREATE INDEX management_endpoints_name_idx ON management_endpoints (name);

-- What each audited policy change did to the findings: written once per audit record
-- (by whichever instance verifies it first), read as the tenants' policy-change log.
CREATE TABLE network_changes (
    audit_seq @INT@ PRIMARY KEY,
    at_ns @INT@ NOT NULL,
    kind TEXT NOT NULL,
    object_id @INT@,
    action TEXT NOT NULL,
    tenant_id @INT@ REFERENCES tenants(id),
    appeared @INT@ NOT NULL,
    disappeared @INT@ NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX network_changes_tenant_idx ON network_changes (tenant_id, audit_seq);
