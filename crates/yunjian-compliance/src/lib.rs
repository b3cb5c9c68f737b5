//! The compliance engine, pure: the catalog (the guide's clauses, the MLPS level-3 cloud
//! extension, the annex's responsibility matrix, parameters with the guide's floors) as
//! validated data; built-in controls over an inventory snapshot and yunjian's records;
//! evaluation into one result per scope and clause with attestations, inheritance,
//! contract overrides and waivers. No IO, no clock: the app supplies the inventory, the
//! facts (today, settings, accounts) and the stored attestations and waivers.

pub mod catalog;
pub mod controls;
pub mod custom;
pub mod evaluate;
pub mod geo;
pub mod inventory;
pub mod parameters;
pub mod party;
pub mod result;

pub use catalog::{Assessment, Catalog, CatalogError, Clause, MlpsItem, Source};
pub use controls::ControlInfo;
pub use evaluate::{
    evaluate, Attestation, Basis, ClauseResult, CustomRun, Evaluation, Inputs, Override, Waiver,
};
pub use inventory::{Facts, Inventory, NetworkViolation};
pub use parameters::ParameterValues;
pub use party::{Party, PartySet, ServiceModel};
pub use result::{Evidence, Outcome, Scope, Status, Verdict};

#[cfg(test)]
mod tests;
