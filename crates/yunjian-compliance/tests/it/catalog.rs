use std::collections::BTreeMap;
use std::path::PathBuf;

use yunjian_compliance::catalog::SHIPPED_FILES;
use yunjian_compliance::{Assessment, Catalog, Party, PartySet, ServiceModel};

fn spec(name: &str) -> String {
    let path =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("../../../shared/spec")
            .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn tsv(name: &str) -> Vec<BTreeMap<String, String>> {
    let text = spec(name);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            header
                .iter()
                .zip(line.split('\t'))
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect()
        })
        .collect()
}

/// The guide's numbered lines before the annex: (number, text after it), allowing for
/// numbers printed without a space.
fn guide_numbered() -> Vec<(String, String)> {
    let guide = spec("guide-zh.txt");
    let mut found = Vec::new();
    for line in guide.lines().take_while(|line| line.trim() != "附表") {
        let number: String = line
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let number = number.trim_end_matches('.').to_owned();
        if number.is_empty() || number.split('.').count() > 4 {
            continue;
        }
        let rest = line[number.len()..].trim();
        // "2 引用文件" style headings and clauses; skip page numbers and list items like "1) ".
        if rest.is_empty()
            || rest.starts_with(')')
            || rest.starts_with('）')
            || rest.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            continue;
        }
        found.push((number, rest.to_owned()));
    }
    found
}

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn every_numbered_clause_of_the_guide_is_in_the_catalog() {
    let catalog = Catalog::shipped().expect("the shipped catalog loads");
    let guide = compact(&spec("guide-zh.txt"));
    let numbered = guide_numbered();
    assert!(
        numbered.len() >= 212,
        "found {} numbered lines",
        numbered.len()
    );
    for (number, _) in &numbered {
        let as_section = catalog
            .sections
            .iter()
            .any(|section| &section.id == number || section.printed_as.as_deref() == Some(number));
        assert!(
            catalog.clause(number).is_some() || as_section,
            "guide clause {number} is missing from the catalog"
        );
    }
    // Every clause's Chinese text is the guide's, verbatim.
    for clause in &catalog.clauses {
        assert!(
            guide.contains(&compact(&clause.text_zh)),
            "clause {}: text_zh is not the guide's text",
            clause.id
        );
    }
    assert_eq!(catalog.requirements().count(), 174);
    assert_eq!(
        catalog
            .clauses
            .iter()
            .filter(|clause| clause.assessment == Assessment::Definition)
            .count(),
        5
    );
    // The misprinted heading is found under either number.
    let storage = catalog.section("7.5.9").expect("7.5.9");
    assert_eq!(storage.printed_as.as_deref(), Some("7.2.9"));
    assert_eq!(storage.title_zh, "存储安全");
    // 7.5.10 is a heading and a clause.
    assert!(catalog.section("7.5.10").is_some() && catalog.clause("7.5.10").is_some());
}

#[test]
fn the_catalog_agrees_with_the_reference_clause_table() {
    let catalog = Catalog::shipped().expect("loads");
    let rows = tsv("clauses.tsv");
    assert_eq!(rows.len(), 174);
    for row in &rows {
        let clause = catalog
            .clause(&row["clause"])
            .unwrap_or_else(|| panic!("{}", row["clause"]));
        let parties = row["responsible"]
            .split('+')
            .map(|name| match name {
                "云服务商" => Party::Provider,
                "云租户" => Party::Tenant,
                "管理单位" => Party::ManagementUnit,
                other => panic!("unknown party {other}"),
            })
            .fold(PartySet::EMPTY, PartySet::with);
        assert_eq!(clause.parties, parties, "{}", clause.id);
        let assessment = match row["kind"].as_str() {
            "a" => Assessment::Automated,
            "b" => Assessment::Evidence,
            "c" => Assessment::Organisational,
            other => panic!("kind {other}"),
        };
        assert_eq!(clause.assessment, assessment, "{}", clause.id);
        assert_eq!(clause.summary_en, row["summary_en"], "{}", clause.id);
    }
}

#[test]
fn the_annex_matrix_is_the_guide_annex() {
    let catalog = Catalog::shipped().expect("loads");
    let rows = tsv("annex_responsibility.tsv");
    assert_eq!(rows.len(), catalog.annex.len());
    for row in &rows {
        let model = ServiceModel::ALL
            .into_iter()
            .find(|model| model.label() == row["service_model"])
            .expect("model");
        let number: u32 = row["row"].parse().expect("number");
        let ours = catalog
            .annex
            .iter()
            .find(|annex| annex.model == model && annex.number == number)
            .unwrap_or_else(|| panic!("{} row {number}", model.label()));
        assert_eq!(ours.domain_zh, row["domain"]);
        let parties = row["responsible"]
            .split('+')
            .map(|name| {
                if name == "云服务商" {
                    Party::Provider
                } else {
                    Party::Tenant
                }
            })
            .fold(PartySet::EMPTY, PartySet::with);
        assert_eq!(ours.parties, parties, "{} row {number}", model.label());
    }
    // The service model decides: a tenant's VMs are its own under IaaS, the provider's
    // under SaaS (annex IaaS row 5, SaaS row 3).
    let clause = catalog.clause("7.2.4.1").expect("7.2.4.1");
    assert_eq!(
        catalog.parties_for(clause, &[ServiceModel::Iaas]),
        PartySet::of(&[Party::Tenant])
    );
    assert_eq!(
        catalog.parties_for(clause, &[ServiceModel::Saas]),
        PartySet::of(&[Party::Provider])
    );
}

#[test]
fn the_mlps_items_are_the_reference_table() {
    let catalog = Catalog::shipped().expect("loads");
    let rows = tsv("mlps_l3_cloud_ext.tsv");
    assert_eq!(catalog.mlps.len(), 46);
    for (row, item) in rows.iter().zip(&catalog.mlps) {
        assert_eq!(item.id, row["test_unit_id"]);
        assert_eq!(item.requirement_zh, row["requirement_zh"]);
    }
    // Cross references work both ways.
    let item = catalog.mlps_item("L3-PES2-01").expect("item");
    assert_eq!(item.guide, vec!["7.2.1.2".to_owned()]);
    assert!(catalog
        .mlps_for_clause("7.2.1.2")
        .any(|found| found.id == "L3-PES2-01"));
}

fn with_file(name: &str, text: &str) -> Vec<(&'static str, String)> {
    SHIPPED_FILES
        .iter()
        .map(|(file, shipped)| {
            (
                *file,
                if *file == name {
                    text.to_owned()
                } else {
                    shipped.to_string()
                },
            )
        })
        .collect()
}

fn load(files: &[(&'static str, String)]) -> Result<Catalog, String> {
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(name, text)| (*name, text.as_str()))
        .collect();
    Catalog::load(&borrowed).map_err(|error| error.to_string())
}

#[test]
fn a_bad_catalog_is_refused_with_file_line_and_reason() {
    let guide = SHIPPED_FILES[0].1;
    let line_of = |needle: &str| guide[..guide.find(needle).expect("needle")].lines().count() + 1;

    // An unknown party, at the clause's line.
    let bad = guide.replacen(
        "id = \"7.2.2.2\"\nsection = \"7.2.2\"",
        "id = \"7.2.2.2\"\nsection = \"7.2.2\"\nparties_extra = 1",
        1,
    );
    let error = load(&with_file("guide.toml", &bad)).expect_err("refused");
    assert!(error.starts_with("guide.toml:"), "{error}");
    assert!(error.contains("parties_extra"), "{error}");

    let at = line_of("id = \"7.5.3.2\"");
    let bad = guide.replacen(
        "id = \"7.5.3.2\"",
        "id = \"7.5.3.2\"\nmlps = [\"L3-NOPE-99\"]",
        1,
    );
    let error = load(&with_file("guide.toml", &bad)).expect_err("refused");
    assert_eq!(
        error,
        format!("guide.toml:{at}: clause 7.5.3.2: unknown MLPS item 'L3-NOPE-99'")
    );

    // A duplicated clause.
    let bad = guide.replacen("id = \"7.2.2.3\"", "id = \"7.2.2.2\"", 1);
    let error = load(&with_file("guide.toml", &bad)).expect_err("refused");
    assert!(error.contains("clause 7.2.2.2 appears twice"), "{error}");
    assert_eq!(
        error.split(':').nth(1).map(str::to_owned),
        Some(line_of("id = \"7.2.2.3\"").to_string())
    );

    // Syntax errors carry the line too.
    let error = load(&with_file(
        "parameters.toml",
        "version = \"x\"\n[[parameter]]\nkey = \n",
    ))
    .expect_err("refused");
    assert!(error.starts_with("parameters.toml:3:"), "{error}");

    // An annex that leaves a component without a row under a model.
    let annex = SHIPPED_FILES[2].1.replacen(
        "components = [\"data.tenant_config\"]\nparties = [\"tenant\"]",
        "components = []\nparties = [\"tenant\"]",
        1,
    );
    let error = load(&with_file("responsibility.toml", &annex)).expect_err("refused");
    assert!(error.contains("has no row under saas"), "{error}");

    // A missing file.
    let files: Vec<(&'static str, String)> = with_file("x", "")
        .into_iter()
        .filter(|(name, _)| *name != "lifecycle.toml")
        .collect();
    assert_eq!(
        load(&files).expect_err("refused"),
        "lifecycle.toml:0: missing catalog file"
    );
}
