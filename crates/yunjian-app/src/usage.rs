//! Usage metering (guide 7.1.5, 8.3.2): allocation (vCPU, memory, storage) sampled from
//! every commit of a provider's inventory, and utilization the providers push or the
//! Prometheus connectors read, summed up per month for a tenant, a provider or the
//! platform, as a report in every format the compliance reports have.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use yunjian_compliance::Scope;
use yunjian_core::schema::Kind;
use yunjian_policy::{Action, Relation, Target};
use yunjian_report::{Report, Table};
use yunjian_store::{AuditOutcome, ResultScope, UsageSample};

use crate::compliance::result_scope;
use crate::error::AppError;
use crate::{App, Context};

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;
const BEIJING_OFFSET_NS: i64 = 8 * 3_600 * 1_000_000_000;

/// A calendar month in Beijing time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.trim().split_once('-')?;
        let month = Month {
            year: year.parse().ok()?,
            month: month.parse().ok()?,
        };
        month.first_day().map(|_| month)
    }

    pub fn of(now_ns: i64) -> Month {
        let date = crate::compliance::beijing_date(now_ns);
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month's bounds as UTC nanoseconds: [start, end).
    pub fn bounds(self) -> (i64, i64) {
        let start = |month: Month| {
            month
                .first_day()
                .and_then(|day| day.and_hms_opt(0, 0, 0))
                .map_or(0, |time| {
                    time.and_utc().timestamp() * 1_000_000_000 - BEIJING_OFFSET_NS
                })
        };
        (start(self), start(self.next()))
    }

    /// The month `count` months before this one.
    pub fn minus(self, count: u32) -> Month {
        let index = self.year * 12 + self.month as i32 - 1 - count as i32;
        Month {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// The month after this one.
    pub fn following(self) -> Month {
        self.next()
    }

    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// Average, peak and last of a series.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    pub samples: usize,
    pub average: f64,
    pub peak: f64,
    pub last: f64,
}

/// Sums samples per key and metric. Allocation samples of one instant add up over
/// zones first (a tenant's vCPUs in two zones are one figure), then summarize over time.
pub fn summarize<K: Ord + Clone>(
    samples: &[UsageSample],
    key: impl Fn(&UsageSample) -> K,
) -> BTreeMap<(K, String), Summary> {
    let mut per_instant: BTreeMap<(K, String, i64), f64> = BTreeMap::new();
    for sample in samples {
        *per_instant
            .entry((key(sample), sample.metric.clone(), sample.at_ns))
            .or_default() += sample.value;
    }
    let mut out: BTreeMap<(K, String), Summary> = BTreeMap::new();
    for ((key, metric, _), value) in per_instant {
        let entry = out.entry((key, metric)).or_default();
        entry.samples += 1;
        entry.average += value;
        entry.peak = if entry.samples == 1 {
            value
        } else {
            entry.peak.max(value)
        };
        entry.last = value;
    }
    for summary in out.values_mut() {
        if summary.samples > 0 {
            summary.average /= summary.samples as f64;
        }
    }
    out
}

const ALLOCATION: [(&str, &str); 3] = [
    ("vcpus", "vCPU"),
    ("memory_gib", "内存 GiB"),
    ("storage_gib", "存储 GiB"),
];
const UTILIZATION: [(&str, &str); 5] = [
    ("cpu_utilization", "CPU 利用率 %"),
    ("memory_utilization", "内存利用率 %"),
    ("storage_utilization", "存储利用率 %"),
    ("bandwidth_utilization", "带宽利用率 %"),
    ("bandwidth_mbps", "带宽 Mbps"),
];

fn figure(value: f64) -> String {
    if value.fract().abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

impl App {
    /// The monthly usage report of a tenant, a provider or the platform.
    pub async fn usage_report(
        &self,
        context: &Context,
        scope: Scope,
        month: Month,
    ) -> Result<Report, AppError> {
        let reader = result_scope(context);
        let relation = match (reader, scope) {
            (ResultScope::All, Scope::Platform | Scope::Provider(_) | Scope::Tenant(_)) => {
                Relation::Any
            }
            (ResultScope::Tenant(own), Scope::Tenant(id)) if own == id => Relation::OwnTenant,
            (ResultScope::Provider(own), Scope::Provider(id)) if own == id => Relation::OwnProvider,
            _ => Relation::Hidden,
        };
        let question = self.question(
            context,
            Action::ProviderRead,
            Target::family("provider"),
            relation,
        );
        let refusal = self.record(context, "provider.usage.report", AuditOutcome::Denied);
        self.authorize(context, question, refusal).await?;
        let (store_scope, scope_name) = match scope {
            Scope::Platform => (ResultScope::All, "全平台 Platform".to_owned()),
            Scope::Provider(id) => (
                ResultScope::Provider(id),
                format!("云服务商 {}", self.name_of(Kind::Provider, id).await),
            ),
            Scope::Tenant(id) => (
                ResultScope::Tenant(id),
                format!("云租户 {}", self.name_of(Kind::Tenant, id).await),
            ),
            Scope::System(_) => {
                return Err(AppError::invalid(
                    "scope",
                    "unsupported",
                    "usage is per tenant, provider or platform",
                ))
            }
        };
        let (from, to) = month.bounds();
        let samples = self
            .store
            .usage_samples(store_scope, None, from, to)
            .await?;
        let mut names: BTreeMap<(Kind, i64), String> = BTreeMap::new();
        for sample in &samples {
            for (kind, id) in [
                (Kind::Provider, Some(sample.provider_id)),
                (Kind::Tenant, sample.tenant_id),
            ] {
                if let Some(id) = id {
                    if let std::collections::btree_map::Entry::Vacant(entry) =
                        names.entry((kind, id))
                    {
                        entry.insert(self.name_of(kind, id).await);
                    }
                }
            }
        }
        let name = |kind: Kind, id: Option<i64>| match id {
            Some(id) => names
                .get(&(kind, id))
                .cloned()
                .unwrap_or_else(|| format!("#{id}")),
            None => "（未归属项目）".to_owned(),
        };
        // Rows per provider and tenant: a tenant's report shows it per provider, a
        // provider's per tenant, the platform's both.
        let by_owner = summarize(&samples, |sample| (sample.provider_id, sample.tenant_id));
        let mut owners: Vec<(i64, Option<i64>)> =
            by_owner.keys().map(|(owner, _)| *owner).collect();
        owners.dedup();
        let table = |title: &str, metrics: &[(&str, &str)]| -> Table {
            let mut headers = vec!["云服务商".to_owned(), "云租户".to_owned()];
            for (_, label) in metrics {
                headers.push(format!("{label} 平均"));
                headers.push(format!("{label} 峰值"));
            }
            let rows = owners
                .iter()
                .filter(|owner| {
                    metrics
                        .iter()
                        .any(|(metric, _)| by_owner.contains_key(&(**owner, (*metric).to_owned())))
                })
                .map(|(provider, tenant)| {
                    let mut row = vec![
                        name(Kind::Provider, Some(*provider)),
                        name(Kind::Tenant, *tenant),
                    ];
                    for (metric, _) in metrics {
                        match by_owner.get(&((*provider, *tenant), (*metric).to_owned())) {
                            Some(summary) => {
                                row.push(figure(summary.average));
                                row.push(figure(summary.peak));
                            }
                            None => {
                                row.push("—".into());
                                row.push("—".into());
                            }
                        }
                    }
                    row
                })
                .collect();
            let mut widths = vec![2.0, 2.4];
            widths.extend(std::iter::repeat_n(0.9, metrics.len() * 2));
            Table {
                title: title.to_owned(),
                headers,
                rows,
                widths,
            }
        };
        let allocation = table("资源分配 Allocation", &ALLOCATION);
        let utilization = table("资源利用率 Utilization", &UTILIZATION);
        // Day by day for the whole scope.
        let daily_of = |metric: &str, last: bool| -> BTreeMap<NaiveDate, f64> {
            daily(&samples, metric, last).into_iter().collect()
        };
        let columns = [
            daily_of("vcpus", true),
            daily_of("memory_gib", true),
            daily_of("storage_gib", true),
            daily_of("cpu_utilization", false),
        ];
        let mut days: Vec<NaiveDate> = columns
            .iter()
            .flat_map(|column| column.keys().copied())
            .collect();
        days.sort_unstable();
        days.dedup();
        let daily_table = Table {
            title: "每日 Daily".into(),
            headers: vec![
                "日期".into(),
                "vCPU".into(),
                "内存 GiB".into(),
                "存储 GiB".into(),
                "CPU 利用率 % 平均".into(),
            ],
            rows: days
                .iter()
                .map(|day| {
                    let mut row = vec![day.to_string()];
                    for column in &columns {
                        row.push(column.get(day).map_or("—".into(), |value| figure(*value)));
                    }
                    row
                })
                .collect(),
            widths: vec![1.6, 1.2, 1.2, 1.2, 1.6],
        };
        let mut record = self.record(context, "provider.usage.report", AuditOutcome::Succeeded);
        record.object_kind = Some("usage_report".into());
        if let Scope::Tenant(id) = scope {
            record.tenant_id = Some(id);
        }
        record.detail = Some(
            serde_json::json!({"scope": format!("{}:{}", scope.kind(), scope.id()), "month": month.label()}),
        );
        self.append_audit_grouped(record).await?;
        Ok(Report {
            title: format!("资源使用情况月报 · {scope_name} · {}", month.label()),
            subtitle: "Monthly resource usage report (guide 7.1.5, 8.3.2)".into(),
            facts: vec![
                ("范围 Scope".into(), scope_name),
                ("月份 Month".into(), format!("{}（北京时间 Beijing time）", month.label())),
                ("样本数 Samples".into(), samples.len().to_string()),
                (
                    "来源 Sources".into(),
                    "分配量：每次资源同步时按清单统计（至多每小时一次）；利用率：云服务商推送或 Prometheus 采集".into(),
                ),
            ],
            tables: vec![allocation, utilization, daily_table],
        })
    }

    /// A tenant's average utilization on a provider over the last 30 days, per metric:
    /// for the provider's periodic report.
    pub(crate) async fn recent_utilization(
        &self,
        provider: i64,
    ) -> Result<BTreeMap<(Option<i64>, String), Summary>, AppError> {
        let now = self.now_ns();
        let samples = self
            .store
            .usage_samples(
                ResultScope::Provider(provider),
                None,
                now - 30 * NS_PER_DAY,
                now + 1,
            )
            .await?;
        Ok(summarize(&samples, |sample| sample.tenant_id))
    }
}

/// One metric per Beijing calendar day: the day's last value (allocation) or its
/// average (utilization), oldest first.
pub fn daily(samples: &[UsageSample], metric: &str, last: bool) -> Vec<(NaiveDate, f64)> {
    let of_metric: Vec<UsageSample> = samples
        .iter()
        .filter(|sample| sample.metric == metric)
        .cloned()
        .collect();
    summarize(&of_metric, |sample| {
        crate::compliance::beijing_date(sample.at_ns)
    })
    .into_iter()
    .map(|((day, _), summary)| (day, if last { summary.last } else { summary.average }))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(
        tenant: Option<i64>,
        zone: Option<i64>,
        metric: &str,
        at_ns: i64,
        value: f64,
    ) -> UsageSample {
        UsageSample {
            provider_id: 1,
            tenant_id: tenant,
            zone_id: zone,
            metric: metric.into(),
            at_ns,
            value,
        }
    }

    #[test]
    fn zones_add_up_per_instant_then_average_and_peak_over_time() {
        let samples = [
            sample(Some(7), Some(1), "vcpus", 10, 8.0),
            sample(Some(7), Some(2), "vcpus", 10, 4.0),
            sample(Some(7), Some(1), "vcpus", 20, 16.0),
            sample(Some(7), None, "cpu_utilization", 10, 30.0),
            sample(Some(7), None, "cpu_utilization", 20, 50.0),
            sample(Some(8), Some(1), "vcpus", 10, 2.0),
        ];
        let summary = summarize(&samples, |sample| sample.tenant_id);
        let vcpus = summary[&(Some(7), "vcpus".to_owned())];
        assert_eq!(
            (vcpus.samples, vcpus.average, vcpus.peak, vcpus.last),
            (2, 14.0, 16.0, 16.0)
        );
        let cpu = summary[&(Some(7), "cpu_utilization".to_owned())];
        assert_eq!((cpu.average, cpu.peak), (40.0, 50.0));
        assert_eq!(summary[&(Some(8), "vcpus".to_owned())].peak, 2.0);
    }

    #[test]
    fn months_are_beijing_calendar_months() {
        let month = Month::parse("2026-12").expect("month");
        let (from, to) = month.bounds();
        // 2026-12-01 00:00 +08:00 is 2026-11-30 16:00 UTC.
        assert_eq!(
            chrono::DateTime::from_timestamp_nanos(from).to_rfc3339(),
            "2026-11-30T16:00:00+00:00"
        );
        assert_eq!(
            chrono::DateTime::from_timestamp_nanos(to).to_rfc3339(),
            "2026-12-31T16:00:00+00:00"
        );
        assert!(Month::parse("2026-13").is_none());
        assert!(Month::parse("nonsense").is_none());
    }
}
