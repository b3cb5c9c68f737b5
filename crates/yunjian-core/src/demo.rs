//! A realistic, deterministic simulated Chongqing e-government cloud.
//!
//! Same scale and seed, same world, row for row. The world is plausible rather than
//! pretty: it contains the flaws a supervisor meets in practice, so later checks have
//! something to find — a provider with a single carrier, a platform whose MLPS
//! assessment has expired, SSH and RDP open to the internet, an any-to-any rule, an
//! internet-zone VM on a host of the extranet zone, unencrypted volumes, and backups
//! whose restore test is more than a year old. `DemoWorld::planted` lists them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::schema::Kind;
use crate::value::{Value, Values};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// About 5,000 VMs.
    Small,
    /// About 100,000 VMs.
    Large,
}

impl Scale {
    pub fn vm_count(self) -> usize {
        match self {
            Scale::Small => 5_000,
            Scale::Large => 100_000,
        }
    }
}

/// The rows of one kind, with the ids the generator assigned (1, 2, 3, … per kind).
#[derive(Debug, Default)]
pub struct Rows {
    pub rows: Vec<(i64, Values)>,
    /// Link-table rows for list references, as (owner id, target id).
    pub links: Vec<(i64, i64)>,
}

impl Rows {
    fn push(&mut self, values: Values) -> i64 {
        let id = self.rows.len() as i64 + 1;
        self.rows.push((id, values));
        id
    }
}

/// A deliberate flaw and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlantedFlaw {
    pub kind: Kind,
    pub id: i64,
    pub what: &'static str,
}

#[derive(Debug)]
pub struct DemoWorld {
    /// Rows in insertion order: every kind comes after the kinds it references.
    pub kinds: Vec<(Kind, Rows)>,
    pub providers: Vec<DemoProvider>,
    /// Tenants that get a demo administrator account (two different tenants at least).
    pub admin_tenants: Vec<(i64, String)>,
    pub planted: Vec<PlantedFlaw>,
}

#[derive(Clone, Debug)]
pub struct DemoProvider {
    pub id: i64,
    pub name: String,
    pub short_name: String,
}

impl DemoWorld {
    pub fn rows(&self, kind: Kind) -> &Rows {
        static EMPTY: Rows = Rows {
            rows: Vec::new(),
            links: Vec::new(),
        };
        self.kinds
            .iter()
            .find(|(candidate, _)| *candidate == kind)
            .map(|(_, rows)| rows)
            .unwrap_or(&EMPTY)
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.rows(kind).rows.len()
    }
}

fn values<const N: usize>(pairs: [(&'static str, Value); N]) -> Values {
    pairs.into_iter().collect()
}

fn t(text: impl Into<String>) -> Value {
    Value::Text(text.into())
}

fn list<const N: usize>(items: [&str; N]) -> Value {
    Value::TextList(items.iter().map(|item| item.to_string()).collect())
}

const MUNICIPAL_DEPARTMENTS: &[(&str, &str)] = &[
    ("重庆市人民政府办公厅", "市政府办公厅"),
    ("重庆市发展和改革委员会", "市发展改革委"),
    ("重庆市教育委员会", "市教委"),
    ("重庆市科学技术局", "市科技局"),
    ("重庆市经济和信息化委员会", "市经济信息委"),
    ("重庆市公安局", "市公安局"),
    ("重庆市民政局", "市民政局"),
    ("重庆市司法局", "市司法局"),
    ("重庆市财政局", "市财政局"),
    ("重庆市人力资源和社会保障局", "市人力社保局"),
    ("重庆市规划和自然资源局", "市规划自然资源局"),
    ("重庆市生态环境局", "市生态环境局"),
    ("重庆市住房和城乡建设委员会", "市住房城乡建委"),
    ("重庆市城市管理局", "市城市管理局"),
    ("重庆市交通运输委员会", "市交通运输委"),
    ("重庆市水利局", "市水利局"),
    ("重庆市农业农村委员会", "市农业农村委"),
    ("重庆市商务委员会", "市商务委"),
    ("重庆市文化和旅游发展委员会", "市文化旅游委"),
    ("重庆市卫生健康委员会", "市卫生健康委"),
    ("重庆市应急管理局", "市应急管理局"),
    ("重庆市审计局", "市审计局"),
    ("重庆市市场监督管理局", "市市场监管局"),
    ("重庆市医疗保障局", "市医保局"),
];

const DISTRICTS: &[&str] = &[
    "渝中区",
    "江北区",
    "南岸区",
    "九龙坡区",
    "沙坪坝区",
    "大渡口区",
    "渝北区",
    "巴南区",
    "北碚区",
    "万州区",
    "涪陵区",
    "永川区",
];

const DISTRICT_DEPARTMENTS: &[(usize, &str, &str)] = &[
    (0, "渝中区大数据应用发展管理局", "渝中区大数据局"),
    (1, "江北区行政审批服务局", "江北区行政审批局"),
    (6, "渝北区卫生健康委员会", "渝北区卫生健康委"),
    (9, "万州区教育委员会", "万州区教委"),
];

const KEY_TENANTS: &[&str] = &[
    "市政府办公厅",
    "市公安局",
    "市人力社保局",
    "市卫生健康委",
    "市医保局",
];

/// (name suffix, MLPS level 3 likely, internet facing, sensitivity)
const SYSTEM_TEMPLATES: &[(&str, bool, bool, &str)] = &[
    ("门户网站", false, true, "public"),
    ("政务服务平台", true, true, "internal"),
    ("行政审批系统", true, false, "sensitive"),
    ("协同办公系统", false, false, "internal"),
    ("数据共享交换系统", true, false, "sensitive"),
    ("档案管理系统", false, false, "internal"),
    ("视频会议系统", false, false, "internal"),
    ("业务监管平台", true, false, "sensitive"),
    ("统计分析系统", false, false, "internal"),
    ("移动办公系统", false, true, "internal"),
    ("综合执法系统", true, false, "sensitive"),
    ("信息公开系统", false, true, "public"),
    ("财务管理系统", true, false, "sensitive"),
    ("人事管理系统", false, false, "sensitive"),
    ("应急指挥系统", true, false, "internal"),
];

const IMAGES: &[(&str, &str)] = &[
    ("CentOS-7.9-x86_64", "CentOS Linux 7.9"),
    ("Kylin-Server-V10-SP3", "银河麒麟高级服务器操作系统 V10"),
    ("UOS-Server-20-1070e", "统信服务器操作系统 V20"),
    ("openEuler-22.03-LTS-SP2", "openEuler 22.03 LTS"),
    ("Ubuntu-22.04-LTS", "Ubuntu 22.04 LTS"),
    ("WindowsServer-2019-DC", "Windows Server 2019"),
];

const PAAS_PRODUCTS: &[(&str, &str, &str)] = &[
    ("database", "MySQL", "8.0.35"),
    ("database", "达梦数据库 DM8", "8.1.3"),
    ("database", "人大金仓 KingbaseES", "V8R6"),
    ("database", "PostgreSQL", "14.10"),
    ("database", "Oracle Database", "11.2.0.4"),
    ("middleware", "东方通 TongWeb", "7.0.4"),
    ("middleware", "金蝶 Apusic", "10.0"),
    ("middleware", "Apache Tomcat", "8.5.23"),
    ("middleware", "Nginx", "1.24.0"),
    ("cache", "Redis", "6.2.14"),
    ("message_queue", "Apache Kafka", "3.4.1"),
    ("message_queue", "RabbitMQ", "3.11.28"),
];

/// (name, district, address, latitude, longitude, carriers, remote backup site)
type DatacenterPlan = (
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    &'static [&'static str],
    bool,
);

struct ProviderPlan {
    name: &'static str,
    short: &'static str,
    credit: &'static str,
    product: &'static str,
    version: &'static str,
    assessment_expiry: &'static str,
    datacenters: &'static [DatacenterPlan],
}

const PROVIDERS: &[ProviderPlan] = &[
    ProviderPlan {
        name: "中国电信股份有限公司重庆分公司",
        short: "电信政务云",
        credit: "91500000MA5U7C1X2A",
        product: "天翼云政务云（OpenStack）",
        version: "2024.1",
        assessment_expiry: "2027-06-30",
        datacenters: &[
            (
                "电信水土云计算中心",
                "两江新区",
                "重庆市两江新区水土高新技术产业园云汉大道",
                29.7764,
                106.4972,
                &["china_telecom", "china_unicom"],
                false,
            ),
            (
                "电信万州灾备中心",
                "万州区",
                "重庆市万州区高峰街道万州经济技术开发区",
                30.7546,
                108.3825,
                &["china_telecom", "china_mobile"],
                true,
            ),
        ],
    },
    ProviderPlan {
        name: "中国联合网络通信有限公司重庆市分公司",
        short: "联通政务云",
        credit: "91500000MA5U8D2Y3B",
        product: "联通云（OpenStack）",
        version: "2023.2",
        assessment_expiry: "2027-03-31",
        datacenters: &[
            (
                "联通两江数据中心",
                "两江新区",
                "重庆市两江新区悦来街道",
                29.7188,
                106.5371,
                &["china_unicom", "china_mobile"],
                false,
            ),
            (
                "联通西永数据中心",
                "沙坪坝区",
                "重庆市沙坪坝区西永微电园",
                29.5952,
                106.3039,
                &["china_unicom", "china_telecom"],
                false,
            ),
        ],
    },
    ProviderPlan {
        name: "重庆数字政务云科技有限公司",
        short: "数字政务云",
        credit: "91500106MA60QK4Z5C",
        product: "华为云 Stack",
        version: "8.3.0",
        // Expired: a finding for the compliance engine (7.1.11).
        assessment_expiry: "2026-03-31",
        datacenters: &[
            // A single carrier: a finding for the compliance engine (7.2.2.2).
            (
                "数字政务云璧山数据中心",
                "璧山区",
                "重庆市璧山区璧泉街道",
                29.5925,
                106.2306,
                &["china_telecom"],
                false,
            ),
        ],
    },
];

/// Builds the demo world. Pure: the same `(scale, seed)` always gives the same rows.
pub fn generate(scale: Scale, seed: u64) -> DemoWorld {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut planted = Vec::new();

    let mut management_units = Rows::default();
    management_units.push(values([
        ("name", t("重庆市大数据应用发展管理局")),
        ("address", t("重庆市渝北区青枫北路")),
        ("credit_code", t("11500000MB1K93701X")),
        ("contact_name", t("政务云监管科")),
        ("contact_phone", t("023-67000000")),
        ("contact_email", t("cloud-supervision@example.gov.cn")),
    ]));

    let mut zones = Rows::default();
    let internet_zone = zones.push(values([
        ("name", t("互联网区")),
        ("zone_kind", t("internet")),
        ("description", t("承载互联网门户网站及面向公众的信息系统")),
    ]));
    let extranet_zone = zones.push(values([
        ("name", t("政务外网区")),
        ("zone_kind", t("extranet")),
        (
            "description",
            t("承载电子政务外网业务，通过安全资源池接入电子政务外网"),
        ),
    ]));

    // Providers, platforms, datacenters.
    let mut providers = Rows::default();
    let mut platforms = Rows::default();
    let mut datacenters = Rows::default();
    let mut demo_providers = Vec::new();
    // Per provider: (primary datacenter, other datacenters)
    let mut provider_datacenters: Vec<Vec<i64>> = Vec::new();
    let mut remote_backup_datacenter = 0;
    for (index, plan) in PROVIDERS.iter().enumerate() {
        let provider = providers.push(values([
            ("name", t(plan.name)),
            ("short_name", t(plan.short)),
            ("credit_code", t(plan.credit)),
            ("contact_name", t(format!("{}安全负责人", plan.short))),
            (
                "contact_phone",
                t(format!("023-6{:07}", 1_000_000 + index * 111_111)),
            ),
            (
                "contact_email",
                t(format!("security{}@provider.example.cn", index + 1)),
            ),
        ]));
        demo_providers.push(DemoProvider {
            id: provider,
            name: plan.name.to_owned(),
            short_name: plan.short.to_owned(),
        });
        let platform = platforms.push(values([
            ("provider_id", Value::Int(provider)),
            ("name", t(format!("{}平台", plan.short))),
            ("product", t(plan.product)),
            ("version", t(plan.version)),
            ("service_models", list(["iaas", "paas", "saas"])),
            ("deployment_models", list(["dedicated", "shared"])),
            ("mlps_level", Value::Int(3)),
            ("assessment_expiry", t(plan.assessment_expiry)),
        ]));
        if plan.assessment_expiry < "2026-11-01" {
            planted.push(PlantedFlaw {
                kind: Kind::Platform,
                id: platform,
                what: "platform MLPS assessment expired (7.1.11)",
            });
        }
        let mut ids = Vec::new();
        for &(name, district, address, lat, lon, carriers, remote) in plan.datacenters {
            let id = datacenters.push(values([
                ("provider_id", Value::Int(provider)),
                ("name", t(name)),
                ("address", t(address)),
                ("district", t(district)),
                ("latitude", Value::Float(lat)),
                ("longitude", Value::Float(lon)),
                ("datum", t("wgs84")),
                ("remote_backup_site", Value::Bool(remote)),
                ("carriers", sorted_list(carriers)),
            ]));
            if carriers.len() < 2 {
                planted.push(PlantedFlaw {
                    kind: Kind::Datacenter,
                    id,
                    what: "datacenter connected to a single carrier (7.2.2.2)",
                });
            }
            if remote {
                remote_backup_datacenter = id;
            }
            ids.push(id);
        }
        provider_datacenters.push(ids);
    }

    let mut gateways = Rows::default();
    gateways.push(values([
        ("name", t("互联网区—政务外网区网闸")),
        ("from_zone_id", Value::Int(internet_zone)),
        ("to_zone_id", Value::Int(extranet_zone)),
        ("exchange_mode", t("two_way")),
        ("product", t("安全隔离与信息交换系统 GAP-3000")),
        ("datacenter_id", Value::Int(provider_datacenters[0][0])),
    ]));

    // Tenants: municipal departments, districts and some district departments.
    let mut tenants = Rows::default();
    let mut tenant_short: Vec<String> = Vec::new();
    for (index, (name, short)) in MUNICIPAL_DEPARTMENTS.iter().enumerate() {
        let key = KEY_TENANTS.contains(short);
        tenants.push(tenant_values(
            name,
            "municipal_department",
            None,
            key,
            index,
        ));
        tenant_short.push((*short).to_owned());
    }
    let mut district_ids = Vec::new();
    for (index, district) in DISTRICTS.iter().enumerate() {
        let name = format!("重庆市{district}人民政府");
        let id = tenants.push(tenant_values(
            &name,
            "district",
            None,
            false,
            MUNICIPAL_DEPARTMENTS.len() + index,
        ));
        district_ids.push(id);
        tenant_short.push(format!("{district}政府"));
    }
    for (index, &(parent, name, short)) in DISTRICT_DEPARTMENTS.iter().enumerate() {
        tenants.push(tenant_values(
            name,
            "district_department",
            Some(district_ids[parent]),
            false,
            MUNICIPAL_DEPARTMENTS.len() + DISTRICTS.len() + index,
        ));
        tenant_short.push(short.to_owned());
    }

    // Images: six public images per provider, with simulated SM3 digests.
    let mut images = Rows::default();
    let mut provider_images: Vec<Vec<i64>> = Vec::new();
    for provider in &demo_providers {
        let mut ids = Vec::new();
        for (name, os) in IMAGES {
            ids.push(images.push(values([
                ("provider_id", Value::Int(provider.id)),
                ("tenant_id", Value::Null),
                ("name", t(*name)),
                ("os", t(*os)),
                ("visibility", t("public")),
                ("digest", t(format!("sm3:{}", random_hex(&mut rng, 32)))),
            ])));
        }
        provider_images.push(ids);
    }

    // Information systems and VPCs.
    let mut systems = Rows::default();
    let mut vpcs = Rows::default();
    let mut subnets = Rows::default();
    let mut security_groups = Rows::default();
    let mut rules = Rows::default();
    struct SystemPlan {
        id: i64,
        tenant: i64,
        vpc: usize,
        level: i64,
    }
    let mut system_plans: Vec<SystemPlan> = Vec::new();
    let mut vpc_plans: Vec<VpcPlan> = Vec::new();
    for (tenant_index, short) in tenant_short.iter().enumerate() {
        let tenant = tenant_index as i64 + 1;
        let key = KEY_TENANTS.contains(&short.as_str());
        let provider_index = tenant_index % PROVIDERS.len();
        let system_count = rng.random_range(5..=10);
        let mut templates: Vec<usize> = (0..SYSTEM_TEMPLATES.len()).collect();
        // Deterministic partial shuffle: pick `system_count` distinct templates.
        for i in 0..system_count {
            let j = rng.random_range(i..templates.len());
            templates.swap(i, j);
        }
        let picked = &templates[..system_count];
        let needs_internet = picked.iter().any(|&i| SYSTEM_TEMPLATES[i].2);
        let extranet_vpc = plan_vpc(
            &mut vpcs,
            &mut subnets,
            &mut vpc_plans,
            VpcSpec {
                tenant,
                provider: demo_providers[provider_index].id,
                provider_index,
                zone: extranet_zone,
                name: format!("{short}-政务外网VPC"),
                octets: [10, (tenant_index % 200) as u8 + 20],
            },
        );
        let internet_vpc = needs_internet.then(|| {
            plan_vpc(
                &mut vpcs,
                &mut subnets,
                &mut vpc_plans,
                VpcSpec {
                    tenant,
                    provider: demo_providers[provider_index].id,
                    provider_index,
                    zone: internet_zone,
                    name: format!("{short}-互联网VPC"),
                    octets: [172, 16 + (tenant_index % 16) as u8],
                },
            )
        });
        for &template in picked {
            let (suffix, likely_l3, internet, sensitivity) = SYSTEM_TEMPLATES[template];
            // Key tenants run more level-3 systems; some ordinary ones are level 3 too.
            let level = if likely_l3 || (key && rng.random_bool(0.5)) || rng.random_bool(0.15) {
                3
            } else {
                2
            };
            let importance = match (level, key) {
                (3, true) => "critical",
                (3, false) => "important",
                _ => "general",
            };
            let service_model = match rng.random_range(0..10) {
                0 => "saas",
                1 | 2 => "paas",
                _ => "iaas",
            };
            let deployment = if short == "市公安局" {
                "dedicated"
            } else {
                "shared"
            };
            let vpc_index = if internet {
                internet_vpc.unwrap_or(extranet_vpc)
            } else {
                extranet_vpc
            };
            let id = systems.push(values([
                ("tenant_id", Value::Int(tenant)),
                ("name", t(format!("{short}{suffix}"))),
                ("classification", t("non_classified")),
                ("mlps_level", Value::Int(level)),
                (
                    "mlps_filing_number",
                    t(format!(
                        "50010{:04}-{:05}",
                        2000 + tenant_index,
                        systems.rows.len() + 1
                    )),
                ),
                ("sensitivity", t(sensitivity)),
                ("importance", t(importance)),
                ("service_model", t(service_model)),
                ("deployment_model", t(deployment)),
                ("description", Value::Null),
            ]));
            systems.links.push((id, vpc_plans[vpc_index].id));
            system_plans.push(SystemPlan {
                id,
                tenant,
                vpc: vpc_index,
                level,
            });
        }
    }

    // Security groups with realistic rules, and a few bad ones.
    let mut vpc_groups: Vec<[i64; 4]> = Vec::with_capacity(vpc_plans.len());
    let mut bad_rule_budget = [
        (3usize, "ssh_world"),
        (8, "rdp_world"),
        (13, "any_any"),
        (21, "db_world"),
    ];
    for (vpc_index, plan) in vpc_plans.iter().enumerate() {
        let internet = plan.zone == internet_zone;
        let public_source = if internet { "0.0.0.0/0" } else { "10.0.0.0/8" };
        let web_cidr = cidr_text(plan.subnets[0].1, 20);
        let app_cidr = cidr_text(plan.subnets[1].1, 20);
        let group = |security_groups: &mut Rows, name: &str, description: &str| {
            security_groups.push(values([
                ("vpc_id", Value::Int(plan.id)),
                ("name", t(name)),
                ("description", t(description)),
                ("tenant_id", Value::Int(plan.tenant)),
                (
                    "provider_id",
                    Value::Int(demo_providers[plan.provider_index].id),
                ),
            ]))
        };
        let web = group(&mut security_groups, "sg-web", "Web 前端");
        let app = group(&mut security_groups, "sg-app", "应用服务");
        let db = group(&mut security_groups, "sg-db", "数据库");
        let mgmt = group(&mut security_groups, "sg-bastion", "堡垒机与运维");
        vpc_groups.push([web, app, db, mgmt]);
        let provider = demo_providers[plan.provider_index].id;
        let mut rule = |group: i64, spec: RuleSpec| -> i64 {
            rules.push(rule_values(group, plan.tenant, provider, spec))
        };
        rule(
            web,
            RuleSpec::tcp(10, "allow", 443, 443, Remote::Cidr(public_source), "HTTPS"),
        );
        rule(
            web,
            RuleSpec::tcp(
                11,
                "allow",
                80,
                80,
                Remote::Cidr(public_source),
                "HTTP 跳转",
            ),
        );
        rule(
            web,
            RuleSpec::tcp(20, "allow", 22, 22, Remote::Group(mgmt), "运维 SSH"),
        );
        rule(
            web,
            RuleSpec::tcp(100, "deny", 1, 65535, Remote::Cidr("0.0.0.0/0"), "默认拒绝"),
        );
        rule(
            app,
            RuleSpec::tcp(10, "allow", 8080, 8080, Remote::Group(web), "应用端口"),
        );
        rule(
            app,
            RuleSpec::tcp(20, "allow", 22, 22, Remote::Group(mgmt), "运维 SSH"),
        );
        rule(
            app,
            RuleSpec::tcp(30, "allow", 8080, 8080, Remote::Cidr(&web_cidr), "Web 子网"),
        );
        rule(
            db,
            RuleSpec::tcp(10, "allow", 3306, 3306, Remote::Cidr(&app_cidr), "MySQL"),
        );
        rule(
            db,
            RuleSpec::tcp(11, "allow", 5236, 5236, Remote::Cidr(&app_cidr), "达梦 DM8"),
        );
        rule(
            db,
            RuleSpec::tcp(20, "allow", 22, 22, Remote::Group(mgmt), "运维 SSH"),
        );
        rule(
            db,
            RuleSpec::tcp(100, "deny", 1, 65535, Remote::Cidr("0.0.0.0/0"), "默认拒绝"),
        );
        rule(
            mgmt,
            RuleSpec::tcp(
                10,
                "allow",
                22,
                22,
                Remote::Cidr("10.200.0.0/16"),
                "运维接入网",
            ),
        );
        rule(
            mgmt,
            RuleSpec::tcp(
                11,
                "allow",
                443,
                443,
                Remote::Cidr("10.200.0.0/16"),
                "堡垒机 Web",
            ),
        );
        rule(mgmt, RuleSpec::egress_all(100));
        for (target, what) in bad_rule_budget.iter_mut() {
            if *target != vpc_index {
                continue;
            }
            let (id, flaw) = match *what {
                "ssh_world" => (
                    rule(
                        web,
                        RuleSpec::tcp(1, "allow", 22, 22, Remote::Cidr("0.0.0.0/0"), "临时调试"),
                    ),
                    "SSH open to 0.0.0.0/0",
                ),
                "rdp_world" => (
                    rule(
                        app,
                        RuleSpec::tcp(
                            1,
                            "allow",
                            3389,
                            3389,
                            Remote::Cidr("0.0.0.0/0"),
                            "远程桌面",
                        ),
                    ),
                    "RDP open to 0.0.0.0/0",
                ),
                "any_any" => (
                    rule(app, RuleSpec::any(1, "allow", "0.0.0.0/0", "全部放通")),
                    "any-to-any allow rule",
                ),
                _ => (
                    rule(
                        db,
                        RuleSpec::tcp(
                            5,
                            "allow",
                            3306,
                            3306,
                            Remote::Cidr("0.0.0.0/0"),
                            "外部对接",
                        ),
                    ),
                    "database port open to 0.0.0.0/0",
                ),
            };
            planted.push(PlantedFlaw {
                kind: Kind::SecurityGroupRule,
                id,
                what: flaw,
            });
            *target = usize::MAX;
        }
    }

    // Hosts: enough per provider and zone, internet-zone hosts dedicated.
    let vm_total = scale.vm_count();
    let system_weights: Vec<u32> = system_plans
        .iter()
        .map(|plan| if plan.level == 3 { 5 } else { 3 } + rng.random_range(0..4))
        .collect();
    let weight_sum: u32 = system_weights.iter().sum();
    let mut vms_per_system: Vec<usize> = system_weights
        .iter()
        .map(|&weight| (vm_total as u64 * weight as u64 / weight_sum as u64) as usize)
        .collect();
    let assigned: usize = vms_per_system.iter().sum();
    for slot in 0..(vm_total - assigned) {
        let index = slot % vms_per_system.len();
        vms_per_system[index] += 1;
    }
    let mut vms_per_placement = vec![[0usize; 2]; PROVIDERS.len()];
    for (plan, &count) in system_plans.iter().zip(&vms_per_system) {
        let vpc = &vpc_plans[plan.vpc];
        let zone_slot = usize::from(vpc.zone == internet_zone);
        vms_per_placement[vpc.provider_index][zone_slot] += count;
    }
    let mut hosts = Rows::default();
    let mut placement_hosts: Vec<[Vec<i64>; 2]> = Vec::new();
    for (provider_index, counts) in vms_per_placement.iter().enumerate() {
        let provider = demo_providers[provider_index].id;
        let datacenter = provider_datacenters[provider_index][0];
        let mut per_zone: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
        for (zone_slot, &count) in counts.iter().enumerate() {
            let internet = zone_slot == 1;
            let host_count = count.div_ceil(40).max(2);
            for number in 0..host_count {
                let prefix = if internet { "inet" } else { "gov" };
                per_zone[zone_slot].push(hosts.push(values([
                    ("provider_id", Value::Int(provider)),
                    ("datacenter_id", Value::Int(datacenter)),
                    (
                        "zone_id",
                        Value::Int(if internet {
                            internet_zone
                        } else {
                            extranet_zone
                        }),
                    ),
                    ("name", t(format!("{prefix}-cn{:04}", number + 1))),
                    ("dedicated_internet", Value::Bool(internet)),
                    ("cpu_cores", Value::Int(96)),
                    ("memory_gib", Value::Int(768)),
                ])));
            }
        }
        placement_hosts.push(per_zone);
    }

    // VMs, volumes, snapshots.
    let mut vms = Rows::default();
    // The first VM placed in each VPC (by plan index): some become bastions.
    let mut first_vm: Vec<Option<i64>> = vec![None; vpc_plans.len()];
    let mut volumes = Rows::default();
    let mut snapshots = Rows::default();
    let mut unencrypted_planted = false;
    let mut shared_host_planted = false;
    for (plan, &count) in system_plans.iter().zip(&vms_per_system) {
        let vpc = &mut vpc_plans[plan.vpc];
        let provider = demo_providers[vpc.provider_index].id;
        let internet = vpc.zone == internet_zone;
        let zone_slot = usize::from(internet);
        let system_name = systems.rows[(plan.id - 1) as usize].1["name"].clone();
        let system_name = system_name.as_text().unwrap_or("system").to_owned();
        for number in 0..count {
            let tier = match number % 6 {
                0..=2 => 0,
                3 | 4 => 1,
                _ => 2,
            };
            let (subnet, base) = vpc.subnets[tier];
            let offset = vpc.next_host[tier] + 10;
            vpc.next_host[tier] += 1;
            let address = add_to_address(base, offset);
            let host_pool = &placement_hosts[vpc.provider_index][zone_slot];
            let mut host = host_pool[rng.random_range(0..host_pool.len())];
            let mut planted_shared = false;
            if internet && !shared_host_planted {
                // An internet-zone VM on a host of the extranet zone (7.1.2).
                host = placement_hosts[vpc.provider_index][0][0];
                shared_host_planted = true;
                planted_shared = true;
            }
            let vcpus = [2i64, 4, 4, 8, 8, 16][rng.random_range(0..6)];
            let memory = vcpus * [2048i64, 4096][rng.random_range(0..2)];
            let images = &provider_images[vpc.provider_index];
            let image = images[rng.random_range(0..images.len())];
            let status = if rng.random_bool(0.95) {
                "running"
            } else {
                "stopped"
            };
            let tier_name = ["web", "app", "db"][tier];
            let vm = vms.push(values([
                ("vpc_id", Value::Int(vpc.id)),
                ("subnet_id", Value::Int(subnet)),
                (
                    "name",
                    t(format!("{system_name}-{tier_name}-{:03}", number + 1)),
                ),
                ("host_id", Value::Int(host)),
                ("image_id", Value::Int(image)),
                ("vcpus", Value::Int(vcpus)),
                ("memory_mib", Value::Int(memory)),
                ("ip_addresses", Value::TextList(vec![address])),
                ("status", t(status)),
                ("system_id", Value::Int(plan.id)),
                ("tenant_id", Value::Int(plan.tenant)),
                ("provider_id", Value::Int(provider)),
            ]));
            vms.links.push((vm, vpc_groups[plan.vpc][tier]));
            first_vm[plan.vpc].get_or_insert(vm);
            if planted_shared {
                planted.push(PlantedFlaw {
                    kind: Kind::Vm,
                    id: vm,
                    what: "internet-zone VM on a host of the extranet zone (7.1.2)",
                });
            }
            let encrypted = plan.level == 2 || rng.random_bool(0.97);
            let volume = volumes.push(values([
                ("tenant_id", Value::Int(plan.tenant)),
                ("provider_id", Value::Int(provider)),
                ("name", t(format!("vol-{vm:06}"))),
                ("vm_id", Value::Int(vm)),
                ("size_gib", Value::Int(if tier == 2 { 500 } else { 100 })),
                ("encrypted", Value::Bool(encrypted)),
            ]));
            if !encrypted && !unencrypted_planted {
                unencrypted_planted = true;
                planted.push(PlantedFlaw {
                    kind: Kind::Volume,
                    id: volume,
                    what: "unencrypted volume of an MLPS level-3 system (and others like it)",
                });
            }
            if rng.random_bool(0.1) {
                snapshots.push(values([
                    ("volume_id", Value::Int(volume)),
                    ("name", t(format!("snap-{volume:06}-weekly"))),
                    ("size_gib", Value::Int(if tier == 2 { 500 } else { 100 })),
                    ("tenant_id", Value::Int(plan.tenant)),
                    ("provider_id", Value::Int(provider)),
                ]));
            }
        }
    }

    // Backups: level-3 systems back up same-city and remote; level 2 locally.
    let mut backups = Rows::default();
    let mut stale_restore_planted = false;
    for plan in &system_plans {
        let vpc = &vpc_plans[plan.vpc];
        let datacenters_of_provider = &provider_datacenters[vpc.provider_index];
        let name = systems.rows[(plan.id - 1) as usize].1["name"]
            .as_text()
            .unwrap_or("system")
            .to_owned();
        let mut kinds: Vec<(&str, i64)> = vec![("local", datacenters_of_provider[0])];
        if plan.level == 3 {
            let same_city = datacenters_of_provider
                .iter()
                .copied()
                .find(|&dc| dc != datacenters_of_provider[0] && dc != remote_backup_datacenter)
                .unwrap_or(datacenters_of_provider[0]);
            kinds = vec![
                ("same_city", same_city),
                ("remote", remote_backup_datacenter),
            ];
        }
        for (backup_kind, datacenter) in kinds {
            let stale = !stale_restore_planted && backup_kind == "remote";
            let restore = if stale {
                "2025-05-20".to_owned()
            } else {
                format!(
                    "2026-{:02}-{:02}",
                    rng.random_range(1..=10),
                    rng.random_range(1..=28)
                )
            };
            let id = backups.push(values([
                ("tenant_id", Value::Int(plan.tenant)),
                ("name", t(format!("{name}-{backup_kind}"))),
                ("system_id", Value::Int(plan.id)),
                ("volume_id", Value::Null),
                ("datacenter_id", Value::Int(datacenter)),
                ("backup_kind", t(backup_kind)),
                ("last_restore_test", t(restore)),
                (
                    "provider_id",
                    Value::Int(
                        datacenters.rows[(datacenter - 1) as usize].1["provider_id"]
                            .as_int()
                            .unwrap_or(0),
                    ),
                ),
            ]));
            if stale {
                stale_restore_planted = true;
                planted.push(PlantedFlaw {
                    kind: Kind::Backup,
                    id,
                    what: "remote backup restore test older than a year",
                });
            }
        }
    }

    // Databases and middleware.
    let mut paas = Rows::default();
    for plan in &system_plans {
        let vpc = &vpc_plans[plan.vpc];
        let count = rng.random_range(0..=2);
        for number in 0..count {
            let (category, product, version) =
                PAAS_PRODUCTS[rng.random_range(0..PAAS_PRODUCTS.len())];
            paas.push(values([
                ("vpc_id", Value::Int(vpc.id)),
                (
                    "name",
                    t(format!("{category}-{:04}-{}", plan.id, number + 1)),
                ),
                ("category", t(category)),
                ("product", t(product)),
                ("version", t(version)),
                ("system_id", Value::Int(plan.id)),
                ("tenant_id", Value::Int(plan.tenant)),
                (
                    "provider_id",
                    Value::Int(demo_providers[vpc.provider_index].id),
                ),
            ]));
        }
    }

    // Network isolation (issue 8): bastions, subnet ACLs, one approved cross-tenant
    // exchange behind both tenants' firewalls, and the planted violations — a peering
    // between two tenants with neither an exchange rule nor firewall rules, and a
    // bastion that reaches the other tenant's VPC over it.
    let mut network_acls = Rows::default();
    let mut network_acl_rules = Rows::default();
    let mut firewall_rules = Rows::default();
    let mut peerings = Rows::default();
    let mut exchanges = Rows::default();
    let mut routes = Rows::default();
    let mut endpoints = Rows::default();
    let flawed_rule_vpcs = [3usize, 8, 13, 21];
    let candidates: Vec<usize> = (0..vpc_plans.len())
        .filter(|index| {
            vpc_plans[*index].zone == extranet_zone
                && !flawed_rule_vpcs.contains(index)
                && first_vm[*index].is_some()
        })
        .collect();
    let provider_of = |plan: &VpcPlan| demo_providers[plan.provider_index].id;
    let vpc_cidr = |plan: &VpcPlan| {
        let base = plan.subnets[0].1;
        cidr_text([base[0], base[1], 0, 0], 16)
    };
    // Bastions: the first VM of every fourth candidate VPC (and of the planted one),
    // moved into its VPC's bastion group.
    let bastion_vpcs: Vec<usize> = candidates
        .iter()
        .copied()
        .enumerate()
        .filter(|(position, _)| position % 4 == 2 || *position == 4)
        .map(|(_, index)| index)
        .collect();
    for &index in &bastion_vpcs {
        let Some(vm) = first_vm[index] else { continue };
        for link in vms.links.iter_mut().filter(|link| link.0 == vm) {
            link.1 = vpc_groups[index][3];
        }
        endpoints.push(values([
            ("vm_id", Value::Int(vm)),
            ("name", t(format!("bastion-{:03}", vpc_plans[index].id))),
            ("endpoint_kind", t("bastion")),
            ("description", t("运维堡垒机")),
            ("tenant_id", Value::Int(vpc_plans[index].tenant)),
            ("provider_id", Value::Int(provider_of(&vpc_plans[index]))),
        ]));
    }
    // Subnet ACLs on the database tier of the first ten candidates.
    for &index in candidates.iter().take(10) {
        let plan = &vpc_plans[index];
        let (db_subnet, _) = plan.subnets[2];
        let app_cidr = cidr_text(plan.subnets[1].1, 20);
        let acl = network_acls.push(values([
            ("vpc_id", Value::Int(plan.id)),
            ("name", t("acl-db")),
            ("description", t("数据库子网访问控制")),
            ("tenant_id", Value::Int(plan.tenant)),
            ("provider_id", Value::Int(provider_of(plan))),
        ]));
        network_acls.links.push((acl, db_subnet));
        let acl_rules: [AclRuleSpec; 5] = [
            (
                "ingress",
                10,
                "allow",
                "tcp",
                Some((3306, 3306)),
                app_cidr.clone(),
                "应用层访问 MySQL",
            ),
            (
                "ingress",
                20,
                "allow",
                "tcp",
                Some((5236, 5236)),
                app_cidr.clone(),
                "应用层访问达梦",
            ),
            (
                "ingress",
                30,
                "allow",
                "tcp",
                Some((22, 22)),
                vpc_cidr(plan),
                "VPC 内运维",
            ),
            (
                "ingress",
                100,
                "deny",
                "any",
                None,
                "0.0.0.0/0".into(),
                "其余拒绝",
            ),
            (
                "egress",
                10,
                "allow",
                "any",
                None,
                "0.0.0.0/0".into(),
                "出方向放通",
            ),
        ];
        for (direction, position, action, protocol, ports, remote, description) in acl_rules {
            let (from, to) = ports.map_or((Value::Null, Value::Null), |(from, to)| {
                (Value::Int(from), Value::Int(to))
            });
            network_acl_rules.push(values([
                ("network_acl_id", Value::Int(acl)),
                ("direction", t(direction)),
                ("position", Value::Int(position)),
                ("action", t(action)),
                ("protocol", t(protocol)),
                ("port_from", from),
                ("port_to", to),
                ("remote_cidr", t(remote)),
                ("description", t(description)),
                ("tenant_id", Value::Int(plan.tenant)),
                ("provider_id", Value::Int(provider_of(plan))),
            ]));
        }
    }
    // Internet VPCs leave through the internet gateway: beyond it nothing is verifiable.
    for plan in vpc_plans.iter().filter(|plan| plan.zone == internet_zone) {
        routes.push(values([
            ("vpc_id", Value::Int(plan.id)),
            ("destination", t("0.0.0.0/0")),
            ("next_hop", t("internet_gateway")),
            ("peering_id", Value::Null),
            ("description", t("默认路由")),
            ("tenant_id", Value::Int(plan.tenant)),
            ("provider_id", Value::Int(provider_of(plan))),
        ]));
    }
    // Two pairs of different tenants on one provider: the first shares data properly,
    // the second is the planted peering.
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut used: Vec<usize> = bastion_vpcs
        .iter()
        .copied()
        .filter(|index| *index != candidates.get(4).copied().unwrap_or(usize::MAX))
        .collect();
    for &a in &candidates {
        if pairs.len() == 2 || used.contains(&a) {
            continue;
        }
        // The planted pair starts at the planted bastion's VPC.
        if pairs.len() == 1 && Some(&a) != candidates.get(4) {
            continue;
        }
        let partner = candidates.iter().copied().find(|b| {
            !used.contains(b)
                && *b != a
                && vpc_plans[*b].tenant != vpc_plans[a].tenant
                && vpc_plans[*b].provider_index == vpc_plans[a].provider_index
                && !bastion_vpcs.contains(b)
        });
        if let Some(b) = partner {
            used.extend([a, b]);
            pairs.push((a, b));
        }
    }
    for (number, (a, b)) in pairs.into_iter().enumerate() {
        let (plan_a, plan_b) = (&vpc_plans[a], &vpc_plans[b]);
        let peering = peerings.push(values([
            ("vpc_id", Value::Int(plan_a.id)),
            ("peer_vpc_id", Value::Int(plan_b.id)),
            (
                "name",
                t(if number == 0 {
                    "pcx-数据共享"
                } else {
                    "pcx-临时联调"
                }),
            ),
            (
                "description",
                t(if number == 0 {
                    "经审批的数据共享通道"
                } else {
                    "联调用，未经审批"
                }),
            ),
            ("tenant_id", Value::Int(plan_a.tenant)),
            ("provider_id", Value::Int(provider_of(plan_a))),
        ]));
        if number == 0 {
            for (from, to) in [(plan_a, plan_b), (plan_b, plan_a)] {
                routes.push(values([
                    ("vpc_id", Value::Int(from.id)),
                    ("destination", t(vpc_cidr(to))),
                    ("next_hop", t("peering")),
                    ("peering_id", Value::Int(peering)),
                    ("description", t("数据共享")),
                    ("tenant_id", Value::Int(from.tenant)),
                    ("provider_id", Value::Int(provider_of(from))),
                ]));
            }
            exchanges.push(values([
                ("from_vpc_id", Value::Int(plan_a.id)),
                ("to_vpc_id", Value::Int(plan_b.id)),
                ("protocol", t("tcp")),
                ("port_from", Value::Int(443)),
                ("port_to", Value::Int(443)),
                ("approval", t("渝数据交换〔2026〕7号")),
                ("description", t("共享数据接口（HTTPS）")),
                ("tenant_id", Value::Int(plan_a.tenant)),
                ("provider_id", Value::Int(provider_of(plan_a))),
            ]));
            for (tenant, plan) in [(plan_a.tenant, plan_a), (plan_b.tenant, plan_b)] {
                firewall_rules.push(values([
                    ("tenant_id", Value::Int(tenant)),
                    ("provider_id", Value::Int(provider_of(plan))),
                    ("name", t("数据共享-HTTPS")),
                    ("position", Value::Int(10)),
                    ("action", t("allow")),
                    ("protocol", t("tcp")),
                    ("port_from", Value::Int(443)),
                    ("port_to", Value::Int(443)),
                    ("source_cidr", t(vpc_cidr(plan_a))),
                    ("destination_cidr", t(vpc_cidr(plan_b))),
                    ("application", Value::Null),
                    ("description", t("依审批文号开放")),
                ]));
            }
        } else {
            planted.push(PlantedFlaw {
                kind: Kind::VpcPeering,
                id: peering,
                what: "a peering between two tenants with no exchange rule and no firewall rules (5.2.2, 7.5.12)",
            });
            // The partner lets the other VPC's operators in by SSH: the bastion there
            // now reaches a VPC that is not its tenant's (7.2.2.3).
            let id = rules.push(rule_values(
                vpc_groups[b][1],
                plan_b.tenant,
                provider_of(plan_b),
                RuleSpec::tcp(
                    15,
                    "allow",
                    22,
                    22,
                    Remote::Cidr(&vpc_cidr(plan_a)),
                    "对端联调运维",
                ),
            ));
            planted.push(PlantedFlaw {
                kind: Kind::SecurityGroupRule,
                id,
                what: "SSH from another tenant's VPC: its bastion reaches this VPC (7.2.2.3)",
            });
        }
    }

    // The first provider's container platform (5.4.3): one Kubernetes cluster with
    // three tenants' namespaces. Two keep to themselves (a same-namespace default,
    // Kubernetes' own recipe); the third, planted, has no NetworkPolicy: every pod of
    // the cluster reaches its pods and nothing segments them.
    let mut workloads = Rows::default();
    let mut container_policies = Rows::default();
    let mut cluster_tenants: Vec<i64> = Vec::new();
    for plan in vpc_plans.iter().filter(|plan| plan.provider_index == 0) {
        if !cluster_tenants.contains(&plan.tenant) && cluster_tenants.len() < 3 {
            cluster_tenants.push(plan.tenant);
        }
    }
    let container_provider = demo_providers[0].id;
    for (number, tenant) in cluster_tenants.iter().enumerate() {
        let namespace = format!("ns-{}", project_of(*tenant));
        let mut first = None;
        for (app_number, app) in ["api", "web"].iter().enumerate() {
            for replica in 0..2u8 {
                let id = workloads.push(values([
                    ("tenant_id", Value::Int(*tenant)),
                    ("provider_id", Value::Int(container_provider)),
                    ("cluster", t("cq-k8s-01")),
                    ("namespace", t(namespace.clone())),
                    ("name", t(format!("{app}-{replica}"))),
                    (
                        "images",
                        Value::TextList(vec![format!("registry.cq.gov.cn/{app}:1.4")]),
                    ),
                    ("image_digests", Value::TextList(Vec::new())),
                    ("node", t(format!("k8s-node-{}", replica + 1))),
                    ("status", t("Running")),
                    ("labels", Value::TextList(vec![format!("app={app}")])),
                    (
                        "namespace_labels",
                        Value::TextList(vec![
                            format!("kubernetes.io/metadata.name={namespace}"),
                            format!("yunjian.io/project={}", project_of(*tenant)),
                        ]),
                    ),
                    (
                        "ip_addresses",
                        Value::TextList(vec![format!(
                            "10.244.{number}.{}",
                            10 + app_number * 2 + usize::from(replica)
                        )]),
                    ),
                ]));
                first.get_or_insert(id);
            }
        }
        if number < 2 {
            container_policies.push(values([
                ("tenant_id", Value::Int(*tenant)),
                ("provider_id", Value::Int(container_provider)),
                ("cluster", t("cq-k8s-01")),
                ("namespace", t(namespace.clone())),
                ("name", t("deny-from-other-namespaces")),
                (
                    "spec",
                    t(r#"{"podSelector":{},"ingress":[{"from":[{"podSelector":{}}]}]}"#),
                ),
            ]));
        } else if let Some(id) = first {
            planted.push(PlantedFlaw {
                kind: Kind::ContainerWorkload,
                id,
                what: "a tenant's namespace with no NetworkPolicy: other tenants' pods reach it (5.4.3)",
            });
        }
    }

    // Two tenants with administrators: a municipal department and a district.
    let admin_tenants = [5usize, MUNICIPAL_DEPARTMENTS.len()]
        .iter()
        .map(|&index| {
            let name = tenants.rows[index].1["name"]
                .as_text()
                .unwrap_or("")
                .to_owned();
            (index as i64 + 1, name)
        })
        .collect();

    let mut kinds = vec![
        (Kind::ManagementUnit, management_units),
        (Kind::Zone, zones),
        (Kind::Provider, providers),
        (Kind::Platform, platforms),
        (Kind::Datacenter, datacenters),
        (Kind::Gateway, gateways),
        (Kind::Tenant, tenants),
        (Kind::Image, images),
        (Kind::Vpc, vpcs),
        (Kind::Subnet, subnets),
        (Kind::InformationSystem, systems),
        (Kind::SecurityGroup, security_groups),
        (Kind::SecurityGroupRule, rules),
        (Kind::Host, hosts),
        (Kind::Vm, vms),
        (Kind::Volume, volumes),
        (Kind::Snapshot, snapshots),
        (Kind::Backup, backups),
        (Kind::PaasInstance, paas),
        (Kind::NetworkAcl, network_acls),
        (Kind::NetworkAclRule, network_acl_rules),
        (Kind::FirewallRule, firewall_rules),
        (Kind::VpcPeering, peerings),
        (Kind::ExchangeRule, exchanges),
        (Kind::Route, routes),
        (Kind::ManagementEndpoint, endpoints),
        (Kind::ContainerWorkload, workloads),
        (Kind::NetworkPolicy, container_policies),
    ];
    // Providers' own ids, as their platforms would report them: UUID-shaped, a pure
    // function of the kind and row (the world stays deterministic).
    for (kind, rows) in &mut kinds {
        // The rows' list references as values too (the links stay for bulk loading):
        // a row is then the whole object, as the store reads it back.
        if let Some((field, _)) = kind.spec().link_fields().next() {
            let mut lists: std::collections::HashMap<i64, Vec<i64>> = Default::default();
            for (owner, target) in &rows.links {
                lists.entry(*owner).or_default().push(*target);
            }
            for (id, values) in &mut rows.rows {
                let mut list = lists.remove(id).unwrap_or_default();
                list.sort_unstable();
                list.dedup();
                values.insert(field.name, Value::IdList(list));
            }
        }
        if kind.spec().field("external_id").is_none() {
            continue;
        }
        for (id, values) in &mut rows.rows {
            values.insert("external_id", t(external_id(*kind, *id)));
        }
    }
    DemoWorld {
        kinds,
        providers: demo_providers,
        admin_tenants,
        planted,
    }
}

/// A UUID-shaped provider id from the kind and row (splitmix64 of both).
fn external_id(kind: Kind, id: i64) -> String {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let kind_index = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u64;
    let high = mix(kind_index << 40 ^ id as u64);
    let low = mix(high ^ 0x5EED);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        0x8000 | (low >> 48) & 0x3fff,
        low & 0xffff_ffff_ffff
    )
}

fn tenant_values(
    name: &str,
    unit_type: &str,
    parent: Option<i64>,
    key: bool,
    index: usize,
) -> Values {
    values([
        ("name", t(name)),
        ("unit_type", t(unit_type)),
        ("parent_id", parent.map_or(Value::Null, Value::Int)),
        (
            "credit_code",
            t(format!(
                "11500000{:09}{}",
                709_000_000 + index * 7919,
                index % 10
            )),
        ),
        ("key_tenant", Value::Bool(key)),
        ("contact_name", t(format!("信息中心联系人{:02}", index + 1))),
        (
            "contact_phone",
            t(format!("023-6{:07}", 3_000_000 + index * 1_013)),
        ),
        (
            "contact_email",
            t(format!("it{:02}@dept.example.gov.cn", index + 1)),
        ),
    ])
}

struct VpcSpec {
    tenant: i64,
    provider: i64,
    provider_index: usize,
    zone: i64,
    name: String,
    octets: [u8; 2],
}

/// What the generator remembers about a VPC while it places VMs in it.
struct VpcPlan {
    id: i64,
    tenant: i64,
    provider_index: usize,
    zone: i64,
    /// web, app, db and management subnets as (id, base address)
    subnets: [(i64, [u8; 4]); 4],
    next_host: [u32; 4],
}

/// Adds a VPC with four subnets (web, app, db: /20; management: /24) and returns the
/// index of its plan.
fn plan_vpc(vpcs: &mut Rows, subnets: &mut Rows, plans: &mut Vec<VpcPlan>, spec: VpcSpec) -> usize {
    let [a, b] = spec.octets;
    let id = vpcs.push(values([
        ("tenant_id", Value::Int(spec.tenant)),
        ("provider_id", Value::Int(spec.provider)),
        ("zone_id", Value::Int(spec.zone)),
        ("name", t(spec.name)),
        ("cidrs", Value::TextList(vec![format!("{a}.{b}.0.0/16")])),
        ("description", Value::Null),
    ]));
    let layout: [(&str, [u8; 4], u8); 4] = [
        ("web", [a, b, 0, 0], 20),
        ("app", [a, b, 16, 0], 20),
        ("db", [a, b, 32, 0], 20),
        ("mgmt", [a, b, 240, 0], 24),
    ];
    let mut planned = [(0, [0; 4]); 4];
    for (slot, (name, base, prefix)) in layout.into_iter().enumerate() {
        let subnet = subnets.push(values([
            ("vpc_id", Value::Int(id)),
            ("name", t(format!("subnet-{name}"))),
            ("cidr", t(cidr_text(base, prefix))),
            ("tenant_id", Value::Int(spec.tenant)),
            ("provider_id", Value::Int(spec.provider)),
        ]));
        planned[slot] = (subnet, base);
    }
    plans.push(VpcPlan {
        id,
        tenant: spec.tenant,
        provider_index: spec.provider_index,
        zone: spec.zone,
        subnets: planned,
        next_host: [0; 4],
    });
    plans.len() - 1
}

fn sorted_list(items: &[&str]) -> Value {
    let mut items: Vec<String> = items.iter().map(|item| item.to_string()).collect();
    items.sort();
    Value::TextList(items)
}

fn cidr_text(base: [u8; 4], prefix: u8) -> String {
    format!("{}.{}.{}.{}/{prefix}", base[0], base[1], base[2], base[3])
}

fn add_to_address(base: [u8; 4], offset: u32) -> String {
    let address = u32::from_be_bytes(base) + offset;
    std::net::Ipv4Addr::from(address).to_string()
}

fn random_hex(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

enum Remote<'a> {
    Cidr(&'a str),
    Group(i64),
}

/// A demo ACL rule: direction, position, action, protocol, ports, remote, description.
type AclRuleSpec = (
    &'static str,
    i64,
    &'static str,
    &'static str,
    Option<(i64, i64)>,
    String,
    &'static str,
);

struct RuleSpec<'a> {
    direction: &'static str,
    priority: i64,
    action: &'static str,
    protocol: &'static str,
    ports: Option<(i64, i64)>,
    remote: Remote<'a>,
    description: &'static str,
}

impl<'a> RuleSpec<'a> {
    fn tcp(
        priority: i64,
        action: &'static str,
        from: i64,
        to: i64,
        remote: Remote<'a>,
        description: &'static str,
    ) -> Self {
        RuleSpec {
            direction: "ingress",
            priority,
            action,
            protocol: "tcp",
            ports: Some((from, to)),
            remote,
            description,
        }
    }

    fn any(priority: i64, action: &'static str, cidr: &'a str, description: &'static str) -> Self {
        RuleSpec {
            direction: "ingress",
            priority,
            action,
            protocol: "any",
            ports: None,
            remote: Remote::Cidr(cidr),
            description,
        }
    }

    fn egress_all(priority: i64) -> Self {
        RuleSpec {
            direction: "egress",
            priority,
            action: "allow",
            protocol: "any",
            ports: None,
            remote: Remote::Cidr("0.0.0.0/0"),
            description: "出方向放通",
        }
    }
}

fn rule_values(group: i64, tenant: i64, provider: i64, spec: RuleSpec<'_>) -> Values {
    let (remote_cidr, remote_group) = match spec.remote {
        Remote::Cidr(cidr) => (t(cidr), Value::Null),
        Remote::Group(id) => (Value::Null, Value::Int(id)),
    };
    let (from, to) = spec.ports.map_or((Value::Null, Value::Null), |(from, to)| {
        (Value::Int(from), Value::Int(to))
    });
    values([
        ("security_group_id", Value::Int(group)),
        ("direction", t(spec.direction)),
        ("priority", Value::Int(spec.priority)),
        ("action", t(spec.action)),
        ("protocol", t(spec.protocol)),
        ("port_from", from),
        ("port_to", to),
        ("remote_cidr", remote_cidr),
        ("remote_group_id", remote_group),
        ("description", t(spec.description)),
        ("tenant_id", Value::Int(tenant)),
        ("provider_id", Value::Int(provider)),
    ])
}

/// The project id under which a demo provider reports a tenant's resources (the
/// management unit maps it to the tenant; docs/decisions/0011-provider-sync.md).
pub fn project_of(tenant_id: i64) -> String {
    format!("proj-{tenant_id:05}")
}

#[cfg(test)]
mod tests;
