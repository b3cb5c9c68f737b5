-- yunjian schema, version 11: container platforms (guide 5.4.3) as Kubernetes reports
-- them: workloads (pods) with their images and digests, and NetworkPolicies (the
-- micro-segmentation issue 8 verifies). Owned like volumes: tenant from the provider's
-- project (namespace) mapping, provider from the reporting key.
CREATE TABLE container_workloads (
    id @ID@,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    cluster TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    images TEXT NOT NULL DEFAULT '[]',
    image_digests TEXT NOT NULL DEFAULT '[]',
    node TEXT,
    status TEXT,
    external_id TEXT,
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1
);
CREATE INDEX container_workloads_tenant_id_idx ON container_workloads (tenant_id);
CREATE INDEX container_workloads_provider_id_idx ON container_workloads (provider_id);
CREATE INDEX container_workloads_name_idx ON container_workloads (name);
CREATE UNIQUE INDEX container_workloads_external_id_idx ON container_workloads (provider_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE network_policies (
    id @ID@,
    tenant_id @INT@ NOT NULL REFERENCES tenants(id),
    provider_id @INT@ NOT NULL REFERENCES providers(id),
    cluster TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    external_id TEXT,
    created_at_ns @INT@ NOT NULL,
    updated_at_ns @INT@ NOT NULL,
    revision @INT@ NOT NULL DEFAULT 1
);
CREATE INDEX network_policies_tenant_id_idx ON network_policies (tenant_id);
CREATE INDEX network_policies_provider_id_idx ON network_policies (provider_id);
CREATE INDEX network_policies_name_idx ON network_policies (name);
CREATE UNIQUE INDEX network_policies_external_id_idx ON network_policies (provider_id, external_id) WHERE external_id IS NOT NULL;
