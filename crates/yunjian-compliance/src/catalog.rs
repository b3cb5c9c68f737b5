//! The catalog: the guide's clauses, the MLPS level-3 cloud extension items, the annex's
//! responsibility matrix, the parameters with their floors and the release support table,
//! read from versioned TOML files and validated whole before anything uses them.
//!
//! Every error names the file, the line and the reason, so an administrator who edits a
//! catalog file (or a deployment that ships its own) is told exactly what to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use crate::party::{Party, PartySet, ServiceModel};

/// The files of the shipped catalog, by name, as compiled into the binary.
pub const SHIPPED_FILES: [(&str, &str); 5] = [
    ("guide.toml", include_str!("../catalog/guide.toml")),
    (
        "mlps_l3_cloud.toml",
        include_str!("../catalog/mlps_l3_cloud.toml"),
    ),
    (
        "responsibility.toml",
        include_str!("../catalog/responsibility.toml"),
    ),
    (
        "parameters.toml",
        include_str!("../catalog/parameters.toml"),
    ),
    ("lifecycle.toml", include_str!("../catalog/lifecycle.toml")),
];

/// A catalog file that does not validate: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct CatalogError {
    pub file: String,
    /// From 1; 0 when the problem is the file as a whole (missing).
    pub line: usize,
    pub reason: String,
}

/// How a clause is assessed (the guide's requirement kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// A check over data yunjian can hold (kind a of the reference table).
    Automated,
    /// Records, evidence and approval (kind b).
    Evidence,
    /// Organisational: planning, policy (kind c).
    Organisational,
    /// A definition (chapter 3): listed for completeness, never assessed.
    Definition,
}

impl Assessment {
    pub fn as_str(self) -> &'static str {
        match self {
            Assessment::Automated => "automated",
            Assessment::Evidence => "evidence",
            Assessment::Organisational => "organisational",
            Assessment::Definition => "definition",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Assessment::Automated => "自动检查",
            Assessment::Evidence => "证据与证明",
            Assessment::Organisational => "组织管理",
            Assessment::Definition => "定义",
        }
    }
}

/// Where a catalog entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Guide,
    Mlps,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Guide => "guide",
            Source::Mlps => "mlps",
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        match text {
            "guide" => Some(Source::Guide),
            "mlps" => Some(Source::Mlps),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    /// The number as printed in the guide when it differs (7.2.9 for 7.5.9).
    pub printed_as: Option<String>,
    pub note: Option<String>,
    pub preamble_zh: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    pub id: String,
    pub section: String,
    /// A heading of its own, for the clauses that are both heading and paragraph.
    pub title_zh: Option<String>,
    /// The guide's text, verbatim.
    pub text_zh: String,
    pub summary_en: String,
    pub assessment: Assessment,
    /// Who the guide's text makes responsible.
    pub parties: PartySet,
    /// The annex component the clause concerns, when its split between provider and
    /// tenant depends on the service model.
    pub component: Option<String>,
    pub parameters: Vec<String>,
    pub mlps: Vec<String>,
    pub related: Vec<String>,
    pub note: Option<String>,
    pub assessment_note_en: String,
}

impl Clause {
    /// A short Chinese title: the heading, or the text's first phrase.
    pub fn short_zh(&self) -> String {
        if let Some(title) = &self.title_zh {
            return title.clone();
        }
        let end = self
            .text_zh
            .char_indices()
            .find(|(_, c)| matches!(c, '，' | '。' | '；' | '：'))
            .map_or(self.text_zh.len(), |(index, _)| index);
        let phrase = &self.text_zh[..end];
        if phrase.chars().count() > 40 {
            let cut: String = phrase.chars().take(38).collect();
            format!("{cut}…")
        } else {
            phrase.to_owned()
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MlpsItem {
    /// The test unit id, e.g. `L3-CNS2-01`.
    pub id: String,
    /// The standard's clause, e.g. `8.2.2.1 a)`.
    pub clause: String,
    pub layer_zh: String,
    pub control_point_zh: String,
    pub requirement_zh: String,
    pub requirement_en: String,
    pub guide: Vec<String>,
    pub guide_note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// value ≥ floor
    AtLeast,
    /// value > floor
    MoreThan,
    /// value ≤ floor
    AtMost,
}

impl Bound {
    /// Whether `value` satisfies this bound with respect to `floor`.
    pub fn holds(self, value: f64, floor: f64) -> bool {
        match self {
            Bound::AtLeast => value >= floor,
            Bound::MoreThan => value > floor,
            Bound::AtMost => value <= floor,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Bound::AtLeast => "≥",
            Bound::MoreThan => ">",
            Bound::AtMost => "≤",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    pub key: String,
    pub zh: String,
    pub en: String,
    pub unit: String,
    pub bound: Bound,
    pub floor: f64,
    pub clauses: Vec<String>,
    pub basis: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    pub key: String,
    pub zh: String,
    pub en: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AnnexRow {
    pub model: ServiceModel,
    pub number: u32,
    pub domain_zh: String,
    pub requirements_zh: String,
    pub components: Vec<String>,
    pub parties: PartySet,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub product: String,
    pub branch: String,
    pub end_of_support: chrono::NaiveDate,
    pub source: String,
}

/// The whole catalog, validated.
#[derive(Clone, Debug)]
pub struct Catalog {
    /// `guide.toml`'s version and the others', joined: what a run records.
    pub version: String,
    pub sections: Vec<Section>,
    pub clauses: Vec<Clause>,
    pub mlps: Vec<MlpsItem>,
    pub parameters: Vec<Parameter>,
    pub components: Vec<Component>,
    pub annex: Vec<AnnexRow>,
    pub releases: Vec<Release>,
    clause_index: BTreeMap<String, usize>,
    mlps_index: BTreeMap<String, usize>,
    /// component → model → parties.
    matrix: BTreeMap<String, BTreeMap<ServiceModel, PartySet>>,
}

impl Catalog {
    /// The catalog compiled into this binary. It is validated by the tests, so failing
    /// here is a build defect; the error still says where.
    pub fn shipped() -> Result<Catalog, CatalogError> {
        Catalog::load(&SHIPPED_FILES)
    }

    /// Loads and validates catalog files given as (name, text). All five must be present.
    pub fn load(files: &[(&str, &str)]) -> Result<Catalog, CatalogError> {
        let text_of = |name: &str| -> Result<&str, CatalogError> {
            files
                .iter()
                .find(|(candidate, _)| *candidate == name)
                .map(|(_, text)| *text)
                .ok_or_else(|| CatalogError {
                    file: name.to_owned(),
                    line: 0,
                    reason: "missing catalog file".to_owned(),
                })
        };
        let guide: raw::Guide = parse("guide.toml", text_of("guide.toml")?)?;
        let mlps: raw::Mlps = parse("mlps_l3_cloud.toml", text_of("mlps_l3_cloud.toml")?)?;
        let responsibility: raw::Responsibility =
            parse("responsibility.toml", text_of("responsibility.toml")?)?;
        let parameters: raw::Parameters = parse("parameters.toml", text_of("parameters.toml")?)?;
        let lifecycle: raw::Lifecycle = parse("lifecycle.toml", text_of("lifecycle.toml")?)?;
        build(
            guide,
            mlps,
            responsibility,
            parameters,
            lifecycle,
            &Lines::new(files),
        )
    }

    pub fn clause(&self, id: &str) -> Option<&Clause> {
        self.clause_index.get(id).map(|index| &self.clauses[*index])
    }

    pub fn mlps_item(&self, id: &str) -> Option<&MlpsItem> {
        self.mlps_index.get(id).map(|index| &self.mlps[*index])
    }

    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|section| section.id == id)
    }

    pub fn parameter(&self, key: &str) -> Option<&Parameter> {
        self.parameters
            .iter()
            .find(|parameter| parameter.key == key)
    }

    /// The clauses that are requirements (definitions left out).
    pub fn requirements(&self) -> impl Iterator<Item = &Clause> {
        self.clauses
            .iter()
            .filter(|clause| clause.assessment != Assessment::Definition)
    }

    /// The MLPS items that point at a guide clause.
    pub fn mlps_for_clause<'a>(&'a self, clause: &'a str) -> impl Iterator<Item = &'a MlpsItem> {
        self.mlps
            .iter()
            .filter(move |item| item.guide.iter().any(|id| id == clause))
    }

    /// Who must act on `clause` for a subject using `models` (a tenant's systems' service
    /// models), before any contract override: the annex decides where the clause names a
    /// component, the guide's text otherwise.
    pub fn parties_for(&self, clause: &Clause, models: &[ServiceModel]) -> PartySet {
        match &clause.component {
            Some(component) if !models.is_empty() => {
                let mut parties = PartySet::EMPTY;
                if let Some(by_model) = self.matrix.get(component) {
                    for model in models {
                        if let Some(found) = by_model.get(model) {
                            parties = parties.union(*found);
                        }
                    }
                }
                parties
            }
            _ => clause.parties,
        }
    }

    /// The annex's parties for one model and component.
    pub fn annex_parties(&self, model: ServiceModel, component: &str) -> Option<PartySet> {
        self.matrix
            .get(component)
            .and_then(|by_model| by_model.get(&model))
            .copied()
    }

    pub fn component(&self, key: &str) -> Option<&Component> {
        self.components
            .iter()
            .find(|component| component.key == key)
    }

    /// The release entry for a product and version, by the longest matching branch.
    pub fn release_for(&self, product: &str, version: &str) -> Option<&Release> {
        let version = version.trim_start_matches(['v', 'V']);
        self.releases
            .iter()
            .filter(|release| {
                release.product.eq_ignore_ascii_case(product)
                    && (version == release.branch
                        || version
                            .strip_prefix(release.branch.as_str())
                            .is_some_and(|rest| rest.starts_with('.')))
            })
            .max_by_key(|release| release.branch.len())
    }
}

/// Line lookup for spans, per file.
struct Lines<'a> {
    files: &'a [(&'a str, &'a str)],
}

impl<'a> Lines<'a> {
    fn new(files: &'a [(&'a str, &'a str)]) -> Lines<'a> {
        Lines { files }
    }

    fn line(&self, file: &str, offset: usize) -> usize {
        self.files
            .iter()
            .find(|(name, _)| *name == file)
            .map_or(0, |(_, text)| line_of(text, offset))
    }

    fn error<T>(&self, file: &str, at: &Spanned<T>, reason: impl Into<String>) -> CatalogError {
        CatalogError {
            file: file.to_owned(),
            line: self.line(file, at.span().start),
            reason: reason.into(),
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|error| CatalogError {
        file: file.to_owned(),
        line: error.span().map_or(0, |span| line_of(text, span.start)),
        reason: error.message().to_owned(),
    })
}

fn is_clause_number(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').count() <= 4
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
}

fn build(
    guide: raw::Guide,
    mlps: raw::Mlps,
    responsibility: raw::Responsibility,
    parameters: raw::Parameters,
    lifecycle: raw::Lifecycle,
    lines: &Lines<'_>,
) -> Result<Catalog, CatalogError> {
    const GUIDE: &str = "guide.toml";
    const MLPS: &str = "mlps_l3_cloud.toml";
    const RESPONSIBILITY: &str = "responsibility.toml";
    const PARAMETERS: &str = "parameters.toml";
    const LIFECYCLE: &str = "lifecycle.toml";

    // Sections.
    let mut sections = Vec::new();
    let mut section_ids = BTreeSet::new();
    for section in guide.section {
        let id = section.id.get_ref().clone();
        if !is_clause_number(&id) {
            return Err(lines.error(GUIDE, &section.id, format!("'{id}' is not a clause number")));
        }
        if !section_ids.insert(id.clone()) {
            return Err(lines.error(GUIDE, &section.id, format!("section {id} appears twice")));
        }
        non_empty(lines, GUIDE, &section.id, "title_zh", &section.title_zh)?;
        non_empty(lines, GUIDE, &section.id, "title_en", &section.title_en)?;
        sections.push(Section {
            id,
            title_zh: section.title_zh,
            title_en: section.title_en,
            printed_as: section.printed_as,
            note: section.note,
            preamble_zh: section.preamble_zh,
        });
    }

    // Parameters first: clauses name them.
    let mut parameter_list = Vec::new();
    for parameter in parameters.parameter {
        let key = parameter.key.get_ref().clone();
        if parameter_list
            .iter()
            .any(|existing: &Parameter| existing.key == key)
        {
            return Err(lines.error(
                PARAMETERS,
                &parameter.key,
                format!("parameter {key} appears twice"),
            ));
        }
        if !parameter.floor.is_finite() || parameter.floor < 0.0 {
            return Err(lines.error(
                PARAMETERS,
                &parameter.key,
                format!("parameter {key}: the floor must be a non-negative number"),
            ));
        }
        parameter_list.push(Parameter {
            key,
            zh: parameter.zh,
            en: parameter.en,
            unit: parameter.unit,
            bound: parameter.bound,
            floor: parameter.floor,
            clauses: parameter.clauses,
            basis: parameter.basis,
        });
    }

    // Components and the annex matrix.
    let mut components = Vec::new();
    for component in responsibility.component {
        let key = component.key.get_ref().clone();
        if components
            .iter()
            .any(|existing: &Component| existing.key == key)
        {
            return Err(lines.error(
                RESPONSIBILITY,
                &component.key,
                format!("component {key} appears twice"),
            ));
        }
        components.push(Component {
            key,
            zh: component.zh,
            en: component.en,
        });
    }
    let mut annex = Vec::new();
    let mut matrix: BTreeMap<String, BTreeMap<ServiceModel, PartySet>> = BTreeMap::new();
    let mut numbers: BTreeMap<ServiceModel, u32> = BTreeMap::new();
    for row in responsibility.row {
        let model = ServiceModel::parse(row.model.get_ref()).ok_or_else(|| {
            lines.error(
                RESPONSIBILITY,
                &row.model,
                format!(
                    "unknown service model '{}' (iaas, paas or saas)",
                    row.model.get_ref()
                ),
            )
        })?;
        let expected = numbers.get(&model).copied().unwrap_or(0) + 1;
        if row.number != expected {
            return Err(lines.error(
                RESPONSIBILITY,
                &row.model,
                format!(
                    "{} row numbered {} where {expected} was expected",
                    model.as_str(),
                    row.number
                ),
            ));
        }
        numbers.insert(model, expected);
        let parties = party_set(lines, RESPONSIBILITY, &row.model, &row.parties)?;
        if parties.is_empty() {
            return Err(lines.error(RESPONSIBILITY, &row.model, "a row needs a party"));
        }
        for component in &row.components {
            if !components.iter().any(|known| &known.key == component) {
                return Err(lines.error(
                    RESPONSIBILITY,
                    &row.model,
                    format!("unknown component '{component}'"),
                ));
            }
            if matrix
                .entry(component.clone())
                .or_default()
                .insert(model, parties)
                .is_some()
            {
                return Err(lines.error(
                    RESPONSIBILITY,
                    &row.model,
                    format!(
                        "component '{component}' has two rows under {}",
                        model.as_str()
                    ),
                ));
            }
        }
        annex.push(AnnexRow {
            model,
            number: row.number,
            domain_zh: row.domain_zh,
            requirements_zh: row.requirements_zh,
            components: row.components,
            parties,
        });
    }
    for model in ServiceModel::ALL {
        for component in &components {
            if !matrix
                .get(&component.key)
                .is_some_and(|by_model| by_model.contains_key(&model))
            {
                return Err(CatalogError {
                    file: RESPONSIBILITY.to_owned(),
                    line: 0,
                    reason: format!(
                        "component '{}' has no row under {}",
                        component.key,
                        model.as_str()
                    ),
                });
            }
        }
    }

    // MLPS items (their guide references are checked once the clauses are known).
    let mut mlps_items = Vec::new();
    let mut mlps_index = BTreeMap::new();
    let mut mlps_spans = Vec::new();
    for item in mlps.item {
        let id = item.id.get_ref().clone();
        if mlps_index.insert(id.clone(), mlps_items.len()).is_some() {
            return Err(lines.error(MLPS, &item.id, format!("item {id} appears twice")));
        }
        non_empty(
            lines,
            MLPS,
            &item.id,
            "requirement_zh",
            &item.requirement_zh,
        )?;
        mlps_spans.push(item.id.clone());
        mlps_items.push(MlpsItem {
            id,
            clause: item.clause,
            layer_zh: item.layer_zh,
            control_point_zh: item.control_point_zh,
            requirement_zh: item.requirement_zh,
            requirement_en: item.requirement_en,
            guide: item.guide,
            guide_note: item.guide_note,
        });
    }

    // Clauses.
    let mut clauses = Vec::new();
    let mut clause_index = BTreeMap::new();
    let mut clause_spans = Vec::new();
    for clause in guide.clause {
        let id = clause.id.get_ref().clone();
        if !is_clause_number(&id) {
            return Err(lines.error(GUIDE, &clause.id, format!("'{id}' is not a clause number")));
        }
        if clause_index.insert(id.clone(), clauses.len()).is_some() {
            return Err(lines.error(GUIDE, &clause.id, format!("clause {id} appears twice")));
        }
        if !section_ids.contains(&clause.section) {
            return Err(lines.error(
                GUIDE,
                &clause.id,
                format!("clause {id}: unknown section '{}'", clause.section),
            ));
        }
        non_empty(lines, GUIDE, &clause.id, "text_zh", &clause.text_zh)?;
        non_empty(lines, GUIDE, &clause.id, "summary_en", &clause.summary_en)?;
        let parties = party_set(lines, GUIDE, &clause.id, &clause.parties)?;
        if clause.assessment == Assessment::Definition {
            if !parties.is_empty() {
                return Err(lines.error(GUIDE, &clause.id, "a definition has no parties"));
            }
        } else if parties.is_empty() {
            return Err(lines.error(GUIDE, &clause.id, format!("clause {id} names no party")));
        }
        if let Some(component) = &clause.component {
            if !components.iter().any(|known| &known.key == component) {
                return Err(lines.error(
                    GUIDE,
                    &clause.id,
                    format!("clause {id}: unknown component '{component}'"),
                ));
            }
        }
        for parameter in &clause.parameters {
            let Some(known) = parameter_list.iter().find(|known| &known.key == parameter) else {
                return Err(lines.error(
                    GUIDE,
                    &clause.id,
                    format!("clause {id}: unknown parameter '{parameter}'"),
                ));
            };
            if !known.clauses.contains(&id) {
                return Err(lines.error(
                    GUIDE,
                    &clause.id,
                    format!(
                        "clause {id} names parameter {parameter}, whose clauses do not include {id}"
                    ),
                ));
            }
        }
        for item in &clause.mlps {
            if !mlps_index.contains_key(item) {
                return Err(lines.error(
                    GUIDE,
                    &clause.id,
                    format!("clause {id}: unknown MLPS item '{item}'"),
                ));
            }
        }
        clause_spans.push(clause.id.clone());
        clauses.push(Clause {
            id,
            section: clause.section,
            title_zh: clause.title_zh,
            text_zh: clause.text_zh,
            summary_en: clause.summary_en,
            assessment: clause.assessment,
            parties,
            component: clause.component,
            parameters: clause.parameters,
            mlps: clause.mlps,
            related: clause.related,
            note: clause.note,
            assessment_note_en: clause.assessment_note_en,
        });
    }
    for (clause, span) in clauses.iter().zip(&clause_spans) {
        for related in &clause.related {
            if !clause_index.contains_key(related) {
                return Err(lines.error(
                    GUIDE,
                    span,
                    format!(
                        "clause {}: related clause '{related}' does not exist",
                        clause.id
                    ),
                ));
            }
        }
    }
    for (item, span) in mlps_items.iter().zip(&mlps_spans) {
        for clause in &item.guide {
            if !clause_index.contains_key(clause) {
                return Err(lines.error(
                    MLPS,
                    span,
                    format!("item {}: guide clause '{clause}' does not exist", item.id),
                ));
            }
        }
    }
    for parameter in &parameter_list {
        for clause in &parameter.clauses {
            if !clause_index.contains_key(clause) {
                return Err(CatalogError {
                    file: PARAMETERS.to_owned(),
                    line: 0,
                    reason: format!(
                        "parameter {}: clause '{clause}' does not exist",
                        parameter.key
                    ),
                });
            }
        }
    }

    let mut releases = Vec::new();
    for release in lifecycle.release {
        let end_of_support =
            chrono::NaiveDate::parse_from_str(release.end_of_support.get_ref(), "%Y-%m-%d")
                .map_err(|_| {
                    lines.error(
                        LIFECYCLE,
                        &release.end_of_support,
                        "end_of_support must be a date YYYY-MM-DD",
                    )
                })?;
        releases.push(Release {
            product: release.product,
            branch: release.branch,
            end_of_support,
            source: release.source,
        });
    }

    let version = format!(
        "guide {} · mlps {} · annex {} · parameters {} · lifecycle {}",
        guide.version, mlps.version, responsibility.version, parameters.version, lifecycle.version
    );
    Ok(Catalog {
        version,
        sections,
        clauses,
        mlps: mlps_items,
        parameters: parameter_list,
        components,
        annex,
        releases,
        clause_index,
        mlps_index,
        matrix,
    })
}

fn non_empty(
    lines: &Lines<'_>,
    file: &str,
    at: &Spanned<String>,
    field: &str,
    value: &str,
) -> Result<(), CatalogError> {
    if value.trim().is_empty() {
        Err(lines.error(
            file,
            at,
            format!("{} '{}': {field} is empty", "entry", at.get_ref()),
        ))
    } else {
        Ok(())
    }
}

fn party_set(
    lines: &Lines<'_>,
    file: &str,
    at: &Spanned<String>,
    names: &[String],
) -> Result<PartySet, CatalogError> {
    let mut set = PartySet::EMPTY;
    for name in names {
        let party = Party::parse(name).ok_or_else(|| {
            lines.error(
                file,
                at,
                format!("unknown party '{name}' (provider, tenant or management_unit)"),
            )
        })?;
        set = set.with(party);
    }
    Ok(set)
}

impl fmt::Display for Source {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The files' shapes, as written. Unknown fields are refused so a misspelt key is an
/// error, not a silently ignored line.
mod raw {
    use serde::Deserialize;
    use toml::Spanned;

    use super::{Assessment, Bound};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Guide {
        pub version: String,
        #[allow(dead_code)]
        pub source_zh: String,
        #[allow(dead_code)]
        pub source_en: String,
        #[serde(default)]
        pub section: Vec<Section>,
        #[serde(default)]
        pub clause: Vec<Clause>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Section {
        pub id: Spanned<String>,
        pub title_zh: String,
        pub title_en: String,
        pub printed_as: Option<String>,
        pub note: Option<String>,
        pub preamble_zh: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Clause {
        pub id: Spanned<String>,
        pub section: String,
        pub title_zh: Option<String>,
        pub text_zh: String,
        pub summary_en: String,
        pub assessment: Assessment,
        pub parties: Vec<String>,
        pub component: Option<String>,
        #[serde(default)]
        pub parameters: Vec<String>,
        #[serde(default)]
        pub mlps: Vec<String>,
        #[serde(default)]
        pub related: Vec<String>,
        pub note: Option<String>,
        #[serde(default)]
        pub assessment_note_en: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Mlps {
        pub version: String,
        #[allow(dead_code)]
        pub standard: String,
        #[allow(dead_code)]
        pub level: u8,
        #[serde(default)]
        pub item: Vec<MlpsItem>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MlpsItem {
        pub id: Spanned<String>,
        pub clause: String,
        pub layer_zh: String,
        pub control_point_zh: String,
        pub requirement_zh: String,
        pub requirement_en: String,
        #[serde(default)]
        pub guide: Vec<String>,
        pub guide_note: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Responsibility {
        pub version: String,
        #[serde(default)]
        pub component: Vec<Component>,
        #[serde(default)]
        pub row: Vec<Row>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Component {
        pub key: Spanned<String>,
        pub zh: String,
        pub en: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Row {
        pub model: Spanned<String>,
        pub number: u32,
        pub domain_zh: String,
        pub requirements_zh: String,
        pub components: Vec<String>,
        pub parties: Vec<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Parameters {
        pub version: String,
        #[serde(default)]
        pub parameter: Vec<Parameter>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Parameter {
        pub key: Spanned<String>,
        pub zh: String,
        pub en: String,
        pub unit: String,
        pub bound: Bound,
        pub floor: f64,
        pub clauses: Vec<String>,
        pub basis: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Lifecycle {
        pub version: String,
        #[serde(default)]
        pub release: Vec<Release>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Release {
        pub product: String,
        pub branch: String,
        pub end_of_support: Spanned<String>,
        pub source: String,
    }
}
