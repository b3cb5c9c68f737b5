//! The world model as data: every kind of object yunjian records, its fields, their
//! types, who owns a row and which references must agree.
//!
//! One description drives the store's SQL, input validation, the JSON API, the OpenAPI
//! document and the console's lists and forms, so the four surfaces cannot disagree
//! (docs/decisions/0002-world-schema.md). Column names are the field names; they are
//! static strings, never taken from input.

/// Every kind of world object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    ManagementUnit,
    Tenant,
    Provider,
    Platform,
    Datacenter,
    Zone,
    Gateway,
    Vpc,
    Subnet,
    InformationSystem,
    Host,
    Vm,
    Volume,
    Snapshot,
    Backup,
    Image,
    SecurityGroup,
    SecurityGroupRule,
    PaasInstance,
    /// A container workload (a pod) of a container platform (5.4.3).
    ContainerWorkload,
    /// A Kubernetes NetworkPolicy: micro-segmentation of containers (5.4.3).
    NetworkPolicy,
    /// A stateless network ACL bound to subnets (7.2.4.2).
    NetworkAcl,
    NetworkAclRule,
    /// A rule of a tenant's north-south virtual firewall (5.3.3, 5.3.4).
    FirewallRule,
    /// A peering between two VPCs: the only road between them (7.5.12).
    VpcPeering,
    /// A cross-VPC data exchange the management unit approved (7.5.11, 7.5.12).
    ExchangeRule,
    /// A VPC route-table entry.
    Route,
    /// A tenant's remote-management entry point: a bastion or VPN (7.2.2.3).
    ManagementEndpoint,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnumOption {
    pub value: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

const fn opt(value: &'static str, zh: &'static str, en: &'static str) -> EnumOption {
    EnumOption { value, zh, en }
}

/// How free text is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    Plain,
    Email,
    Phone,
    /// 统一社会信用代码: 18 characters of digits and capital letters.
    CreditCode,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldType {
    Text {
        max_chars: usize,
        format: TextFormat,
    },
    Integer {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Bool,
    Enum(&'static [EnumOption]),
    EnumList(&'static [EnumOption]),
    /// A reference to one object of a kind; stored as its id.
    Ref(Kind),
    /// References to several objects, stored in a link table.
    RefList(LinkTable),
    Cidr,
    CidrList,
    IpList,
    /// Free texts (a pod's images), kept sorted and without duplicates.
    TextList {
        max_items: usize,
        max_chars: usize,
    },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// `sm3:<64 hex>` or `sha256:<64 hex>`.
    Digest,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkTable {
    pub target: Kind,
    pub table: &'static str,
    pub owner_column: &'static str,
    pub target_column: &'static str,
}

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
    /// Copied from the object a reference field names (for example a subnet's tenant from
    /// its VPC), so that ownership is a column on every row and scoping is one `WHERE`.
    Derived {
        via: &'static str,
        column: &'static str,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub ty: FieldType,
    pub presence: Presence,
}

/// How a tenant administrator may see rows of a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantAccess {
    /// Only rows whose column holds the tenant's id.
    Column(&'static str),
    /// Rows whose column holds the tenant's id or is empty (shared, e.g. public images).
    ColumnOrShared(&'static str),
    /// Every row (a directory: zones, providers, datacenters).
    Directory,
    /// None at all.
    Hidden,
}

/// How a provider operator may see rows of a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderAccess {
    Column(&'static str),
    Directory,
    Hidden,
}

/// Which roles may create, change and delete rows of a kind. Tenant administrators and
/// provider operators only ever write inside their own scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteGroup {
    /// Directory of the platform: the management unit and the system administrator.
    Directory,
    /// Provider infrastructure: also the provider's own operators.
    ProviderInfrastructure,
    /// Resources a provider builds for a tenant: system administrator and the provider.
    TenantResources,
    /// What a tenant declares about itself (information systems).
    TenantDeclarations,
    /// Security policy a tenant may adjust itself (7.2.4.7): also the security administrator.
    TenantSecurityPolicy,
}

impl WriteGroup {
    /// The identifier the authorization policies use (`resource.group`).
    pub fn as_str(self) -> &'static str {
        match self {
            WriteGroup::Directory => "directory",
            WriteGroup::ProviderInfrastructure => "provider_infrastructure",
            WriteGroup::TenantResources => "tenant_resources",
            WriteGroup::TenantDeclarations => "tenant_declarations",
            WriteGroup::TenantSecurityPolicy => "tenant_security_policy",
        }
    }
}

/// A reference that must agree with another field of the same row: the object named by
/// `field` must have `target_column` equal to this row's `equals` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub field: &'static str,
    pub target_column: &'static str,
    pub equals: &'static str,
}

#[derive(Debug, PartialEq)]
pub struct KindSpec {
    pub kind: Kind,
    /// Identifier in the API and the store (`vpc`), and the table (`vpcs`).
    pub id: &'static str,
    pub table: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub fields: &'static [FieldSpec],
    pub tenant_access: TenantAccess,
    pub provider_access: ProviderAccess,
    pub write: WriteGroup,
    /// Sets of fields whose values together must be unique.
    pub unique: &'static [&'static [&'static str]],
    pub agreements: &'static [Agreement],
    /// At most one row may exist (the management unit).
    pub singleton: bool,
    /// Fields shown as columns in lists.
    pub list_columns: &'static [&'static str],
}

impl KindSpec {
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// Fields stored as columns of the kind's own table (everything but link tables).
    pub fn column_fields(&self) -> impl Iterator<Item = &'static FieldSpec> {
        self.fields
            .iter()
            .filter(|field| !matches!(field.ty, FieldType::RefList(_)))
    }

    pub fn link_fields(&self) -> impl Iterator<Item = (&'static FieldSpec, LinkTable)> {
        self.fields.iter().filter_map(|field| match field.ty {
            FieldType::RefList(link) => Some((field, link)),
            _ => None,
        })
    }

    /// Fields an operator supplies (derived ones are computed).
    pub fn input_fields(&self) -> impl Iterator<Item = &'static FieldSpec> {
        self.fields
            .iter()
            .filter(|field| !matches!(field.presence, Presence::Derived { .. }))
    }
}

impl Kind {
    pub const ALL: [Kind; 28] = [
        Kind::ManagementUnit,
        Kind::Tenant,
        Kind::Provider,
        Kind::Platform,
        Kind::Datacenter,
        Kind::Zone,
        Kind::Gateway,
        Kind::Vpc,
        Kind::Subnet,
        Kind::InformationSystem,
        Kind::Host,
        Kind::Vm,
        Kind::Volume,
        Kind::Snapshot,
        Kind::Backup,
        Kind::Image,
        Kind::SecurityGroup,
        Kind::SecurityGroupRule,
        Kind::PaasInstance,
        Kind::ContainerWorkload,
        Kind::NetworkPolicy,
        Kind::NetworkAcl,
        Kind::NetworkAclRule,
        Kind::FirewallRule,
        Kind::VpcPeering,
        Kind::ExchangeRule,
        Kind::Route,
        Kind::ManagementEndpoint,
    ];

    pub fn spec(self) -> &'static KindSpec {
        match self {
            Kind::ManagementUnit => &MANAGEMENT_UNIT,
            Kind::Tenant => &TENANT,
            Kind::Provider => &PROVIDER,
            Kind::Platform => &PLATFORM,
            Kind::Datacenter => &DATACENTER,
            Kind::Zone => &ZONE,
            Kind::Gateway => &GATEWAY,
            Kind::Vpc => &VPC,
            Kind::Subnet => &SUBNET,
            Kind::InformationSystem => &INFORMATION_SYSTEM,
            Kind::Host => &HOST,
            Kind::Vm => &VM,
            Kind::Volume => &VOLUME,
            Kind::Snapshot => &SNAPSHOT,
            Kind::Backup => &BACKUP,
            Kind::Image => &IMAGE,
            Kind::SecurityGroup => &SECURITY_GROUP,
            Kind::SecurityGroupRule => &SECURITY_GROUP_RULE,
            Kind::PaasInstance => &PAAS_INSTANCE,
            Kind::ContainerWorkload => &CONTAINER_WORKLOAD,
            Kind::NetworkPolicy => &NETWORK_POLICY,
            Kind::NetworkAcl => &NETWORK_ACL,
            Kind::NetworkAclRule => &NETWORK_ACL_RULE,
            Kind::FirewallRule => &FIREWALL_RULE,
            Kind::VpcPeering => &VPC_PEERING,
            Kind::ExchangeRule => &EXCHANGE_RULE,
            Kind::Route => &ROUTE,
            Kind::ManagementEndpoint => &MANAGEMENT_ENDPOINT,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.spec().id
    }

    /// Parses the identifier used in API paths (`vpc`) or the plural table name (`vpcs`).
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.spec().id == text || kind.spec().table == text)
    }

    /// The kind whose collection (table) name this is, as in API and console paths.
    pub fn from_table(table: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.spec().table == table)
    }

    /// Every (kind, field) that references this kind, for delete checks.
    pub fn referrers(self) -> Vec<(Kind, &'static FieldSpec)> {
        let mut found = Vec::new();
        for other in Kind::ALL {
            for field in other.spec().fields {
                let target = match field.ty {
                    FieldType::Ref(target) => Some(target),
                    FieldType::RefList(link) => Some(link.target),
                    _ => None,
                };
                if target == Some(self) {
                    found.push((other, field));
                }
            }
        }
        found
    }
}

// ---- enumerations (values are stable identifiers; labels follow the guide) ----

pub const UNIT_TYPES: &[EnumOption] = &[
    opt("municipal_department", "市级部门", "Municipal department"),
    opt("district", "区县政府", "District or county government"),
    opt(
        "district_department",
        "区县部门",
        "District or county department",
    ),
    opt("public_institution", "事业单位", "Public institution"),
];
pub const SERVICE_MODELS: &[EnumOption] = &[
    opt("iaas", "基础设施即服务 IaaS", "IaaS"),
    opt("paas", "平台即服务 PaaS", "PaaS"),
    opt("saas", "软件即服务 SaaS", "SaaS"),
];
pub const DEPLOYMENT_MODELS: &[EnumOption] = &[
    opt("shared", "共享云", "Shared cloud"),
    opt("dedicated", "专享云", "Dedicated cloud"),
];
pub const CARRIERS: &[EnumOption] = &[
    opt("china_telecom", "中国电信", "China Telecom"),
    opt("china_unicom", "中国联通", "China Unicom"),
    opt("china_mobile", "中国移动", "China Mobile"),
    opt("china_broadnet", "中国广电", "China Broadnet"),
];
pub const DATUMS: &[EnumOption] = &[
    opt("wgs84", "WGS-84", "WGS-84"),
    opt("cgcs2000", "CGCS2000 国家大地坐标系", "CGCS2000"),
    opt(
        "gcj02",
        "GCJ-02（网络地图偏移坐标）",
        "GCJ-02 (offset web-map datum)",
    ),
];
pub const ZONE_KINDS: &[EnumOption] = &[
    opt("internet", "互联网区", "Internet zone"),
    opt("extranet", "政务外网区", "E-government extranet zone"),
];
pub const EXCHANGE_MODES: &[EnumOption] = &[
    opt("one_way", "单向传输", "One-way transfer"),
    opt("two_way", "双向交换", "Two-way exchange"),
];
pub const CLASSIFICATIONS: &[EnumOption] = &[
    opt("non_classified", "非涉密", "Non-classified"),
    opt("classified", "涉密", "Classified"),
];
pub const SENSITIVITIES: &[EnumOption] = &[
    opt("public", "公开", "Public"),
    opt("internal", "内部", "Internal"),
    opt("sensitive", "敏感", "Sensitive"),
];
pub const IMPORTANCES: &[EnumOption] = &[
    opt("general", "一般", "General"),
    opt("important", "重要", "Important"),
    opt("critical", "关键", "Critical"),
];
pub const VM_STATES: &[EnumOption] = &[
    opt("running", "运行中", "Running"),
    opt("stopped", "已停止", "Stopped"),
];
pub const BACKUP_KINDS: &[EnumOption] = &[
    opt("local", "本地备份", "Local"),
    opt("same_city", "同城备份", "Same-city"),
    opt("remote", "异地备份", "Remote"),
];
pub const VISIBILITIES: &[EnumOption] = &[
    opt("public", "公共镜像", "Public"),
    opt("private", "私有镜像", "Private"),
];
pub const DIRECTIONS: &[EnumOption] = &[
    opt("ingress", "入方向", "Ingress"),
    opt("egress", "出方向", "Egress"),
];
pub const RULE_ACTIONS: &[EnumOption] =
    &[opt("allow", "允许", "Allow"), opt("deny", "拒绝", "Deny")];
pub const PROTOCOLS: &[EnumOption] = &[
    opt("tcp", "TCP", "TCP"),
    opt("udp", "UDP", "UDP"),
    opt("icmp", "ICMP", "ICMP"),
    opt("any", "全部", "Any"),
];
pub const NEXT_HOPS: &[EnumOption] = &[
    opt("local", "本VPC", "Local"),
    opt("peering", "对等连接", "VPC peering"),
    opt("nat_gateway", "NAT网关", "NAT gateway"),
    opt("vpn_gateway", "VPN网关", "VPN gateway"),
    opt("internet_gateway", "互联网网关", "Internet gateway"),
    opt("zone_gateway", "区域间网闸", "Zone gateway"),
    opt("dynamic", "动态路由", "Dynamic routing"),
    opt("address", "指定下一跳地址", "Next-hop address"),
];
pub const ENDPOINT_KINDS: &[EnumOption] = &[
    opt("bastion", "堡垒机", "Bastion host"),
    opt("vpn", "运维VPN", "Management VPN"),
];
pub const PAAS_CATEGORIES: &[EnumOption] = &[
    opt("database", "数据库", "Database"),
    opt("middleware", "中间件", "Middleware"),
    opt("cache", "缓存", "Cache"),
    opt("message_queue", "消息队列", "Message queue"),
];

// ---- field helpers ----

const fn f(
    name: &'static str,
    zh: &'static str,
    en: &'static str,
    ty: FieldType,
    presence: Presence,
) -> FieldSpec {
    FieldSpec {
        name,
        zh,
        en,
        ty,
        presence,
    }
}

const REQ: Presence = Presence::Required;
const OPT: Presence = Presence::Optional;
const fn derived(via: &'static str, column: &'static str) -> Presence {
    Presence::Derived { via, column }
}
const fn text(max_chars: usize) -> FieldType {
    FieldType::Text {
        max_chars,
        format: TextFormat::Plain,
    }
}
const NAME: FieldSpec = f("name", "名称", "Name", text(128), REQ);
const DESCRIPTION: FieldSpec = f("description", "说明", "Description", text(2000), OPT);
/// The provider's own id of an object it reports (an OpenStack UUID, a cloud resource
/// id): unique per provider and kind (a partial unique index), so pushed and pulled
/// inventories refer to objects by it (docs/decisions/0010).
const EXTERNAL_ID: FieldSpec = f(
    "external_id",
    "云服务商资源ID",
    "Provider's resource id",
    text(128),
    OPT,
);
const CONTACT_NAME: FieldSpec = f("contact_name", "联系人", "Contact", text(64), OPT);
const CONTACT_PHONE: FieldSpec = f(
    "contact_phone",
    "联系电话",
    "Contact phone",
    FieldType::Text {
        max_chars: 32,
        format: TextFormat::Phone,
    },
    OPT,
);
const CONTACT_EMAIL: FieldSpec = f(
    "contact_email",
    "联系邮箱",
    "Contact e-mail",
    FieldType::Text {
        max_chars: 254,
        format: TextFormat::Email,
    },
    OPT,
);
const CREDIT_CODE: FieldSpec = f(
    "credit_code",
    "统一社会信用代码",
    "Unified social credit code",
    FieldType::Text {
        max_chars: 18,
        format: TextFormat::CreditCode,
    },
    OPT,
);
const TENANT_REF: FieldSpec = f(
    "tenant_id",
    "云租户",
    "Tenant",
    FieldType::Ref(Kind::Tenant),
    REQ,
);
const PROVIDER_REF: FieldSpec = f(
    "provider_id",
    "云服务商",
    "Provider",
    FieldType::Ref(Kind::Provider),
    REQ,
);
const VPC_REF: FieldSpec = f("vpc_id", "VPC", "VPC", FieldType::Ref(Kind::Vpc), REQ);
const SYSTEM_REF: FieldSpec = f(
    "system_id",
    "信息系统",
    "Information system",
    FieldType::Ref(Kind::InformationSystem),
    OPT,
);
const fn tenant_via(via: &'static str) -> FieldSpec {
    f(
        "tenant_id",
        "云租户",
        "Tenant",
        FieldType::Ref(Kind::Tenant),
        derived(via, "tenant_id"),
    )
}
const fn provider_via(via: &'static str) -> FieldSpec {
    f(
        "provider_id",
        "云服务商",
        "Provider",
        FieldType::Ref(Kind::Provider),
        derived(via, "provider_id"),
    )
}
const fn same_tenant(field: &'static str) -> Agreement {
    Agreement {
        field,
        target_column: "tenant_id",
        equals: "tenant_id",
    }
}
const fn same_provider(field: &'static str) -> Agreement {
    Agreement {
        field,
        target_column: "provider_id",
        equals: "provider_id",
    }
}

const TENANT_RESOURCE: (TenantAccess, ProviderAccess) = (
    TenantAccess::Column("tenant_id"),
    ProviderAccess::Column("provider_id"),
);

// ---- the kinds ----

static MANAGEMENT_UNIT: KindSpec = KindSpec {
    kind: Kind::ManagementUnit,
    id: "management_unit",
    table: "management_units",
    zh: "管理单位",
    en: "Management unit",
    fields: &[
        NAME,
        f("address", "地址", "Address", text(256), OPT),
        CREDIT_CODE,
        CONTACT_NAME,
        CONTACT_PHONE,
        CONTACT_EMAIL,
    ],
    tenant_access: TenantAccess::Directory,
    provider_access: ProviderAccess::Directory,
    write: WriteGroup::Directory,
    unique: &[],
    agreements: &[],
    singleton: true,
    list_columns: &["name", "contact_name", "contact_phone"],
};

static TENANT: KindSpec = KindSpec {
    kind: Kind::Tenant,
    id: "tenant",
    table: "tenants",
    zh: "云租户",
    en: "Tenant",
    fields: &[
        NAME,
        f(
            "unit_type",
            "单位类型",
            "Unit type",
            FieldType::Enum(UNIT_TYPES),
            REQ,
        ),
        f(
            "parent_id",
            "上级单位",
            "Parent unit",
            FieldType::Ref(Kind::Tenant),
            OPT,
        ),
        CREDIT_CODE,
        f(
            "key_tenant",
            "重点云租户",
            "Key tenant (7.1.6)",
            FieldType::Bool,
            OPT,
        ),
        CONTACT_NAME,
        CONTACT_PHONE,
        CONTACT_EMAIL,
    ],
    tenant_access: TenantAccess::Column("id"),
    provider_access: ProviderAccess::Directory,
    write: WriteGroup::Directory,
    unique: &[&["name"]],
    agreements: &[],
    singleton: false,
    list_columns: &[
        "name",
        "unit_type",
        "parent_id",
        "key_tenant",
        "contact_name",
    ],
};

static PROVIDER: KindSpec = KindSpec {
    kind: Kind::Provider,
    id: "provider",
    table: "providers",
    zh: "云服务商",
    en: "Provider",
    fields: &[
        NAME,
        f("short_name", "简称", "Short name", text(32), OPT),
        CREDIT_CODE,
        CONTACT_NAME,
        CONTACT_PHONE,
        CONTACT_EMAIL,
    ],
    tenant_access: TenantAccess::Directory,
    provider_access: ProviderAccess::Column("id"),
    write: WriteGroup::Directory,
    unique: &[&["name"]],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "short_name", "contact_name", "contact_phone"],
};

static PLATFORM: KindSpec = KindSpec {
    kind: Kind::Platform,
    id: "platform",
    table: "platforms",
    zh: "云平台",
    en: "Cloud platform",
    fields: &[
        PROVIDER_REF,
        NAME,
        f("product", "产品", "Product", text(128), REQ),
        f("version", "版本", "Version", text(64), OPT),
        f(
            "service_models",
            "服务模式",
            "Service models",
            FieldType::EnumList(SERVICE_MODELS),
            REQ,
        ),
        f(
            "deployment_models",
            "部署模式",
            "Deployment models",
            FieldType::EnumList(DEPLOYMENT_MODELS),
            REQ,
        ),
        f(
            "mlps_level",
            "平台等保等级",
            "Platform MLPS level",
            FieldType::Integer { min: 1, max: 4 },
            REQ,
        ),
        f(
            "assessment_expiry",
            "等保测评有效期至",
            "MLPS assessment valid until",
            FieldType::Date,
            OPT,
        ),
    ],
    tenant_access: TenantAccess::Directory,
    provider_access: ProviderAccess::Column("provider_id"),
    write: WriteGroup::ProviderInfrastructure,
    unique: &[&["provider_id", "name"]],
    agreements: &[],
    singleton: false,
    list_columns: &[
        "name",
        "provider_id",
        "product",
        "mlps_level",
        "assessment_expiry",
    ],
};

static DATACENTER: KindSpec = KindSpec {
    kind: Kind::Datacenter,
    id: "datacenter",
    table: "datacenters",
    zh: "数据中心",
    en: "Datacenter",
    fields: &[
        PROVIDER_REF,
        NAME,
        f("address", "地址", "Address", text(256), REQ),
        f("district", "所在区县", "District", text(64), OPT),
        f(
            "latitude",
            "纬度",
            "Latitude",
            FieldType::Float {
                min: -90.0,
                max: 90.0,
            },
            REQ,
        ),
        f(
            "longitude",
            "经度",
            "Longitude",
            FieldType::Float {
                min: -180.0,
                max: 180.0,
            },
            REQ,
        ),
        f("datum", "坐标系", "Datum", FieldType::Enum(DATUMS), REQ),
        f(
            "remote_backup_site",
            "异地备份中心",
            "Remote backup site",
            FieldType::Bool,
            OPT,
        ),
        f(
            "carriers",
            "接入运营商",
            "Carriers",
            FieldType::EnumList(CARRIERS),
            OPT,
        ),
        EXTERNAL_ID,
    ],
    tenant_access: TenantAccess::Directory,
    provider_access: ProviderAccess::Column("provider_id"),
    write: WriteGroup::ProviderInfrastructure,
    unique: &[&["provider_id", "name"]],
    agreements: &[],
    singleton: false,
    list_columns: &[
        "name",
        "provider_id",
        "district",
        "carriers",
        "remote_backup_site",
    ],
};

static ZONE: KindSpec = KindSpec {
    kind: Kind::Zone,
    id: "zone",
    table: "zones",
    zh: "网络区域",
    en: "Zone",
    fields: &[
        NAME,
        f(
            "zone_kind",
            "区域类型",
            "Zone kind",
            FieldType::Enum(ZONE_KINDS),
            REQ,
        ),
        DESCRIPTION,
    ],
    tenant_access: TenantAccess::Directory,
    provider_access: ProviderAccess::Directory,
    write: WriteGroup::Directory,
    unique: &[&["name"]],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "zone_kind"],
};

static GATEWAY: KindSpec = KindSpec {
    kind: Kind::Gateway,
    id: "gateway",
    table: "gateways",
    zh: "网闸",
    en: "Gateway",
    fields: &[
        NAME,
        f(
            "from_zone_id",
            "区域甲",
            "Zone A",
            FieldType::Ref(Kind::Zone),
            REQ,
        ),
        f(
            "to_zone_id",
            "区域乙",
            "Zone B",
            FieldType::Ref(Kind::Zone),
            REQ,
        ),
        f(
            "exchange_mode",
            "交换方式",
            "Exchange mode",
            FieldType::Enum(EXCHANGE_MODES),
            REQ,
        ),
        f("product", "设备型号", "Product", text(128), OPT),
        f(
            "datacenter_id",
            "所在数据中心",
            "Datacenter",
            FieldType::Ref(Kind::Datacenter),
            OPT,
        ),
    ],
    tenant_access: TenantAccess::Directory,
    provider_access: ProviderAccess::Directory,
    write: WriteGroup::Directory,
    unique: &[&["name"]],
    agreements: &[],
    singleton: false,
    list_columns: &[
        "name",
        "from_zone_id",
        "to_zone_id",
        "exchange_mode",
        "product",
    ],
};

static VPC: KindSpec = KindSpec {
    kind: Kind::Vpc,
    id: "vpc",
    table: "vpcs",
    zh: "VPC",
    en: "VPC",
    fields: &[
        TENANT_REF,
        PROVIDER_REF,
        f(
            "zone_id",
            "网络区域",
            "Zone",
            FieldType::Ref(Kind::Zone),
            REQ,
        ),
        NAME,
        f("cidrs", "网段", "CIDR blocks", FieldType::CidrList, REQ),
        DESCRIPTION,
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[&["tenant_id", "name"]],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "tenant_id", "provider_id", "zone_id", "cidrs"],
};

static SUBNET: KindSpec = KindSpec {
    kind: Kind::Subnet,
    id: "subnet",
    table: "subnets",
    zh: "子网",
    en: "Subnet",
    fields: &[
        VPC_REF,
        NAME,
        f("cidr", "网段", "CIDR block", FieldType::Cidr, REQ),
        tenant_via("vpc_id"),
        provider_via("vpc_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[&["vpc_id", "name"]],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "vpc_id", "cidr", "tenant_id"],
};

static INFORMATION_SYSTEM: KindSpec = KindSpec {
    kind: Kind::InformationSystem,
    id: "information_system",
    table: "information_systems",
    zh: "信息系统",
    en: "Information system",
    fields: &[
        TENANT_REF,
        NAME,
        f(
            "classification",
            "涉密属性",
            "Classification",
            FieldType::Enum(CLASSIFICATIONS),
            REQ,
        ),
        f(
            "mlps_level",
            "等保等级",
            "MLPS level",
            FieldType::Integer { min: 1, max: 4 },
            REQ,
        ),
        f(
            "mlps_filing_number",
            "等保备案号",
            "MLPS filing number",
            text(64),
            OPT,
        ),
        f(
            "sensitivity",
            "数据敏感程度",
            "Sensitivity",
            FieldType::Enum(SENSITIVITIES),
            REQ,
        ),
        f(
            "importance",
            "重要程度",
            "Importance",
            FieldType::Enum(IMPORTANCES),
            REQ,
        ),
        f(
            "service_model",
            "服务模式",
            "Service model",
            FieldType::Enum(SERVICE_MODELS),
            REQ,
        ),
        f(
            "deployment_model",
            "部署模式",
            "Deployment model",
            FieldType::Enum(DEPLOYMENT_MODELS),
            REQ,
        ),
        f(
            "vpc_ids",
            "所在VPC",
            "VPCs",
            FieldType::RefList(LinkTable {
                target: Kind::Vpc,
                table: "information_system_vpcs",
                owner_column: "system_id",
                target_column: "vpc_id",
            }),
            OPT,
        ),
        DESCRIPTION,
    ],
    tenant_access: TenantAccess::Column("tenant_id"),
    provider_access: ProviderAccess::Hidden,
    write: WriteGroup::TenantDeclarations,
    unique: &[&["tenant_id", "name"]],
    agreements: &[same_tenant("vpc_ids")],
    singleton: false,
    list_columns: &[
        "name",
        "tenant_id",
        "mlps_level",
        "importance",
        "service_model",
        "deployment_model",
    ],
};

static HOST: KindSpec = KindSpec {
    kind: Kind::Host,
    id: "host",
    table: "hosts",
    zh: "宿主机",
    en: "Host",
    fields: &[
        PROVIDER_REF,
        f(
            "datacenter_id",
            "数据中心",
            "Datacenter",
            FieldType::Ref(Kind::Datacenter),
            REQ,
        ),
        f(
            "zone_id",
            "网络区域",
            "Zone",
            FieldType::Ref(Kind::Zone),
            REQ,
        ),
        NAME,
        f(
            "dedicated_internet",
            "互联网VPC专用",
            "Dedicated to internet VPCs",
            FieldType::Bool,
            OPT,
        ),
        f(
            "cpu_cores",
            "CPU核数",
            "CPU cores",
            FieldType::Integer { min: 1, max: 4096 },
            OPT,
        ),
        f(
            "memory_gib",
            "内存(GiB)",
            "Memory (GiB)",
            FieldType::Integer {
                min: 1,
                max: 1_048_576,
            },
            OPT,
        ),
        EXTERNAL_ID,
    ],
    tenant_access: TenantAccess::Hidden,
    provider_access: ProviderAccess::Column("provider_id"),
    write: WriteGroup::ProviderInfrastructure,
    unique: &[&["provider_id", "name"]],
    agreements: &[same_provider("datacenter_id")],
    singleton: false,
    list_columns: &[
        "name",
        "provider_id",
        "datacenter_id",
        "zone_id",
        "dedicated_internet",
    ],
};

static VM: KindSpec = KindSpec {
    kind: Kind::Vm,
    id: "vm",
    table: "vms",
    zh: "云主机",
    en: "Virtual machine",
    fields: &[
        VPC_REF,
        f(
            "subnet_id",
            "子网",
            "Subnet",
            FieldType::Ref(Kind::Subnet),
            REQ,
        ),
        NAME,
        f("host_id", "宿主机", "Host", FieldType::Ref(Kind::Host), OPT),
        f(
            "image_id",
            "镜像",
            "Image",
            FieldType::Ref(Kind::Image),
            OPT,
        ),
        f(
            "vcpus",
            "vCPU",
            "vCPUs",
            FieldType::Integer { min: 1, max: 1024 },
            REQ,
        ),
        f(
            "memory_mib",
            "内存(MiB)",
            "Memory (MiB)",
            FieldType::Integer {
                min: 128,
                max: 16_777_216,
            },
            REQ,
        ),
        f(
            "ip_addresses",
            "IP地址",
            "IP addresses",
            FieldType::IpList,
            OPT,
        ),
        f("status", "状态", "Status", FieldType::Enum(VM_STATES), REQ),
        SYSTEM_REF,
        f(
            "security_group_ids",
            "安全组",
            "Security groups",
            FieldType::RefList(LinkTable {
                target: Kind::SecurityGroup,
                table: "vm_security_groups",
                owner_column: "vm_id",
                target_column: "security_group_id",
            }),
            OPT,
        ),
        tenant_via("vpc_id"),
        provider_via("vpc_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[],
    agreements: &[
        Agreement {
            field: "subnet_id",
            target_column: "vpc_id",
            equals: "vpc_id",
        },
        same_provider("host_id"),
        same_tenant("system_id"),
        Agreement {
            field: "security_group_ids",
            target_column: "vpc_id",
            equals: "vpc_id",
        },
    ],
    singleton: false,
    list_columns: &[
        "name",
        "tenant_id",
        "vpc_id",
        "ip_addresses",
        "vcpus",
        "memory_mib",
        "status",
    ],
};

static VOLUME: KindSpec = KindSpec {
    kind: Kind::Volume,
    id: "volume",
    table: "volumes",
    zh: "云硬盘",
    en: "Volume",
    fields: &[
        TENANT_REF,
        PROVIDER_REF,
        NAME,
        f(
            "vm_id",
            "挂载云主机",
            "Attached VM",
            FieldType::Ref(Kind::Vm),
            OPT,
        ),
        f(
            "size_gib",
            "容量(GiB)",
            "Size (GiB)",
            FieldType::Integer {
                min: 1,
                max: 1_048_576,
            },
            REQ,
        ),
        f("encrypted", "已加密", "Encrypted", FieldType::Bool, OPT),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[],
    agreements: &[same_tenant("vm_id"), same_provider("vm_id")],
    singleton: false,
    list_columns: &["name", "tenant_id", "vm_id", "size_gib", "encrypted"],
};

static SNAPSHOT: KindSpec = KindSpec {
    kind: Kind::Snapshot,
    id: "snapshot",
    table: "snapshots",
    zh: "快照",
    en: "Snapshot",
    fields: &[
        f(
            "volume_id",
            "云硬盘",
            "Volume",
            FieldType::Ref(Kind::Volume),
            REQ,
        ),
        NAME,
        f(
            "size_gib",
            "容量(GiB)",
            "Size (GiB)",
            FieldType::Integer {
                min: 1,
                max: 1_048_576,
            },
            REQ,
        ),
        tenant_via("volume_id"),
        provider_via("volume_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "tenant_id", "volume_id", "size_gib"],
};

static BACKUP: KindSpec = KindSpec {
    kind: Kind::Backup,
    id: "backup",
    table: "backups",
    zh: "备份",
    en: "Backup",
    fields: &[
        TENANT_REF,
        NAME,
        SYSTEM_REF,
        f(
            "volume_id",
            "源云硬盘",
            "Source volume",
            FieldType::Ref(Kind::Volume),
            OPT,
        ),
        f(
            "datacenter_id",
            "存放数据中心",
            "Stored in datacenter",
            FieldType::Ref(Kind::Datacenter),
            REQ,
        ),
        f(
            "backup_kind",
            "备份类型",
            "Backup kind",
            FieldType::Enum(BACKUP_KINDS),
            REQ,
        ),
        f(
            "last_restore_test",
            "最近恢复测试",
            "Last restore test",
            FieldType::Date,
            OPT,
        ),
        provider_via("datacenter_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[],
    agreements: &[same_tenant("system_id"), same_tenant("volume_id")],
    singleton: false,
    list_columns: &[
        "name",
        "tenant_id",
        "system_id",
        "backup_kind",
        "datacenter_id",
    ],
};

static IMAGE: KindSpec = KindSpec {
    kind: Kind::Image,
    id: "image",
    table: "images",
    zh: "镜像",
    en: "Image",
    fields: &[
        PROVIDER_REF,
        f(
            "tenant_id",
            "所属云租户",
            "Owning tenant",
            FieldType::Ref(Kind::Tenant),
            OPT,
        ),
        NAME,
        f("os", "操作系统", "Operating system", text(128), REQ),
        f(
            "visibility",
            "可见性",
            "Visibility",
            FieldType::Enum(VISIBILITIES),
            REQ,
        ),
        f("digest", "摘要", "Digest", FieldType::Digest, REQ),
        EXTERNAL_ID,
    ],
    tenant_access: TenantAccess::ColumnOrShared("tenant_id"),
    provider_access: ProviderAccess::Column("provider_id"),
    write: WriteGroup::ProviderInfrastructure,
    unique: &[&["provider_id", "name"]],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "provider_id", "os", "visibility", "digest"],
};

static SECURITY_GROUP: KindSpec = KindSpec {
    kind: Kind::SecurityGroup,
    id: "security_group",
    table: "security_groups",
    zh: "安全组",
    en: "Security group",
    fields: &[
        VPC_REF,
        NAME,
        DESCRIPTION,
        tenant_via("vpc_id"),
        provider_via("vpc_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantSecurityPolicy,
    unique: &[&["vpc_id", "name"]],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "vpc_id", "tenant_id"],
};

static SECURITY_GROUP_RULE: KindSpec = KindSpec {
    kind: Kind::SecurityGroupRule,
    id: "security_group_rule",
    table: "security_group_rules",
    zh: "安全组规则",
    en: "Security group rule",
    fields: &[
        f(
            "security_group_id",
            "安全组",
            "Security group",
            FieldType::Ref(Kind::SecurityGroup),
            REQ,
        ),
        DIRECTION,
        f(
            "priority",
            "优先级",
            "Priority",
            FieldType::Integer { min: 1, max: 1000 },
            REQ,
        ),
        ACTION,
        PROTOCOL,
        PORT_FROM,
        PORT_TO,
        f(
            "remote_cidr",
            "对端网段",
            "Remote CIDR",
            FieldType::Cidr,
            OPT,
        ),
        f(
            "remote_group_id",
            "对端安全组",
            "Remote security group",
            FieldType::Ref(Kind::SecurityGroup),
            OPT,
        ),
        DESCRIPTION,
        tenant_via("security_group_id"),
        provider_via("security_group_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantSecurityPolicy,
    unique: &[],
    agreements: &[same_tenant("remote_group_id")],
    singleton: false,
    list_columns: &[
        "security_group_id",
        "direction",
        "priority",
        "action",
        "protocol",
        "port_from",
        "port_to",
        "remote_cidr",
    ],
};

static PAAS_INSTANCE: KindSpec = KindSpec {
    kind: Kind::PaasInstance,
    id: "paas_instance",
    table: "paas_instances",
    zh: "数据库与中间件",
    en: "Database or middleware",
    fields: &[
        VPC_REF,
        NAME,
        f(
            "category",
            "类别",
            "Category",
            FieldType::Enum(PAAS_CATEGORIES),
            REQ,
        ),
        f("product", "产品", "Product", text(128), REQ),
        f("version", "版本", "Version", text(64), REQ),
        SYSTEM_REF,
        tenant_via("vpc_id"),
        provider_via("vpc_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[&["vpc_id", "name"]],
    agreements: &[same_tenant("system_id")],
    singleton: false,
    list_columns: &["name", "tenant_id", "category", "product", "version"],
};

const CLUSTER: FieldSpec = f("cluster", "容器集群", "Cluster", text(128), REQ);
const NAMESPACE: FieldSpec = f("namespace", "命名空间", "Namespace", text(253), REQ);

static CONTAINER_WORKLOAD: KindSpec = KindSpec {
    kind: Kind::ContainerWorkload,
    id: "container_workload",
    table: "container_workloads",
    zh: "容器工作负载",
    en: "Container workload",
    fields: &[
        TENANT_REF,
        PROVIDER_REF,
        CLUSTER,
        NAMESPACE,
        NAME,
        f(
            "images",
            "镜像",
            "Images",
            FieldType::TextList {
                max_items: 64,
                max_chars: 512,
            },
            OPT,
        ),
        f(
            "image_digests",
            "镜像摘要",
            "Image digests",
            FieldType::TextList {
                max_items: 64,
                max_chars: 160,
            },
            OPT,
        ),
        f("node", "节点", "Node", text(253), OPT),
        f("status", "状态", "Status", text(32), OPT),
        f(
            "labels",
            "标签",
            "Labels",
            FieldType::TextList {
                max_items: 64,
                max_chars: 400,
            },
            OPT,
        ),
        f(
            "namespace_labels",
            "命名空间标签",
            "Namespace labels",
            FieldType::TextList {
                max_items: 64,
                max_chars: 400,
            },
            OPT,
        ),
        f(
            "ip_addresses",
            "Pod地址",
            "Pod addresses",
            FieldType::IpList,
            OPT,
        ),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "tenant_id", "cluster", "namespace", "status"],
};

static NETWORK_POLICY: KindSpec = KindSpec {
    kind: Kind::NetworkPolicy,
    id: "network_policy",
    table: "network_policies",
    zh: "容器网络策略",
    en: "Container network policy",
    fields: &[
        TENANT_REF,
        PROVIDER_REF,
        CLUSTER,
        NAMESPACE,
        NAME,
        f(
            "spec",
            "策略内容（JSON）",
            "Policy (JSON)",
            FieldType::Text {
                max_chars: 65_536,
                format: TextFormat::Plain,
            },
            REQ,
        ),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantSecurityPolicy,
    unique: &[],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "tenant_id", "cluster", "namespace"],
};

const DIRECTION: FieldSpec = f(
    "direction",
    "方向",
    "Direction",
    FieldType::Enum(DIRECTIONS),
    REQ,
);
const ACTION: FieldSpec = f(
    "action",
    "动作",
    "Action",
    FieldType::Enum(RULE_ACTIONS),
    REQ,
);
const PROTOCOL: FieldSpec = f(
    "protocol",
    "协议",
    "Protocol",
    FieldType::Enum(PROTOCOLS),
    REQ,
);
const PORT_FROM: FieldSpec = f(
    "port_from",
    "起始端口",
    "Port from",
    FieldType::Integer { min: 1, max: 65535 },
    OPT,
);
const PORT_TO: FieldSpec = f(
    "port_to",
    "结束端口",
    "Port to",
    FieldType::Integer { min: 1, max: 65535 },
    OPT,
);
/// Evaluation order of first-match rules (lower first).
const POSITION: FieldSpec = f(
    "position",
    "顺序",
    "Order",
    FieldType::Integer {
        min: 1,
        max: 100_000,
    },
    REQ,
);

static NETWORK_ACL: KindSpec = KindSpec {
    kind: Kind::NetworkAcl,
    id: "network_acl",
    table: "network_acls",
    zh: "网络ACL",
    en: "Network ACL",
    fields: &[
        VPC_REF,
        NAME,
        f(
            "subnet_ids",
            "绑定子网",
            "Subnets",
            FieldType::RefList(LinkTable {
                target: Kind::Subnet,
                table: "network_acl_subnets",
                owner_column: "network_acl_id",
                target_column: "subnet_id",
            }),
            OPT,
        ),
        DESCRIPTION,
        tenant_via("vpc_id"),
        provider_via("vpc_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantSecurityPolicy,
    unique: &[&["vpc_id", "name"]],
    agreements: &[Agreement {
        field: "subnet_ids",
        target_column: "vpc_id",
        equals: "vpc_id",
    }],
    singleton: false,
    list_columns: &["name", "vpc_id", "tenant_id", "subnet_ids"],
};

static NETWORK_ACL_RULE: KindSpec = KindSpec {
    kind: Kind::NetworkAclRule,
    id: "network_acl_rule",
    table: "network_acl_rules",
    zh: "网络ACL规则",
    en: "Network ACL rule",
    fields: &[
        f(
            "network_acl_id",
            "网络ACL",
            "Network ACL",
            FieldType::Ref(Kind::NetworkAcl),
            REQ,
        ),
        DIRECTION,
        POSITION,
        ACTION,
        PROTOCOL,
        PORT_FROM,
        PORT_TO,
        f(
            "remote_cidr",
            "对端网段",
            "Remote CIDR",
            FieldType::Cidr,
            REQ,
        ),
        DESCRIPTION,
        tenant_via("network_acl_id"),
        provider_via("network_acl_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantSecurityPolicy,
    unique: &[],
    agreements: &[],
    singleton: false,
    list_columns: &[
        "network_acl_id",
        "direction",
        "position",
        "action",
        "protocol",
        "port_from",
        "port_to",
        "remote_cidr",
    ],
};

static FIREWALL_RULE: KindSpec = KindSpec {
    kind: Kind::FirewallRule,
    id: "firewall_rule",
    table: "firewall_rules",
    zh: "租户防火墙规则",
    en: "Tenant firewall rule",
    fields: &[
        TENANT_REF,
        PROVIDER_REF,
        NAME,
        POSITION,
        ACTION,
        PROTOCOL,
        PORT_FROM,
        PORT_TO,
        f("source_cidr", "源网段", "Source CIDR", FieldType::Cidr, REQ),
        f(
            "destination_cidr",
            "目的网段",
            "Destination CIDR",
            FieldType::Cidr,
            REQ,
        ),
        f(
            "application",
            "应用/域名（七层）",
            "Application or domain (L7)",
            text(253),
            OPT,
        ),
        DESCRIPTION,
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantSecurityPolicy,
    unique: &[&["tenant_id", "name"]],
    agreements: &[],
    singleton: false,
    list_columns: &[
        "name",
        "tenant_id",
        "position",
        "action",
        "protocol",
        "port_from",
        "source_cidr",
        "destination_cidr",
    ],
};

static VPC_PEERING: KindSpec = KindSpec {
    kind: Kind::VpcPeering,
    id: "vpc_peering",
    table: "vpc_peerings",
    zh: "VPC对等连接",
    en: "VPC peering",
    fields: &[
        VPC_REF,
        f(
            "peer_vpc_id",
            "对端VPC",
            "Peer VPC",
            FieldType::Ref(Kind::Vpc),
            REQ,
        ),
        NAME,
        DESCRIPTION,
        tenant_via("vpc_id"),
        provider_via("vpc_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[&["vpc_id", "name"]],
    agreements: &[same_provider("peer_vpc_id")],
    singleton: false,
    list_columns: &["name", "vpc_id", "peer_vpc_id", "tenant_id"],
};

static EXCHANGE_RULE: KindSpec = KindSpec {
    kind: Kind::ExchangeRule,
    id: "exchange_rule",
    table: "exchange_rules",
    zh: "跨VPC数据交换规则",
    en: "Cross-VPC exchange rule",
    fields: &[
        f(
            "from_vpc_id",
            "源VPC",
            "From VPC",
            FieldType::Ref(Kind::Vpc),
            REQ,
        ),
        f(
            "to_vpc_id",
            "目的VPC",
            "To VPC",
            FieldType::Ref(Kind::Vpc),
            REQ,
        ),
        PROTOCOL,
        PORT_FROM,
        PORT_TO,
        f("approval", "审批文号", "Approval reference", text(128), REQ),
        DESCRIPTION,
        tenant_via("from_vpc_id"),
        provider_via("from_vpc_id"),
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::Directory,
    unique: &[],
    agreements: &[],
    singleton: false,
    list_columns: &[
        "from_vpc_id",
        "to_vpc_id",
        "protocol",
        "port_from",
        "port_to",
        "approval",
    ],
};

static ROUTE: KindSpec = KindSpec {
    kind: Kind::Route,
    id: "route",
    table: "routes",
    zh: "路由",
    en: "Route",
    fields: &[
        VPC_REF,
        f(
            "destination",
            "目的网段",
            "Destination",
            FieldType::Cidr,
            REQ,
        ),
        f(
            "next_hop",
            "下一跳类型",
            "Next hop",
            FieldType::Enum(NEXT_HOPS),
            REQ,
        ),
        f(
            "peering_id",
            "对等连接",
            "Peering",
            FieldType::Ref(Kind::VpcPeering),
            OPT,
        ),
        DESCRIPTION,
        tenant_via("vpc_id"),
        provider_via("vpc_id"),
        EXTERNAL_ID,
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantResources,
    unique: &[],
    agreements: &[same_provider("peering_id")],
    singleton: false,
    list_columns: &["vpc_id", "destination", "next_hop", "peering_id"],
};

static MANAGEMENT_ENDPOINT: KindSpec = KindSpec {
    kind: Kind::ManagementEndpoint,
    id: "management_endpoint",
    table: "management_endpoints",
    zh: "运维接入点",
    en: "Management endpoint",
    fields: &[
        f(
            "vm_id",
            "云主机",
            "Virtual machine",
            FieldType::Ref(Kind::Vm),
            REQ,
        ),
        NAME,
        f(
            "endpoint_kind",
            "类型",
            "Kind",
            FieldType::Enum(ENDPOINT_KINDS),
            REQ,
        ),
        DESCRIPTION,
        tenant_via("vm_id"),
        provider_via("vm_id"),
    ],
    tenant_access: TENANT_RESOURCE.0,
    provider_access: TENANT_RESOURCE.1,
    write: WriteGroup::TenantDeclarations,
    unique: &[&["tenant_id", "name"]],
    agreements: &[],
    singleton: false,
    list_columns: &["name", "vm_id", "endpoint_kind", "tenant_id"],
};

#[cfg(test)]
mod tests;
