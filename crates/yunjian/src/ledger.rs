//! The binary's side of the audit ledger: the sealing key file, starting the ledger in
//! each command, and the `yunjian audit …` commands.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use yunjian_app::{App, ExportRange};
use yunjian_gm::SealingKey;

use crate::config::Config;

/// Reads the sealing key file, refusing one that others can read.
pub fn read_sealing_key(path: &Path) -> Result<SealingKey> {
    let text = crate::config::read_private_file(path)
        .with_context(|| format!("the ledger's sealing key {}", path.display()))?;
    SealingKey::from_hex(&text).with_context(|| format!("{} is not a sealing key", path.display()))
}

/// The sealing key, made (0600) when the file does not exist yet.
pub fn sealing_key_or_create(path: &Path) -> Result<SealingKey> {
    if path.exists() {
        return read_sealing_key(path);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let key = SealingKey::generate();
    crate::write_private(path, &format!("{}\n", key.to_hex().as_str()))?;
    Ok(key)
}

/// An app over `store` with the configured ledger, its head created if new, and the
/// signing key unsealed when there is one and the sealing key is readable.
pub async fn app_with_ledger(store: yunjian_store::Store, config: &Config) -> Result<App> {
    let app = App::new(
        store.clone(),
        Arc::new(yunjian_app::SystemClock),
        config.session_settings(),
    )
    .with_identity(config.identity_settings())
    .with_call_limit(config.server.api_calls_per_minute)
    .with_report_font(
        &config.reports.font.to_string_lossy(),
        config.reports.font_index,
    )
    .with_ledger(config.ledger_settings(), None);
    app.init_ledger().await.map_err(crate::app_error)?;
    let path = config.sealing_key_path();
    let signer = if store.ledger_signing_key().await?.is_some() {
        let sealing = read_sealing_key(&path)?;
        App::load_signer(&store, &sealing)
            .await
            .map_err(crate::app_error)?
    } else {
        None
    };
    let app = app.with_ledger(config.ledger_settings(), signer);
    // Second factors are sealed with the same key file (another purpose bound in).
    Ok(match path.exists() {
        true => app.with_sealing(read_sealing_key(&path)?),
        false => app,
    })
}

/// Makes the signing key if the store has none (admin init, demo); returns the app with
/// the signer loaded and the verifier key.
pub async fn ensure_signing_key(app: App, config: &Config) -> Result<(App, String)> {
    let store = app.store().clone();
    if store.ledger_signing_key().await?.is_none() {
        let sealing = sealing_key_or_create(&config.sealing_key_path())?;
        app.create_signing_key(&sealing)
            .await
            .map_err(crate::app_error)?;
    }
    let sealing = read_sealing_key(&config.sealing_key_path())?;
    let signer = App::load_signer(&store, &sealing)
        .await
        .map_err(crate::app_error)?;
    let app = app
        .with_ledger(config.ledger_settings(), signer)
        .with_sealing(sealing);
    let key = app.audit_public_key().await.map_err(crate::app_error)?;
    app.checkpoint(true).await.map_err(crate::app_error)?;
    Ok((app, key))
}

pub fn parse_time(text: &str) -> Result<i64> {
    yunjian_core::audit::parse_operator_time(text).with_context(|| {
        format!("'{text}' is not an RFC 3339 time or a date YYYY-MM-DD (time out of range: years 1677 to 2262)")
    })
}

pub async fn export(app: &App, range: ExportRange, out: &Path) -> Result<()> {
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let summary = app
        .audit_export_local(&range, &mut writer)
        .await
        .map_err(crate::app_error)?;
    let file = writer.into_inner().map_err(|error| error.into_error())?;
    file.sync_all()?;
    std::fs::rename(&partial, out)?;
    println!(
        "exported records [{}, {}) ({} records) with the checkpoint of size {} to {}",
        summary.from,
        summary.to,
        summary.records,
        summary.tree_size,
        out.display()
    );
    Ok(())
}

/// `yunjian audit verify`: no store, no server. Exit status 0 only when all holds.
pub fn verify(bundle: &Path, public_key: Option<&Path>, previous: Option<&Path>) -> Result<bool> {
    let file =
        std::fs::File::open(bundle).with_context(|| format!("cannot open {}", bundle.display()))?;
    let key = public_key
        .map(|path| {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        })
        .transpose()?;
    let previous = previous
        .map(|path| {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        })
        .transpose()?;
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} verifying: {human_pos} records ({per_sec})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let result = yunjian_bundle::verify_bundle(
        std::io::BufReader::new(file),
        key.as_deref(),
        previous.as_deref(),
        &|count| progress.inc(count),
    );
    progress.finish_and_clear();
    let mut out = std::io::stdout().lock();
    match result {
        Ok(verified) => {
            let m = &verified.manifest;
            writeln!(out, "VERIFIED {}", bundle.display())?;
            writeln!(out, "  log:          {} ({})", m.origin, m.hash)?;
            writeln!(
                out,
                "  scope:        {:?}, records [{}, {}), {} records",
                m.scope, m.from, m.to, verified.records
            )?;
            writeln!(
                out,
                "  checkpoint:   size {}, signed by {}",
                verified.checkpoint.size, verified.key
            )?;
            writeln!(
                out,
                "  earlier checkpoints consistent: {}",
                verified.earlier_checkpoints
            )?;
            if let Some(size) = verified.previous_size {
                writeln!(
                    out,
                    "  consistent with the previous checkpoint of size {size}"
                )?;
            }
            if verified.key_from_bundle {
                writeln!(
                    out,
                    "  WARNING: checked with the public key inside the bundle; pass --public-key with your own copy to trust nothing in the bundle"
                )?;
            }
            Ok(true)
        }
        Err(error) => {
            writeln!(out, "FAILED {}: {error}", bundle.display())?;
            Ok(false)
        }
    }
}
