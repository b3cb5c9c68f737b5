//! Use-cases shared by the JSON API, the console and the CLI.
//!
//! Handlers stay thin: they turn a request into a call here. Every state change is
//! authenticated, authorized, validated against the world schema and the rows it
//! references, and committed together with its audit record in one transaction. A
//! change whose record cannot be written does not happen (invariant 1).

mod accounts;
mod api_keys;
mod auth;
mod authz;
mod clock;
mod compliance;
mod connectors;
mod error;
mod event_archive;
mod events;
mod grants;
mod identity;
mod incidents;
mod ingest;
mod ledger;
mod monitor;
pub mod network;
mod overview;
mod provider;
mod reports;
mod usage;
mod world;

use std::sync::Arc;

pub use accounts::{CreatedAccount, NewAccountInput, RoleAssignment};
pub use api_keys::{
    signing_time, CreatedApiKey, SignedRequest, MAX_SKEW_NS, REQUIRED_SIGNED_HEADERS,
    SIGNING_REGION, SIGNING_SERVICE,
};
pub use auth::{Authenticated, LoginOutcome, SessionSettings, SessionToken};
pub use clock::{Clock, FixedClock, SystemClock};
pub use compliance::{
    beijing_date, beijing_time, parse_scope, EvidenceInput, OverrideInput, ResultChange,
    RunSummary, WaiverInput, MAX_EVIDENCE_BYTES,
};
pub use connectors::{ConnectorInput, PullOutcome, CONNECTOR_KINDS};
pub use error::AppError;
pub use event_archive::ONLINE_MONTHS_FLOOR;
pub use events::{EventCounters, IngestSummary, LineFormat, RawEvent, Transport};
pub use grants::{
    grantable, AuthorizationInput, PrivilegeInput, AUTHORIZABLE_ACTIONS, AUTHORIZABLE_KINDS,
    MAX_AUTHORIZATION_DAYS, MAX_PRIVILEGE_DAYS, REPORT_CONSENT_ACTION, REPORT_CONSENT_KIND,
};
pub use identity::{
    IdentitySettings, PasswordHashing, TotpEnrolment, LOGIN_BURST, STEP_UP_WINDOW_NS,
};
pub use incidents::{
    incident_filter, phase_label, EventOverview, EventSettingsInput, IncidentDetail, RegradeInput,
    RuleHit, RuleListing, RuleSample, PHASES, SOURCE_KINDS,
};
pub use ingest::{listen_syslog, listen_syslog_tls, tls_config, IngestConfig, IngestHandle};
pub use ledger::{
    AnomalyReport, AuditQuery, ExportRange, ExportSummary, LedgerSettings, OnlineVerification,
    API_EXPORT_LIMIT, RETENTION_FLOOR_MONTHS,
};
pub use monitor::API_CALLS_PER_MINUTE;
pub use overview::{Overview, OverviewCount, OVERVIEW_LIFETIME_NS};
pub use provider::{
    normalize_digest, CommitSummary, RegistryInput, MAX_CHUNKS, MAX_CHUNK_BYTES, METRICS,
    PUSH_CONNECTOR, PUSH_STALE_NS,
};
pub use reports::{ReportFormat, ReportKind, DEFAULT_REPORT_FONT, DEFAULT_REPORT_FONT_INDEX};
pub use usage::{daily, summarize, Month, Summary};
pub use world::{ResolvedNames, ResolvedObject, WorldPage};
use yunjian_core::role::Principal;
use yunjian_store::Store;

/// Who is asking, from where, and when.
#[derive(Clone, Debug)]
pub struct Context {
    pub principal: Principal,
    pub request_id: String,
    pub source_address: Option<String>,
    /// The source's own clock, when the request said (HTTP `Date`).
    pub source_time_ns: Option<i64>,
    /// Which credential authenticated: `session:…` or `key:…`, never the secret.
    pub credential: Option<String>,
    /// When the caller last proved a second factor in this session (login with a code
    /// or a step-up); sensitive actions want it recent.
    pub second_factor_at_ns: Option<i64>,
}

impl Context {
    pub fn new(principal: Principal, request_id: &str, source_address: Option<&str>) -> Context {
        Context {
            principal,
            request_id: request_id.to_owned(),
            source_address: source_address.map(str::to_owned),
            source_time_ns: None,
            credential: None,
            second_factor_at_ns: None,
        }
    }
}

/// The application: a store, a clock and settings. Cheap to clone; holds no per-request
/// state, so several server instances can share one database.
#[derive(Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: SessionSettings,
    /// Bounds concurrent password hashing so a login flood cannot take every core.
    hashing: Arc<tokio::sync::Semaphore>,
    /// Recent overviews per scope (see overview.rs).
    overviews: Arc<overview::OverviewCache>,
    ledger: Arc<LedgerSettings>,
    /// Signs checkpoints; `None` until `admin init` made a key (or in tools that only read).
    signer: Option<Arc<dyn yunjian_gm::NoteSigner>>,
    committer: Arc<ledger::GroupCommitter>,
    identity: Arc<IdentitySettings>,
    login_limiter: Arc<identity::LoginLimiter>,
    sealing: Option<Arc<yunjian_gm::SealingKey>>,
    /// The policy decision point every action asks (authz.rs).
    pdp: Arc<yunjian_policy::Pdp>,
    /// Per-principal API call counts of this instance (monitor.rs).
    call_limiter: Arc<monitor::CallLimiter>,
    /// The CJK font compliance PDFs embed, read on first use (reports.rs).
    report_font: Arc<reports::FontSource>,
    /// The event centre's decoders, compiled rules with their correlation windows,
    /// address index and counters (events.rs).
    events: Arc<events::EventCentre>,
    /// This instance's verified network, kept current with the ledger (network.rs).
    network: Arc<network::NetworkCache>,
}

/// Password hashes allowed at once: half the cores (at least one), so a login flood
/// always leaves the other half to everything else (docs/benchmarks.md, login flood).
fn hashing_bound() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| (cores.get() / 2).max(1))
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: SessionSettings) -> App {
        App {
            store,
            clock,
            settings,
            hashing: Arc::new(tokio::sync::Semaphore::new(hashing_bound())),
            overviews: Arc::new(overview::OverviewCache::default()),
            ledger: Arc::new(LedgerSettings::default()),
            signer: None,
            committer: Arc::new(ledger::GroupCommitter::default()),
            identity: Arc::new(IdentitySettings::default()),
            login_limiter: Arc::default(),
            sealing: None,
            pdp: authz::shipped_pdp(),
            call_limiter: Arc::default(),
            report_font: Arc::default(),
            events: Arc::default(),
            network: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now_ns(&self) -> i64 {
        self.clock.now_ns()
    }

    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }
}
