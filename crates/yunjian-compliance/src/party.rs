//! The parties the guide makes responsible, and the service models the annex divides by.

use std::fmt;

/// Who must act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Party {
    /// 政务云服务商
    Provider,
    /// 云租户
    Tenant,
    /// 政务云平台管理单位
    ManagementUnit,
}

impl Party {
    pub const ALL: [Party; 3] = [Party::Provider, Party::Tenant, Party::ManagementUnit];

    pub fn as_str(self) -> &'static str {
        match self {
            Party::Provider => "provider",
            Party::Tenant => "tenant",
            Party::ManagementUnit => "management_unit",
        }
    }

    pub fn parse(text: &str) -> Option<Party> {
        Party::ALL.into_iter().find(|party| party.as_str() == text)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Party::Provider => "云服务商",
            Party::Tenant => "云租户",
            Party::ManagementUnit => "管理单位",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Party::Provider => "Provider",
            Party::Tenant => "Tenant",
            Party::ManagementUnit => "Management unit",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Party::Provider => 1,
            Party::Tenant => 2,
            Party::ManagementUnit => 4,
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A set of parties (a clause may bind several).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PartySet(u8);

impl PartySet {
    pub const EMPTY: PartySet = PartySet(0);

    pub fn of(parties: &[Party]) -> PartySet {
        parties
            .iter()
            .fold(PartySet::EMPTY, |set, party| set.with(*party))
    }

    pub fn with(self, party: Party) -> PartySet {
        PartySet(self.0 | party.bit())
    }

    pub fn contains(self, party: Party) -> bool {
        self.0 & party.bit() != 0
    }

    pub fn union(self, other: PartySet) -> PartySet {
        PartySet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Party> {
        Party::ALL
            .into_iter()
            .filter(move |party| self.contains(*party))
    }

    /// `provider+tenant`, the stable text form.
    pub fn to_text(self) -> String {
        self.iter().map(Party::as_str).collect::<Vec<_>>().join("+")
    }

    pub fn parse_text(text: &str) -> Option<PartySet> {
        if text.is_empty() {
            return Some(PartySet::EMPTY);
        }
        text.split('+').try_fold(PartySet::EMPTY, |set, name| {
            Party::parse(name).map(|party| set.with(party))
        })
    }

    pub fn label_zh(self) -> String {
        self.iter()
            .map(Party::label_zh)
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// The three service models of the annex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceModel {
    Iaas,
    Paas,
    Saas,
}

impl ServiceModel {
    pub const ALL: [ServiceModel; 3] = [ServiceModel::Iaas, ServiceModel::Paas, ServiceModel::Saas];

    /// The stable identifier, as the world schema stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceModel::Iaas => "iaas",
            ServiceModel::Paas => "paas",
            ServiceModel::Saas => "saas",
        }
    }

    pub fn parse(text: &str) -> Option<ServiceModel> {
        ServiceModel::ALL
            .into_iter()
            .find(|model| model.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            ServiceModel::Iaas => "IaaS",
            ServiceModel::Paas => "PaaS",
            ServiceModel::Saas => "SaaS",
        }
    }
}
