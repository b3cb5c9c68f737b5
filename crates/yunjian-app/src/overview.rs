//! The overview a supervisor opens first: counts per provider, zone and tenant, and
//! information systems by MLPS level, all within the reader's scope.
//!
//! It aggregates whole tables, so each scope's overview is kept for a few seconds: a
//! dashboard may lag that long, and under load it answered in 0.5 s at p99 without the
//! cache (docs/benchmarks.md). Every change this instance commits clears the cache;
//! changes made through other instances show within the lifetime.

use std::collections::HashMap;
use std::sync::Mutex;

use yunjian_core::ids::{ProviderId, TenantId};
use yunjian_core::role::Binding;

use yunjian_core::access::{read_scope, ReadScope};
use yunjian_core::schema::Kind;
use yunjian_core::value::Value;

use crate::error::AppError;
use crate::{App, Context};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverviewCount {
    /// The grouped value: an id for references, the value itself otherwise.
    pub key: String,
    pub label: String,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overview {
    /// Total objects per kind the reader can see (kinds it cannot see are left out).
    pub totals: Vec<(Kind, i64)>,
    pub vms_by_provider: Vec<OverviewCount>,
    pub vpcs_by_zone: Vec<OverviewCount>,
    pub vms_by_tenant: Vec<OverviewCount>,
    pub systems_by_mlps_level: Vec<OverviewCount>,
}

const TOTALS: [Kind; 10] = [
    Kind::Tenant,
    Kind::Provider,
    Kind::Datacenter,
    Kind::Zone,
    Kind::Vpc,
    Kind::InformationSystem,
    Kind::Host,
    Kind::Vm,
    Kind::Volume,
    Kind::SecurityGroupRule,
];

/// How long an overview is served from the cache.
pub const OVERVIEW_LIFETIME_NS: i64 = 5_000_000_000;

/// The scope an overview was computed for: every principal with the same key sees the
/// same rows (platform roles all rows; a tenant administrator its tenant's; an operator
/// its provider's).
type ScopeKey = (Binding, Option<TenantId>, Option<ProviderId>);

#[derive(Default)]
pub(crate) struct OverviewCache {
    entries: Mutex<HashMap<ScopeKey, (i64, Overview)>>,
    /// One recomputation at a time: when an entry expires under load, the first request
    /// recomputes and the others wait for its result instead of all aggregating at once.
    refresh: tokio::sync::Mutex<()>,
}

impl OverviewCache {
    fn get(&self, key: &ScopeKey, now_ns: i64) -> Option<Overview> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| now_ns.saturating_sub(*at) < OVERVIEW_LIFETIME_NS && now_ns >= *at)
            .map(|(_, overview)| overview.clone())
    }

    fn put(&self, key: ScopeKey, now_ns: i64, overview: Overview) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.insert(key, (now_ns, overview));
    }

    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

impl App {
    pub async fn overview(&self, context: &Context) -> Result<Overview, AppError> {
        let question = self.question(
            context,
            yunjian_policy::Action::OverviewRead,
            yunjian_policy::Target::family("overview"),
            crate::authz::unit_relation(&context.principal),
        );
        let record = self.record(
            context,
            "overview.read",
            yunjian_store::AuditOutcome::Denied,
        );
        self.authorize(context, question, record).await?;
        let principal = &context.principal;
        let key = (
            principal.role.binding(),
            principal.tenant,
            principal.provider,
        );
        let now = self.now_ns();
        if let Some(overview) = self.overviews.get(&key, now) {
            return Ok(overview);
        }
        let _refreshing = self.overviews.refresh.lock().await;
        if let Some(overview) = self.overviews.get(&key, now) {
            return Ok(overview);
        }
        let overview = self.compute_overview(context).await?;
        self.overviews.put(key, now, overview.clone());
        Ok(overview)
    }

    async fn compute_overview(&self, context: &Context) -> Result<Overview, AppError> {
        let mut totals = Vec::new();
        for kind in TOTALS {
            let scope = read_scope(&context.principal, kind);
            if scope != ReadScope::Nothing {
                totals.push((kind, self.store.count(kind, scope).await?));
            }
        }
        Ok(Overview {
            totals,
            vms_by_provider: self
                .grouped(
                    context,
                    Kind::Vm,
                    "provider_id",
                    Some(Kind::Provider),
                    usize::MAX,
                )
                .await?,
            vpcs_by_zone: self
                .grouped(context, Kind::Vpc, "zone_id", Some(Kind::Zone), usize::MAX)
                .await?,
            vms_by_tenant: self
                .grouped(context, Kind::Vm, "tenant_id", Some(Kind::Tenant), 10)
                .await?,
            systems_by_mlps_level: {
                let mut levels = self
                    .grouped(
                        context,
                        Kind::InformationSystem,
                        "mlps_level",
                        None,
                        usize::MAX,
                    )
                    .await?;
                levels.sort_by(|a, b| a.key.cmp(&b.key));
                levels
            },
        })
    }

    async fn grouped(
        &self,
        context: &Context,
        kind: Kind,
        field: &'static str,
        target: Option<Kind>,
        limit: usize,
    ) -> Result<Vec<OverviewCount>, AppError> {
        let scope = read_scope(&context.principal, kind);
        if scope == ReadScope::Nothing {
            return Ok(Vec::new());
        }
        let mut counts = self.store.count_by(kind, field, scope).await?;
        counts.truncate(limit);
        let ids: Vec<i64> = counts
            .iter()
            .filter_map(|(value, _)| value.as_int())
            .collect();
        let names: Vec<(i64, String)> = match target {
            Some(target) => self
                .store
                .names(&[(target, ids, read_scope(&context.principal, target))])
                .await?
                .into_iter()
                .map(|(_, id, name)| (id, name))
                .collect(),
            None => Vec::new(),
        };
        Ok(counts
            .into_iter()
            .map(|(value, count)| {
                let key = match &value {
                    Value::Int(id) => id.to_string(),
                    Value::Text(text) => text.clone(),
                    _ => "-".to_owned(),
                };
                let label = value
                    .as_int()
                    .and_then(|id| names.iter().find(|(candidate, _)| *candidate == id))
                    .map_or_else(|| key.clone(), |(_, name)| name.clone());
                OverviewCount { key, label, count }
            })
            .collect())
    }
}
