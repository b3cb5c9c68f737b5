//! The only crate that speaks SQL: one concrete [`Store`] over SQLite (embedded default)
//! or PostgreSQL (scale-out), with the same schema and behaviour.
//!
//! Every query is parameterised; identifiers in SQL text come only from the static world
//! schema, never from input. Every read of world objects takes a [`ReadScope`], so tenant
//! isolation is part of the `WHERE` clause. Writes happen inside a [`WriteTx`], which
//! also writes the audit record, so a change and its record commit together or not at all.

mod accounts;
mod compliance;
mod error;
mod events;
mod grants;
mod ledger;
mod network;
mod open;
mod provider;
mod read;
mod world;

pub use accounts::{Account, NewAccount, Session, SessionSummary};
pub use compliance::{
    ComplianceResultRow, ComplianceRun, CustomControlRecord, EvidenceRecord, NewEvidence,
    NewWaiver, OverrideRecord, ParameterRecord, ResultFilter, ResultScope, WaiverRecord,
};
pub use error::StoreError;
pub use events::{
    AlertRecord, Concern, EventArchive, EventFilter, EventRow, EventSource, IncidentEntry,
    IncidentFilter, IncidentRecord, NewAlert, NewEventSource, NewIncident, NewNotification,
    NewRuleVersion, NotificationRecord, RuleVersion, SenderActivity, Tally, TallyBy,
    TenantEventSettings, UnknownSender,
};
pub use grants::{
    ApiKey, AuthorizationScope, NewTemporaryPrivilege, NewTenantAuthorization, PrivilegeState,
    SecurityEvent, TemporaryPrivilege, TenantAuthorization,
};
pub use ledger::{
    AuditFilter, AuditOutcome, AuditRecord, LedgerArchive, LedgerHead, NewAuditRecord,
    StoredCheckpoint, StoredLedgerKey,
};
pub use network::NetworkChange;
pub use open::{Backend, Store, StoreConfig, WriteTx};
pub use provider::{
    ChangeFilter, ChangeRecord, ChunkRecord, ConnectorRecord, HealthRecord, NewChange,
    NewConnector, NewRegistryEntry, ProjectMapping, RegistryEntry, SyncOutcome, SyncRecord,
    UnassignedRecord, UsageSample,
};
pub use world::{Conditional, Filter, ListQuery, Page, SortOrder, WorldObject};
pub use yunjian_gm::LedgerHash;

pub use yunjian_core::access::ReadScope;
