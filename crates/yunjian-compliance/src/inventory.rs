//! What the controls read: the world (typed, indexed once) and the records yunjian keeps
//! about itself (settings, accounts, temporary privileges, refused provider operations).
//!
//! Built from the store's rows by the app; nothing here reads a store or a clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use yunjian_core::role::Role;
use yunjian_core::schema::Kind;
use yunjian_core::value::{Value, Values};

use crate::party::ServiceModel;

#[derive(Clone, Debug, Default)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
    pub key_tenant: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Provider {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Default)]
pub struct Platform {
    pub id: i64,
    pub provider_id: i64,
    pub name: String,
    pub service_models: Vec<ServiceModel>,
    pub mlps_level: i64,
    pub assessment_expiry: Option<NaiveDate>,
}

#[derive(Clone, Debug, Default)]
pub struct Datacenter {
    pub id: i64,
    pub provider_id: i64,
    pub name: String,
    pub address: String,
    pub district: String,
    pub latitude: f64,
    pub longitude: f64,
    pub datum: String,
    pub remote_backup_site: bool,
    pub carriers: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Zone {
    pub id: i64,
    pub name: String,
    /// `internet` or `extranet`.
    pub zone_kind: String,
}

#[derive(Clone, Debug, Default)]
pub struct Host {
    pub id: i64,
    pub provider_id: i64,
    pub datacenter_id: i64,
    pub zone_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Default)]
pub struct Vpc {
    pub id: i64,
    pub tenant_id: i64,
    pub provider_id: i64,
    pub zone_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Default)]
pub struct System {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    pub classification: String,
    pub mlps_level: i64,
    pub sensitivity: String,
    pub importance: String,
    pub service_model: Option<ServiceModel>,
    pub vpc_ids: Vec<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Vm {
    pub id: i64,
    pub tenant_id: i64,
    pub provider_id: i64,
    pub vpc_id: i64,
    pub host_id: Option<i64>,
    pub image_id: Option<i64>,
    pub system_id: Option<i64>,
    pub name: String,
}

#[derive(Clone, Debug, Default)]
pub struct Volume {
    pub id: i64,
    pub tenant_id: i64,
    pub provider_id: i64,
    pub vm_id: Option<i64>,
    pub name: String,
    pub encrypted: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Backup {
    pub id: i64,
    pub tenant_id: i64,
    pub provider_id: i64,
    pub system_id: Option<i64>,
    pub datacenter_id: i64,
    pub name: String,
    /// `local`, `same_city` or `remote`.
    pub backup_kind: String,
    pub last_restore_test: Option<NaiveDate>,
}

#[derive(Clone, Debug, Default)]
pub struct Image {
    pub id: i64,
    pub provider_id: i64,
    pub tenant_id: Option<i64>,
    pub name: String,
    pub digest: String,
}

#[derive(Clone, Debug, Default)]
pub struct SecurityGroup {
    pub id: i64,
    pub tenant_id: i64,
    pub provider_id: i64,
    pub vpc_id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Default)]
pub struct Rule {
    pub id: i64,
    pub security_group_id: i64,
    pub tenant_id: i64,
    pub provider_id: i64,
    pub direction: String,
    pub action: String,
    pub protocol: String,
    pub port_from: Option<i64>,
    pub port_to: Option<i64>,
    pub remote_cidr: Option<String>,
    pub remote_group_id: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct PaasInstance {
    pub id: i64,
    pub tenant_id: i64,
    pub provider_id: i64,
    pub system_id: Option<i64>,
    pub name: String,
    pub category: String,
    pub product: String,
    pub version: String,
}

/// The world as the controls see it.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub tenants: Vec<Tenant>,
    pub providers: Vec<Provider>,
    pub platforms: Vec<Platform>,
    pub datacenters: Vec<Datacenter>,
    pub zones: Vec<Zone>,
    pub hosts: Vec<Host>,
    pub vpcs: Vec<Vpc>,
    pub systems: Vec<System>,
    pub vms: Vec<Vm>,
    pub volumes: Vec<Volume>,
    pub backups: Vec<Backup>,
    pub images: Vec<Image>,
    pub security_groups: Vec<SecurityGroup>,
    pub rules: Vec<Rule>,
    pub paas: Vec<PaasInstance>,
}

fn int(values: &Values, field: &str) -> Option<i64> {
    values.get(field).and_then(Value::as_int)
}

fn text(values: &Values, field: &str) -> String {
    values
        .get(field)
        .and_then(Value::as_text)
        .unwrap_or_default()
        .to_owned()
}

fn flag(values: &Values, field: &str) -> bool {
    matches!(values.get(field), Some(Value::Bool(true)))
}

fn float(values: &Values, field: &str) -> f64 {
    match values.get(field) {
        Some(Value::Float(value)) => *value,
        Some(Value::Int(value)) => *value as f64,
        _ => f64::NAN,
    }
}

fn texts(values: &Values, field: &str) -> Vec<String> {
    match values.get(field) {
        Some(Value::TextList(list)) => list.clone(),
        _ => Vec::new(),
    }
}

fn ids(values: &Values, field: &str) -> Vec<i64> {
    match values.get(field) {
        Some(Value::IdList(list)) => list.clone(),
        _ => Vec::new(),
    }
}

fn date(values: &Values, field: &str) -> Option<NaiveDate> {
    values
        .get(field)
        .and_then(Value::as_text)
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
}

impl Inventory {
    /// Adds one stored object. Kinds the controls do not read are ignored.
    pub fn push(&mut self, kind: Kind, id: i64, values: &Values) {
        let tenant = int(values, "tenant_id").unwrap_or(0);
        let provider = int(values, "provider_id").unwrap_or(0);
        match kind {
            Kind::Tenant => self.tenants.push(Tenant {
                id,
                name: text(values, "name"),
                key_tenant: flag(values, "key_tenant"),
            }),
            Kind::Provider => self.providers.push(Provider {
                id,
                name: text(values, "name"),
            }),
            Kind::Platform => self.platforms.push(Platform {
                id,
                provider_id: provider,
                name: text(values, "name"),
                service_models: texts(values, "service_models")
                    .iter()
                    .filter_map(|model| ServiceModel::parse(model))
                    .collect(),
                mlps_level: int(values, "mlps_level").unwrap_or(0),
                assessment_expiry: date(values, "assessment_expiry"),
            }),
            Kind::Datacenter => self.datacenters.push(Datacenter {
                id,
                provider_id: provider,
                name: text(values, "name"),
                address: text(values, "address"),
                district: text(values, "district"),
                latitude: float(values, "latitude"),
                longitude: float(values, "longitude"),
                datum: text(values, "datum"),
                remote_backup_site: flag(values, "remote_backup_site"),
                carriers: texts(values, "carriers"),
            }),
            Kind::Zone => self.zones.push(Zone {
                id,
                name: text(values, "name"),
                zone_kind: text(values, "zone_kind"),
            }),
            Kind::Host => self.hosts.push(Host {
                id,
                provider_id: provider,
                datacenter_id: int(values, "datacenter_id").unwrap_or(0),
                zone_id: int(values, "zone_id").unwrap_or(0),
                name: text(values, "name"),
            }),
            Kind::Vpc => self.vpcs.push(Vpc {
                id,
                tenant_id: tenant,
                provider_id: provider,
                zone_id: int(values, "zone_id").unwrap_or(0),
                name: text(values, "name"),
            }),
            Kind::InformationSystem => self.systems.push(System {
                id,
                tenant_id: tenant,
                name: text(values, "name"),
                classification: text(values, "classification"),
                mlps_level: int(values, "mlps_level").unwrap_or(0),
                sensitivity: text(values, "sensitivity"),
                importance: text(values, "importance"),
                service_model: ServiceModel::parse(&text(values, "service_model")),
                vpc_ids: ids(values, "vpc_ids"),
            }),
            Kind::Vm => self.vms.push(Vm {
                id,
                tenant_id: tenant,
                provider_id: provider,
                vpc_id: int(values, "vpc_id").unwrap_or(0),
                host_id: int(values, "host_id"),
                image_id: int(values, "image_id"),
                system_id: int(values, "system_id"),
                name: text(values, "name"),
            }),
            Kind::Volume => self.volumes.push(Volume {
                id,
                tenant_id: tenant,
                provider_id: provider,
                vm_id: int(values, "vm_id"),
                name: text(values, "name"),
                encrypted: flag(values, "encrypted"),
            }),
            Kind::Backup => self.backups.push(Backup {
                id,
                tenant_id: tenant,
                provider_id: provider,
                system_id: int(values, "system_id"),
                datacenter_id: int(values, "datacenter_id").unwrap_or(0),
                name: text(values, "name"),
                backup_kind: text(values, "backup_kind"),
                last_restore_test: date(values, "last_restore_test"),
            }),
            Kind::Image => self.images.push(Image {
                id,
                provider_id: provider,
                tenant_id: int(values, "tenant_id"),
                name: text(values, "name"),
                digest: text(values, "digest"),
            }),
            Kind::SecurityGroup => self.security_groups.push(SecurityGroup {
                id,
                tenant_id: tenant,
                provider_id: provider,
                vpc_id: int(values, "vpc_id").unwrap_or(0),
                name: text(values, "name"),
            }),
            Kind::SecurityGroupRule => self.rules.push(Rule {
                id,
                security_group_id: int(values, "security_group_id").unwrap_or(0),
                tenant_id: tenant,
                provider_id: provider,
                direction: text(values, "direction"),
                action: text(values, "action"),
                protocol: text(values, "protocol"),
                port_from: int(values, "port_from"),
                port_to: int(values, "port_to"),
                remote_cidr: values
                    .get("remote_cidr")
                    .and_then(Value::as_text)
                    .map(str::to_owned),
                remote_group_id: int(values, "remote_group_id"),
            }),
            Kind::PaasInstance => self.paas.push(PaasInstance {
                id,
                tenant_id: tenant,
                provider_id: provider,
                system_id: int(values, "system_id"),
                name: text(values, "name"),
                category: text(values, "category"),
                product: text(values, "product"),
                version: text(values, "version"),
            }),
            _ => {}
        }
    }

    /// The kinds `push` reads, in an order where references come first.
    pub const KINDS: [Kind; 15] = [
        Kind::Tenant,
        Kind::Provider,
        Kind::Platform,
        Kind::Datacenter,
        Kind::Zone,
        Kind::Host,
        Kind::Vpc,
        Kind::InformationSystem,
        Kind::Vm,
        Kind::Volume,
        Kind::Backup,
        Kind::Image,
        Kind::SecurityGroup,
        Kind::SecurityGroupRule,
        Kind::PaasInstance,
    ];

    pub fn resource_count(&self) -> usize {
        self.tenants.len()
            + self.providers.len()
            + self.platforms.len()
            + self.datacenters.len()
            + self.zones.len()
            + self.hosts.len()
            + self.vpcs.len()
            + self.systems.len()
            + self.vms.len()
            + self.volumes.len()
            + self.backups.len()
            + self.images.len()
            + self.security_groups.len()
            + self.rules.len()
            + self.paas.len()
    }
}

/// Lookups by id, built once per evaluation.
pub struct Index<'a> {
    pub inventory: &'a Inventory,
    pub datacenter: HashMap<i64, &'a Datacenter>,
    pub zone: HashMap<i64, &'a Zone>,
    pub host: HashMap<i64, &'a Host>,
    pub vpc: HashMap<i64, &'a Vpc>,
    pub system: HashMap<i64, &'a System>,
    pub vm: HashMap<i64, &'a Vm>,
    pub image: HashMap<i64, &'a Image>,
    /// The providers whose VPCs a tenant uses.
    pub tenant_providers: HashMap<i64, Vec<i64>>,
    /// The service models of a tenant's systems.
    pub tenant_models: HashMap<i64, Vec<ServiceModel>>,
}

impl<'a> Index<'a> {
    pub fn new(inventory: &'a Inventory) -> Index<'a> {
        let mut tenant_providers: HashMap<i64, Vec<i64>> = HashMap::new();
        for vpc in &inventory.vpcs {
            let providers = tenant_providers.entry(vpc.tenant_id).or_default();
            if !providers.contains(&vpc.provider_id) {
                providers.push(vpc.provider_id);
            }
        }
        for providers in tenant_providers.values_mut() {
            providers.sort_unstable();
        }
        let mut tenant_models: HashMap<i64, Vec<ServiceModel>> = HashMap::new();
        for system in &inventory.systems {
            if let Some(model) = system.service_model {
                let models = tenant_models.entry(system.tenant_id).or_default();
                if !models.contains(&model) {
                    models.push(model);
                }
            }
        }
        for models in tenant_models.values_mut() {
            models.sort_unstable();
        }
        Index {
            inventory,
            datacenter: inventory
                .datacenters
                .iter()
                .map(|row| (row.id, row))
                .collect(),
            zone: inventory.zones.iter().map(|row| (row.id, row)).collect(),
            host: inventory.hosts.iter().map(|row| (row.id, row)).collect(),
            vpc: inventory.vpcs.iter().map(|row| (row.id, row)).collect(),
            system: inventory.systems.iter().map(|row| (row.id, row)).collect(),
            vm: inventory.vms.iter().map(|row| (row.id, row)).collect(),
            image: inventory.images.iter().map(|row| (row.id, row)).collect(),
            tenant_providers,
            tenant_models,
        }
    }

    pub fn zone_kind_of_vpc(&self, vpc_id: i64) -> Option<&'a str> {
        self.vpc
            .get(&vpc_id)
            .and_then(|vpc| self.zone.get(&vpc.zone_id))
            .map(|zone| zone.zone_kind.as_str())
    }
}

/// yunjian's own settings that clauses speak about.
#[derive(Clone, Debug)]
pub struct Settings {
    pub log_retention_months: f64,
    pub password_min_length: f64,
    pub password_max_age_days: f64,
    pub lockout_max_failures: f64,
    pub lockout_minutes: f64,
}

#[derive(Clone, Debug)]
pub struct AccountFact {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub tenant_id: Option<i64>,
    pub provider_id: Option<i64>,
    pub person_id: Option<String>,
    pub second_factor: bool,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct PrivilegeFact {
    pub id: i64,
    /// The holder's account id and name.
    pub account_id: i64,
    pub holder: String,
    /// The PDP action it grants.
    pub privilege: String,
    /// When it was last decided (approved, rejected, revoked).
    pub decided_at_ns: Option<i64>,
    pub provider_id: Option<i64>,
    pub tenant_id: Option<i64>,
    /// `pending`, `approved`, `rejected`, `revoked`, `expired`.
    pub state: String,
    pub starts_at_ns: i64,
    pub ends_at_ns: i64,
}

/// A provider's write on a tenant's object refused for want of the tenant's
/// authorization (7.2.5.5), from the audit ledger.
#[derive(Clone, Debug)]
pub struct RefusalFact {
    pub sequence: i64,
    pub at_ns: i64,
    pub provider_id: i64,
    pub tenant_id: Option<i64>,
    pub actor: String,
    pub target: String,
}

/// Everything else a run reads, supplied by the app.
#[derive(Clone, Debug)]
pub struct Facts {
    pub today: NaiveDate,
    pub now_ns: i64,
    pub settings: Settings,
    pub accounts: Vec<AccountFact>,
    pub privileges: Vec<PrivilegeFact>,
    pub refusals: Vec<RefusalFact>,
    /// How far back `refusals` reaches, for the message.
    pub refusal_window_days: i64,
    /// The image registry (7.5.7.1): approved digests per provider (`None` key: every
    /// provider). Empty when nothing is registered, and then an image passes on a
    /// strong digest of its own.
    pub approved_images: BTreeMap<Option<i64>, BTreeSet<String>>,
    /// Network isolation verification's violations (issue 8), when it ran: the
    /// `network.isolation` control reports them per tenant; `None` leaves it MANUAL.
    pub network: Option<Vec<NetworkViolation>>,
    /// (tenant, provider) of every container workload: whom the container
    /// segmentation control (5.4.3) speaks for.
    pub container_owners: BTreeSet<(i64, i64)>,
}

/// One violation of the isolation invariants, as the network verifier reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkViolation {
    /// `cross_tenant_path`, `zone_separation`, `management_reach`, `shared_host`, …
    pub invariant: String,
    pub tenants: Vec<i64>,
    pub vpcs: Vec<i64>,
    /// Providers concerned beyond the VPCs' (a container cluster's).
    pub providers: Vec<i64>,
    pub title: String,
    pub ports: String,
    pub reason: String,
}
