//! Network isolation verification (issue 8), the pure engine: a model of what isolates
//! tenants (zones, VPCs, subnets and their ACLs, interfaces and their security groups,
//! tenant firewalls, peerings, exchange rules) and the decision of any flow with the
//! rule that decided each hop. No IO, no clock. Checked against a naive evaluator that
//! scans every rule (tests/it).

pub mod checks;
pub mod engine;
pub mod model;
