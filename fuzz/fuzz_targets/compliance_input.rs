//! What administrators hand the compliance engine: catalog files and custom controls
//! (Rego). Any bytes must load to a catalog or a refusal naming a file and line, and
//! validate to a control or a refusal naming a field — never a panic; an evidence
//! package of any bytes verifies or is refused.

#![no_main]

use libfuzzer_sys::fuzz_target;
use yunjian_compliance::catalog::SHIPPED_FILES;
use yunjian_compliance::Catalog;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match selector % 3 {
        // One catalog file replaced by the input.
        0 => {
            let replaced = (selector as usize / 3) % SHIPPED_FILES.len();
            let files: Vec<(&str, &str)> = SHIPPED_FILES
                .iter()
                .enumerate()
                .map(|(index, (name, shipped))| {
                    (*name, if index == replaced { text.as_ref() } else { *shipped })
                })
                .collect();
            if let Err(error) = Catalog::load(&files) {
                assert!(!error.file.is_empty());
                let lines = files
                    .iter()
                    .find(|(name, _)| *name == error.file)
                    .map_or(0, |(_, text)| text.lines().count() + 1);
                assert!(error.line <= lines.max(1), "{error}");
            }
        }
        // A custom control's source.
        1 => {
            static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
            let catalog = CATALOG.get_or_init(|| Catalog::shipped().expect("the shipped catalog"));
            let clauses = vec!["7.2.3.1".to_owned()];
            let kinds = vec!["security_group_rules".to_owned(), "vms".to_owned()];
            match yunjian_compliance::custom::validate(
                catalog, "custom.fuzz", "模糊", "fuzz", &clauses, &kinds, &text,
            ) {
                Ok(control) => {
                    let run = yunjian_compliance::custom::run(
                        &control,
                        &yunjian_compliance::Inventory::default(),
                    );
                    let _ = run.outcomes;
                }
                Err(error) => assert!(!error.field.is_empty()),
            }
        }
        // An evidence package.
        _ => {
            let _ = yunjian_bundle::verify_evidence_package(rest, None);
        }
    }
});
