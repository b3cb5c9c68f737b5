//! Statuses, scopes, and what a control says about one scope.

use std::fmt;

use serde_json::{json, Value as Json};

/// A result's status. The order of `rank` is the roll-up: FAIL > ERROR > MANUAL > the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Fail,
    /// A control failed to run (a custom control's runtime error): never a silent PASS.
    Error,
    /// Needs evidence and a second person's approval.
    Manual,
    Pass,
    /// Evidence attached and approved by a second person, unexpired.
    Attested,
    /// Another party's responsibility, and that party has current evidence.
    Inherited,
    /// Accepted by the management unit until the waiver expires.
    Waived,
    NotApplicable,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Fail,
        Status::Error,
        Status::Manual,
        Status::Pass,
        Status::Attested,
        Status::Inherited,
        Status::Waived,
        Status::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Manual => "MANUAL",
            Status::Pass => "PASS",
            Status::Attested => "ATTESTED",
            Status::Inherited => "INHERITED",
            Status::Waived => "WAIVED",
            Status::NotApplicable => "NOT_APPLICABLE",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Fail => "不符合",
            Status::Error => "检查出错",
            Status::Manual => "待人工证明",
            Status::Pass => "符合",
            Status::Attested => "已证明",
            Status::Inherited => "继承",
            Status::Waived => "已豁免",
            Status::NotApplicable => "不适用",
        }
    }

    /// Lower is worse.
    pub fn rank(self) -> u8 {
        match self {
            Status::Fail => 0,
            Status::Error => 1,
            Status::Manual => 2,
            _ => 3,
        }
    }

    /// Whether this result needs someone to act.
    pub fn is_open(self) -> bool {
        self.rank() < 3
    }

    /// Whether the result holds (with evidence of some kind).
    pub fn holds(self) -> bool {
        matches!(
            self,
            Status::Pass | Status::Attested | Status::Inherited | Status::Waived
        )
    }

    /// The roll-up of several statuses: FAIL > ERROR > MANUAL > the rest, where the rest
    /// rolls up to PASS unless everything is NOT_APPLICABLE.
    pub fn roll_up(statuses: impl IntoIterator<Item = Status>) -> Status {
        let mut worst: Option<Status> = None;
        let mut any_holding = false;
        for status in statuses {
            if status.is_open() {
                worst = Some(match worst {
                    Some(current) if current.rank() <= status.rank() => current,
                    _ => status,
                });
            } else if status != Status::NotApplicable {
                any_holding = true;
            }
        }
        match worst {
            Some(status) => status,
            None if any_holding => Status::Pass,
            None => Status::NotApplicable,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What a result is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The whole platform: the management unit's view (and yunjian itself).
    Platform,
    Provider(i64),
    Tenant(i64),
    /// An information system (信息系统), of a tenant.
    System(i64),
}

impl Scope {
    pub fn kind(self) -> &'static str {
        match self {
            Scope::Platform => "platform",
            Scope::Provider(_) => "provider",
            Scope::Tenant(_) => "tenant",
            Scope::System(_) => "system",
        }
    }

    /// The id within its kind; 0 for the platform.
    pub fn id(self) -> i64 {
        match self {
            Scope::Platform => 0,
            Scope::Provider(id) | Scope::Tenant(id) | Scope::System(id) => id,
        }
    }

    pub fn parse(kind: &str, id: i64) -> Option<Scope> {
        match kind {
            "platform" => Some(Scope::Platform),
            "provider" if id > 0 => Some(Scope::Provider(id)),
            "tenant" if id > 0 => Some(Scope::Tenant(id)),
            "system" if id > 0 => Some(Scope::System(id)),
            _ => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Scope::Platform => "全平台",
            Scope::Provider(_) => "云服务商",
            Scope::Tenant(_) => "云租户",
            Scope::System(_) => "信息系统",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Platform => formatter.write_str("platform"),
            other => write!(formatter, "{}:{}", other.kind(), other.id()),
        }
    }
}

/// A control's verdict on one scope.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Pass,
    Fail,
    /// The control has nothing to look at in this scope (e.g. no backups).
    NotApplicable,
    /// The data cannot decide (e.g. an unknown patch level): the clause stays MANUAL.
    Undetermined,
    /// The control could not run: the message says why.
    Error,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotApplicable => "NOT_APPLICABLE",
            Verdict::Undetermined => "UNDETERMINED",
            Verdict::Error => "ERROR",
        }
    }
}

/// One resource, value or parameter that decided a verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    /// A world kind (`datacenter`, `vm`, …), `account`, `privilege`, `audit`, `parameter`
    /// or `setting`.
    pub kind: String,
    pub id: i64,
    pub name: String,
    pub field: String,
    pub value: String,
    /// What the value should be.
    pub expected: String,
    /// Whether this item is a reason for failure (others are context).
    pub failing: bool,
}

impl Evidence {
    pub fn to_json(&self) -> Json {
        json!({
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "field": self.field,
            "value": self.value,
            "expected": self.expected,
            "failing": self.failing,
        })
    }
}

/// What one control concluded about one scope.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub control: String,
    pub scope: Scope,
    pub verdict: Verdict,
    pub message_zh: String,
    pub message_en: String,
    /// The failing items first; capped at `EVIDENCE_LIMIT` with `evidence_total` the full count.
    pub evidence: Vec<Evidence>,
    pub evidence_total: usize,
    /// The resources the control examined in this scope.
    pub examined: usize,
}

/// Evidence items kept per outcome: enough to act on, bounded so one bad security group
/// policy over 10,000 VMs does not make a run's results gigabytes.
pub const EVIDENCE_LIMIT: usize = 50;

impl Outcome {
    pub fn to_json(&self) -> Json {
        json!({
            "control": self.control,
            "verdict": self.verdict.as_str(),
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "examined": self.examined,
            "evidence_total": self.evidence_total,
            "evidence": self.evidence.iter().map(Evidence::to_json).collect::<Vec<_>>(),
        })
    }
}
