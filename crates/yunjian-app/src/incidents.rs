//! The event centre's use-cases behind the API, the console and the CLI: event search,
//! alerts, incidents and their GB/T 20985.1 workflow, re-grading (8.3.12), detection
//! rules (versioned, tested against samples), sources and unknown senders, key tenants
//! and webhooks, notifications, providers' signed event batches, the situational
//! overview and the handling report. Every read is scoped; every change is authorized
//! and audited in the transaction that makes it.

use serde::{Deserialize, Serialize};
use serde_json::json;
use yunjian_core::role::Role;
use yunjian_events::classify::{grade, Classifier};
use yunjian_events::decode::Decoders;
use yunjian_events::detect::{parse_rules, sigma_view, Detector, Enrichment, SHIPPED_RULES};
use yunjian_events::event;
use yunjian_events::syslog::{self, Context as SyslogContext};
use yunjian_policy::{Action, Relation, Target};
use yunjian_report::{Report, Table};
use yunjian_store::{
    AlertRecord, AuditOutcome, EventFilter, EventRow, EventSource, IncidentEntry, IncidentFilter,
    IncidentRecord, NewEventSource, NewRuleVersion, NotificationRecord, ResultScope, RuleVersion,
    Tally, TallyBy, TenantEventSettings, UnknownSender,
};

use crate::authz::stamp;
use crate::compliance::result_scope;
use crate::error::AppError;
use crate::events::{
    grade_text, impact_text, importance_text, loss_text, parse_impact, parse_importance,
    parse_loss, LineFormat, RawEvent, Transport,
};
use crate::{App, Context, IngestSummary};

/// GB/T 20985.1's phases, in order.
pub const PHASES: [&str; 5] = ["reported", "assessing", "responding", "lessons", "closed"];

pub fn phase_label(phase: &str) -> &'static str {
    match phase {
        "reported" => "发现和报告 / detect and report",
        "assessing" => "评估和决策 / assess and decide",
        "responding" => "响应 / respond",
        "lessons" => "经验总结 / lessons learnt",
        "closed" => "已关闭 / closed",
        _ => "?",
    }
}

pub const SOURCE_KINDS: [&str; 8] = [
    "firewall",
    "ips",
    "ids",
    "waf",
    "antivirus",
    "bastion",
    "host",
    "cloud_platform",
];

/// An incident with its timeline and alerts.
#[derive(Clone, Debug)]
pub struct IncidentDetail {
    pub incident: IncidentRecord,
    pub entries: Vec<IncidentEntry>,
    pub alerts: Vec<AlertRecord>,
}

/// A rule as listed: shipped or an administrator's (with its newest version).
#[derive(Clone, Debug, Serialize)]
pub struct RuleListing {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub kind: String,
    pub incident_class: String,
    pub gbz2007: String,
    pub gbt2023: String,
    pub shipped: bool,
    pub enabled: bool,
    pub version: Option<i64>,
    pub description: Option<String>,
}

/// One sample line for a rule test: when (seconds after the first) and what.
#[derive(Clone, Debug, Deserialize)]
pub struct RuleSample {
    #[serde(default)]
    pub at_seconds: i64,
    pub format: LineFormat,
    pub line: String,
}

/// What a test run found.
#[derive(Clone, Debug, Serialize)]
pub struct RuleHit {
    pub sample: usize,
    pub rule_id: String,
    pub title: String,
    pub severity: String,
    pub gbz2007: String,
    pub gbt2023: String,
}

/// The situational-awareness overview (item 8).
#[derive(Clone, Debug, Default, Serialize)]
pub struct EventOverview {
    pub since_ns: i64,
    pub bucket_ns: i64,
    /// (bucket start, events, alerts).
    pub series: Vec<(i64, i64, i64)>,
    pub events_by_category: Vec<Tally>,
    pub incidents_by_category: Vec<Tally>,
    pub incidents_by_grade: Vec<Tally>,
    pub incidents_by_tenant: Vec<Tally>,
    pub incidents_by_provider: Vec<Tally>,
    pub incidents_by_zone: Vec<Tally>,
    pub top_sources: Vec<Tally>,
    pub top_countries: Vec<Tally>,
}

/// A re-grading (8.3.12): the three factors and why.
#[derive(Clone, Debug, Deserialize)]
pub struct RegradeInput {
    pub importance: String,
    pub loss: String,
    pub impact: String,
    pub reason: String,
}

/// A tenant's event settings as set.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EventSettingsInput {
    pub key_tenant: Option<bool>,
    /// `Some("")` clears the webhook.
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
}

const SECRET_CONTEXT: &[u8] = b"yunjian:event-webhook-secret";

fn relation_of(scope: ResultScope) -> Relation {
    match scope {
        ResultScope::All => Relation::Any,
        ResultScope::Tenant(_) => Relation::OwnTenant,
        ResultScope::Provider(_) => Relation::OwnProvider,
    }
}

impl App {
    fn event_question(
        &self,
        context: &Context,
        action: Action,
        kind: &'static str,
        relation: Relation,
    ) -> yunjian_policy::Question<'static> {
        self.question(
            context,
            action,
            Target {
                family: if kind == "incident" {
                    "incident"
                } else {
                    "event"
                },
                kind,
                group: "",
            },
            relation,
        )
    }

    async fn authorize_event(
        &self,
        context: &Context,
        action: Action,
        kind: &'static str,
        relation: Relation,
    ) -> Result<yunjian_policy::Decision, AppError> {
        let question = self.event_question(context, action, kind, relation);
        let mut refusal = self.record(context, action.as_str(), AuditOutcome::Denied);
        refusal.object_kind = Some(kind.to_owned());
        self.authorize(context, question, refusal).await
    }

    /// The reader's scope for event-centre reads, after asking the PDP.
    async fn event_read_scope(&self, context: &Context) -> Result<ResultScope, AppError> {
        let scope = result_scope(context);
        self.authorize_event(context, Action::EventRead, "event", relation_of(scope))
            .await?;
        Ok(scope)
    }

    pub async fn search_events(
        &self,
        context: &Context,
        filter: &EventFilter,
        limit: i64,
    ) -> Result<Vec<EventRow>, AppError> {
        let scope = self.event_read_scope(context).await?;
        Ok(self
            .store
            .events(scope, filter, limit.clamp(1, 1000))
            .await?)
    }

    pub async fn event_detail(&self, context: &Context, id: i64) -> Result<EventRow, AppError> {
        let scope = self.event_read_scope(context).await?;
        self.store.event(scope, id).await?.ok_or(AppError::NotFound)
    }

    pub async fn list_alerts(
        &self,
        context: &Context,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, AppError> {
        let scope = self.event_read_scope(context).await?;
        Ok(self
            .store
            .alerts(scope, None, before_id, limit.clamp(1, 1000))
            .await?)
    }

    pub async fn list_incidents(
        &self,
        context: &Context,
        filter: &IncidentFilter,
        limit: i64,
    ) -> Result<Vec<IncidentRecord>, AppError> {
        let scope = self.event_read_scope(context).await?;
        Ok(self
            .store
            .incidents(scope, filter, limit.clamp(1, 1000))
            .await?)
    }

    pub async fn incident_detail(
        &self,
        context: &Context,
        id: i64,
    ) -> Result<IncidentDetail, AppError> {
        let scope = self.event_read_scope(context).await?;
        let incident = self
            .store
            .incident(scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(IncidentDetail {
            entries: self.store.incident_entries(id).await?,
            alerts: self.store.alerts(scope, Some(id), None, 500).await?,
            incident,
        })
    }

    /// Finds an incident the principal may see and asks the PDP for `action` on it.
    async fn incident_for(
        &self,
        context: &Context,
        action: Action,
        id: i64,
    ) -> Result<(IncidentRecord, yunjian_policy::Decision), AppError> {
        let scope = result_scope(context);
        let Some(incident) = self.store.incident(scope, id).await? else {
            // Out of scope and missing answer alike, after recording the attempt.
            let mut refusal = self.record(context, action.as_str(), AuditOutcome::Denied);
            refusal.object_kind = Some("incident".into());
            refusal.object_id = Some(id);
            let question = self.event_question(context, action, "incident", Relation::Hidden);
            let decision = self.decide(context, question).await?;
            if !decision.allowed {
                return Err(self.refuse(refusal, decision).await);
            }
            return Err(AppError::NotFound);
        };
        let mut refusal = self.record(context, action.as_str(), AuditOutcome::Denied);
        refusal.object_kind = Some("incident".into());
        refusal.object_id = Some(id);
        refusal.tenant_id = incident.concern.tenant_id;
        let question = self.event_question(context, action, "incident", relation_of(scope));
        let decision = self.authorize(context, question, refusal).await?;
        Ok((incident, decision))
    }

    /// Records an incident change (its action, the incident, the PDP's decision and
    /// what changed) in the transaction that made it, and commits.
    async fn commit_incident_change(
        &self,
        mut tx: yunjian_store::WriteTx,
        context: &Context,
        action: &str,
        incident: &IncidentRecord,
        decision: &yunjian_policy::Decision,
        detail: serde_json::Value,
    ) -> Result<(), AppError> {
        let mut record = self.record(context, action, AuditOutcome::Succeeded);
        record.object_kind = Some("incident".into());
        record.object_id = Some(incident.id);
        record.tenant_id = incident.concern.tenant_id;
        record.detail = Some(detail);
        stamp(&mut record, decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves an incident to its next phase (or closes it from lessons learnt), with a
    /// note of what was decided or done.
    pub async fn advance_incident(
        &self,
        context: &Context,
        id: i64,
        phase: &str,
        note: &str,
    ) -> Result<IncidentRecord, AppError> {
        let (mut incident, decision) = self
            .incident_for(context, Action::IncidentHandle, id)
            .await?;
        let current = PHASES
            .iter()
            .position(|candidate| *candidate == incident.phase);
        let wanted = PHASES.iter().position(|candidate| *candidate == phase);
        let Some(wanted) = wanted else {
            return Err(AppError::invalid(
                "phase",
                "unknown_phase",
                format!("one of {}", PHASES.join(", ")),
            ));
        };
        if current.is_none_or(|current| wanted != current + 1) {
            return Err(AppError::Conflict {
                field: Some("phase".into()),
                message: format!(
                    "an incident in phase {} moves to the next phase only",
                    incident.phase
                ),
            });
        }
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 4000 {
            return Err(AppError::invalid(
                "note",
                "required",
                "say what was assessed, decided or done (1 to 4,000 characters)",
            ));
        }
        let now = self.now_ns();
        let previous = std::mem::replace(&mut incident.phase, phase.to_owned());
        incident.updated_at_ns = now;
        let mut tx = self.store.begin_write().await?;
        tx.update_incident(&incident).await?;
        tx.insert_incident_entry(
            id,
            now,
            Some(context.principal.account_id.0),
            "phase",
            &format!(
                "{} → {}：{note}",
                phase_label(&previous),
                phase_label(phase)
            ),
            Some(&json!({"from": previous, "to": phase}).to_string()),
        )
        .await?;
        self.commit_incident_change(
            tx,
            context,
            "incident.phase",
            &incident,
            &decision,
            json!({"from": previous, "to": phase, "note": note}),
        )
        .await?;
        Ok(incident)
    }

    /// A note or a piece of evidence on the timeline.
    pub async fn annotate_incident(
        &self,
        context: &Context,
        id: i64,
        kind: &str,
        text: &str,
    ) -> Result<(), AppError> {
        if !matches!(kind, "note" | "evidence") {
            return Err(AppError::invalid(
                "kind",
                "unknown_kind",
                "note or evidence",
            ));
        }
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 8000 {
            return Err(AppError::invalid(
                "text",
                "required",
                "1 to 8,000 characters",
            ));
        }
        let (incident, decision) = self
            .incident_for(context, Action::IncidentHandle, id)
            .await?;
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let entry = tx
            .insert_incident_entry(
                id,
                now,
                Some(context.principal.account_id.0),
                kind,
                text,
                None,
            )
            .await?;
        let mut touched = incident.clone();
        touched.updated_at_ns = now;
        tx.update_incident(&touched).await?;
        self.commit_incident_change(
            tx,
            context,
            &format!("incident.{kind}"),
            &incident,
            &decision,
            json!({"entry": entry, "sm3": yunjian_gm::Sm3Digest::of(text.as_bytes()).to_hex()}),
        )
        .await?;
        Ok(())
    }

    /// Hands an incident to the party responsible for it.
    pub async fn assign_incident(
        &self,
        context: &Context,
        id: i64,
        assignee: &str,
    ) -> Result<IncidentRecord, AppError> {
        if !matches!(assignee, "tenant" | "provider" | "unit") {
            return Err(AppError::invalid(
                "assignee",
                "unknown_party",
                "tenant, provider or unit",
            ));
        }
        let (mut incident, decision) = self
            .incident_for(context, Action::IncidentGrade, id)
            .await?;
        if assignee == "tenant" && incident.concern.tenant_id.is_none()
            || assignee == "provider" && incident.concern.provider_id.is_none()
        {
            return Err(AppError::Conflict {
                field: Some("assignee".into()),
                message: format!("the incident concerns no {assignee}"),
            });
        }
        let now = self.now_ns();
        let previous = std::mem::replace(&mut incident.assignee, assignee.to_owned());
        incident.updated_at_ns = now;
        let mut tx = self.store.begin_write().await?;
        tx.update_incident(&incident).await?;
        tx.insert_incident_entry(
            id,
            now,
            Some(context.principal.account_id.0),
            "assign",
            &format!("{previous} → {assignee}"),
            None,
        )
        .await?;
        self.commit_incident_change(
            tx,
            context,
            "incident.assign",
            &incident,
            &decision,
            json!({"from": previous, "to": assignee}),
        )
        .await?;
        Ok(incident)
    }

    /// Re-grades an incident from the three factors (GB/T 20986-2023 §5), with a reason.
    pub async fn regrade_incident(
        &self,
        context: &Context,
        id: i64,
        input: &RegradeInput,
    ) -> Result<IncidentRecord, AppError> {
        let mut errors = Vec::new();
        let importance = parse_importance(&input.importance);
        let loss = parse_loss(&input.loss);
        let impact = parse_impact(&input.impact);
        if importance.is_none() {
            errors.push(yunjian_core::value::FieldError::new(
                "importance",
                "unknown_value",
                "ordinary, important or especially_important",
            ));
        }
        if loss.is_none() {
            errors.push(yunjian_core::value::FieldError::new(
                "loss",
                "unknown_value",
                "small, relatively_large, serious or especially_serious",
            ));
        }
        if impact.is_none() {
            errors.push(yunjian_core::value::FieldError::new(
                "impact",
                "unknown_value",
                "ordinary, relatively_major, major or especially_major",
            ));
        }
        let reason = input.reason.trim();
        if reason.is_empty() || reason.chars().count() > 4000 {
            errors.push(yunjian_core::value::FieldError::new(
                "reason",
                "required",
                "why the grade changes (1 to 4,000 characters)",
            ));
        }
        let (Some(importance), Some(loss), Some(impact)) = (importance, loss, impact) else {
            return Err(AppError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let (mut incident, decision) = self
            .incident_for(context, Action::IncidentGrade, id)
            .await?;
        let now = self.now_ns();
        let before = incident.grade.clone();
        incident.grade = grade_text(grade(importance, loss, impact)).to_owned();
        incident.importance = importance_text(importance).to_owned();
        incident.loss = loss_text(loss).to_owned();
        incident.impact = impact_text(impact).to_owned();
        incident.grade_reason = Some(reason.to_owned());
        incident.updated_at_ns = now;
        let mut tx = self.store.begin_write().await?;
        tx.update_incident(&incident).await?;
        tx.insert_incident_entry(
            id,
            now,
            Some(context.principal.account_id.0),
            "grade",
            &format!("{before} → {}：{reason}", incident.grade),
            Some(
                &json!({"importance": incident.importance, "loss": incident.loss,
                    "impact": incident.impact})
                .to_string(),
            ),
        )
        .await?;
        self.commit_incident_change(
            tx,
            context,
            "incident.grade",
            &incident,
            &decision,
            json!({
                "from": before, "to": incident.grade, "importance": incident.importance,
                "loss": incident.loss, "impact": incident.impact, "reason": reason,
            }),
        )
        .await?;
        Ok(incident)
    }

    /// The handling report (8.3.9): the incident, its classification and grade, the
    /// timeline and the alerts, for the tenant and the management unit.
    pub async fn incident_report(&self, context: &Context, id: i64) -> Result<Report, AppError> {
        let detail = self.incident_detail(context, id).await?;
        let incident = &detail.incident;
        let time = |ns: i64| crate::compliance::beijing_time(ns);
        let tenant = match incident.concern.tenant_id {
            Some(tenant) => {
                self.name_of(yunjian_core::schema::Kind::Tenant, tenant)
                    .await
            }
            None => "—".into(),
        };
        let system = match incident.concern.system_id {
            Some(system) => {
                self.name_of(yunjian_core::schema::Kind::InformationSystem, system)
                    .await
            }
            None => "—".into(),
        };
        let classifier = Classifier::shipped().map_err(|error| AppError::Internal(error.0))?;
        let category_name = |code: &str, edition: &str| -> String {
            let categories = if edition == "2007" {
                classifier.categories_2007()
            } else {
                classifier.categories_2023()
            };
            let (category, sub) = code.split_once('/').unwrap_or((code, ""));
            categories
                .iter()
                .find(|candidate| candidate.code == category)
                .map(|found| {
                    let sub_name = found
                        .sub
                        .iter()
                        .find(|[code, _]| code == sub)
                        .map(|[_, name]| format!(" / {name}"))
                        .unwrap_or_default();
                    format!("{code} {}{sub_name}", found.zh)
                })
                .unwrap_or_else(|| code.to_owned())
        };
        Ok(Report {
            title: format!("网络安全事件处置报告 第 {} 号", incident.id),
            subtitle: "Security incident handling report (guide 8.3.9, 8.3.12)".into(),
            facts: vec![
                ("事件 / incident".into(), incident.title.clone()),
                ("阶段 / phase".into(), phase_label(&incident.phase).into()),
                (
                    "分级 / grade".into(),
                    format!(
                        "{}级（重要程度 {}，系统损失 {}，社会影响 {}）{}",
                        incident.grade,
                        incident.importance,
                        incident.loss,
                        incident.impact,
                        incident
                            .grade_reason
                            .as_ref()
                            .map(|reason| format!("；调整理由：{reason}"))
                            .unwrap_or_default()
                    ),
                ),
                (
                    "分类 GB/Z 20986-2007".into(),
                    category_name(&incident.gbz2007, "2007"),
                ),
                (
                    "分类 GB/T 20986-2023".into(),
                    category_name(&incident.gbt2023, "2023"),
                ),
                ("租户 / tenant".into(), tenant),
                ("信息系统 / system".into(), system),
                (
                    "攻击方 / attacker".into(),
                    incident
                        .concern
                        .attacker
                        .clone()
                        .unwrap_or_else(|| "—".into()),
                ),
                (
                    "目标 / target".into(),
                    incident
                        .concern
                        .target
                        .clone()
                        .unwrap_or_else(|| "—".into()),
                ),
                ("责任方 / assignee".into(), incident.assignee.clone()),
                ("发现时间 / opened".into(), time(incident.opened_at_ns)),
                ("最近告警 / last alert".into(), time(incident.last_alert_ns)),
                ("告警数 / alerts".into(), incident.alerts.to_string()),
            ],
            tables: vec![
                Table {
                    title: "处置时间线 / timeline".into(),
                    headers: vec![
                        "时间 / time".into(),
                        "类型 / kind".into(),
                        "内容 / text".into(),
                    ],
                    rows: detail
                        .entries
                        .iter()
                        .map(|entry| {
                            vec![time(entry.at_ns), entry.kind.clone(), entry.text.clone()]
                        })
                        .collect(),
                    widths: vec![1.4, 0.8, 4.0],
                },
                Table {
                    title: "告警 / alerts".into(),
                    headers: vec![
                        "时间 / time".into(),
                        "规则 / rule".into(),
                        "级别 / severity".into(),
                        "分类 / class".into(),
                        "来源→目标 / from→to".into(),
                    ],
                    rows: detail
                        .alerts
                        .iter()
                        .map(|alert| {
                            let alert = &alert.alert;
                            vec![
                                time(alert.at_ns),
                                alert.title.clone(),
                                alert.severity.clone(),
                                alert.gbz2007.clone(),
                                format!(
                                    "{} → {}",
                                    alert.concern.attacker.as_deref().unwrap_or("—"),
                                    alert.concern.target.as_deref().unwrap_or("—")
                                ),
                            ]
                        })
                        .collect(),
                    widths: vec![1.4, 2.4, 0.7, 0.9, 2.0],
                },
            ],
        })
    }

    /// The shipped rules and the administrators', as listed.
    pub async fn detection_rules(&self, context: &Context) -> Result<Vec<RuleListing>, AppError> {
        self.event_read_scope(context).await?;
        let classifier = Classifier::shipped().map_err(|error| AppError::Internal(error.0))?;
        let custom = self.store.detection_rules().await?;
        let mut listings = Vec::new();
        let (_, shipped) = parse_rules(&[SHIPPED_RULES], &classifier)
            .map_err(|error| AppError::Internal(error.0))?;
        let mut push = |info: yunjian_events::detect::RuleInfo,
                        shipped: bool,
                        stored: Option<&RuleVersion>| {
            let classification = classifier.classify(&info.incident_class);
            listings.push(RuleListing {
                gbz2007: classification.gbz2007.text(),
                gbt2023: classification.gbt2023.text(),
                id: info.id,
                title: info.title,
                severity: info.severity.as_str().to_owned(),
                kind: info.kind,
                incident_class: info.incident_class,
                shipped,
                enabled: stored.is_none_or(|rule| rule.enabled),
                version: stored.map(|rule| rule.version),
                description: info.description,
            });
        };
        for info in shipped {
            push(info, true, None);
        }
        for rule in &custom {
            if let Ok((_, infos)) = parse_rules(&[&rule.yaml], &classifier) {
                for info in infos {
                    push(info, false, Some(rule));
                }
            }
        }
        Ok(listings)
    }

    pub async fn detection_rule_history(
        &self,
        context: &Context,
        rule_key: &str,
    ) -> Result<Vec<RuleVersion>, AppError> {
        self.event_read_scope(context).await?;
        Ok(self.store.detection_rule_history(rule_key).await?)
    }

    /// Checks a rule text against the shipped set and the other administrators' rules:
    /// it must parse, compile, name a known incident class and reuse no id. Answers
    /// the rule key (its first document's id) and title.
    async fn check_rule_text(&self, yaml: &str) -> Result<(String, String), AppError> {
        let classifier = Classifier::shipped().map_err(|error| AppError::Internal(error.0))?;
        let (_, infos) = parse_rules(&[yaml], &classifier)
            .map_err(|error| AppError::invalid("yaml", "invalid_rule", error.0))?;
        let Some(first) = infos.first() else {
            return Err(AppError::invalid(
                "yaml",
                "invalid_rule",
                "no rule in the text",
            ));
        };
        let key = first.id.clone();
        let others = self.store.detection_rules().await?;
        let mut texts = vec![SHIPPED_RULES];
        texts.extend(
            others
                .iter()
                .filter(|rule| rule.rule_key != key && rule.enabled)
                .map(|rule| rule.yaml.as_str()),
        );
        texts.push(yaml);
        Detector::new(&texts, &classifier)
            .map_err(|error| AppError::invalid("yaml", "invalid_rule", error.0))?;
        Ok((key, first.title.clone()))
    }

    /// Stores a new version of an administrator's rule (or its first), enabled or not,
    /// and recompiles this instance's rules.
    pub async fn save_detection_rule(
        &self,
        context: &Context,
        yaml: &str,
        enabled: bool,
    ) -> Result<RuleVersion, AppError> {
        let decision = self
            .authorize_event(
                context,
                Action::EventConfigure,
                "detection_rule",
                Relation::Any,
            )
            .await?;
        if yaml.len() > 256 * 1024 {
            return Err(AppError::invalid("yaml", "too_long", "at most 256 KiB"));
        }
        let (key, title) = self.check_rule_text(yaml).await?;
        let sm3 = yunjian_gm::Sm3Digest::of(yaml.as_bytes()).to_hex();
        let now = self.now_ns();
        let mut tx = self.store.begin_write().await?;
        let version = tx
            .insert_rule_version(
                &NewRuleVersion {
                    rule_key: key.clone(),
                    title: title.clone(),
                    yaml: yaml.to_owned(),
                    sm3: sm3.clone(),
                    enabled,
                },
                Some(context.principal.account_id.0),
                now,
            )
            .await?;
        let mut record = self.record(context, "event.rule.save", AuditOutcome::Succeeded);
        record.object_kind = Some("detection_rule".into());
        record.detail = Some(
            json!({"rule": key, "version": version, "enabled": enabled, "sm3": sm3, "title": title}),
        );
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.reload_rules().await?;
        self.store
            .detection_rule_history(&key)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("a saved rule vanished".into()))
    }

    /// Runs a rule text (with the shipped rules it may build on) over sample lines with
    /// a fresh engine and an explicit clock; stores nothing.
    pub async fn test_detection_rule(
        &self,
        context: &Context,
        yaml: &str,
        samples: &[RuleSample],
    ) -> Result<Vec<RuleHit>, AppError> {
        self.event_read_scope(context).await?;
        if samples.len() > 10_000 {
            return Err(AppError::invalid(
                "samples",
                "too_many",
                "at most 10,000 sample lines",
            ));
        }
        let classifier = Classifier::shipped().map_err(|error| AppError::Internal(error.0))?;
        let decoders =
            Decoders::shipped().map_err(|error| AppError::Internal(error.to_string()))?;
        let mut texts = vec![SHIPPED_RULES];
        if !yaml.trim().is_empty() {
            texts.push(yaml);
        }
        let mut detector = Detector::new(&texts, &classifier)
            .map_err(|error| AppError::invalid("yaml", "invalid_rule", error.0))?;
        let start = self.now_ns();
        let mut hits = Vec::new();
        for (index, sample) in samples.iter().enumerate() {
            let received = start + sample.at_seconds.clamp(0, 31 * 86_400) * 1_000_000_000;
            let normalized = match sample.format {
                LineFormat::Syslog => {
                    let message =
                        syslog::parse(sample.line.as_bytes(), &SyslogContext::beijing(received));
                    let decoded = decoders.decode(&message);
                    event::from_syslog(&message, &decoded, &classifier, received, None)
                }
                LineFormat::Eve => {
                    event::from_eve(sample.line.as_bytes(), &classifier, received, None)
                }
            };
            let view = sigma_view(&normalized, &Enrichment::default());
            for detection in detector.evaluate(&view, received.div_euclid(1_000_000_000)) {
                hits.push(RuleHit {
                    sample: index,
                    rule_id: detection.rule_id,
                    title: detection.title,
                    severity: detection.severity.as_str().to_owned(),
                    gbz2007: detection.classification.gbz2007.text(),
                    gbt2023: detection.classification.gbt2023.text(),
                });
            }
        }
        Ok(hits)
    }

    pub async fn event_sources(&self, context: &Context) -> Result<Vec<EventSource>, AppError> {
        let scope = self.event_read_scope(context).await?;
        let sources = self.store.event_sources().await?;
        Ok(sources
            .into_iter()
            .filter(|source| match scope {
                ResultScope::All => true,
                ResultScope::Tenant(tenant) => source.tenant_id == Some(tenant),
                ResultScope::Provider(provider) => source.provider_id == Some(provider),
            })
            .collect())
    }

    pub async fn unknown_senders(&self, context: &Context) -> Result<Vec<UnknownSender>, AppError> {
        let scope = self.event_read_scope(context).await?;
        if scope != ResultScope::All {
            return Ok(Vec::new());
        }
        Ok(self.store.unknown_senders().await?)
    }

    /// Registers a sender; its unknown-sender row is cleared.
    pub async fn add_event_source(
        &self,
        context: &Context,
        input: &NewEventSource,
    ) -> Result<EventSource, AppError> {
        let decision = self
            .authorize_event(
                context,
                Action::EventConfigure,
                "event_source",
                Relation::Any,
            )
            .await?;
        let mut errors = Vec::new();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 128 {
            errors.push(yunjian_core::value::FieldError::new(
                "name",
                "required",
                "1 to 128 characters",
            ));
        }
        let address: Option<std::net::IpAddr> = input.address.trim().parse().ok();
        if address.is_none() {
            errors.push(yunjian_core::value::FieldError::new(
                "address",
                "invalid_address",
                "the IPv4 or IPv6 address the device sends from",
            ));
        }
        if !SOURCE_KINDS.contains(&input.kind.as_str()) {
            errors.push(yunjian_core::value::FieldError::new(
                "kind",
                "unknown_value",
                format!("one of {}", SOURCE_KINDS.join(", ")),
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let address = address
            .map(|address| address.to_string())
            .unwrap_or_default();
        let mut tx = self.store.begin_write().await?;
        for (kind, id, field) in [
            (
                yunjian_core::schema::Kind::Provider,
                input.provider_id,
                "provider_id",
            ),
            (yunjian_core::schema::Kind::Zone, input.zone_id, "zone_id"),
            (
                yunjian_core::schema::Kind::Tenant,
                input.tenant_id,
                "tenant_id",
            ),
        ] {
            if let Some(id) = id {
                if tx
                    .get(kind, id, yunjian_store::ReadScope::All)
                    .await?
                    .is_none()
                {
                    return Err(AppError::invalid(
                        field,
                        "unknown_reference",
                        format!("no {} {id}", kind.as_str()),
                    ));
                }
            }
        }
        if self
            .store
            .event_sources()
            .await?
            .iter()
            .any(|source| source.address == address || source.name == name)
        {
            return Err(AppError::Conflict {
                field: Some("address".into()),
                message: "a source with this name or address is registered".into(),
            });
        }
        let source = NewEventSource {
            name: name.to_owned(),
            address: address.clone(),
            ..input.clone()
        };
        let id = tx
            .insert_event_source(&source, Some(context.principal.account_id.0), self.now_ns())
            .await?;
        tx.forget_unknown_sender(&address).await?;
        let mut record = self.record(context, "event.source.add", AuditOutcome::Succeeded);
        record.object_kind = Some("event_source".into());
        record.object_id = Some(id);
        record.tenant_id = input.tenant_id;
        record.detail = Some(json!({"name": name, "address": address, "kind": input.kind,
            "provider_id": input.provider_id, "zone_id": input.zone_id, "tenant_id": input.tenant_id}));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.invalidate_event_inventory();
        self.store
            .event_sources()
            .await?
            .into_iter()
            .find(|source| source.id == id)
            .ok_or_else(|| AppError::Internal("a source vanished".into()))
    }

    pub async fn set_event_source_enabled(
        &self,
        context: &Context,
        id: i64,
        enabled: bool,
    ) -> Result<(), AppError> {
        let decision = self
            .authorize_event(
                context,
                Action::EventConfigure,
                "event_source",
                Relation::Any,
            )
            .await?;
        let mut tx = self.store.begin_write().await?;
        if !tx.set_event_source_enabled(id, enabled).await? {
            return Err(AppError::NotFound);
        }
        let mut record = self.record(
            context,
            if enabled {
                "event.source.enable"
            } else {
                "event.source.disable"
            },
            AuditOutcome::Succeeded,
        );
        record.object_kind = Some("event_source".into());
        record.object_id = Some(id);
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.invalidate_event_inventory();
        Ok(())
    }

    /// Settings the reader may see: a tenant its own, oversight all. Secrets never.
    pub async fn event_settings(
        &self,
        context: &Context,
    ) -> Result<Vec<TenantEventSettings>, AppError> {
        let scope = self.event_read_scope(context).await?;
        Ok(self
            .store
            .event_settings()
            .await?
            .into_iter()
            .filter(|settings| match scope {
                ResultScope::All => true,
                ResultScope::Tenant(tenant) => settings.tenant_id == tenant,
                ResultScope::Provider(_) => false,
            })
            .map(|mut settings| {
                settings.webhook_secret = settings.webhook_secret.map(|_| "(set)".into());
                settings
            })
            .collect())
    }

    /// Sets a tenant's key-tenant flag (oversight only) and webhook (the tenant too).
    pub async fn set_event_settings(
        &self,
        context: &Context,
        tenant_id: i64,
        input: &EventSettingsInput,
    ) -> Result<(), AppError> {
        let own = context.principal.tenant.map(|tenant| tenant.0) == Some(tenant_id);
        let relation = if context.principal.role == Role::TenantAdmin {
            if own {
                Relation::OwnTenant
            } else {
                Relation::Hidden
            }
        } else {
            Relation::Any
        };
        let kind = if input.key_tenant.is_some() {
            "key_tenant"
        } else {
            "webhook"
        };
        let decision = self
            .authorize_event(context, Action::EventConfigure, kind, relation)
            .await?;
        let mut tx = self.store.begin_write().await?;
        if tx
            .get(
                yunjian_core::schema::Kind::Tenant,
                tenant_id,
                yunjian_store::ReadScope::All,
            )
            .await?
            .is_none()
        {
            return Err(AppError::NotFound);
        }
        let current = self
            .store
            .event_settings()
            .await?
            .into_iter()
            .find(|settings| settings.tenant_id == tenant_id);
        let mut settings = current.unwrap_or(TenantEventSettings {
            tenant_id,
            key_tenant: false,
            webhook_url: None,
            webhook_secret: None,
            updated_by: None,
            updated_at_ns: 0,
        });
        if let Some(key_tenant) = input.key_tenant {
            settings.key_tenant = key_tenant;
        }
        if let Some(url) = &input.webhook_url {
            let url = url.trim();
            if url.is_empty() {
                settings.webhook_url = None;
                settings.webhook_secret = None;
            } else {
                let parsed = reqwest::Url::parse(url).ok().filter(|parsed| {
                    matches!(parsed.scheme(), "https" | "http") && parsed.host().is_some()
                });
                if parsed.is_none() {
                    return Err(AppError::invalid(
                        "webhook_url",
                        "invalid_url",
                        "an http(s) URL",
                    ));
                }
                settings.webhook_url = Some(url.to_owned());
            }
        }
        if let Some(secret) = input
            .webhook_secret
            .as_deref()
            .filter(|secret| !secret.is_empty())
        {
            if secret.len() < 16 || secret.len() > 256 {
                return Err(AppError::invalid(
                    "webhook_secret",
                    "weak_secret",
                    "16 to 256 characters",
                ));
            }
            let sealing = self.sealing.as_deref().ok_or_else(|| AppError::Conflict {
                field: None,
                message: "webhook secrets need the sealing key (run `yunjian admin init`)".into(),
            })?;
            settings.webhook_secret = Some(sealing.seal(secret.as_bytes(), SECRET_CONTEXT));
        }
        settings.updated_by = Some(context.principal.account_id.0);
        settings.updated_at_ns = self.now_ns();
        tx.upsert_event_settings(&settings).await?;
        let mut record = self.record(context, "event.settings", AuditOutcome::Succeeded);
        record.object_kind = Some("tenant".into());
        record.object_id = Some(tenant_id);
        record.tenant_id = Some(tenant_id);
        record.detail = Some(json!({
            "key_tenant": settings.key_tenant, "webhook_url": settings.webhook_url,
            "webhook_secret_set": settings.webhook_secret.is_some(),
        }));
        stamp(&mut record, &decision);
        tx.append_audit(&record).await?;
        tx.commit().await?;
        self.invalidate_event_inventory();
        Ok(())
    }

    /// The reader's notifications: a tenant's own, the management unit's for oversight.
    pub async fn notifications(
        &self,
        context: &Context,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>, AppError> {
        let scope = self.event_read_scope(context).await?;
        let party = match scope {
            ResultScope::Tenant(tenant) => Some(tenant),
            ResultScope::Provider(_) => return Ok(Vec::new()),
            ResultScope::All => None,
        };
        Ok(self.store.notifications(party, limit.clamp(1, 500)).await?)
    }

    /// A provider's signed batch of its devices' lines (syslog or EVE), attributed to
    /// the provider whose key signed it; one audit record per batch.
    pub async fn push_events(
        &self,
        context: &Context,
        format: LineFormat,
        lines: &[String],
    ) -> Result<IngestSummary, AppError> {
        let relation = match (context.principal.role, context.principal.provider) {
            (Role::ProviderOperator, Some(_)) => Relation::OwnProvider,
            _ => Relation::Hidden,
        };
        let decision = self
            .authorize_event(context, Action::EventIngest, "event_batch", relation)
            .await?;
        let provider_id = context.principal.provider.map(|provider| provider.0);
        if lines.len() > 10_000 {
            return Err(AppError::invalid(
                "lines",
                "too_many",
                "at most 10,000 lines per batch",
            ));
        }
        let sender = context
            .source_address
            .as_deref()
            .and_then(|address| address.parse().ok());
        let now = self.now_ns();
        let inputs: Vec<RawEvent> = lines
            .iter()
            .map(|line| RawEvent {
                received_ns: now,
                sender,
                transport: Transport::Http,
                format,
                bytes: line.as_bytes().to_vec(),
                provider_id,
            })
            .collect();
        self.events
            .counters
            .received
            .fetch_add(inputs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let summary = self.ingest_events(&inputs).await?;
        let mut record = self.record(context, "event.ingest", AuditOutcome::Succeeded);
        record.object_kind = Some("event_batch".into());
        let mut digest = yunjian_gm::Sm3Stream::new();
        for line in lines {
            digest.update(line.as_bytes());
            digest.update(b"\n");
        }
        record.detail = Some(json!({"lines": lines.len(), "alerts": summary.alerts,
            "sm3": digest.finish().to_hex()}));
        stamp(&mut record, &decision);
        let mut tx = self.store.begin_write().await?;
        tx.append_audit(&record).await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Counts for the situational-awareness page over the last `days`.
    pub async fn event_overview(
        &self,
        context: &Context,
        days: i64,
    ) -> Result<EventOverview, AppError> {
        let scope = self.event_read_scope(context).await?;
        let days = days.clamp(1, 180);
        let now = self.now_ns();
        let since = now - days * 86_400 * 1_000_000_000;
        let bucket = if days <= 2 {
            3_600_000_000_000
        } else {
            86_400_000_000_000
        };
        let store = &self.store;
        Ok(EventOverview {
            since_ns: since,
            bucket_ns: bucket,
            series: store.event_series(scope, since, bucket).await?,
            events_by_category: store
                .tally(scope, TallyBy::EventCategory, since, 20)
                .await?,
            incidents_by_category: store
                .tally(scope, TallyBy::IncidentCategory, since, 20)
                .await?,
            incidents_by_grade: store.tally(scope, TallyBy::IncidentGrade, since, 4).await?,
            incidents_by_tenant: store
                .tally(scope, TallyBy::IncidentTenant, since, 20)
                .await?,
            incidents_by_provider: store
                .tally(scope, TallyBy::IncidentProvider, since, 20)
                .await?,
            incidents_by_zone: store.tally(scope, TallyBy::IncidentZone, since, 20).await?,
            top_sources: store.tally(scope, TallyBy::EventSource, since, 10).await?,
            top_countries: store.tally(scope, TallyBy::EventCountry, since, 10).await?,
        })
    }

    /// Delivers due webhook notifications: a JSON POST signed with HMAC-SM3 over the
    /// body (`X-Yunjian-Signature: hmac-sm3=<hex>`), retried with back-off (1 min
    /// doubling, at most 8 attempts). Answers how many were delivered.
    pub async fn deliver_webhooks(&self) -> Result<usize, AppError> {
        let now = self.now_ns();
        let due = self.store.due_webhooks(now, 50).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let settings = self.store.event_settings().await?;
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|error| AppError::Internal(error.to_string()))?;
        let mut delivered = 0;
        for notification in due {
            let target = notification.notification.tenant_id.and_then(|tenant| {
                settings
                    .iter()
                    .find(|settings| settings.tenant_id == tenant)
            });
            let Some(url) = target.and_then(|settings| settings.webhook_url.clone()) else {
                let mut tx = self.store.begin_write().await?;
                tx.note_delivery(
                    notification.id,
                    "failed",
                    None,
                    Some("no webhook configured"),
                )
                .await?;
                tx.commit().await?;
                continue;
            };
            let body = notification.notification.payload.clone();
            let mut request = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-yunjian-notification", notification.id.to_string());
            if let (Some(sealed), Some(sealing)) = (
                target.and_then(|settings| settings.webhook_secret.as_deref()),
                self.sealing.as_deref(),
            ) {
                if let Ok(secret) = sealing.open(sealed, SECRET_CONTEXT) {
                    use yunjian_gm::request_signing::SigningDigest;
                    let mac = yunjian_gm::request_signing::Sm3V1::hmac(&secret, body.as_bytes());
                    request = request.header(
                        "x-yunjian-signature",
                        format!("hmac-sm3={}", hex::encode(mac)),
                    );
                }
            }
            let outcome = request.body(body).send().await;
            let failure = match outcome {
                Ok(response) if response.status().is_success() => None,
                Ok(response) => Some(format!("HTTP {}", response.status().as_u16())),
                Err(error) => Some(if error.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "could not connect".to_owned()
                }),
            };
            let mut tx = self.store.begin_write().await?;
            match failure {
                None => {
                    tx.note_delivery(notification.id, "sent", None, None)
                        .await?;
                    delivered += 1;
                }
                Some(error) => {
                    let attempts = notification.attempts + 1;
                    if attempts >= 8 {
                        tx.note_delivery(notification.id, "failed", None, Some(&error))
                            .await?;
                    } else {
                        let delay = 60_000_000_000_i64 << (attempts - 1).min(10);
                        tx.note_delivery(
                            notification.id,
                            "pending",
                            Some(now + delay),
                            Some(&error),
                        )
                        .await?;
                    }
                }
            }
            tx.commit().await?;
        }
        Ok(delivered)
    }
}

/// Filters for incident lists from query text.
pub fn incident_filter(phase: Option<&str>, open: bool, grade: Option<&str>) -> IncidentFilter {
    IncidentFilter {
        phase: phase
            .filter(|phase| PHASES.contains(phase))
            .map(str::to_owned),
        open,
        grade: grade
            .filter(|grade| ["I", "II", "III", "IV"].contains(grade))
            .map(str::to_owned),
        ..IncidentFilter::default()
    }
}
