//! The overview a supervisor opens first: counts per provider, zone and tenant, and
//! information systems by MLPS level, all within the reader's scope.

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

impl App {
    pub async fn overview(&self, context: &Context) -> Result<Overview, AppError> {
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
