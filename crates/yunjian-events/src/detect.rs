//! Detection (7.2.2.5, 7.2.3, 8.3.8): Sigma detection and correlation rules evaluated
//! in-process by `rsigma-eval` over the normalized event plus what the inventory says
//! about its addresses. The clock is explicit (the event's time of receipt), so
//! correlations are tested without sleeping and replay gives the same alerts.
//!
//! A rule names its `incident_class` (a key of classification.toml) so every alert
//! carries both editions' incident codes from the one mapping table. Rules of level
//! `informational` are building blocks: they feed correlations, never alert alone.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rsigma_eval::event::JsonEvent;
use rsigma_eval::{CorrelationConfig, CorrelationEngine, EvaluationResult};
use rsigma_parser::{
    parse_sigma_yaml, ConditionOperator, CorrelationCondition, CorrelationType, Level,
    SigmaCollection,
};
use serde_json::{Map, Value as Json};

use crate::classify::{Classification, Classifier};
use crate::event::Event;

/// The rules yunjian ships (one multi-document Sigma file).
pub const SHIPPED_RULES: &str = include_str!("../rules/platform.yml");

/// Why a rule text was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

/// Where an address sits in the inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    pub tenant_id: i64,
    pub vpc_id: i64,
    pub zone_id: i64,
    /// The zone's kind (`internet`, `extranet`).
    pub zone_kind: Option<String>,
    pub vm_id: Option<i64>,
    pub system_id: Option<i64>,
}

/// What the inventory and the country database add to an event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enrichment {
    pub src: Option<Placement>,
    pub dst: Option<Placement>,
    /// ISO 3166 code of a public destination or source address.
    pub src_country: Option<String>,
    pub dst_country: Option<String>,
    /// An exchange rule allows traffic between the two tenants (issue 8 models them;
    /// until then nothing sets it).
    pub exchange_allowed: bool,
}

fn put(map: &mut Map<String, Json>, key: &str, value: Option<impl Into<Json>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

fn ip(address: Option<IpAddr>) -> Option<String> {
    address.map(|address| address.to_string())
}

fn place(map: &mut Map<String, Json>, side: &str, placement: Option<&Placement>) {
    let Some(placement) = placement else { return };
    map.insert(format!("{side}_tenant"), placement.tenant_id.into());
    map.insert(format!("{side}_vpc"), placement.vpc_id.into());
    map.insert(format!("{side}_zone"), placement.zone_id.into());
    if let Some(kind) = &placement.zone_kind {
        map.insert(format!("{side}_zone_kind"), kind.clone().into());
    }
    if let Some(vm) = placement.vm_id {
        map.insert(format!("{side}_vm"), vm.into());
    }
    if let Some(system) = placement.system_id {
        map.insert(format!("{side}_system"), system.into());
    }
}

/// The flat JSON object rules see: the event's fields by their normalized names, its
/// decoders' extra fields, and the enrichment (`src_tenant`, `dst_zone_kind`,
/// `tenant_relation`, `vpc_relation`, `dst_country`, `dst_public`, …).
pub fn sigma_view(event: &Event, enrichment: &Enrichment) -> Json {
    let mut map = Map::new();
    // Decoder extras first: the normalized names below win over a decoder's own.
    for (key, value) in &event.extra {
        map.insert(key.clone(), Json::String(value.clone()));
    }
    map.insert("class".into(), event.class.clone().into());
    put(&mut map, "family", event.family.clone());
    put(&mut map, "detector", event.detector.clone());
    put(&mut map, "device", event.device.clone());
    put(&mut map, "sender", ip(event.sender));
    put(&mut map, "src_ip", ip(event.src_ip));
    put(&mut map, "src_port", event.src_port);
    put(&mut map, "dst_ip", ip(event.dst_ip));
    put(&mut map, "dst_port", event.dst_port);
    put(&mut map, "protocol", event.protocol.clone());
    put(&mut map, "user", event.user.clone());
    put(&mut map, "action", event.action.clone());
    put(&mut map, "outcome", event.outcome.clone());
    put(&mut map, "rule", event.rule.clone());
    put(&mut map, "rule_id", event.rule_id.clone());
    put(&mut map, "severity", event.severity);
    map.insert("message".into(), event.message.clone().into());
    place(&mut map, "src", enrichment.src.as_ref());
    place(&mut map, "dst", enrichment.dst.as_ref());
    if let (Some(src), Some(dst)) = (&enrichment.src, &enrichment.dst) {
        let tenants = if src.tenant_id == dst.tenant_id {
            "same"
        } else {
            "cross"
        };
        let vpcs = if src.vpc_id == dst.vpc_id {
            "same"
        } else {
            "cross"
        };
        map.insert("tenant_relation".into(), tenants.into());
        map.insert("vpc_relation".into(), vpcs.into());
    }
    put(&mut map, "src_country", enrichment.src_country.clone());
    put(&mut map, "dst_country", enrichment.dst_country.clone());
    if let Some(dst) = event.dst_ip {
        let public = crate::resolve::is_public(dst);
        map.insert("dst_public".into(), public.to_string().into());
    }
    map.insert(
        "exchange_allowed".into(),
        enrichment.exchange_allowed.to_string().into(),
    );
    Json::Object(map)
}

/// Alert severity from a rule's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    fn of(level: Option<&Level>) -> Severity {
        match level {
            Some(Level::Critical) => Severity::Critical,
            Some(Level::High) => Severity::High,
            Some(Level::Medium) => Severity::Medium,
            Some(Level::Low) => Severity::Low,
            _ => Severity::Informational,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        [
            Severity::Informational,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|severity| severity.as_str() == text)
    }
}

/// What one rule is, as listed and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// `detection`, or the correlation type (`event_count`, `temporal_ordered`, …).
    pub kind: String,
    pub incident_class: String,
    pub description: Option<String>,
}

/// One alert-worthy match.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub incident_class: String,
    pub classification: Classification,
    /// For correlations: the group's fields and values, and the aggregated value.
    pub group: Vec<(String, String)>,
    pub aggregated: Option<f64>,
}

/// Parses rule texts (each one or more YAML documents) into one collection and checks
/// what the engine does not: every rule has an id, ids are unique, every rule names an
/// incident class the table knows, and no document failed to parse.
pub fn parse_rules(
    texts: &[&str],
    classifier: &Classifier,
) -> Result<(SigmaCollection, Vec<RuleInfo>), RuleError> {
    let mut all = SigmaCollection {
        rules: Vec::new(),
        correlations: Vec::new(),
        filters: Vec::new(),
        errors: Vec::new(),
    };
    for text in texts {
        let collection = parse_sigma_yaml(text).map_err(|error| RuleError(error.to_string()))?;
        if let Some(error) = collection.errors.first() {
            return Err(RuleError(error.to_string()));
        }
        all.rules.extend(collection.rules);
        all.correlations.extend(collection.correlations);
        all.filters.extend(collection.filters);
    }
    conform(&mut all);
    let mut infos = Vec::new();
    let mut seen = BTreeSet::new();
    let mut check = |id: Option<&String>,
                     title: &str,
                     class: Option<&str>|
     -> Result<(String, String), RuleError> {
        let id = id
            .cloned()
            .ok_or_else(|| RuleError(format!("rule “{title}” has no id")))?;
        if !seen.insert(id.clone()) {
            return Err(RuleError(format!("rule id {id} appears twice")));
        }
        let class = class.map(str::to_owned).ok_or_else(|| {
            RuleError(format!(
                "rule {id} names no incident_class (a key of the classification table)"
            ))
        })?;
        if !classifier.knows(&class) {
            return Err(RuleError(format!(
                "rule {id}: incident_class {class} is not in the classification table"
            )));
        }
        Ok((id, class))
    };
    for rule in &all.rules {
        let (id, incident_class) = check(
            rule.id.as_ref(),
            &rule.title,
            rule.custom_attributes
                .get("incident_class")
                .and_then(|value| value.as_str()),
        )?;
        infos.push(RuleInfo {
            id,
            title: rule.title.clone(),
            severity: Severity::of(rule.level.as_ref()),
            kind: "detection".into(),
            incident_class,
            description: rule.description.clone(),
        });
    }
    for correlation in &all.correlations {
        let (id, incident_class) = check(
            correlation.id.as_ref(),
            &correlation.title,
            correlation
                .custom_attributes
                .get("incident_class")
                .and_then(|value| value.as_str()),
        )?;
        infos.push(RuleInfo {
            id,
            title: correlation.title.clone(),
            severity: Severity::of(correlation.level.as_ref()),
            kind: correlation_kind(&correlation.correlation_type),
            incident_class,
            description: correlation.description.clone(),
        });
    }
    Ok((all, infos))
}

/// Restores the Sigma specification where the engine departs from it: a `temporal` or
/// `temporal_ordered` correlation without a condition needs *all* its rules (rsigma
/// 0.23 defaults to any one of them, which makes "scan then exploit" fire on the scan
/// alone; the conformance test checks both). An explicit `gte: 1` cannot be told apart
/// and is read the same way.
pub fn conform(collection: &mut SigmaCollection) {
    for correlation in &mut collection.correlations {
        let temporal = matches!(
            correlation.correlation_type,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        );
        if let CorrelationCondition::Threshold {
            predicates,
            field: None,
            ..
        } = &mut correlation.condition
        {
            if temporal && predicates.as_slice() == [(ConditionOperator::Gte, 1)] {
                predicates[0].1 = correlation.rules.len() as u64;
            }
        }
    }
}

fn correlation_kind(kind: &impl std::fmt::Debug) -> String {
    // The enum's Debug name (`EventCount`) in Sigma's spelling (`event_count`).
    let name = format!("{kind:?}");
    let mut out = String::new();
    for (index, character) in name.chars().enumerate() {
        if character.is_uppercase() && index > 0 {
            out.push('_');
        }
        out.push(character.to_ascii_lowercase());
    }
    out
}

/// The compiled rules and their correlation state.
pub struct Detector {
    engine: CorrelationEngine,
    rules: BTreeMap<String, RuleInfo>,
    classifier: Classifier,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Detector")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// How long a correlation that fired stays quiet for the same group: one alert per
/// attacker and target per five minutes; the incident gathers the rest.
pub const SUPPRESS_SECONDS: u64 = 300;

impl Detector {
    /// Compiles rule texts (the shipped set first, then administrators' rules).
    pub fn new(texts: &[&str], classifier: &Classifier) -> Result<Detector, RuleError> {
        let (collection, infos) = parse_rules(texts, classifier)?;
        let config = CorrelationConfig {
            // Our clock is explicit; a rule never reads a time from the event.
            timestamp_fields: Vec::new(),
            suppress: Some(SUPPRESS_SECONDS),
            // Correlation state is bounded: at most this many groups across rules.
            max_state_entries: 200_000,
            max_group_entries: Some(10_000),
            ..CorrelationConfig::default()
        };
        let mut engine = CorrelationEngine::new(config);
        engine
            .add_collection(&collection)
            .map_err(|error| RuleError(error.to_string()))?;
        Ok(Detector {
            engine,
            rules: infos
                .into_iter()
                .map(|info| (info.id.clone(), info))
                .collect(),
            classifier: classifier.clone(),
        })
    }

    pub fn rules(&self) -> impl Iterator<Item = &RuleInfo> {
        self.rules.values()
    }

    /// Evaluates one event (its Sigma view) at `at_seconds` (server time). Returns the
    /// matches that raise alerts (building blocks left out).
    pub fn evaluate(&mut self, view: &Json, at_seconds: i64) -> Vec<Detection> {
        let event = JsonEvent::borrow(view);
        let results = self.engine.process_event_at(&event, at_seconds);
        results
            .iter()
            .filter_map(|result| self.detection(result))
            .collect()
    }

    /// Forgets correlation windows older than their timespan.
    pub fn evict(&mut self, now_seconds: i64) {
        self.engine.evict_expired(now_seconds);
    }

    pub fn state_count(&self) -> usize {
        self.engine.state_count()
    }

    fn detection(&self, result: &EvaluationResult) -> Option<Detection> {
        let header = &result.header;
        let id = header.rule_id.clone()?;
        let info = self.rules.get(&id)?;
        if info.severity == Severity::Informational {
            return None;
        }
        let (group, aggregated) = match result.as_correlation() {
            Some(body) => (body.group_key.clone(), Some(body.aggregated_value)),
            None => (Vec::new(), None),
        };
        Some(Detection {
            rule_id: id,
            title: info.title.clone(),
            severity: info.severity,
            incident_class: info.incident_class.clone(),
            classification: self.classifier.classify(&info.incident_class).clone(),
            group,
            aggregated,
        })
    }
}
