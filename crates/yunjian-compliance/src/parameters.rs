//! The values a deployment gives the catalog's parameters, checked against the floors.

use std::collections::BTreeMap;

use crate::catalog::{Catalog, Parameter};

/// Configured parameter values; a parameter not configured takes its floor.
#[derive(Clone, Debug)]
pub struct ParameterValues {
    values: BTreeMap<String, f64>,
}

/// A configured value looser than the guide allows.
#[derive(Clone, Debug, PartialEq)]
pub struct LooseParameter {
    pub key: String,
    pub value: f64,
    pub floor: f64,
    pub bound: &'static str,
}

impl ParameterValues {
    /// The floors themselves.
    pub fn floors(catalog: &Catalog) -> ParameterValues {
        ParameterValues {
            values: catalog
                .parameters
                .iter()
                .map(|parameter| (parameter.key.clone(), parameter.floor))
                .collect(),
        }
    }

    /// The floors, with `configured` values over them. Unknown keys are refused by the
    /// caller (the app validates what it stores); here they are ignored.
    pub fn new(catalog: &Catalog, configured: &BTreeMap<String, f64>) -> ParameterValues {
        let mut values = ParameterValues::floors(catalog);
        for (key, value) in configured {
            if values.values.contains_key(key) {
                values.values.insert(key.clone(), *value);
            }
        }
        values
    }

    pub fn get(&self, key: &str) -> f64 {
        self.values.get(key).copied().unwrap_or(f64::NAN)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.values
            .iter()
            .map(|(key, value)| (key.as_str(), *value))
    }

    /// The parameters whose value is looser than the floor.
    pub fn loose(&self, catalog: &Catalog) -> Vec<LooseParameter> {
        catalog
            .parameters
            .iter()
            .filter_map(|parameter: &Parameter| {
                let value = self.get(&parameter.key);
                (!parameter.bound.holds(value, parameter.floor)).then(|| LooseParameter {
                    key: parameter.key.clone(),
                    value,
                    floor: parameter.floor,
                    bound: parameter.bound.symbol(),
                })
            })
            .collect()
    }
}
