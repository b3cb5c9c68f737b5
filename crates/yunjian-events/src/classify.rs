//! Classification and grading of incidents (8.3.12): every event or incident carries its
//! GB/Z 20986-2007 category/subcategory and its GB/T 20986-2023 code, from one mapping
//! table (`classification.toml`), and a grade Ⅰ–Ⅳ from the affected system's
//! importance, the loss and the social impact, the highest path winning (§5.2).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The shipped table.
pub const SHIPPED: &str = include_str!("../classification.toml");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("classification.toml: {0}")]
pub struct ClassificationError(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    gbz2007: Vec<Category>,
    gbt2023: Vec<Category>,
    map: Vec<Mapping>,
}

/// A category with its subcategories (`[code, name]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: String,
    pub zh: String,
    #[serde(default)]
    pub en: Option<String>,
    pub sub: Vec<[String; 2]>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Mapping {
    detector: String,
    gbz2007: String,
    gbt2023: String,
}

/// A code in one edition: the category and, where it has them, the subcategory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    pub category: String,
    pub category_zh: String,
    pub subcategory: Option<String>,
    pub subcategory_zh: Option<String>,
}

impl Code {
    /// `NAI/ONAI` or `OI`.
    pub fn text(&self) -> String {
        match &self.subcategory {
            Some(sub) => format!("{}/{sub}", self.category),
            None => self.category.clone(),
        }
    }
}

/// Both editions' codes of one detector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classification {
    pub gbz2007: Code,
    pub gbt2023: Code,
}

/// The loaded table.
#[derive(Clone, Debug)]
pub struct Classifier {
    gbz2007: Vec<Category>,
    gbt2023: Vec<Category>,
    map: BTreeMap<String, Classification>,
    fallback: Classification,
}

fn resolve(
    categories: &[Category],
    text: &str,
    edition: &str,
) -> Result<Code, ClassificationError> {
    let (category, sub) = match text.split_once('/') {
        Some((category, sub)) => (category, Some(sub)),
        None => (text, None),
    };
    let found = categories
        .iter()
        .find(|candidate| candidate.code == category)
        .ok_or_else(|| ClassificationError(format!("{edition} has no category {category}")))?;
    let subcategory = match sub {
        Some(sub) => Some(
            found
                .sub
                .iter()
                .find(|[code, _]| code == sub)
                .ok_or_else(|| {
                    ClassificationError(format!("{edition} {category} has no subcategory {sub}"))
                })?,
        ),
        None if !found.sub.is_empty() => {
            return Err(ClassificationError(format!(
                "{edition} {category} has subcategories: name one"
            )))
        }
        None => None,
    };
    Ok(Code {
        category: found.code.clone(),
        category_zh: found.zh.clone(),
        subcategory: subcategory.map(|[code, _]| code.clone()),
        subcategory_zh: subcategory.map(|[_, name]| name.clone()),
    })
}

impl Classifier {
    pub fn shipped() -> Result<Classifier, ClassificationError> {
        Classifier::load(SHIPPED)
    }

    /// Loads a table: every mapping must name real codes of both editions, and `*`
    /// must be there.
    pub fn load(text: &str) -> Result<Classifier, ClassificationError> {
        let table: Table =
            toml::from_str(text).map_err(|error| ClassificationError(error.to_string()))?;
        let mut map = BTreeMap::new();
        for mapping in &table.map {
            let classification = Classification {
                gbz2007: resolve(&table.gbz2007, &mapping.gbz2007, "GB/Z 20986-2007")?,
                gbt2023: resolve(&table.gbt2023, &mapping.gbt2023, "GB/T 20986-2023")?,
            };
            if map
                .insert(mapping.detector.clone(), classification)
                .is_some()
            {
                return Err(ClassificationError(format!(
                    "{} is mapped twice",
                    mapping.detector
                )));
            }
        }
        let fallback = map
            .get("*")
            .cloned()
            .ok_or_else(|| ClassificationError("no fallback mapping '*'".into()))?;
        Ok(Classifier {
            gbz2007: table.gbz2007,
            gbt2023: table.gbt2023,
            map,
            fallback,
        })
    }

    /// The codes of what detected an event (a decoder or rule id, a vendor category);
    /// the fallback when nothing maps it.
    /// Whether the table names this detector (not only through the `*` fallback).
    pub fn knows(&self, detector: &str) -> bool {
        self.map.contains_key(detector)
    }

    pub fn classify(&self, detector: &str) -> &Classification {
        self.map.get(detector).unwrap_or(&self.fallback)
    }

    pub fn categories_2007(&self) -> &[Category] {
        &self.gbz2007
    }

    pub fn categories_2023(&self) -> &[Category] {
        &self.gbt2023
    }
}

/// The affected system's importance (信息系统的重要程度).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Importance {
    Ordinary,
    Important,
    EspeciallyImportant,
}

impl Importance {
    /// From an MLPS level: level 4 and above especially important, 3 important, else
    /// ordinary (a configured value may override it).
    pub fn of_mlps_level(level: i64) -> Importance {
        match level {
            4.. => Importance::EspeciallyImportant,
            3 => Importance::Important,
            _ => Importance::Ordinary,
        }
    }
}

/// System loss (系统损失).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Loss {
    Small,
    RelativelyLarge,
    Serious,
    EspeciallySerious,
}

/// Social impact (社会影响).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    Ordinary,
    RelativelyMajor,
    Major,
    EspeciallyMajor,
}

/// Grades Ⅰ (especially major) to Ⅳ (ordinary); `Ord` puts Ⅰ highest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    IV,
    III,
    II,
    I,
}

impl Grade {
    pub fn label_zh(self) -> &'static str {
        match self {
            Grade::I => "Ⅰ级 特别重大事件",
            Grade::II => "Ⅱ级 重大事件",
            Grade::III => "Ⅲ级 较大事件",
            Grade::IV => "Ⅳ级 一般事件",
        }
    }
}

/// The grade by the system-loss path (§5.2's table).
fn by_loss(importance: Importance, loss: Loss) -> Grade {
    use Importance::*;
    use Loss::*;
    match (importance, loss) {
        (EspeciallyImportant, EspeciallySerious) => Grade::I,
        (EspeciallyImportant, Serious) | (Important, EspeciallySerious) => Grade::II,
        (EspeciallyImportant, RelativelyLarge)
        | (Important, Serious)
        | (Ordinary, EspeciallySerious) => Grade::III,
        _ => Grade::IV,
    }
}

fn by_impact(impact: Impact) -> Grade {
    match impact {
        Impact::EspeciallyMajor => Grade::I,
        Impact::Major => Grade::II,
        Impact::RelativelyMajor => Grade::III,
        Impact::Ordinary => Grade::IV,
    }
}

/// The grade: the higher of the system-loss path and the social-impact path.
pub fn grade(importance: Importance, loss: Loss, impact: Impact) -> Grade {
    by_loss(importance, loss).max(by_impact(impact))
}
