//! The built-in controls: checks in Rust over the inventory and yunjian's own records, one
//! per automatable requirement whose data yunjian holds. Each says, per scope it has
//! something to look at, PASS or FAIL with the resources, values and parameters that
//! decided it; scopes it has nothing to look at are left to attestations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Months, NaiveDate};
use yunjian_core::role::Role;

use crate::catalog::Catalog;
use crate::inventory::{Facts, Index};
use crate::parameters::ParameterValues;
use crate::result::{Evidence, Outcome, Scope, Verdict, EVIDENCE_LIMIT};

/// What every control reads.
pub struct Context<'a> {
    pub catalog: &'a Catalog,
    pub index: &'a Index<'a>,
    pub facts: &'a Facts,
    pub parameters: &'a ParameterValues,
}

/// A control's description: the catalog of controls is data the console and reports show.
#[derive(Clone, Debug)]
pub struct ControlInfo {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    pub clauses: Vec<String>,
    pub parameters: Vec<String>,
    /// `builtin` or `custom:VERSION`.
    pub origin: String,
}

pub struct Builtin {
    pub id: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    pub clauses: &'static [&'static str],
    pub parameters: &'static [&'static str],
    pub run: fn(&Context<'_>, &mut Emitter),
}

impl Builtin {
    pub fn info(&self) -> ControlInfo {
        ControlInfo {
            id: self.id.to_owned(),
            title_zh: self.title_zh.to_owned(),
            title_en: self.title_en.to_owned(),
            clauses: self
                .clauses
                .iter()
                .map(|clause| clause.to_string())
                .collect(),
            parameters: self
                .parameters
                .iter()
                .map(|parameter| parameter.to_string())
                .collect(),
            origin: "builtin".to_owned(),
        }
    }
}

/// Collects one control's outcomes.
pub struct Emitter {
    control: String,
    pub outcomes: Vec<Outcome>,
}

impl Emitter {
    pub fn new(control: &str) -> Emitter {
        Emitter {
            control: control.to_owned(),
            outcomes: Vec::new(),
        }
    }

    pub fn emit(
        &mut self,
        scope: Scope,
        verdict: Verdict,
        message_zh: String,
        message_en: String,
        mut evidence: Vec<Evidence>,
        examined: usize,
    ) {
        evidence.sort_by_key(|item| !item.failing);
        let total = evidence.len();
        evidence.truncate(EVIDENCE_LIMIT);
        self.outcomes.push(Outcome {
            control: self.control.clone(),
            scope,
            verdict,
            message_zh,
            message_en,
            evidence,
            evidence_total: total,
            examined,
        });
    }

    /// Emits one outcome per scope of `tallies`: FAIL when anything failed.
    fn tallies(&mut self, tallies: BTreeMap<Scope, Tally>, what_zh: &str, what_en: &str) {
        for (scope, tally) in tallies {
            let failing = tally.failing;
            let verdict = if failing > 0 {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
            let (zh, en) = if failing > 0 {
                (
                    format!("{failing}/{} 项{what_zh}不符合要求", tally.examined),
                    format!("{failing} of {} {what_en} fail", tally.examined),
                )
            } else {
                (
                    format!("{} 项{what_zh}均符合要求", tally.examined),
                    format!("all {} {what_en} pass", tally.examined),
                )
            };
            self.emit(scope, verdict, zh, en, tally.evidence, tally.examined);
        }
    }
}

/// Counts per scope, keeping failing evidence (bounded) and a little passing context.
#[derive(Default)]
struct Tally {
    examined: usize,
    failing: usize,
    evidence: Vec<Evidence>,
}

impl Tally {
    fn check(&mut self, ok: bool, evidence: impl FnOnce() -> Evidence) {
        self.examined += 1;
        if !ok {
            self.failing += 1;
        }
        // Keep every failing item up to the limit, and a few passing ones as context.
        let keep = if ok {
            self.evidence.len() < 5
        } else {
            self.evidence.iter().filter(|item| item.failing).count() < EVIDENCE_LIMIT
        };
        if keep {
            let mut item = evidence();
            item.failing = !ok;
            self.evidence.push(item);
        }
    }
}

fn item(kind: &str, id: i64, name: &str, field: &str, value: String, expected: String) -> Evidence {
    Evidence {
        kind: kind.to_owned(),
        id,
        name: name.to_owned(),
        field: field.to_owned(),
        value,
        expected,
        failing: false,
    }
}

/// Every built-in control, in catalog order.
pub fn builtins() -> &'static [Builtin] {
    &BUILTINS
}

static BUILTINS: [Builtin; 22] = [
    Builtin {
        id: "infra.chongqing",
        title_zh: "云计算基础设施位于重庆市行政区域内（异地备份中心除外）",
        title_en: "Infrastructure inside Chongqing (remote backup sites exempt)",
        clauses: &["7.2.1.2"],
        parameters: &[],
        run: infra_chongqing,
    },
    Builtin {
        id: "network.carriers",
        title_zh: "数据中心接入两家以上运营商",
        title_en: "Datacentres connected to at least two carriers",
        clauses: &["7.2.2.2"],
        parameters: &["carriers_min"],
        run: network_carriers,
    },
    Builtin {
        id: "compute.internet_hosts",
        title_zh: "互联网区VPC的计算资源在物理上与其他VPC分开部署",
        title_en: "Internet-zone VPC workloads on hosts that run nothing else",
        clauses: &["7.1.2"],
        parameters: &[],
        run: compute_internet_hosts,
    },
    Builtin {
        id: "platform.assessment",
        title_zh: "云平台通过等保三级测评且在有效期内",
        title_en: "Platforms assessed at MLPS level 3, assessment unexpired",
        clauses: &["7.1.1", "7.1.11", "5.4.1"],
        parameters: &[],
        run: platform_assessment,
    },
    Builtin {
        id: "system.level_within_platform",
        title_zh: "信息系统等保等级不高于所在云平台",
        title_en: "Systems not above their platform's protection level",
        clauses: &["7.5.1.2"],
        parameters: &[],
        run: system_level_within_platform,
    },
    Builtin {
        id: "system.non_classified",
        title_zh: "政务云只承载非涉密信息系统",
        title_en: "Only non-classified systems on the cloud",
        clauses: &["5.1.1", "7.5.1.1"],
        parameters: &[],
        run: system_non_classified,
    },
    Builtin {
        id: "storage.encryption",
        title_zh: "三级及敏感系统的云硬盘加密存储",
        title_en: "Volumes of level-3 and sensitive systems encrypted",
        clauses: &["7.5.9.3"],
        parameters: &[],
        run: storage_encryption,
    },
    Builtin {
        id: "backup.same_city_distance",
        title_zh: "同城备份两数据中心距离在限值以内",
        title_en: "Same-city backup within the distance limit",
        clauses: &["7.5.6.1"],
        parameters: &["same_city_dr_max_km"],
        run: backup_same_city_distance,
    },
    Builtin {
        id: "backup.remote_distance",
        title_zh: "异地备份与主用数据中心距离超过限值",
        title_en: "Remote backup beyond the distance limit",
        clauses: &["7.5.6.2"],
        parameters: &["remote_backup_min_km"],
        run: backup_remote_distance,
    },
    Builtin {
        id: "backup.restore_test",
        title_zh: "备份按周期开展恢复测试",
        title_en: "Backups restore-tested within the interval",
        clauses: &["7.5.6.3"],
        parameters: &["restore_test_interval_months"],
        run: backup_restore_test,
    },
    Builtin {
        id: "backup.locations",
        title_zh: "备份存储位置可查询",
        title_en: "Backups with known locations",
        clauses: &["7.2.5.4"],
        parameters: &[],
        run: backup_locations,
    },
    Builtin {
        id: "images.digests",
        title_zh: "镜像登记完整性摘要，云主机使用已登记镜像",
        title_en: "Image digests registered; VMs run registered images",
        clauses: &["7.5.7.1", "7.5.7.2"],
        parameters: &[],
        run: images_digests,
    },
    Builtin {
        id: "paas.support",
        title_zh: "数据库与中间件版本处于厂商支持期内",
        title_en: "Database and middleware releases still supported",
        clauses: &["7.3.3.1", "7.3.4.1"],
        parameters: &[],
        run: paas_support,
    },
    Builtin {
        id: "network.security_group_exposure",
        title_zh: "安全组不向任意地址开放管理端口，无任意到任意放行规则",
        title_en: "No management ports open to the world, no any-to-any rules",
        clauses: &["7.2.3.1", "7.2.4.2"],
        parameters: &[],
        run: network_security_group_exposure,
    },
    Builtin {
        id: "network.isolation",
        title_zh: "租户间、区域间隔离经全量流量验证，运维访问不越出本租户VPC",
        title_en: "Isolation between tenants and zones proved over all flows; management stays in the tenant's VPCs",
        clauses: &["5.2.2", "7.2.2.3", "7.5.9.5", "7.5.12"],
        parameters: &[],
        run: network_isolation,
    },
    Builtin {
        id: "network.container_segmentation",
        title_zh: "容器环境实现微隔离：不同租户的容器互不可达，各命名空间均有网络策略隔离",
        title_en: "Container micro-segmentation: no two tenants' pods connect, every namespace isolated by network policies",
        clauses: &["5.4.3"],
        parameters: &[],
        run: container_segmentation,
    },
    Builtin {
        id: "settings.log_retention",
        title_zh: "网络日志留存期不少于6个月",
        title_en: "Logs kept at least six months",
        clauses: &["7.1.4", "7.5.10.2"],
        parameters: &["log_retention_months"],
        run: settings_log_retention,
    },
    Builtin {
        id: "settings.password_policy",
        title_zh: "口令长度与更换周期符合要求",
        title_en: "Password length and rotation",
        clauses: &["7.5.3.2", "8.1.4"],
        parameters: &["password_min_length", "password_rotation_months"],
        run: settings_password_policy,
    },
    Builtin {
        id: "settings.lockout",
        title_zh: "启用登录失败处理",
        title_en: "Failed-login handling enabled",
        clauses: &["7.5.2.2"],
        parameters: &[],
        run: settings_lockout,
    },
    Builtin {
        id: "identity.mfa",
        title_zh: "管理员均已启用多因素认证",
        title_en: "Every administrator has a second factor",
        clauses: &["7.2.5.2", "7.5.3.3", "8.1.4"],
        parameters: &[],
        run: identity_mfa,
    },
    Builtin {
        id: "identity.separation",
        title_zh: "系统管理员、安全管理员、安全审计员三员分立",
        title_en: "Three administrator roles held by different people",
        clauses: &["7.5.3.6", "8.3.10"],
        parameters: &[],
        run: identity_separation,
    },
    Builtin {
        id: "identity.temporary_privileges",
        title_zh: "临时特权有记录并在期限内撤销",
        title_en: "Temporary privileges recorded and ended in time",
        clauses: &["7.5.3.5"],
        parameters: &["temporary_privilege_max_months"],
        run: identity_temporary_privileges,
    },
];

/// Provider write attempts on tenants' objects without the tenant's authorization. Not
/// in `BUILTINS` because it reads the audit ledger: listed separately so the app knows to
/// supply `Facts::refusals`. Kept in the same table for the catalog (see `all_builtins`).
pub static UNAUTHORISED_OPERATIONS: Builtin = Builtin {
    id: "operations.tenant_authorization",
    title_zh: "云服务商操作云租户虚拟机或数据前获得授权",
    title_en: "Provider operations on tenants' objects only with authorization",
    clauses: &["7.2.5.5"],
    parameters: &[],
    run: operations_tenant_authorization,
};

/// All built-in controls, the ledger-reading one included.
pub fn all_builtins() -> impl Iterator<Item = &'static Builtin> {
    BUILTINS
        .iter()
        .chain(std::iter::once(&UNAUTHORISED_OPERATIONS))
}

// ---- the controls ----

/// The municipality's extent: 28.16–32.21 N, 105.28–110.20 E. A bounding box, so it is
/// combined with the address: a point inside the box whose address does not say 重庆 is
/// not accepted either (the box also covers parts of Sichuan, Guizhou, Hubei, Shaanxi
/// and Hunan).
fn inside_chongqing(latitude: f64, longitude: f64, address: &str) -> bool {
    (28.16..=32.21).contains(&latitude)
        && (105.28..=110.20).contains(&longitude)
        && address.contains("重庆")
}

fn infra_chongqing(context: &Context<'_>, out: &mut Emitter) {
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for datacenter in &context.index.inventory.datacenters {
        let inside = inside_chongqing(
            datacenter.latitude,
            datacenter.longitude,
            &datacenter.address,
        );
        // 7.5.6.2 needs a remote site > 200 km away: one outside Chongqing is exempt.
        let ok = inside || datacenter.remote_backup_site;
        tallies
            .entry(Scope::Provider(datacenter.provider_id))
            .or_default()
            .check(ok, || {
                item(
                    "datacenter",
                    datacenter.id,
                    &datacenter.name,
                    "location",
                    format!(
                        "{:.4},{:.4} {} {}",
                        datacenter.latitude,
                        datacenter.longitude,
                        datacenter.address,
                        if datacenter.remote_backup_site && !inside {
                            "(异地备份中心，豁免)"
                        } else {
                            ""
                        }
                    ),
                    "重庆市行政区域内".to_owned(),
                )
            });
    }
    out.tallies(tallies, "数据中心位置", "datacentre locations");
}

fn network_carriers(context: &Context<'_>, out: &mut Emitter) {
    let minimum = context.parameters.get("carriers_min");
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for datacenter in &context.index.inventory.datacenters {
        let ok = datacenter.carriers.len() as f64 >= minimum;
        tallies
            .entry(Scope::Provider(datacenter.provider_id))
            .or_default()
            .check(ok, || {
                item(
                    "datacenter",
                    datacenter.id,
                    &datacenter.name,
                    "carriers",
                    datacenter.carriers.join(","),
                    format!("≥ {minimum} carriers"),
                )
            });
    }
    out.tallies(tallies, "数据中心运营商接入", "datacentres' carrier links");
}

fn compute_internet_hosts(context: &Context<'_>, out: &mut Emitter) {
    let index = context.index;
    // Per host: the zones of the VPCs its VMs are in.
    #[derive(Default)]
    struct HostLoad {
        internet_vms: Vec<i64>,
        other_vms: Vec<i64>,
    }
    let mut load: HashMap<i64, HostLoad> = HashMap::new();
    for vm in &index.inventory.vms {
        let Some(host) = vm.host_id else { continue };
        let entry = load.entry(host).or_default();
        if index.zone_kind_of_vpc(vm.vpc_id) == Some("internet") {
            entry.internet_vms.push(vm.id);
        } else {
            entry.other_vms.push(vm.id);
        }
    }
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for host in &index.inventory.hosts {
        let Some(hosted) = load.get(&host.id) else {
            continue;
        };
        if hosted.internet_vms.is_empty() {
            continue;
        }
        let host_zone = index
            .zone
            .get(&host.zone_id)
            .map_or("", |zone| zone.zone_kind.as_str());
        let ok = hosted.other_vms.is_empty() && host_zone == "internet";
        tallies
            .entry(Scope::Provider(host.provider_id))
            .or_default()
            .check(ok, || {
                let mixed: Vec<String> = hosted
                    .other_vms
                    .iter()
                    .take(5)
                    .map(|vm| format!("vm:{vm}"))
                    .collect();
                item(
                    "host",
                    host.id,
                    &host.name,
                    "workloads",
                    format!(
                        "host zone {host_zone}; {} internet-zone VMs, {} others {}",
                        hosted.internet_vms.len(),
                        hosted.other_vms.len(),
                        mixed.join(",")
                    ),
                    "internet-zone host running only internet-zone VMs".to_owned(),
                )
            });
    }
    out.tallies(
        tallies,
        "承载互联网区业务的宿主机",
        "hosts running internet-zone VMs",
    );
}

fn platform_assessment(context: &Context<'_>, out: &mut Emitter) {
    let today = context.facts.today;
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for platform in &context.index.inventory.platforms {
        let current = platform
            .assessment_expiry
            .is_some_and(|expiry| expiry >= today);
        let ok = platform.mlps_level >= 3 && current;
        tallies
            .entry(Scope::Provider(platform.provider_id))
            .or_default()
            .check(ok, || {
                item(
                    "platform",
                    platform.id,
                    &platform.name,
                    "mlps_level, assessment_expiry",
                    format!(
                        "level {}, valid until {}",
                        platform.mlps_level,
                        platform
                            .assessment_expiry
                            .map_or("—".to_owned(), |date| date.to_string())
                    ),
                    format!("level ≥ 3, valid on {today}"),
                )
            });
    }
    out.tallies(tallies, "云平台等保测评", "platform assessments");
}

fn system_level_within_platform(context: &Context<'_>, out: &mut Emitter) {
    let index = context.index;
    let mut levels: HashMap<i64, i64> = HashMap::new();
    for platform in &index.inventory.platforms {
        let level = levels.entry(platform.provider_id).or_insert(0);
        *level = (*level).max(platform.mlps_level);
    }
    for system in &index.inventory.systems {
        let mut providers: Vec<i64> = system
            .vpc_ids
            .iter()
            .filter_map(|vpc| index.vpc.get(vpc).map(|vpc| vpc.provider_id))
            .collect();
        providers.sort_unstable();
        providers.dedup();
        if providers.is_empty() {
            out.emit(
                Scope::System(system.id),
                Verdict::Undetermined,
                "信息系统未关联VPC，无法确定所在云平台".to_owned(),
                "the system names no VPC, so its platform is unknown".to_owned(),
                Vec::new(),
                0,
            );
            continue;
        }
        let mut evidence = Vec::new();
        let mut ok = true;
        for provider in &providers {
            let platform_level = levels.get(provider).copied().unwrap_or(0);
            let fits = system.mlps_level <= platform_level;
            ok &= fits;
            let mut entry = item(
                "information_system",
                system.id,
                &system.name,
                "mlps_level",
                format!(
                    "level {} on provider {provider} (platform level {platform_level})",
                    system.mlps_level
                ),
                format!("≤ {platform_level}"),
            );
            entry.failing = !fits;
            evidence.push(entry);
        }
        let (zh, en) = if ok {
            (
                "系统等级不高于云平台等级",
                "the system's level is within its platform's",
            )
        } else {
            (
                "系统等级高于所在云平台等级",
                "the system's level is above its platform's",
            )
        };
        out.emit(
            Scope::System(system.id),
            if ok { Verdict::Pass } else { Verdict::Fail },
            zh.to_owned(),
            en.to_owned(),
            evidence,
            1,
        );
    }
}

fn system_non_classified(context: &Context<'_>, out: &mut Emitter) {
    for system in &context.index.inventory.systems {
        let ok = system.classification == "non_classified";
        out.emit(
            Scope::System(system.id),
            if ok { Verdict::Pass } else { Verdict::Fail },
            if ok {
                "非涉密系统"
            } else {
                "涉密系统不得部署在政务云"
            }
            .to_owned(),
            if ok {
                "non-classified"
            } else {
                "a classified system must not run on the cloud"
            }
            .to_owned(),
            vec![Evidence {
                failing: !ok,
                ..item(
                    "information_system",
                    system.id,
                    &system.name,
                    "classification",
                    system.classification.clone(),
                    "non_classified".to_owned(),
                )
            }],
            1,
        );
    }
}

/// Systems whose data the tenant must keep encrypted: MLPS level 3 or above, or marked
/// sensitive (7.5.9.3 "按云租户的要求，对重要信息系统和数据…加密").
fn requires_encryption(system: &crate::inventory::System) -> bool {
    system.mlps_level >= 3 || system.sensitivity == "sensitive"
}

fn storage_encryption(context: &Context<'_>, out: &mut Emitter) {
    let index = context.index;
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for volume in &index.inventory.volumes {
        let Some(system) = volume
            .vm_id
            .and_then(|vm| index.vm.get(&vm))
            .and_then(|vm| vm.system_id)
            .and_then(|system| index.system.get(&system))
        else {
            continue;
        };
        if !requires_encryption(system) {
            continue;
        }
        tallies
            .entry(Scope::System(system.id))
            .or_default()
            .check(volume.encrypted, || {
                item(
                    "volume",
                    volume.id,
                    &volume.name,
                    "encrypted",
                    volume.encrypted.to_string(),
                    "true".to_owned(),
                )
            });
    }
    out.tallies(tallies, "云硬盘加密", "volumes' encryption");
}

/// The datacentre where most of a system's VMs run: its main site.
fn main_datacenters(index: &Index<'_>) -> HashMap<i64, i64> {
    let mut counts: HashMap<(i64, i64), usize> = HashMap::new();
    for vm in &index.inventory.vms {
        let (Some(system), Some(host)) = (vm.system_id, vm.host_id) else {
            continue;
        };
        if let Some(host) = index.host.get(&host) {
            *counts.entry((system, host.datacenter_id)).or_default() += 1;
        }
    }
    let mut best: HashMap<i64, (usize, i64)> = HashMap::new();
    for ((system, datacenter), count) in counts {
        let entry = best.entry(system).or_insert((0, i64::MAX));
        if count > entry.0 || (count == entry.0 && datacenter < entry.1) {
            *entry = (count, datacenter);
        }
    }
    best.into_iter()
        .map(|(system, (_, datacenter))| (system, datacenter))
        .collect()
}

/// Distance between two datacentres in km on the WGS-84 ellipsoid, and the uncertainty
/// of the coordinates: a GCJ-02 point (copied from a Chinese web map) is 360–510 m off.
fn distance_km(a: &crate::inventory::Datacenter, b: &crate::inventory::Datacenter) -> (f64, f64) {
    let metres = crate::geo::geodesic_distance_m(a.latitude, a.longitude, b.latitude, b.longitude);
    let uncertainty = [a, b]
        .iter()
        .map(|site| if site.datum == "gcj02" { 0.51 } else { 0.0 })
        .sum::<f64>();
    (metres / 1000.0, uncertainty)
}

fn backup_distance(context: &Context<'_>, out: &mut Emitter, backup_kind: &str, parameter: &str) {
    let index = context.index;
    let limit = context.parameters.get(parameter);
    let bound = context
        .catalog
        .parameter(parameter)
        .map_or(crate::catalog::Bound::AtMost, |known| known.bound);
    let mains = main_datacenters(index);
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for backup in &index.inventory.backups {
        if backup.backup_kind != backup_kind {
            continue;
        }
        let Some(system) = backup.system_id else {
            continue;
        };
        let (Some(main), Some(site)) = (
            mains.get(&system).and_then(|id| index.datacenter.get(id)),
            index.datacenter.get(&backup.datacenter_id),
        ) else {
            continue;
        };
        let (km, uncertainty) = distance_km(main, site);
        // Inside the uncertainty band the verdict cannot be trusted either way: fail
        // safe (it needs better coordinates).
        let ok = bound.holds(km - uncertainty, limit) && bound.holds(km + uncertainty, limit);
        tallies
            .entry(Scope::System(system))
            .or_default()
            .check(ok, || {
                item(
                    "backup",
                    backup.id,
                    &backup.name,
                    "distance_km",
                    format!(
                        "{km:.1} km ({} → {}){}",
                        main.name,
                        site.name,
                        if uncertainty > 0.0 {
                            format!(" ± {uncertainty:.2} km (GCJ-02)")
                        } else {
                            String::new()
                        }
                    ),
                    format!("{} {limit} km", bound.symbol()),
                )
            });
    }
    out.tallies(tallies, "备份距离", "backup distances");
}

fn backup_same_city_distance(context: &Context<'_>, out: &mut Emitter) {
    backup_distance(context, out, "same_city", "same_city_dr_max_km");
}

fn backup_remote_distance(context: &Context<'_>, out: &mut Emitter) {
    backup_distance(context, out, "remote", "remote_backup_min_km");
}

fn backup_restore_test(context: &Context<'_>, out: &mut Emitter) {
    let months = context.parameters.get("restore_test_interval_months");
    let due = context
        .facts
        .today
        .checked_sub_months(Months::new(months.max(0.0) as u32))
        .unwrap_or(NaiveDate::MIN);
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for backup in &context.index.inventory.backups {
        let Some(system) = backup.system_id else {
            continue;
        };
        let ok = backup.last_restore_test.is_some_and(|date| date >= due);
        tallies
            .entry(Scope::System(system))
            .or_default()
            .check(ok, || {
                item(
                    "backup",
                    backup.id,
                    &backup.name,
                    "last_restore_test",
                    backup
                        .last_restore_test
                        .map_or("never".to_owned(), |date| date.to_string()),
                    format!("on or after {due}"),
                )
            });
    }
    out.tallies(tallies, "备份恢复测试", "backups' restore tests");
}

fn backup_locations(context: &Context<'_>, out: &mut Emitter) {
    let index = context.index;
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for backup in &index.inventory.backups {
        let site = index.datacenter.get(&backup.datacenter_id);
        let ok = site.is_some_and(|site| {
            !site.address.trim().is_empty()
                && site.latitude.is_finite()
                && site.longitude.is_finite()
        });
        tallies
            .entry(Scope::Tenant(backup.tenant_id))
            .or_default()
            .check(ok, || {
                item(
                    "backup",
                    backup.id,
                    &backup.name,
                    "datacenter",
                    site.map_or("unknown".to_owned(), |site| {
                        format!("{} ({})", site.name, site.address)
                    }),
                    "a registered datacentre with an address".to_owned(),
                )
            });
    }
    out.tallies(tallies, "备份存放位置", "backup locations");
}

fn digest_is_strong(digest: &str) -> bool {
    let hex = digest
        .strip_prefix("sm3:")
        .or_else(|| digest.strip_prefix("sha256:"));
    hex.is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
        || digest
            .strip_prefix("sha512:")
            .is_some_and(|hex| hex.len() == 128 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// Whether an image's digest is registered: approved in the registry for its provider
/// (when the registry has entries), and in any case not a weak hash alone.
fn digest_is_registered(facts: &Facts, provider: i64, digest: &str) -> bool {
    if !digest_is_strong(digest) {
        return false;
    }
    if facts.approved_images.is_empty() {
        return true;
    }
    [None, Some(provider)].iter().any(|key| {
        facts
            .approved_images
            .get(key)
            .is_some_and(|approved| approved.contains(digest))
    })
}

fn images_digests(context: &Context<'_>, out: &mut Emitter) {
    let index = context.index;
    let facts = context.facts;
    let expected = if facts.approved_images.is_empty() {
        "sm3:…, sha256:… or sha512:…"
    } else {
        "a digest approved in the image registry"
    };
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for image in &index.inventory.images {
        tallies
            .entry(Scope::Provider(image.provider_id))
            .or_default()
            .check(
                digest_is_registered(facts, image.provider_id, &image.digest),
                || {
                    item(
                        "image",
                        image.id,
                        &image.name,
                        "digest",
                        image.digest.clone(),
                        expected.to_owned(),
                    )
                },
            );
    }
    for vm in &index.inventory.vms {
        let image = vm.image_id.and_then(|id| index.image.get(&id));
        let ok = image
            .is_some_and(|image| digest_is_registered(facts, image.provider_id, &image.digest));
        tallies
            .entry(Scope::Provider(vm.provider_id))
            .or_default()
            .check(ok, || {
                item(
                    "vm",
                    vm.id,
                    &vm.name,
                    "image_id",
                    vm.image_id
                        .map_or("none".to_owned(), |id| format!("image:{id}")),
                    "a registered image with an approved digest".to_owned(),
                )
            });
    }
    out.tallies(tallies, "镜像及云主机镜像", "images and VMs' images");
}

fn paas_support(context: &Context<'_>, out: &mut Emitter) {
    let today = context.facts.today;
    // Per provider: supported, unsupported, unknown.
    #[derive(Default)]
    struct Counts {
        examined: usize,
        failing: usize,
        unknown: usize,
        evidence: Vec<Evidence>,
    }
    let mut per: BTreeMap<(Scope, &str), Counts> = BTreeMap::new();
    for instance in &context.index.inventory.paas {
        let clause = if instance.category == "database" {
            "7.3.4.1"
        } else {
            "7.3.3.1"
        };
        let counts = per
            .entry((Scope::Provider(instance.provider_id), clause))
            .or_default();
        counts.examined += 1;
        match context
            .catalog
            .release_for(&instance.product, &instance.version)
        {
            Some(release) => {
                let ok = release.end_of_support >= today;
                if !ok {
                    counts.failing += 1;
                }
                if !ok || counts.evidence.len() < 5 {
                    counts.evidence.push(Evidence {
                        failing: !ok,
                        ..item(
                            "paas_instance",
                            instance.id,
                            &instance.name,
                            "version",
                            format!("{} {}", instance.product, instance.version),
                            format!(
                                "branch {} supported until {} ({})",
                                release.branch, release.end_of_support, release.source
                            ),
                        )
                    });
                }
            }
            None => {
                counts.unknown += 1;
                if counts.evidence.len() < EVIDENCE_LIMIT {
                    counts.evidence.push(item(
                        "paas_instance",
                        instance.id,
                        &instance.name,
                        "version",
                        format!("{} {}", instance.product, instance.version),
                        "patch level unknown (release not in lifecycle.toml)".to_owned(),
                    ));
                }
            }
        }
    }
    // One outcome per provider and clause: the control speaks for two clauses, so it
    // emits under a suffixed id the engine maps to the clause.
    for ((scope, clause), counts) in per {
        let verdict = if counts.failing > 0 {
            Verdict::Fail
        } else if counts.unknown == counts.examined {
            Verdict::Undetermined
        } else {
            Verdict::Pass
        };
        out.emit_for_clause(
            clause,
            scope,
            verdict,
            format!(
                "{} 个实例：{} 个版本已停止支持，{} 个补丁级别未知",
                counts.examined, counts.failing, counts.unknown
            ),
            format!(
                "{} instances: {} on unsupported releases, {} of unknown patch level",
                counts.examined, counts.failing, counts.unknown
            ),
            counts.evidence,
            counts.examined,
        );
    }
}

const MANAGEMENT_PORTS: [(i64, &str); 6] = [
    (22, "SSH"),
    (23, "Telnet"),
    (3389, "RDP"),
    (5900, "VNC"),
    (3306, "MySQL"),
    (1433, "SQL Server"),
];

fn open_to_world(cidr: Option<&str>) -> bool {
    matches!(cidr, Some("0.0.0.0/0") | Some("::/0"))
}

fn network_security_group_exposure(context: &Context<'_>, out: &mut Emitter) {
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for rule in &context.index.inventory.rules {
        if rule.action != "allow" {
            continue;
        }
        let world = open_to_world(rule.remote_cidr.as_deref());
        let any_protocol = rule.protocol == "any";
        let all_ports = rule.port_from.is_none() && rule.port_to.is_none();
        let exposed_port = MANAGEMENT_PORTS.iter().find(|(port, _)| {
            let from = rule.port_from.unwrap_or(1);
            let to = rule.port_to.unwrap_or(65535);
            rule.protocol != "udp" && rule.protocol != "icmp" && (from..=to).contains(port)
        });
        let problem = if rule.direction == "ingress" && world && any_protocol && all_ports {
            Some("any-to-any allow".to_owned())
        } else if rule.direction == "ingress" && world {
            exposed_port.map(|(port, name)| format!("{name} ({port}) open to the world"))
        } else {
            None
        };
        tallies
            .entry(Scope::Tenant(rule.tenant_id))
            .or_default()
            .check(problem.is_none(), || {
                item(
                    "security_group_rule",
                    rule.id,
                    &format!("security_group:{}", rule.security_group_id),
                    "rule",
                    format!(
                        "{} {} {} {}-{} from {}{}",
                        rule.direction,
                        rule.action,
                        rule.protocol,
                        rule.port_from
                            .map_or("*".to_owned(), |port| port.to_string()),
                        rule.port_to.map_or("*".to_owned(), |port| port.to_string()),
                        rule.remote_cidr.as_deref().unwrap_or("group"),
                        problem
                            .as_deref()
                            .map_or(String::new(), |problem| format!(": {problem}"))
                    ),
                    "no management port or any-to-any open to 0.0.0.0/0".to_owned(),
                )
            });
    }
    out.tallies(tallies, "安全组规则", "security group rules");
}

/// Per tenant with a VPC: FAIL when network verification found a cross-tenant path,
/// a zone crossing or management reach that concerns it (every flow was examined, so a
/// PASS is a proof over the model, not a sample).
/// Container clusters (5.4.3): per tenant that runs pods and per provider that runs the
/// clusters, the verifier's container findings.
fn container_segmentation(context: &Context<'_>, out: &mut Emitter) {
    let Some(violations) = &context.facts.network else {
        return;
    };
    let mut scopes: BTreeSet<(Scope, &str, i64)> = BTreeSet::new();
    for (tenant, provider) in &context.facts.container_owners {
        scopes.insert((Scope::Tenant(*tenant), "tenant", *tenant));
        scopes.insert((Scope::Provider(*provider), "provider", *provider));
    }
    let verdicts = violation_tallies(
        scopes,
        violations,
        &["container_cross_tenant", "container_unsegmented"],
        |scope, violation| match scope {
            Scope::Tenant(tenant) => violation.tenants.contains(&tenant),
            Scope::Provider(provider) => violation.providers.contains(&provider),
            _ => false,
        },
        (
            "segmentation",
            "no pod of another tenant connects; every namespace isolated",
        ),
        "no two tenants' pods connect; every namespace isolated by NetworkPolicies",
    );
    out.tallies(verdicts, "容器隔离验证项", "container segmentation checks");
}

fn network_isolation(context: &Context<'_>, out: &mut Emitter) {
    let Some(violations) = &context.facts.network else {
        return;
    };
    let provider_of: HashMap<i64, i64> = context
        .index
        .inventory
        .vpcs
        .iter()
        .map(|vpc| (vpc.id, vpc.provider_id))
        .collect();
    // Each tenant with a VPC, and each provider for the isolation its platform enforces
    // between the VPCs it runs.
    let mut scopes: BTreeSet<(Scope, &str, i64)> = BTreeSet::new();
    for vpc in &context.index.inventory.vpcs {
        scopes.insert((Scope::Tenant(vpc.tenant_id), "tenant", vpc.tenant_id));
        scopes.insert((
            Scope::Provider(vpc.provider_id),
            "provider",
            vpc.provider_id,
        ));
    }
    let verdicts = violation_tallies(
        scopes,
        violations,
        &["cross_tenant_path", "zone_separation", "management_reach"],
        |scope, violation| match scope {
            Scope::Tenant(tenant) => violation.tenants.contains(&tenant),
            Scope::Provider(provider) => {
                violation.providers.contains(&provider)
                    || violation
                        .vpcs
                        .iter()
                        .any(|vpc| provider_of.get(vpc) == Some(&provider))
            }
            _ => false,
        },
        ("isolation", "no violating flow"),
        "no path outside approved exchanges, zones apart, management inside",
    );
    out.tallies(verdicts, "隔离验证项", "isolation checks");
}

/// The network verifier's violations of some invariants as one tally per scope: a
/// passing item (`passing`: field and value) when none concerns the scope, a failing
/// item naming each that does.
fn violation_tallies(
    scopes: BTreeSet<(Scope, &str, i64)>,
    violations: &[crate::inventory::NetworkViolation],
    invariants: &[&str],
    concerns: impl Fn(Scope, &crate::inventory::NetworkViolation) -> bool,
    passing: (&str, &str),
    expected: &str,
) -> BTreeMap<Scope, Tally> {
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for (scope, kind, id) in scopes {
        let mine: Vec<&crate::inventory::NetworkViolation> = violations
            .iter()
            .filter(|violation| invariants.contains(&violation.invariant.as_str()))
            .filter(|violation| concerns(scope, violation))
            .collect();
        let tally = tallies.entry(scope).or_default();
        if mine.is_empty() {
            tally.check(true, || {
                item(
                    kind,
                    id,
                    &format!("{kind}:{id}"),
                    passing.0,
                    passing.1.to_owned(),
                    expected.to_owned(),
                )
            });
        }
        for violation in mine {
            // The evidence names the VPC a path starts in, else the scope itself.
            let (evidence_kind, evidence_id) = match violation.vpcs.first() {
                Some(vpc) => ("vpc", *vpc),
                None => (kind, id),
            };
            tally.check(false, || {
                item(
                    evidence_kind,
                    evidence_id,
                    &violation.title,
                    &violation.invariant,
                    format!("{} {}", violation.ports, violation.reason),
                    expected.to_owned(),
                )
            });
        }
    }
    tallies
}

fn setting_check(
    context: &Context<'_>,
    out: &mut Emitter,
    checks: &[(&str, f64, &str)],
    zh: &str,
    en: &str,
) {
    let mut evidence = Vec::new();
    let mut ok = true;
    for (parameter, actual, field) in checks {
        let Some(known) = context.catalog.parameter(parameter) else {
            continue;
        };
        let required = context.parameters.get(parameter);
        let holds = known.bound.holds(*actual, required);
        ok &= holds;
        evidence.push(Evidence {
            failing: !holds,
            ..item(
                "setting",
                0,
                field,
                parameter,
                format!("{actual}"),
                format!("{} {required} {}", known.bound.symbol(), known.unit),
            )
        });
    }
    out.emit(
        Scope::Platform,
        if ok { Verdict::Pass } else { Verdict::Fail },
        format!(
            "{zh}{}",
            if ok {
                "符合要求"
            } else {
                "不符合要求"
            }
        ),
        format!("{en} {}", if ok { "pass" } else { "fail" }),
        evidence,
        checks.len(),
    );
}

fn settings_log_retention(context: &Context<'_>, out: &mut Emitter) {
    let settings = &context.facts.settings;
    setting_check(
        context,
        out,
        &[(
            "log_retention_months",
            settings.log_retention_months,
            "[ledger] retention_months",
        )],
        "审计日志留存期",
        "the audit log's retention",
    );
}

fn settings_password_policy(context: &Context<'_>, out: &mut Emitter) {
    let settings = &context.facts.settings;
    // Rotation in months, from days: 90 days counts as 3 months (the policy's ceiling).
    let rotation_months = (settings.password_max_age_days / 30.0 * 100.0).round() / 100.0;
    setting_check(
        context,
        out,
        &[
            (
                "password_min_length",
                settings.password_min_length,
                "[identity] password min_length",
            ),
            (
                "password_rotation_months",
                rotation_months,
                "[identity] password max_age_days / 30",
            ),
        ],
        "口令策略",
        "the password policy",
    );
}

fn settings_lockout(context: &Context<'_>, out: &mut Emitter) {
    let settings = &context.facts.settings;
    // Login failure handling is on when a finite number of failures locks the account
    // for a positive time.
    let ok = settings.lockout_max_failures >= 1.0
        && settings.lockout_max_failures <= 10.0
        && settings.lockout_minutes > 0.0;
    out.emit(
        Scope::Platform,
        if ok { Verdict::Pass } else { Verdict::Fail },
        format!(
            "连续失败 {} 次锁定 {} 分钟",
            settings.lockout_max_failures, settings.lockout_minutes
        ),
        format!(
            "{} failures lock for {} minutes",
            settings.lockout_max_failures, settings.lockout_minutes
        ),
        vec![Evidence {
            failing: !ok,
            ..item(
                "setting",
                0,
                "[identity] lockout",
                "max_failures, lock_minutes",
                format!(
                    "{}, {}",
                    settings.lockout_max_failures, settings.lockout_minutes
                ),
                "1–10 failures, lock > 0 minutes".to_owned(),
            )
        }],
        1,
    );
}

fn identity_mfa(context: &Context<'_>, out: &mut Emitter) {
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    for account in &context.facts.accounts {
        if !account.active || !account.role.needs_second_factor() {
            continue;
        }
        let scope = match (account.role, account.provider_id, account.tenant_id) {
            (Role::ProviderOperator, Some(provider), _) => Scope::Provider(provider),
            (Role::TenantAdmin, _, Some(tenant)) => Scope::Tenant(tenant),
            _ => Scope::Platform,
        };
        tallies
            .entry(scope)
            .or_default()
            .check(account.second_factor, || {
                item(
                    "account",
                    account.id,
                    &account.username,
                    "second_factor",
                    if account.second_factor {
                        "enrolled"
                    } else {
                        "none"
                    }
                    .to_owned(),
                    "TOTP enrolled".to_owned(),
                )
            });
    }
    out.tallies(
        tallies,
        "管理员账户多因素认证",
        "administrators' second factors",
    );
}

fn identity_separation(context: &Context<'_>, out: &mut Emitter) {
    const SEPARATED: [Role; 3] = [
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::SecurityAuditor,
    ];
    let mut by_person: BTreeMap<&str, Vec<&crate::inventory::AccountFact>> = BTreeMap::new();
    let mut held = [0usize; 3];
    let mut evidence = Vec::new();
    let mut ok = true;
    for account in context
        .facts
        .accounts
        .iter()
        .filter(|account| account.active)
    {
        let Some(position) = SEPARATED.iter().position(|role| *role == account.role) else {
            continue;
        };
        held[position] += 1;
        match account.person_id.as_deref() {
            Some(person) => by_person.entry(person).or_default().push(account),
            None => {
                ok = false;
                evidence.push(Evidence {
                    failing: true,
                    ..item(
                        "account",
                        account.id,
                        &account.username,
                        "person_id",
                        "none".to_owned(),
                        "a person id, so separation can be checked".to_owned(),
                    )
                });
            }
        }
    }
    for (person, accounts) in &by_person {
        let mut roles: Vec<Role> = accounts.iter().map(|account| account.role).collect();
        roles.sort_unstable();
        roles.dedup();
        if roles.len() > 1 {
            ok = false;
            for account in accounts {
                evidence.push(Evidence {
                    failing: true,
                    ..item(
                        "account",
                        account.id,
                        &account.username,
                        "role",
                        format!("{} (person {person})", account.role.as_str()),
                        "one separated role per person".to_owned(),
                    )
                });
            }
        }
    }
    for (position, role) in SEPARATED.iter().enumerate() {
        let present = held[position] > 0;
        ok &= present;
        evidence.push(Evidence {
            failing: !present,
            ..item(
                "role",
                0,
                role.as_str(),
                "accounts",
                held[position].to_string(),
                "≥ 1".to_owned(),
            )
        });
    }
    out.emit(
        Scope::Platform,
        if ok { Verdict::Pass } else { Verdict::Fail },
        if ok {
            "三员角色均已设置且由不同人员担任"
        } else {
            "三员角色缺失或由同一人员兼任"
        }
        .to_owned(),
        if ok {
            "all three roles held, by different people"
        } else {
            "a role is missing or one person holds two"
        }
        .to_owned(),
        evidence,
        by_person.len(),
    );
}

/// (starts, ends, id, the privilege) of one grant in force.
type Period<'a> = (i64, i64, i64, &'a crate::inventory::PrivilegeFact);

/// The period a privilege was in force: from its start to its end, or to its revocation
/// when it was revoked after it started; `None` when it never was (pending, rejected,
/// revoked before it began).
fn in_force(privilege: &crate::inventory::PrivilegeFact) -> Option<(i64, i64)> {
    match privilege.state.as_str() {
        "approved" | "expired" => Some((privilege.starts_at_ns, privilege.ends_at_ns)),
        "revoked" => privilege
            .decided_at_ns
            .filter(|at| *at > privilege.starts_at_ns)
            .map(|at| (privilege.starts_at_ns, at.min(privilege.ends_at_ns))),
        _ => None,
    }
}

fn identity_temporary_privileges(context: &Context<'_>, out: &mut Emitter) {
    const DAY_NS: i64 = 86_400_000_000_000;
    let months = context.parameters.get("temporary_privilege_max_months");
    // Calendar months as days, the way the store's CHECK counts them (92 days ≥ 3 months).
    let longest_ns = (months * 30.67 * DAY_NS as f64) as i64;
    let now = context.facts.now_ns;
    let mut tallies: BTreeMap<Scope, Tally> = BTreeMap::new();
    // One privilege at a time: longer than allowed, or past its end and still approved.
    for privilege in &context.facts.privileges {
        let Some((starts, ends)) = in_force(privilege) else {
            continue;
        };
        let scope = privilege
            .provider_id
            .map_or(Scope::Platform, Scope::Provider);
        let too_long = ends - starts > longest_ns;
        let stale = privilege.state == "approved" && privilege.ends_at_ns <= now;
        let ok = !too_long && !stale;
        tallies.entry(scope).or_default().check(ok, || {
            item(
                "privilege",
                privilege.id,
                &privilege.holder,
                "state, period",
                format!(
                    "{} {} for {:.0} days{}",
                    privilege.privilege,
                    privilege.state,
                    (ends - starts) as f64 / DAY_NS as f64,
                    if stale {
                        ", past its end and not revoked"
                    } else {
                        ""
                    }
                ),
                format!("≤ {months} months and ended when due"),
            )
        });
    }
    // And the same privilege held without a break through successive grants: 7.5.3.5
    // wants it revoked within three months, which renewals must not get around.
    let mut held: BTreeMap<(i64, &str), Vec<Period<'_>>> = BTreeMap::new();
    for privilege in &context.facts.privileges {
        if let Some((starts, ends)) = in_force(privilege) {
            held.entry((privilege.account_id, privilege.privilege.as_str()))
                .or_default()
                .push((starts, ends, privilege.id, privilege));
        }
    }
    for periods in held.values_mut() {
        if periods.len() < 2 {
            continue;
        }
        periods.sort_by_key(|(starts, _, id, _)| (*starts, *id));
        let mut chain: Vec<i64> = Vec::new();
        let (mut start, mut end) = (periods[0].0, periods[0].1);
        let holder = periods[0].3;
        let mut longest = (0_i64, Vec::new());
        for (starts, ends, id, _) in periods.iter() {
            // A gap of less than a day is no break.
            if *starts > end + DAY_NS {
                start = *starts;
                chain.clear();
            }
            chain.push(*id);
            end = end.max(*ends);
            if chain.len() > 1 && end - start > longest.0 {
                longest = (end - start, chain.clone());
            }
        }
        if longest.1.len() < 2 {
            continue;
        }
        let scope = holder.provider_id.map_or(Scope::Platform, Scope::Provider);
        let ok = longest.0 <= longest_ns;
        tallies.entry(scope).or_default().check(ok, || {
            item(
                "privilege",
                *longest.1.last().unwrap_or(&holder.id),
                &holder.holder,
                "held without a break",
                format!(
                    "{} held {:.0} days through grants {}",
                    holder.privilege,
                    longest.0 as f64 / DAY_NS as f64,
                    longest
                        .1
                        .iter()
                        .map(|id| format!("#{id}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!("≤ {months} months in all"),
            )
        });
    }

    out.tallies(tallies, "临时特权", "temporary privileges");
}

fn operations_tenant_authorization(context: &Context<'_>, out: &mut Emitter) {
    let mut per: BTreeMap<i64, Vec<&crate::inventory::RefusalFact>> = BTreeMap::new();
    for refusal in &context.facts.refusals {
        per.entry(refusal.provider_id).or_default().push(refusal);
    }
    let window = context.facts.refusal_window_days;
    for provider in &context.index.inventory.providers {
        let refusals = per.get(&provider.id).map_or(&[][..], Vec::as_slice);
        let ok = refusals.is_empty();
        let evidence = refusals
            .iter()
            .map(|refusal| Evidence {
                failing: true,
                ..item(
                    "audit",
                    refusal.sequence,
                    &refusal.actor,
                    "refused",
                    refusal.target.clone(),
                    "an active tenant authorization before operating".to_owned(),
                )
            })
            .collect();
        out.emit(
            Scope::Provider(provider.id),
            if ok { Verdict::Pass } else { Verdict::Fail },
            format!(
                "近 {window} 天内 {} 次未经云租户授权的操作尝试",
                refusals.len()
            ),
            format!(
                "{} attempts without the tenant's authorization in the last {window} days",
                refusals.len()
            ),
            evidence,
            refusals.len(),
        );
    }
}

impl Emitter {
    /// An outcome that concerns only one of the control's clauses.
    #[allow(clippy::too_many_arguments)]
    pub fn emit_for_clause(
        &mut self,
        clause: &str,
        scope: Scope,
        verdict: Verdict,
        message_zh: String,
        message_en: String,
        evidence: Vec<Evidence>,
        examined: usize,
    ) {
        let suffixed = format!("{}#{clause}", self.control);
        let control = std::mem::replace(&mut self.control, suffixed);
        self.emit(scope, verdict, message_zh, message_en, evidence, examined);
        self.control = control;
    }
}
