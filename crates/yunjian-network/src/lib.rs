//! Network isolation verification (issue 8), the pure engine: a model of what isolates
//! tenants (zones, hosts, VPCs, subnets and their ACLs, interfaces and their security
//! groups, tenant firewalls, routes, peerings, exchange rules, management endpoints),
//! the decision of any flow with the rule that decided each hop, the guide's invariants
//! over all flows, and their incremental re-verification. No IO, no clock. Checked
//! against a naive evaluator that scans every rule and a BDD (tests/it).

pub mod checks;
pub mod containers;
pub mod engine;
pub mod model;
pub mod ports;
pub mod synthetic;
pub mod verify;
