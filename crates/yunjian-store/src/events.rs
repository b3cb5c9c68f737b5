//! The security event centre's records: registered sources and unknown senders,
//! normalized events, administrators' detection rules (versioned), alerts, incidents
//! with their timelines, per-tenant settings (key tenant, webhook), notifications and
//! monthly archives. Every read takes the reader's scope: a tenant sees what concerns
//! it (either side of a flow), a provider what came through its platform.

use crate::compliance::ResultScope;
use crate::error::{Result, StoreError};
use crate::open::{Store, WriteTx};
use crate::provider::{owner_binds as scope_binds, tuple};
use crate::read::{Bind, Cell, CellType};

/// Reads one row's cells in order.
pub(crate) struct Cells<'a> {
    cells: &'a mut [Cell],
    at: usize,
    table: &'static str,
}

impl<'a> Cells<'a> {
    pub(crate) fn new(cells: &'a mut [Cell], table: &'static str) -> Cells<'a> {
        Cells {
            cells,
            at: 0,
            table,
        }
    }

    fn next(&mut self) -> &mut Cell {
        self.at += 1;
        &mut self.cells[self.at - 1]
    }

    pub(crate) fn opt_int(&mut self) -> Option<i64> {
        self.next().int()
    }

    pub(crate) fn int(&mut self) -> Result<i64> {
        let (table, at) = (self.table, self.at);
        self.opt_int()
            .ok_or_else(|| StoreError::Corrupt(format!("{table}: column {at} is not a number")))
    }

    pub(crate) fn opt_text(&mut self) -> Option<String> {
        self.next().take_text()
    }

    pub(crate) fn text(&mut self) -> Result<String> {
        let (table, at) = (self.table, self.at);
        self.opt_text()
            .ok_or_else(|| StoreError::Corrupt(format!("{table}: column {at} is not text")))
    }

    fn opt_float(&mut self) -> Option<f64> {
        match self.next() {
            Cell::Float(value) => Some(*value),
            Cell::Int(value) => Some(*value as f64),
            _ => None,
        }
    }

    fn flag(&mut self) -> Result<bool> {
        Ok(self.int()? != 0)
    }
}

pub(crate) fn types(spec: &str) -> Vec<CellType> {
    spec.chars()
        .map(|kind| match kind {
            'i' => CellType::Int,
            'f' => CellType::Float,
            _ => CellType::Text,
        })
        .collect()
}

/// The scope clause over a table with `tenant_id`, `other_tenant_id`, `provider_id`,
/// taking its two parameters at `$first` and `$first + 1`.
fn scope_sql(first: usize) -> String {
    let second = first + 1;
    format!(
        "(${first} IS NULL OR tenant_id = ${first} OR other_tenant_id = ${first}) \
         AND (${second} IS NULL OR provider_id = ${second})"
    )
}

// --- sources ---------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct NewEventSource {
    pub name: String,
    pub address: String,
    pub kind: String,
    pub provider_id: Option<i64>,
    pub zone_id: Option<i64>,
    pub tenant_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventSource {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub kind: String,
    pub provider_id: Option<i64>,
    pub zone_id: Option<i64>,
    pub tenant_id: Option<i64>,
    pub enabled: bool,
    pub created_at_ns: i64,
    pub last_seen_ns: Option<i64>,
    pub last_skew_ns: Option<i64>,
    pub events: i64,
}

const SOURCE_COLUMNS: &str = "id, name, address, kind, provider_id, zone_id, tenant_id, enabled, \
     created_at_ns, last_seen_ns, last_skew_ns, events";

fn decode_source(cells: &mut [Cell]) -> Result<EventSource> {
    let mut row = Cells::new(cells, "event_sources");
    Ok(EventSource {
        id: row.int()?,
        name: row.text()?,
        address: row.text()?,
        kind: row.text()?,
        provider_id: row.opt_int(),
        zone_id: row.opt_int(),
        tenant_id: row.opt_int(),
        enabled: row.flag()?,
        created_at_ns: row.int()?,
        last_seen_ns: row.opt_int(),
        last_skew_ns: row.opt_int(),
        events: row.int()?,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnknownSender {
    pub address: String,
    pub first_seen_ns: i64,
    pub last_seen_ns: i64,
    pub events: i64,
    pub sample: String,
}

/// What a batch saw of one sender.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderActivity {
    pub address: String,
    pub source_id: Option<i64>,
    pub last_seen_ns: i64,
    pub last_skew_ns: Option<i64>,
    pub events: i64,
    pub sample: String,
}

// --- events ----------------------------------------------------------------------

/// A normalized event as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub received_ns: i64,
    pub source_time_ns: Option<i64>,
    pub source_id: Option<i64>,
    pub sender: Option<String>,
    pub transport: String,
    pub format: String,
    pub device: Option<String>,
    pub class: String,
    pub family: Option<String>,
    pub detector: Option<String>,
    pub src_ip: Option<String>,
    pub src_port: Option<i64>,
    pub dst_ip: Option<String>,
    pub dst_port: Option<i64>,
    pub protocol: Option<String>,
    pub username: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub rule: Option<String>,
    pub rule_id: Option<String>,
    pub severity: Option<i64>,
    pub message: String,
    pub raw: String,
    /// JSON object of the decoders' other fields.
    pub extra: Option<String>,
    pub gbz2007: String,
    pub gbt2023: String,
    pub provider_id: Option<i64>,
    pub zone_id: Option<i64>,
    pub tenant_id: Option<i64>,
    pub other_tenant_id: Option<i64>,
    pub src_vpc_id: Option<i64>,
    pub src_vm_id: Option<i64>,
    pub dst_vpc_id: Option<i64>,
    pub dst_vm_id: Option<i64>,
    pub system_id: Option<i64>,
    pub dst_country: Option<String>,
}

const EVENT_INSERT_COLUMNS: &str = "received_ns, source_time_ns, source_id, sender, transport, format, \
     device, class, family, detector, src_ip, src_port, dst_ip, dst_port, protocol, username, action, \
     outcome, rule, rule_id, severity, message, raw, extra, gbz2007, gbt2023, provider_id, zone_id, \
     tenant_id, other_tenant_id, src_vpc_id, src_vm_id, dst_vpc_id, dst_vm_id, system_id, dst_country";
const EVENT_WIDTH: usize = 36;
const EVENT_TYPES: &str = "iiittttttttitittttttitttttiiiiiiiiit";

fn event_binds(event: &EventRow, binds: &mut Vec<Bind>) {
    let text = |value: &Option<String>| Bind::Text(value.clone());
    binds.extend([
        Bind::Int(Some(event.received_ns)),
        Bind::Int(event.source_time_ns),
        Bind::Int(event.source_id),
        text(&event.sender),
        Bind::Text(Some(event.transport.clone())),
        Bind::Text(Some(event.format.clone())),
        text(&event.device),
        Bind::Text(Some(event.class.clone())),
        text(&event.family),
        text(&event.detector),
        text(&event.src_ip),
        Bind::Int(event.src_port),
        text(&event.dst_ip),
        Bind::Int(event.dst_port),
        text(&event.protocol),
        text(&event.username),
        text(&event.action),
        text(&event.outcome),
        text(&event.rule),
        text(&event.rule_id),
        Bind::Int(event.severity),
        Bind::Text(Some(event.message.clone())),
        Bind::Text(Some(event.raw.clone())),
        text(&event.extra),
        Bind::Text(Some(event.gbz2007.clone())),
        Bind::Text(Some(event.gbt2023.clone())),
        Bind::Int(event.provider_id),
        Bind::Int(event.zone_id),
        Bind::Int(event.tenant_id),
        Bind::Int(event.other_tenant_id),
        Bind::Int(event.src_vpc_id),
        Bind::Int(event.src_vm_id),
        Bind::Int(event.dst_vpc_id),
        Bind::Int(event.dst_vm_id),
        Bind::Int(event.system_id),
        text(&event.dst_country),
    ]);
}

/// The types of `SELECT id, {EVENT_INSERT_COLUMNS}`.
fn event_types() -> Vec<CellType> {
    let mut all = types("i");
    all.extend(types(EVENT_TYPES));
    all
}

fn decode_event(cells: &mut [Cell]) -> Result<EventRow> {
    let mut row = Cells::new(cells, "events");
    Ok(EventRow {
        id: row.int()?,
        received_ns: row.int()?,
        source_time_ns: row.opt_int(),
        source_id: row.opt_int(),
        sender: row.opt_text(),
        transport: row.text()?,
        format: row.text()?,
        device: row.opt_text(),
        class: row.text()?,
        family: row.opt_text(),
        detector: row.opt_text(),
        src_ip: row.opt_text(),
        src_port: row.opt_int(),
        dst_ip: row.opt_text(),
        dst_port: row.opt_int(),
        protocol: row.opt_text(),
        username: row.opt_text(),
        action: row.opt_text(),
        outcome: row.opt_text(),
        rule: row.opt_text(),
        rule_id: row.opt_text(),
        severity: row.opt_int(),
        message: row.text()?,
        raw: row.text()?,
        extra: row.opt_text(),
        gbz2007: row.text()?,
        gbt2023: row.text()?,
        provider_id: row.opt_int(),
        zone_id: row.opt_int(),
        tenant_id: row.opt_int(),
        other_tenant_id: row.opt_int(),
        src_vpc_id: row.opt_int(),
        src_vm_id: row.opt_int(),
        dst_vpc_id: row.opt_int(),
        dst_vm_id: row.opt_int(),
        system_id: row.opt_int(),
        dst_country: row.opt_text(),
    })
}

/// Narrowing of an event search.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    pub since_ns: Option<i64>,
    pub until_ns: Option<i64>,
    pub class: Option<String>,
    pub detector: Option<String>,
    /// Either side's address.
    pub address: Option<String>,
    pub source_id: Option<i64>,
    pub tenant_id: Option<i64>,
    /// A GB/Z 20986-2007 category (`NAI`) or category/subcategory.
    pub gbz2007: Option<String>,
    /// Words the message must contain.
    pub text: Option<String>,
    pub before_id: Option<i64>,
}

// --- rules -----------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct RuleVersion {
    pub id: i64,
    pub rule_key: String,
    pub version: i64,
    pub title: String,
    pub yaml: String,
    pub sm3: String,
    pub enabled: bool,
    pub created_by: Option<i64>,
    pub created_at_ns: i64,
}

/// A rule text to store as a new version.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRuleVersion {
    pub rule_key: String,
    pub title: String,
    pub yaml: String,
    pub sm3: String,
    pub enabled: bool,
}

const RULE_COLUMNS: &str =
    "id, rule_key, version, title, yaml, sm3, enabled, created_by, created_at_ns";

fn decode_rule(cells: &mut [Cell]) -> Result<RuleVersion> {
    let mut row = Cells::new(cells, "detection_rules");
    Ok(RuleVersion {
        id: row.int()?,
        rule_key: row.text()?,
        version: row.int()?,
        title: row.text()?,
        yaml: row.text()?,
        sm3: row.text()?,
        enabled: row.flag()?,
        created_by: row.opt_int(),
        created_at_ns: row.int()?,
    })
}

// --- incidents and alerts ---------------------------------------------------------

/// Where an alert or incident sits: whom it concerns and what it targets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Concern {
    pub tenant_id: Option<i64>,
    pub other_tenant_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub zone_id: Option<i64>,
    pub system_id: Option<i64>,
    pub attacker: Option<String>,
    pub target: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewIncident {
    pub at_ns: i64,
    pub group_key: String,
    pub title: String,
    pub severity: String,
    pub incident_class: String,
    pub gbz2007: String,
    pub gbt2023: String,
    pub grade: String,
    pub importance: String,
    pub loss: String,
    pub impact: String,
    pub concern: Concern,
    pub key_tenant: bool,
    pub assignee: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IncidentRecord {
    pub id: i64,
    pub opened_at_ns: i64,
    pub updated_at_ns: i64,
    pub group_key: Option<String>,
    pub title: String,
    pub phase: String,
    pub severity: String,
    pub incident_class: String,
    pub gbz2007: String,
    pub gbt2023: String,
    pub grade: String,
    pub importance: String,
    pub loss: String,
    pub impact: String,
    pub grade_reason: Option<String>,
    pub concern: Concern,
    pub key_tenant: bool,
    pub assignee: String,
    pub assignee_account_id: Option<i64>,
    pub alerts: i64,
    pub last_alert_ns: i64,
}

const INCIDENT_COLUMNS: &str =
    "id, opened_at_ns, updated_at_ns, group_key, title, phase, severity, \
     incident_class, gbz2007, gbt2023, grade, importance, loss, impact, grade_reason, tenant_id, \
     other_tenant_id, provider_id, zone_id, system_id, attacker, target, key_tenant, assignee, \
     assignee_account_id, alerts, last_alert_ns";
const INCIDENT_TYPES: &str = "iiittttttttttttiiiiittitiii";

fn decode_incident(cells: &mut [Cell]) -> Result<IncidentRecord> {
    let mut row = Cells::new(cells, "incidents");
    Ok(IncidentRecord {
        id: row.int()?,
        opened_at_ns: row.int()?,
        updated_at_ns: row.int()?,
        group_key: row.opt_text(),
        title: row.text()?,
        phase: row.text()?,
        severity: row.text()?,
        incident_class: row.text()?,
        gbz2007: row.text()?,
        gbt2023: row.text()?,
        grade: row.text()?,
        importance: row.text()?,
        loss: row.text()?,
        impact: row.text()?,
        grade_reason: row.opt_text(),
        concern: Concern {
            tenant_id: row.opt_int(),
            other_tenant_id: row.opt_int(),
            provider_id: row.opt_int(),
            zone_id: row.opt_int(),
            system_id: row.opt_int(),
            attacker: row.opt_text(),
            target: row.opt_text(),
        },
        key_tenant: row.flag()?,
        assignee: row.text()?,
        assignee_account_id: row.opt_int(),
        alerts: row.int()?,
        last_alert_ns: row.int()?,
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewAlert {
    pub at_ns: i64,
    pub rule_key: String,
    pub title: String,
    pub severity: String,
    pub incident_class: String,
    pub gbz2007: String,
    pub gbt2023: String,
    pub event_id: Option<i64>,
    /// JSON [[field, value], …] of a correlation's group.
    pub group_fields: Option<String>,
    pub aggregated: Option<f64>,
    pub concern: Concern,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub incident_id: i64,
    pub alert: NewAlert,
}

const ALERT_COLUMNS: &str = "id, incident_id, at_ns, rule_key, title, severity, incident_class, \
     gbz2007, gbt2023, event_id, group_fields, aggregated, tenant_id, other_tenant_id, provider_id, \
     zone_id, system_id, attacker, target";
const ALERT_TYPES: &str = "iiittttttitfiiiiitt";

fn decode_alert(cells: &mut [Cell]) -> Result<AlertRecord> {
    let mut row = Cells::new(cells, "alerts");
    Ok(AlertRecord {
        id: row.int()?,
        incident_id: row.int()?,
        alert: NewAlert {
            at_ns: row.int()?,
            rule_key: row.text()?,
            title: row.text()?,
            severity: row.text()?,
            incident_class: row.text()?,
            gbz2007: row.text()?,
            gbt2023: row.text()?,
            event_id: row.opt_int(),
            group_fields: row.opt_text(),
            aggregated: row.opt_float(),
            concern: Concern {
                tenant_id: row.opt_int(),
                other_tenant_id: row.opt_int(),
                provider_id: row.opt_int(),
                zone_id: row.opt_int(),
                system_id: row.opt_int(),
                attacker: row.opt_text(),
                target: row.opt_text(),
            },
        },
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct IncidentEntry {
    pub id: i64,
    pub incident_id: i64,
    pub at_ns: i64,
    pub account_id: Option<i64>,
    pub kind: String,
    pub text: String,
    pub data: Option<String>,
}

/// Narrowing of an incident or alert list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentFilter {
    pub phase: Option<String>,
    /// Open only (any phase but closed).
    pub open: bool,
    pub grade: Option<String>,
    pub tenant_id: Option<i64>,
    pub since_ns: Option<i64>,
    pub before_id: Option<i64>,
}

// --- settings, notifications, archives --------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct TenantEventSettings {
    pub tenant_id: i64,
    pub key_tenant: bool,
    pub webhook_url: Option<String>,
    /// Sealed (SM4); the app opens it only to sign a delivery.
    pub webhook_secret: Option<String>,
    pub updated_by: Option<i64>,
    pub updated_at_ns: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    pub at_ns: i64,
    pub incident_id: i64,
    pub tenant_id: Option<i64>,
    pub channel: String,
    pub state: String,
    pub subject: String,
    pub payload: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NotificationRecord {
    pub id: i64,
    pub attempts: i64,
    pub next_attempt_ns: Option<i64>,
    pub last_error: Option<String>,
    pub notification: NewNotification,
}

const NOTIFICATION_COLUMNS: &str = "id, at_ns, incident_id, tenant_id, channel, state, attempts, \
     next_attempt_ns, last_error, subject, payload";

fn decode_notification(cells: &mut [Cell]) -> Result<NotificationRecord> {
    let mut row = Cells::new(cells, "notifications");
    let id = row.int()?;
    let at_ns = row.int()?;
    let incident_id = row.int()?;
    let tenant_id = row.opt_int();
    let channel = row.text()?;
    let state = row.text()?;
    Ok(NotificationRecord {
        id,
        attempts: row.int()?,
        next_attempt_ns: row.opt_int(),
        last_error: row.opt_text(),
        notification: NewNotification {
            at_ns,
            incident_id,
            tenant_id,
            channel,
            state,
            subject: row.text()?,
            payload: row.text()?,
        },
    })
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventArchive {
    pub id: i64,
    pub month: String,
    pub first_id: i64,
    pub last_id: i64,
    pub events: i64,
    pub path: String,
    pub bytes: i64,
    pub sm3: String,
    pub created_at_ns: i64,
    pub restored_at_ns: Option<i64>,
}

const ARCHIVE_COLUMNS: &str =
    "id, month, first_id, last_id, events, path, bytes, sm3, created_at_ns, restored_at_ns";

fn decode_archive(cells: &mut [Cell]) -> Result<EventArchive> {
    let mut row = Cells::new(cells, "event_archives");
    Ok(EventArchive {
        id: row.int()?,
        month: row.text()?,
        first_id: row.int()?,
        last_id: row.int()?,
        events: row.int()?,
        path: row.text()?,
        bytes: row.int()?,
        sm3: row.text()?,
        created_at_ns: row.int()?,
        restored_at_ns: row.opt_int(),
    })
}

/// A count by one dimension (for the situational-awareness charts).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Tally {
    pub key: Option<String>,
    pub count: i64,
}

/// What a tally groups by; each maps to a fixed column (never input in SQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TallyBy {
    EventCategory,
    EventSource,
    EventCountry,
    EventTenant,
    EventProvider,
    EventZone,
    IncidentCategory,
    IncidentGrade,
    IncidentTenant,
    IncidentProvider,
    IncidentZone,
}

impl TallyBy {
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        // (table, key expression, time column)
        match self {
            TallyBy::EventCategory => ("events", "gbz2007", "received_ns"),
            TallyBy::EventSource => ("events", "COALESCE(device, sender)", "received_ns"),
            TallyBy::EventCountry => ("events", "dst_country", "received_ns"),
            TallyBy::EventTenant => ("events", "CAST(tenant_id AS TEXT)", "received_ns"),
            TallyBy::EventProvider => ("events", "CAST(provider_id AS TEXT)", "received_ns"),
            TallyBy::EventZone => ("events", "CAST(zone_id AS TEXT)", "received_ns"),
            TallyBy::IncidentCategory => ("incidents", "gbz2007", "opened_at_ns"),
            TallyBy::IncidentGrade => ("incidents", "grade", "opened_at_ns"),
            TallyBy::IncidentTenant => ("incidents", "CAST(tenant_id AS TEXT)", "opened_at_ns"),
            TallyBy::IncidentProvider => ("incidents", "CAST(provider_id AS TEXT)", "opened_at_ns"),
            TallyBy::IncidentZone => ("incidents", "CAST(zone_id AS TEXT)", "opened_at_ns"),
        }
    }
}

impl Store {
    pub async fn event_sources(&self) -> Result<Vec<EventSource>> {
        self.read_decoded(
            format!("SELECT {SOURCE_COLUMNS} FROM event_sources ORDER BY name"),
            vec![],
            &types("itttiiiiiiii"),
            decode_source,
        )
        .await
    }

    pub async fn unknown_senders(&self) -> Result<Vec<UnknownSender>> {
        self.read_decoded(
            "SELECT address, first_seen_ns, last_seen_ns, events, sample FROM event_unknown_senders \
             ORDER BY last_seen_ns DESC LIMIT 500"
                .to_owned(),
            vec![],
            &types("tiiit"),
            |cells| {
                let mut row = Cells::new(cells, "event_unknown_senders");
                Ok(UnknownSender {
                    address: row.text()?,
                    first_seen_ns: row.int()?,
                    last_seen_ns: row.int()?,
                    events: row.int()?,
                    sample: row.text()?,
                })
            },
        )
        .await
    }

    /// Events in the reader's scope, newest first.
    pub async fn events(
        &self,
        scope: ResultScope,
        filter: &EventFilter,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        let (tenant, provider) = scope_binds(scope);
        let like = filter.text.as_ref().map(|text| {
            format!(
                "%{}%",
                text.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let category = filter.gbz2007.as_ref().map(|code| {
            if code.contains('/') {
                code.clone()
            } else {
                format!("{code}/%")
            }
        });
        let sql = format!(
            "SELECT id, {EVENT_INSERT_COLUMNS} FROM events WHERE {} \
             AND ($3 IS NULL OR received_ns >= $3) AND ($4 IS NULL OR received_ns < $4) \
             AND ($5 IS NULL OR class = $5) AND ($6 IS NULL OR detector = $6) \
             AND ($7 IS NULL OR src_ip = $7 OR dst_ip = $7) AND ($8 IS NULL OR source_id = $8) \
             AND ($9 IS NULL OR tenant_id = $9 OR other_tenant_id = $9) \
             AND ($10 IS NULL OR gbz2007 = $10 OR gbz2007 LIKE $10 OR gbz2007 = $11) \
             AND ($12 IS NULL OR message LIKE $12 ESCAPE '\\') AND ($13 IS NULL OR id < $13) \
             ORDER BY id DESC LIMIT $14",
            scope_sql(1)
        );
        self.read_decoded(
            sql,
            vec![
                tenant,
                provider,
                Bind::Int(filter.since_ns),
                Bind::Int(filter.until_ns),
                Bind::Text(filter.class.clone()),
                Bind::Text(filter.detector.clone()),
                Bind::Text(filter.address.clone()),
                Bind::Int(filter.source_id),
                Bind::Int(filter.tenant_id),
                Bind::Text(category),
                Bind::Text(filter.gbz2007.clone()),
                Bind::Text(like),
                Bind::Int(filter.before_id),
                Bind::Int(Some(limit)),
            ],
            &event_types(),
            decode_event,
        )
        .await
    }

    pub async fn event(&self, scope: ResultScope, id: i64) -> Result<Option<EventRow>> {
        let (tenant, provider) = scope_binds(scope);
        Ok(self
            .read_decoded(
                format!(
                    "SELECT id, {EVENT_INSERT_COLUMNS} FROM events WHERE {} AND id = $3",
                    scope_sql(1)
                ),
                vec![tenant, provider, Bind::Int(Some(id))],
                &event_types(),
                decode_event,
            )
            .await?
            .pop())
    }

    /// Events of one month (`YYYY-MM` in Beijing time as [start, end) nanoseconds) in id
    /// order, from `after_id`, for archiving.
    pub async fn events_between(
        &self,
        start_ns: i64,
        end_ns: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        self.read_decoded(
            format!(
                "SELECT id, {EVENT_INSERT_COLUMNS} FROM events WHERE received_ns >= $1 \
                 AND received_ns < $2 AND id > $3 ORDER BY id LIMIT $4"
            ),
            vec![
                Bind::Int(Some(start_ns)),
                Bind::Int(Some(end_ns)),
                Bind::Int(Some(after_id)),
                Bind::Int(Some(limit)),
            ],
            &event_types(),
            decode_event,
        )
        .await
    }

    pub async fn oldest_event_ns(&self) -> Result<Option<i64>> {
        Ok(self
            .read_decoded(
                "SELECT MIN(received_ns) FROM events".to_owned(),
                vec![],
                &types("i"),
                |cells| Ok(cells[0].int()),
            )
            .await?
            .pop()
            .flatten())
    }

    /// Counts by one dimension since a time, in the reader's scope, largest first.
    pub async fn tally(
        &self,
        scope: ResultScope,
        by: TallyBy,
        since_ns: i64,
        limit: i64,
    ) -> Result<Vec<Tally>> {
        let (table, key, time) = by.sql();
        let (tenant, provider) = scope_binds(scope);
        self.read_decoded(
            format!(
                "SELECT {key} AS k, COUNT(*) AS n FROM {table} WHERE {} AND {time} >= $3 \
                 GROUP BY {key} ORDER BY n DESC, k LIMIT $4",
                scope_sql(1)
            ),
            vec![
                tenant,
                provider,
                Bind::Int(Some(since_ns)),
                Bind::Int(Some(limit)),
            ],
            &types("ti"),
            |cells| {
                let mut row = Cells::new(cells, "tally");
                Ok(Tally {
                    key: row.opt_text(),
                    count: row.int()?,
                })
            },
        )
        .await
    }

    /// Counts per bucket of `bucket_ns` since a time: (bucket start, events, alerts).
    pub async fn event_series(
        &self,
        scope: ResultScope,
        since_ns: i64,
        bucket_ns: i64,
    ) -> Result<Vec<(i64, i64, i64)>> {
        let (tenant, provider) = scope_binds(scope);
        let rows = self
            .read_decoded(
                format!(
                    "WITH x AS (SELECT received_ns AS t, 1 AS e, 0 AS a FROM events WHERE {} \
                     AND received_ns >= $3 UNION ALL SELECT at_ns, 0, 1 FROM alerts WHERE {} \
                     AND at_ns >= $3) SELECT (t / $4) * $4 AS b, SUM(e), SUM(a) FROM x \
                     GROUP BY b ORDER BY b",
                    scope_sql(1),
                    scope_sql(1)
                ),
                vec![
                    tenant,
                    provider,
                    Bind::Int(Some(since_ns)),
                    Bind::Int(Some(bucket_ns)),
                ],
                &types("iii"),
                |cells| {
                    let mut row = Cells::new(cells, "series");
                    Ok((row.int()?, row.int()?, row.int()?))
                },
            )
            .await?;
        let mut merged: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        for (bucket, events, alerts) in rows {
            let entry = merged.entry(bucket).or_default();
            entry.0 += events;
            entry.1 += alerts;
        }
        Ok(merged
            .into_iter()
            .map(|(bucket, (events, alerts))| (bucket, events, alerts))
            .collect())
    }

    /// The newest version of every administrator rule.
    pub async fn detection_rules(&self) -> Result<Vec<RuleVersion>> {
        self.read_decoded(
            format!(
                "SELECT {RULE_COLUMNS} FROM detection_rules r WHERE version = \
                 (SELECT MAX(version) FROM detection_rules v WHERE v.rule_key = r.rule_key) \
                 ORDER BY rule_key"
            ),
            vec![],
            &types("ititttiii"),
            decode_rule,
        )
        .await
    }

    pub async fn detection_rule_history(&self, rule_key: &str) -> Result<Vec<RuleVersion>> {
        self.read_decoded(
            format!(
                "SELECT {RULE_COLUMNS} FROM detection_rules WHERE rule_key = $1 ORDER BY version DESC"
            ),
            vec![Bind::Text(Some(rule_key.to_owned()))],
            &types("ititttiii"),
            decode_rule,
        )
        .await
    }

    pub async fn incidents(
        &self,
        scope: ResultScope,
        filter: &IncidentFilter,
        limit: i64,
    ) -> Result<Vec<IncidentRecord>> {
        let (tenant, provider) = scope_binds(scope);
        self.read_decoded(
            format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE {} \
                 AND ($3 IS NULL OR phase = $3) AND ($4 = 0 OR phase <> 'closed') \
                 AND ($5 IS NULL OR grade = $5) \
                 AND ($6 IS NULL OR tenant_id = $6 OR other_tenant_id = $6) \
                 AND ($7 IS NULL OR updated_at_ns >= $7) AND ($8 IS NULL OR id < $8) \
                 ORDER BY updated_at_ns DESC, id DESC LIMIT $9",
                scope_sql(1)
            ),
            vec![
                tenant,
                provider,
                Bind::Text(filter.phase.clone()),
                Bind::Int(Some(i64::from(filter.open))),
                Bind::Text(filter.grade.clone()),
                Bind::Int(filter.tenant_id),
                Bind::Int(filter.since_ns),
                Bind::Int(filter.before_id),
                Bind::Int(Some(limit)),
            ],
            &types(INCIDENT_TYPES),
            decode_incident,
        )
        .await
    }

    pub async fn incident(&self, scope: ResultScope, id: i64) -> Result<Option<IncidentRecord>> {
        let (tenant, provider) = scope_binds(scope);
        Ok(self
            .read_decoded(
                format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE {} AND id = $3",
                    scope_sql(1)
                ),
                vec![tenant, provider, Bind::Int(Some(id))],
                &types(INCIDENT_TYPES),
                decode_incident,
            )
            .await?
            .pop())
    }

    pub async fn incident_entries(&self, incident_id: i64) -> Result<Vec<IncidentEntry>> {
        self.read_decoded(
            "SELECT id, incident_id, at_ns, account_id, kind, text, data FROM incident_entries \
             WHERE incident_id = $1 ORDER BY id"
                .to_owned(),
            vec![Bind::Int(Some(incident_id))],
            &types("iiiittt"),
            |cells| {
                let mut row = Cells::new(cells, "incident_entries");
                Ok(IncidentEntry {
                    id: row.int()?,
                    incident_id: row.int()?,
                    at_ns: row.int()?,
                    account_id: row.opt_int(),
                    kind: row.text()?,
                    text: row.text()?,
                    data: row.opt_text(),
                })
            },
        )
        .await
    }

    pub async fn alerts(
        &self,
        scope: ResultScope,
        incident_id: Option<i64>,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AlertRecord>> {
        let (tenant, provider) = scope_binds(scope);
        self.read_decoded(
            format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE {} AND ($3 IS NULL OR incident_id = $3) \
                 AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5",
                scope_sql(1)
            ),
            vec![
                tenant,
                provider,
                Bind::Int(incident_id),
                Bind::Int(before_id),
                Bind::Int(Some(limit)),
            ],
            &types(ALERT_TYPES),
            decode_alert,
        )
        .await
    }

    pub async fn event_settings(&self) -> Result<Vec<TenantEventSettings>> {
        self.read_decoded(
            "SELECT tenant_id, key_tenant, webhook_url, webhook_secret, updated_by, updated_at_ns \
             FROM event_tenant_settings ORDER BY tenant_id"
                .to_owned(),
            vec![],
            &types("iittii"),
            |cells| {
                let mut row = Cells::new(cells, "event_tenant_settings");
                Ok(TenantEventSettings {
                    tenant_id: row.int()?,
                    key_tenant: row.flag()?,
                    webhook_url: row.opt_text(),
                    webhook_secret: row.opt_text(),
                    updated_by: row.opt_int(),
                    updated_at_ns: row.int()?,
                })
            },
        )
        .await
    }

    /// Notifications for a party: a tenant's own, or the management unit's (`None`).
    pub async fn notifications(
        &self,
        tenant_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>> {
        self.read_decoded(
            format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications \
                 WHERE (($1 IS NULL AND tenant_id IS NULL) OR tenant_id = $1) \
                 ORDER BY id DESC LIMIT $2"
            ),
            vec![Bind::Int(tenant_id), Bind::Int(Some(limit))],
            &types("iiiittiittt"),
            decode_notification,
        )
        .await
    }

    /// Webhook deliveries due now.
    pub async fn due_webhooks(&self, now_ns: i64, limit: i64) -> Result<Vec<NotificationRecord>> {
        self.read_decoded(
            format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE channel = 'webhook' \
                 AND state = 'pending' AND (next_attempt_ns IS NULL OR next_attempt_ns <= $1) \
                 ORDER BY id LIMIT $2"
            ),
            vec![Bind::Int(Some(now_ns)), Bind::Int(Some(limit))],
            &types("iiiittiittt"),
            decode_notification,
        )
        .await
    }

    pub async fn event_archives(&self) -> Result<Vec<EventArchive>> {
        self.read_decoded(
            format!("SELECT {ARCHIVE_COLUMNS} FROM event_archives ORDER BY month"),
            vec![],
            &types("itiiititii"),
            decode_archive,
        )
        .await
    }
}

impl WriteTx {
    pub async fn insert_event_source(
        &mut self,
        source: &NewEventSource,
        by: Option<i64>,
        now_ns: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO event_sources (name, address, kind, provider_id, zone_id, tenant_id, \
             created_by, created_at_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&source.name)
        .bind(&source.address)
        .bind(&source.kind)
        .bind(source.provider_id)
        .bind(source.zone_id)
        .bind(source.tenant_id)
        .bind(by)
        .bind(now_ns)
        .fetch_one(&mut *self.transaction)
        .await?;
        use sqlx::Row;
        Ok(row.try_get(0)?)
    }

    /// Enables or disables a source; answers whether it exists.
    pub async fn set_event_source_enabled(&mut self, id: i64, enabled: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE event_sources SET enabled = $1 WHERE id = $2")
            .bind(i64::from(enabled))
            .bind(id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Inserts events in multi-row statements; answers their ids in the given order.
    pub async fn insert_events(&mut self, events: &[EventRow]) -> Result<Vec<i64>> {
        use sqlx::Row;
        let mut ids = Vec::with_capacity(events.len());
        // SQLite allows 32,766 parameters per statement.
        for chunk in events.chunks(32_000 / EVENT_WIDTH) {
            let mut binds = Vec::with_capacity(chunk.len() * EVENT_WIDTH);
            let mut tuples = Vec::with_capacity(chunk.len());
            for event in chunk {
                tuples.push(tuple(self.backend, binds.len(), EVENT_WIDTH));
                event_binds(event, &mut binds);
            }
            let sql = format!(
                "INSERT INTO events ({EVENT_INSERT_COLUMNS}) VALUES {} RETURNING id",
                tuples.join(", ")
            );
            let rows = crate::read::bind_sqlx(&binds, sqlx::query(&sql))
                .fetch_all(&mut *self.transaction)
                .await?;
            // Ids are assigned in VALUES order within one statement (SQLite rowids,
            // PostgreSQL's sequence); RETURNING's order is not promised, so sort.
            let mut chunk_ids = rows
                .iter()
                .map(|row| row.try_get::<i64, _>(0))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            chunk_ids.sort_unstable();
            ids.extend(chunk_ids);
        }
        Ok(ids)
    }

    /// Records what a batch saw of each sender: registered sources' last sighting,
    /// skew and count; unknown senders counted with a sample line.
    pub async fn note_senders(&mut self, activity: &[SenderActivity]) -> Result<()> {
        for sender in activity {
            match sender.source_id {
                Some(id) => {
                    sqlx::query(
                        "UPDATE event_sources SET last_seen_ns = $1, \
                         last_skew_ns = COALESCE($2, last_skew_ns), events = events + $3 WHERE id = $4",
                    )
                    .bind(sender.last_seen_ns)
                    .bind(sender.last_skew_ns)
                    .bind(sender.events)
                    .bind(id)
                    .execute(&mut *self.transaction)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO event_unknown_senders (address, first_seen_ns, last_seen_ns, \
                         events, sample) VALUES ($1, $2, $2, $3, $4) ON CONFLICT (address) DO UPDATE \
                         SET last_seen_ns = excluded.last_seen_ns, \
                         events = event_unknown_senders.events + excluded.events, \
                         sample = excluded.sample",
                    )
                    .bind(&sender.address)
                    .bind(sender.last_seen_ns)
                    .bind(sender.events)
                    .bind(&sender.sample)
                    .execute(&mut *self.transaction)
                    .await?;
                }
            }
        }
        Ok(())
    }

    pub async fn forget_unknown_sender(&mut self, address: &str) -> Result<()> {
        sqlx::query("DELETE FROM event_unknown_senders WHERE address = $1")
            .bind(address)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }

    /// Adds a version of a rule (1 if new); answers the version.
    pub async fn insert_rule_version(
        &mut self,
        rule: &NewRuleVersion,
        by: Option<i64>,
        now_ns: i64,
    ) -> Result<i64> {
        use sqlx::Row;
        let row = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) FROM detection_rules WHERE rule_key = $1",
        )
        .bind(&rule.rule_key)
        .fetch_one(&mut *self.transaction)
        .await?;
        let version: i64 = row.try_get::<i64, _>(0)? + 1;
        sqlx::query(
            "INSERT INTO detection_rules (rule_key, version, title, yaml, sm3, enabled, created_by, \
             created_at_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&rule.rule_key)
        .bind(version)
        .bind(&rule.title)
        .bind(&rule.yaml)
        .bind(&rule.sm3)
        .bind(i64::from(rule.enabled))
        .bind(by)
        .bind(now_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(version)
    }

    /// The open incident with this group key, if any.
    pub async fn open_incident(&mut self, group_key: &str) -> Result<Option<IncidentRecord>> {
        self.incident_where("group_key", Bind::Text(Some(group_key.to_owned())))
            .await
    }

    pub async fn incident_for_update(&mut self, id: i64) -> Result<Option<IncidentRecord>> {
        self.incident_where("id", Bind::Int(Some(id))).await
    }

    /// One incident by a unique column (a fixed name, never input), read inside the
    /// transaction.
    async fn incident_where(
        &mut self,
        column: &'static str,
        value: Bind,
    ) -> Result<Option<IncidentRecord>> {
        let rows = crate::read::Reader::Sqlx(&mut self.transaction)
            .run_one(crate::read::Statement {
                sql: format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE {column} = $1"),
                binds: vec![value],
                types: types(INCIDENT_TYPES),
            })
            .await?;
        rows.into_iter()
            .next()
            .map(|mut row| decode_incident(&mut row))
            .transpose()
    }

    pub async fn insert_incident(&mut self, incident: &NewIncident) -> Result<i64> {
        use sqlx::Row;
        let concern = &incident.concern;
        let row = sqlx::query(
            "INSERT INTO incidents (opened_at_ns, updated_at_ns, group_key, title, phase, severity, \
             incident_class, gbz2007, gbt2023, grade, importance, loss, impact, tenant_id, \
             other_tenant_id, provider_id, zone_id, system_id, attacker, target, key_tenant, \
             assignee, alerts, last_alert_ns) VALUES ($1, $1, $2, $3, 'reported', $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 0, $1) RETURNING id",
        )
        .bind(incident.at_ns)
        .bind(&incident.group_key)
        .bind(&incident.title)
        .bind(&incident.severity)
        .bind(&incident.incident_class)
        .bind(&incident.gbz2007)
        .bind(&incident.gbt2023)
        .bind(&incident.grade)
        .bind(&incident.importance)
        .bind(&incident.loss)
        .bind(&incident.impact)
        .bind(concern.tenant_id)
        .bind(concern.other_tenant_id)
        .bind(concern.provider_id)
        .bind(concern.zone_id)
        .bind(concern.system_id)
        .bind(concern.attacker.as_deref())
        .bind(concern.target.as_deref())
        .bind(i64::from(incident.key_tenant))
        .bind(&incident.assignee)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Writes an incident's mutable state back (phase, grade, assignment, counters,
    /// severity and classification as alerts raise them). Closing frees the group key.
    pub async fn update_incident(&mut self, incident: &IncidentRecord) -> Result<()> {
        let group_key = if incident.phase == "closed" {
            None
        } else {
            incident.group_key.clone()
        };
        sqlx::query(
            "UPDATE incidents SET updated_at_ns = $1, group_key = $2, title = $3, phase = $4, \
             severity = $5, incident_class = $6, gbz2007 = $7, gbt2023 = $8, grade = $9, \
             importance = $10, loss = $11, impact = $12, grade_reason = $13, assignee = $14, \
             assignee_account_id = $15, alerts = $16, last_alert_ns = $17, key_tenant = $18 \
             WHERE id = $19",
        )
        .bind(incident.updated_at_ns)
        .bind(group_key)
        .bind(&incident.title)
        .bind(&incident.phase)
        .bind(&incident.severity)
        .bind(&incident.incident_class)
        .bind(&incident.gbz2007)
        .bind(&incident.gbt2023)
        .bind(&incident.grade)
        .bind(&incident.importance)
        .bind(&incident.loss)
        .bind(&incident.impact)
        .bind(incident.grade_reason.as_deref())
        .bind(&incident.assignee)
        .bind(incident.assignee_account_id)
        .bind(incident.alerts)
        .bind(incident.last_alert_ns)
        .bind(i64::from(incident.key_tenant))
        .bind(incident.id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    pub async fn insert_alert(&mut self, incident_id: i64, alert: &NewAlert) -> Result<i64> {
        use sqlx::Row;
        let concern = &alert.concern;
        let row = sqlx::query(
            "INSERT INTO alerts (at_ns, rule_key, title, severity, incident_class, gbz2007, gbt2023, \
             event_id, group_fields, aggregated, tenant_id, other_tenant_id, provider_id, zone_id, \
             system_id, attacker, target, incident_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
        )
        // A float parameter: never cached (see `read::bind_sqlx`).
        .persistent(false)
        .bind(alert.at_ns)
        .bind(&alert.rule_key)
        .bind(&alert.title)
        .bind(&alert.severity)
        .bind(&alert.incident_class)
        .bind(&alert.gbz2007)
        .bind(&alert.gbt2023)
        .bind(alert.event_id)
        .bind(alert.group_fields.as_deref())
        .bind(alert.aggregated)
        .bind(concern.tenant_id)
        .bind(concern.other_tenant_id)
        .bind(concern.provider_id)
        .bind(concern.zone_id)
        .bind(concern.system_id)
        .bind(concern.attacker.as_deref())
        .bind(concern.target.as_deref())
        .bind(incident_id)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn insert_incident_entry(
        &mut self,
        incident_id: i64,
        at_ns: i64,
        account_id: Option<i64>,
        kind: &str,
        text: &str,
        data: Option<&str>,
    ) -> Result<i64> {
        use sqlx::Row;
        let row = sqlx::query(
            "INSERT INTO incident_entries (incident_id, at_ns, account_id, kind, text, data) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(incident_id)
        .bind(at_ns)
        .bind(account_id)
        .bind(kind)
        .bind(text)
        .bind(data)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn upsert_event_settings(&mut self, settings: &TenantEventSettings) -> Result<()> {
        sqlx::query(
            "INSERT INTO event_tenant_settings (tenant_id, key_tenant, webhook_url, webhook_secret, \
             updated_by, updated_at_ns) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id) \
             DO UPDATE SET key_tenant = excluded.key_tenant, webhook_url = excluded.webhook_url, \
             webhook_secret = excluded.webhook_secret, updated_by = excluded.updated_by, \
             updated_at_ns = excluded.updated_at_ns",
        )
        .bind(settings.tenant_id)
        .bind(i64::from(settings.key_tenant))
        .bind(settings.webhook_url.as_deref())
        .bind(settings.webhook_secret.as_deref())
        .bind(settings.updated_by)
        .bind(settings.updated_at_ns)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    pub async fn insert_notification(&mut self, notification: &NewNotification) -> Result<i64> {
        use sqlx::Row;
        let row = sqlx::query(
            "INSERT INTO notifications (at_ns, incident_id, tenant_id, channel, state, subject, \
             payload) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(notification.at_ns)
        .bind(notification.incident_id)
        .bind(notification.tenant_id)
        .bind(&notification.channel)
        .bind(&notification.state)
        .bind(&notification.subject)
        .bind(&notification.payload)
        .fetch_one(&mut *self.transaction)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// Records a delivery attempt.
    pub async fn note_delivery(
        &mut self,
        id: i64,
        state: &str,
        next_attempt_ns: Option<i64>,
        error: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET state = $1, attempts = attempts + 1, next_attempt_ns = $2, \
             last_error = $3 WHERE id = $4",
        )
        .bind(state)
        .bind(next_attempt_ns)
        .bind(error)
        .bind(id)
        .execute(&mut *self.transaction)
        .await?;
        Ok(())
    }

    /// Records an archive and removes its events from the online table.
    pub async fn archive_events(&mut self, archive: &EventArchive) -> Result<u64> {
        sqlx::query(
            "INSERT INTO event_archives (month, first_id, last_id, events, path, bytes, sm3, \
             created_at_ns) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&archive.month)
        .bind(archive.first_id)
        .bind(archive.last_id)
        .bind(archive.events)
        .bind(&archive.path)
        .bind(archive.bytes)
        .bind(&archive.sm3)
        .bind(archive.created_at_ns)
        .execute(&mut *self.transaction)
        .await?;
        // Alerts keep their rows; their event reference is cleared with the event.
        sqlx::query("UPDATE alerts SET event_id = NULL WHERE event_id >= $1 AND event_id <= $2")
            .bind(archive.first_id)
            .bind(archive.last_id)
            .execute(&mut *self.transaction)
            .await?;
        let done = sqlx::query("DELETE FROM events WHERE id >= $1 AND id <= $2")
            .bind(archive.first_id)
            .bind(archive.last_id)
            .execute(&mut *self.transaction)
            .await?;
        Ok(done.rows_affected())
    }

    /// Puts archived events back online (ids kept) and marks the archive restored.
    pub async fn restore_events(
        &mut self,
        month: &str,
        events: &[EventRow],
        now_ns: i64,
    ) -> Result<()> {
        for chunk in events.chunks(32_000 / (EVENT_WIDTH + 1)) {
            let mut binds = Vec::with_capacity(chunk.len() * (EVENT_WIDTH + 1));
            let mut tuples = Vec::with_capacity(chunk.len());
            for event in chunk {
                tuples.push(tuple(self.backend, binds.len(), EVENT_WIDTH + 1));
                binds.push(Bind::Int(Some(event.id)));
                event_binds(event, &mut binds);
            }
            let sql = format!(
                "INSERT INTO events (id, {EVENT_INSERT_COLUMNS}) VALUES {}",
                tuples.join(", ")
            );
            crate::read::bind_sqlx(&binds, sqlx::query(&sql))
                .execute(&mut *self.transaction)
                .await?;
        }
        sqlx::query("UPDATE event_archives SET restored_at_ns = $1 WHERE month = $2")
            .bind(now_ns)
            .bind(month)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }
}
