//! Tidy checks: ARCHITECTURE.md stays true about the crates, the forbidden dependency
//! edges stay absent, and no test is switched off.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("../..")
}

fn crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("crates"))
        .expect("crates/")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("Cargo.toml").exists())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The crates a crate depends on at run time (not dev- or build-dependencies).
fn dependencies(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("crates").join(name).join("Cargo.toml"))
        .expect("manifest");
    let manifest: toml::Table = text.parse().expect("valid manifest");
    manifest
        .get("dependencies")
        .and_then(|value| value.as_table())
        .map(|table| table.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn architecture_md_names_every_crate() {
    let architecture =
        std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let names = crates();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        assert!(
            architecture.contains(&format!("crates/{name}")),
            "ARCHITECTURE.md does not describe crates/{name}"
        );
    }
}

#[test]
fn forbidden_dependency_edges_are_absent() {
    let rules: &[(&str, &[&str])] = &[
        // dependency, the only crates allowed to have it
        ("sqlx", &["yunjian-store", "yunjian-testkit"]),
        ("rusqlite", &["yunjian-store"]),
        ("axum", &["yunjian-server"]),
        ("maud", &["yunjian-server"]),
        ("anyhow", &["yunjian"]),
        (
            "tokio",
            &[
                "yunjian-store",
                "yunjian-app",
                "yunjian-server",
                "yunjian",
                "yunjian-testkit",
            ],
        ),
        ("sm3", &["yunjian-gm"]),
        ("argon2", &["yunjian-app"]),
        ("cedar-policy", &["yunjian-policy"]),
        ("krilla", &["yunjian-report"]),
        ("rust_xlsxwriter", &["yunjian-report"]),
    ];
    for name in crates() {
        let deps = dependencies(&name);
        for (dependency, allowed) in rules {
            if deps.iter().any(|dep| dep == dependency) {
                assert!(
                    allowed.contains(&name.as_str()),
                    "{name} must not depend on {dependency}"
                );
            }
        }
    }
    // The compliance engine is pure like core: no IO, no async, no store.
    let compliance = dependencies("yunjian-compliance");
    for forbidden in [
        "tokio",
        "sqlx",
        "axum",
        "tracing",
        "yunjian-store",
        "yunjian-app",
    ] {
        assert!(
            !compliance.iter().any(|dep| dep == forbidden),
            "yunjian-compliance is pure: no {forbidden}"
        );
    }
    let core = dependencies("yunjian-core");
    for forbidden in [
        "tokio",
        "sqlx",
        "axum",
        "tracing",
        "yunjian-store",
        "yunjian-app",
    ] {
        assert!(
            !core.iter().any(|dep| dep == forbidden),
            "yunjian-core is pure: no {forbidden}"
        );
    }
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|entry| entry.ok())
    {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_test_is_ignored_and_modules_use_one_layout() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    assert!(!files.is_empty());
    let ignore_marker = ["#[", "ignore"].concat();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        assert!(
            !text.contains(&ignore_marker),
            "{} switches a test off",
            file.display()
        );
        assert_ne!(
            file.file_name().and_then(|n| n.to_str()),
            Some("mod.rs"),
            "{}: use foo.rs beside foo/",
            file.display()
        );
    }
}

/// Libraries report through return values and `tracing`, never by printing: a stray
/// `eprintln!` left from a measurement writes to an operator's terminal (or a server's
/// stderr, where JSON log lines are expected).
#[test]
fn libraries_never_print() {
    for name in crates()
        .into_iter()
        .filter(|name| name != "yunjian" && name != "yunjian-testkit")
    {
        let mut files = Vec::new();
        rust_files(&root().join("crates").join(&name).join("src"), &mut files);
        for file in files {
            if file.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("source");
            for macro_name in ["println!", "eprintln!", "print!(", "eprint!("] {
                assert!(
                    !text.contains(macro_name),
                    "{} uses {macro_name}",
                    file.display()
                );
            }
        }
    }
}
