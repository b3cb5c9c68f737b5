//! `yunjian bench`: the ledger's speed beside baselines measured in the same run on the
//! same machine (fdatasync, `openssl speed -evp sm3`), so figures from noisy 2-core
//! machines can be compared as ratios. Results go to docs/benchmarks.md by hand.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use yunjian_app::App;
use yunjian_core::audit::{record_line, AuditOutcome, NewAuditRecord};
use yunjian_core::ledger::{Checkpoint, Frontier, TreeHasher};
use yunjian_gm::{sign_note, LedgerHash, NoteSigner, SoftwareSm2Signer, DEFAULT_DISTID};
use yunjian_store::{Store, StoreConfig};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Durable appends per second: fdatasync-bound baseline, then the store at several
    /// batch sizes, then many concurrent writers through the group committer.
    Append {
        /// Scratch directory (a fresh SQLite database is made in it).
        #[arg(long, default_value = "bench-data")]
        data: PathBuf,
        /// Records per measurement.
        #[arg(long, default_value_t = 100_000)]
        records: u64,
    },
    /// Offline verification speed of a bundle of N records against `openssl speed -evp
    /// sm3` over the same number of bytes.
    Verify {
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
    },
    /// Inclusion-proof latency from a stored ledger of N records.
    Proof {
        #[arg(long, default_value = "bench-data")]
        data: PathBuf,
        #[arg(long, default_value_t = 10_000_000)]
        records: u64,
        /// Proofs to time.
        #[arg(long, default_value_t = 2_000)]
        samples: u32,
    },
    /// Authorization decision latency (the Cedar PDP) over a mix of questions from
    /// every role and action, beside parsing a small JSON request body.
    Authz {
        #[arg(long, default_value_t = 200_000)]
        decisions: u32,
    },
    /// Signed-request verification (YJ1-HMAC-SM3) of a 1 KiB JSON body: parse the
    /// header, unseal the secret, derive the key, canonicalise, hash the body, HMAC;
    /// beside hashing the body alone and parsing it as JSON (the request itself).
    Signing {
        #[arg(long, default_value_t = 100_000)]
        requests: u32,
    },
    /// The compliance engine over the demo cloud (large: 100,000 VMs): loading the
    /// inventory from the store, evaluating every control (pure), a whole stored run,
    /// and reports (PDF, XLSX, CSV) for 40 tenants; beside parsing the same rows as JSON.
    Compliance {
        #[arg(long, default_value = "bench-data")]
        data: PathBuf,
        #[arg(long, value_enum, default_value = "large")]
        scale: BenchScale,
        /// Evaluations to time (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Tenants to write reports for.
        #[arg(long, default_value_t = 40)]
        tenants: usize,
    },
    /// Applying a provider's inventory snapshot (the demo's largest provider, large
    /// scale): reading the chunks (beside parsing the same bytes as plain JSON), then
    /// planning and writing it against the store unchanged, with 1% changed, 1% new and
    /// 1% gone, and as a first import of every object.
    Provider {
        #[arg(long, default_value = "bench-data")]
        data: PathBuf,
        #[arg(long, value_enum, default_value = "large")]
        scale: BenchScale,
        /// Repetitions of the parse measurements (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Objects in the snapshot: the provider's own, padded with more VMs (applied
        /// once before the measurements) up to this many.
        #[arg(long, default_value_t = 100_000)]
        objects: usize,
    },
    /// The event centre's parsing on one core (issue 7): syslog lines of the security
    /// resource pool's devices parsed, decoded, normalized and classified, beside splitting
    /// the same bytes into lines.
    Events {
        /// Lines to process.
        #[arg(long, default_value_t = 1_000_000)]
        lines: usize,
        /// Sigma rules generated beside the shipped set for the detection measurement.
        #[arg(long, default_value_t = 1_000)]
        rules: usize,
    },
    /// The event centre end to end (issue 7): syslog over TCP from several connections
    /// into the listener, queue and writer, normalized, resolved against the small demo
    /// cloud, evaluated by the shipped rules and stored in a scratch SQLite database;
    /// beside a bare TCP read of the same bytes. Reports the rate, drops and peak RSS.
    EventsIngest {
        #[arg(long, default_value = "bench-data")]
        data: PathBuf,
        /// Lines to send.
        #[arg(long, default_value_t = 500_000)]
        lines: usize,
        /// TCP connections sending at once.
        #[arg(long, default_value_t = 4)]
        connections: usize,
    },
    /// Network isolation verification (issue 8) over a generated large world: building
    /// it, indexing it, verifying every invariant over all flows, reachability queries,
    /// and single rule changes re-verified incrementally; beside one pass over every
    /// rule (the least any full verification must do). Reports peak RSS.
    Network {
        #[arg(long, default_value_t = 10_000)]
        vpcs: usize,
        #[arg(long, default_value_t = 100_000)]
        vms: usize,
        #[arg(long, default_value_t = 1_000_000)]
        rules: usize,
        #[arg(long, default_value_t = 2_000)]
        peerings: usize,
        /// Rule changes to time (p50 and p99 are reported).
        #[arg(long, default_value_t = 2_000)]
        changes: usize,
        /// Queries to time.
        #[arg(long, default_value_t = 100_000)]
        queries: usize,
        /// The worst case: every VPC its own tenant, broad firewalls, peerings with few
        /// approvals, so most peered pairs violate.
        #[arg(long)]
        hostile: bool,
    },
    /// Container micro-segmentation (5.4.3) over generated clusters: tenants' namespaces
    /// of Deployments and StatefulSets (every pod its own name label), each namespace
    /// with a same-namespace default, a monitoring allow and an app-to-app allow per
    /// app; in each cluster one tenant leaves its namespace open and one admits every
    /// namespace. Times the full check beside one pass over every pod's labels.
    Containers {
        #[arg(long, default_value_t = 10)]
        clusters: usize,
        /// Tenants (one namespace each) per cluster.
        #[arg(long, default_value_t = 20)]
        tenants: usize,
        /// Apps per namespace.
        #[arg(long, default_value_t = 25)]
        apps: usize,
        /// Pods per app.
        #[arg(long, default_value_t = 10)]
        replicas: usize,
    },
    /// A normal read (the first page of VPCs, as the management unit) timed alone, then
    /// during a flood of concurrent wrong-password logins (each an argon2id hash; at
    /// most two run at once), on the small demo cloud in a scratch SQLite database.
    LoginFlood {
        #[arg(long, default_value = "bench-data")]
        data: PathBuf,
        /// Concurrent login loops.
        #[arg(long, default_value_t = 100)]
        logins: usize,
        /// Seconds per phase.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum BenchScale {
    Small,
    Large,
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

async fn compliance(data: &Path, scale: BenchScale, rounds: usize, tenants: usize) -> Result<()> {
    let (app, _world, started) = demo_app(data, scale).await?;
    println!("machine: {}", machine());
    println!("demo loaded in {:.2} s", started.elapsed().as_secs_f64());
    let catalog = app.catalog().map_err(crate::app_error)?;
    let rounds = rounds.max(1);

    // Loading the inventory from the store.
    let mut loads = Vec::new();
    let mut inventory = yunjian_compliance::Inventory::default();
    for _ in 0..rounds {
        let start = Instant::now();
        inventory = app.load_inventory().await.map_err(crate::app_error)?;
        loads.push(start.elapsed());
    }
    let facts = app.compliance_facts().await.map_err(crate::app_error)?;
    let parameters = app.parameter_values().await.map_err(crate::app_error)?;
    println!(
        "inventory: {} resources, load from the store median {:.0} ms",
        inventory.resource_count(),
        median(loads.clone()).as_secs_f64() * 1000.0
    );

    // Baseline: the same rows of the three largest kinds as JSON, parsed with serde_json.
    let rows: Vec<serde_json::Value> = inventory
        .vms
        .iter()
        .map(|vm| serde_json::json!({"id": vm.id, "tenant_id": vm.tenant_id, "provider_id": vm.provider_id, "vpc_id": vm.vpc_id, "host_id": vm.host_id, "image_id": vm.image_id, "system_id": vm.system_id, "name": vm.name}))
        .chain(inventory.volumes.iter().map(|volume| serde_json::json!({"id": volume.id, "tenant_id": volume.tenant_id, "vm_id": volume.vm_id, "name": volume.name, "encrypted": volume.encrypted})))
        .chain(inventory.rules.iter().map(|rule| serde_json::json!({"id": rule.id, "direction": rule.direction, "action": rule.action, "protocol": rule.protocol, "port_from": rule.port_from, "port_to": rule.port_to, "remote_cidr": rule.remote_cidr})))
        .collect();
    let text = serde_json::to_string(&rows)?;
    let mut parses = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let parsed: serde_json::Value = serde_json::from_str(&text)?;
        std::hint::black_box(parsed);
        parses.push(start.elapsed());
    }
    let parse = median(parses);
    println!(
        "baseline: parse {} rows ({:.1} MiB of JSON) with serde_json, median {:.0} ms",
        rows.len(),
        text.len() as f64 / 1048576.0,
        parse.as_secs_f64() * 1000.0
    );

    // Evaluation, pure.
    let mut evaluations = Vec::new();
    let mut results = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        let evaluation = yunjian_compliance::evaluate(yunjian_compliance::Inputs {
            catalog: &catalog,
            inventory: &inventory,
            facts: &facts,
            parameters: &parameters,
            attestations: &[],
            waivers: &[],
            overrides: &[],
            custom: Vec::new(),
        });
        evaluations.push(start.elapsed());
        results = evaluation.results.len();
        std::hint::black_box(evaluation);
    }
    let evaluate = median(evaluations);
    println!(
        "evaluate: {} built-in controls over {} resources into {results} results, median {:.0} ms ({:.2}× the JSON parse baseline)",
        yunjian_compliance::controls::all_builtins().count(),
        inventory.resource_count(),
        evaluate.as_secs_f64() * 1000.0,
        evaluate.as_secs_f64() / parse.as_secs_f64()
    );

    // A whole run: load, evaluate, store every result with its audit record.
    let start = Instant::now();
    let run = app.run_compliance_local().await.map_err(crate::app_error)?;
    println!(
        "stored run #{}: {:.2} s in all (load {:.0} ms, evaluate {:.0} ms, the rest storing {} results)",
        run.run.id,
        start.elapsed().as_secs_f64(),
        run.run.load_ms,
        run.run.evaluate_ms,
        run.all.values().sum::<i64>()
    );

    // Reports for N tenants, as the management unit.
    let account = app
        .store()
        .account_by_username("supervisor")
        .await?
        .context("the demo's supervisor")?;
    let context = yunjian_app::Context::new(
        yunjian_core::role::Principal {
            account_id: account.id,
            username: account.username.clone(),
            role: account.role,
            tenant: None,
            provider: None,
            second_factor: false,
        },
        "bench",
        None,
    );
    let tenant_ids: Vec<i64> = inventory
        .tenants
        .iter()
        .take(tenants)
        .map(|t| t.id)
        .collect();
    let mut per_format: std::collections::BTreeMap<&str, Duration> = Default::default();
    let mut bytes = 0usize;
    let start = Instant::now();
    for tenant in &tenant_ids {
        let built = Instant::now();
        let (report, _) = app
            .compliance_report(
                &context,
                yunjian_app::ReportKind::Compliance(yunjian_compliance::Scope::Tenant(*tenant)),
                None,
            )
            .await
            .map_err(crate::app_error)?;
        *per_format.entry("build").or_default() += built.elapsed();
        for (name, format) in [
            ("pdf", yunjian_app::ReportFormat::Pdf),
            ("xlsx", yunjian_app::ReportFormat::Xlsx),
            ("csv", yunjian_app::ReportFormat::Csv),
        ] {
            let rendered = Instant::now();
            bytes += app
                .render_report(&report, format)
                .map_err(crate::app_error)?
                .len();
            *per_format.entry(name).or_default() += rendered.elapsed();
        }
    }
    println!(
        "reports for {} tenants (PDF, XLSX and CSV each): {:.2} s in all, {:.1} MiB; {}",
        tenant_ids.len(),
        start.elapsed().as_secs_f64(),
        bytes as f64 / 1048576.0,
        per_format
            .iter()
            .map(|(name, time)| format!("{name} {:.0} ms", time.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// A realistic record: a VM update by an operator, with a small detail object.
fn sample(seq: u64) -> NewAuditRecord {
    let mut record = NewAuditRecord::new(
        1_795_485_600_000_000_000 + seq as i64 * 1_000_000,
        "world.update",
        AuditOutcome::Succeeded,
    );
    record.actor_account_id = Some(12);
    record.actor_username = Some("ops-zhang".into());
    record.actor_role = Some("provider_operator".into());
    record.actor_provider_id = Some(2);
    record.source_address = Some("10.8.0.7".into());
    record.actor_credential = Some("session:1f2e3d4c5b6a7988".into());
    record.request_id = Some(format!("req-{seq:016x}"));
    record.object_kind = Some("vms".into());
    record.object_id = Some((seq % 100_000) as i64 + 1);
    record.tenant_id = Some((seq % 120) as i64 + 1);
    record.before_digest = Some(format!("sm3:{:064x}", seq));
    record.after_digest = Some(format!("sm3:{:064x}", seq + 1));
    record.detail = Some(
        serde_json::json!({"changes": {"status": {"from": "running", "to": "stopped"}}, "revision": 3}),
    );
    record
}

pub async fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Append { data, records } => append(&data, records).await,
        BenchCommand::Verify { records } => verify(records),
        BenchCommand::Proof {
            data,
            records,
            samples,
        } => proof(&data, records, samples).await,
        BenchCommand::Authz { decisions } => authz(decisions),
        BenchCommand::Signing { requests } => signing(requests),
        BenchCommand::Compliance {
            data,
            scale,
            rounds,
            tenants,
        } => compliance(&data, scale, rounds, tenants).await,
        BenchCommand::LoginFlood {
            data,
            logins,
            seconds,
        } => login_flood(&data, logins, seconds).await,
        BenchCommand::Provider {
            data,
            scale,
            rounds,
            objects,
        } => provider(&data, scale, rounds, objects).await,
        BenchCommand::Events { lines, rules } => events(lines, rules),
        BenchCommand::Network {
            vpcs,
            vms,
            rules,
            peerings,
            changes,
            queries,
            hostile,
        } => network(vpcs, vms, rules, peerings, changes, queries, hostile),
        BenchCommand::Containers {
            clusters,
            tenants,
            apps,
            replicas,
        } => containers(clusters, tenants, apps, replicas),
        BenchCommand::EventsIngest {
            data,
            lines,
            connections,
        } => events_ingest(&data, lines, connections).await,
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}

async fn fresh_store(data: &Path) -> Result<Store> {
    std::fs::create_dir_all(data)?;
    let path = data.join("bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = Store::open(&StoreConfig::Sqlite { path }).await?;
    store.migrate(0).await?;
    store
        .init_ledger(LedgerHash::Sm3, "bench.invalid/audit/sm3")
        .await?;
    Ok(store)
}

/// Appends `records` lines of the sample size in batches, fdatasync after each batch.
fn fdatasync_baseline(data: &Path, records: u64, batch: u64) -> Result<f64> {
    let path = data.join("fdatasync.baseline");
    let mut file = std::fs::File::create(&path)?;
    let line = record_line(0, &sample(0));
    let started = Instant::now();
    let mut written = 0;
    while written < records {
        let n = batch.min(records - written);
        let mut buffer = Vec::with_capacity(line.len() * n as usize + n as usize);
        for _ in 0..n {
            buffer.extend_from_slice(line.as_bytes());
            buffer.push(b'\n');
        }
        file.write_all(&buffer)?;
        file.sync_data()?;
        written += n;
    }
    let rate = records as f64 / started.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(rate)
}

async fn append(data: &Path, records: u64) -> Result<()> {
    println!("machine: {}", machine());
    println!("record line: {} bytes", record_line(0, &sample(0)).len());
    println!(
        "{:<44} {:>14} {:>12}",
        "measurement", "records/s", "vs baseline"
    );
    for batch in [1u64, 64, 1024] {
        let n = if batch == 1 {
            (records / 50).max(200)
        } else {
            records
        };
        let baseline = fdatasync_baseline(data, n, batch)?;
        println!(
            "{:<44} {:>14.0} {:>12}",
            format!("fdatasync baseline, batch {batch}"),
            baseline,
            "1.00"
        );
        let store = fresh_store(data).await?;
        let all: Vec<NewAuditRecord> = (0..n).map(sample).collect();
        let started = Instant::now();
        for chunk in all.chunks(batch as usize) {
            store.append_audit_batch(chunk).await?;
        }
        let rate = n as f64 / started.elapsed().as_secs_f64();
        println!(
            "{:<44} {:>14.0} {:>12.2}",
            format!("ledger append, batch {batch}"),
            rate,
            rate / baseline
        );
        store.close().await;
    }
    // Many writers, each waiting for its own record to be durable: the group committer
    // forms the batches, as large as the number of writers waiting.
    for writers in [64u64, 256, 1024] {
        let store = fresh_store(data).await?;
        let app = App::new(
            store.clone(),
            Arc::new(yunjian_app::SystemClock),
            yunjian_app::SessionSettings::default(),
        );
        let per_writer = (records / writers).max(1);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for writer in 0..writers {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per_writer {
                    app.append_audit_grouped(sample(writer * per_writer + i))
                        .await?;
                }
                Ok::<_, yunjian_app::AppError>(())
            }));
        }
        for task in tasks {
            task.await?.map_err(crate::app_error)?;
        }
        let total = writers * per_writer;
        let rate = total as f64 / started.elapsed().as_secs_f64();
        let baseline = fdatasync_baseline(data, total, writers)?;
        println!(
            "{:<44} {:>14.0} {:>12.2}",
            format!("group commit, {writers} waiting writers"),
            rate,
            rate / baseline
        );
        let head = store.ledger_head().await?.context("head")?;
        if head.size != total {
            bail!("expected {total} records, the ledger has {}", head.size);
        }
        store.close().await;
    }
    Ok(())
}

/// openssl's SM3 throughput in bytes/s at `block` bytes, from `openssl speed`.
fn openssl_sm3_speed(block: usize) -> Result<f64> {
    let output = std::process::Command::new("openssl")
        .args([
            "speed",
            "-evp",
            "sm3",
            "-seconds",
            "3",
            "-bytes",
            &block.to_string(),
        ])
        .output()
        .context("openssl is installed")?;
    let text = String::from_utf8_lossy(&output.stdout);
    // The last line: "sm3   <k bytes/s at block>k"
    let line = text
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with("sm3"))
        .context("openssl speed printed no sm3 line")?;
    let value = line
        .split_whitespace()
        .last()
        .and_then(|field| field.trim_end_matches('k').parse::<f64>().ok())
        .context("cannot read openssl's figure")?;
    Ok(value * 1000.0)
}

fn verify(records: u64) -> Result<()> {
    println!("machine: {}", machine());
    let hash = LedgerHash::Sm3;
    let signer = SoftwareSm2Signer::generate("bench.invalid/audit/sm3", DEFAULT_DISTID)?;
    let mut writer = yunjian_bundle::BundleWriter::new()?;
    let mut frontier = Frontier::new();
    let mut bytes = 0u64;
    let mut line_length = 0;
    for seq in 0..records {
        let line = record_line(seq, &sample(seq));
        let leaf = hash.leaf(line.as_bytes());
        bytes += line.len() as u64 + 1;
        line_length = line.len();
        frontier.push(&hash, leaf, |_, _| {});
        writer.push(seq, &line, &leaf)?;
    }
    let checkpoint = Checkpoint {
        origin: "bench.invalid/audit/sm3".into(),
        size: records,
        root: frontier.root(&hash),
    };
    let note = sign_note(&signer, &checkpoint.to_text())?;
    let manifest = yunjian_bundle::Manifest::new(
        &checkpoint.origin,
        "sm3",
        yunjian_bundle::Scope::Range,
        0,
        records,
        records,
        "2026-11-24T00:00:00Z",
        None,
    );
    let file = tempfile::NamedTempFile::new()?;
    writer.finish(
        manifest,
        &note,
        &signer.verifier_key().to_text(),
        &yunjian_bundle::Proof::default(),
        std::io::BufWriter::new(file.reopen()?),
    )?;
    let bundle = std::fs::read(file.path())?;
    let key = signer.verifier_key().to_text();
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        yunjian_bundle::verify_bundle(&bundle[..], Some(&key), None, &|_| {})
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        best = best.min(started.elapsed());
    }
    let ours = bytes as f64 / best.as_secs_f64();
    // Raw SM3 over the same lines on one core, our implementation.
    let started = Instant::now();
    let mut digest = yunjian_gm::Sm3Stream::new();
    digest.update(&bundle);
    let _ = digest.finish();
    let raw = bundle.len() as f64 / started.elapsed().as_secs_f64();
    let openssl = openssl_sm3_speed(line_length.next_power_of_two().min(16_384))?;
    println!(
        "bundle: {records} records, {:.1} MB of records, line {line_length} bytes",
        bytes as f64 / 1e6
    );
    println!("{:<52} {:>10}", "measurement", "MB/s");
    println!(
        "{:<52} {:>10.1}",
        "openssl speed -evp sm3 (1 core, same block size)",
        openssl / 1e6
    );
    println!(
        "{:<52} {:>10.1}",
        "yunjian sm3, one core, whole bundle",
        raw / 1e6
    );
    println!(
        "{:<52} {:>10.1}   ({:.2}x openssl)",
        "yunjian audit verify (parse + hash + tree + SM2)",
        ours / 1e6,
        ours / openssl
    );
    println!("verify time: {:.2} s", best.as_secs_f64());
    Ok(())
}

async fn proof(data: &Path, records: u64, samples: u32) -> Result<()> {
    println!("machine: {}", machine());
    let path = data.join("bench-proof.db");
    let store = if path.exists() {
        let store = Store::open(&StoreConfig::Sqlite { path: path.clone() }).await?;
        store.migrate(0).await?;
        store
    } else {
        std::fs::create_dir_all(data)?;
        let store = Store::open(&StoreConfig::Sqlite { path: path.clone() }).await?;
        store.migrate(0).await?;
        store
            .init_ledger(LedgerHash::Sm3, "bench.invalid/audit/sm3")
            .await?;
        store
    };
    let mut size = store.ledger_head().await?.context("head")?.size;
    if size < records {
        let progress = indicatif::ProgressBar::new(records);
        progress.set_style(
            indicatif::ProgressStyle::with_template(
                "building the ledger {bar:40} {human_pos}/{human_len} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        progress.set_position(size);
        let started = Instant::now();
        let from = size;
        while size < records {
            let n = 4096.min(records - size);
            let batch: Vec<NewAuditRecord> = (size..size + n).map(sample).collect();
            store.append_audit_batch(&batch).await?;
            size += n;
            progress.set_position(size);
        }
        progress.finish_and_clear();
        println!(
            "built {} records in {:.0} s ({:.0}/s)",
            size - from,
            started.elapsed().as_secs_f64(),
            (size - from) as f64 / started.elapsed().as_secs_f64()
        );
    }
    let head = store.ledger_head().await?.context("head")?;
    println!(
        "ledger: {} records, {:.1} GB on disk",
        head.size,
        std::fs::metadata(&path)?.len() as f64 / 1e9
    );
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut latencies = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let index = rng % head.size;
        let started = Instant::now();
        let proof = store.inclusion_proof(index, head.size).await?;
        latencies.push(started.elapsed());
        let leaf = store
            .audit_record(index)
            .await?
            .context("record")?
            .leaf_hash;
        yunjian_core::ledger::verify_inclusion(
            &LedgerHash::Sm3,
            index,
            head.size,
            &leaf,
            &proof,
            &head.root,
        )
        .map_err(|error| anyhow::anyhow!("proof of {index} does not verify: {error:?}"))?;
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "inclusion proof at {} records ({samples} random leaves, each verified): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        head.size,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    );
    store.close().await;
    Ok(())
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Times single PDP decisions (each timed alone, so p99 includes cache misses) over
/// every role × action with facts cycling, and a JSON parse of a login body as the
/// baseline of "the request itself".
fn authz(decisions: u32) -> Result<()> {
    use yunjian_core::role::Role;
    use yunjian_policy::{Action, Pdp, Question, Relation, Target};
    let pdp = Pdp::shipped().context("the shipped policies")?;
    let targets = [
        Target {
            family: "world",
            kind: "vms",
            group: "tenant_resources",
        },
        Target {
            family: "world",
            kind: "information_systems",
            group: "tenant_declarations",
        },
        Target::family("audit"),
        Target::family("account"),
        Target::family("privilege"),
    ];
    let relations = [
        Relation::Any,
        Relation::OwnTenant,
        Relation::OwnProvider,
        Relation::Directory,
    ];
    let mut questions = Vec::new();
    for role in Role::ALL {
        for action in Action::ALL {
            for (index, target) in targets.iter().enumerate() {
                let mut question =
                    Question::new(role, action, *target, relations[index % relations.len()]);
                question.step_up_fresh = index % 2 == 0;
                question.tenant_owned = index % 3 == 0;
                questions.push(question);
            }
        }
    }
    let body = br#"{"username":"tenant1","password":"Quiet-Harbor#7215-Lantern","totp":"123456"}"#;
    let mut allowed = 0u64;
    let mut times = Vec::with_capacity(decisions as usize);
    let mut baseline = Vec::with_capacity(decisions as usize);
    // Warm up.
    for question in questions.iter().take(1000) {
        allowed += u64::from(pdp.decide(question).allowed);
    }
    for i in 0..decisions as usize {
        let question = &questions[i % questions.len()];
        let start = Instant::now();
        let decision = pdp.decide(question);
        times.push(start.elapsed());
        allowed += u64::from(decision.allowed);
        let start = Instant::now();
        let parsed: serde_json::Value = serde_json::from_slice(body)?;
        baseline.push(start.elapsed());
        std::hint::black_box(parsed);
    }
    times.sort_unstable();
    baseline.sort_unstable();
    let (p50, p99, max) = (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
    );
    let (b50, b99) = (percentile(&baseline, 0.5), percentile(&baseline, 0.99));
    println!("machine: {}", machine());
    println!(
        "authz: {decisions} decisions over {} distinct questions ({allowed} allowed incl. warm-up)",
        questions.len()
    );
    println!(
        "  PDP decide      p50 {:>8.2} µs  p99 {:>8.2} µs  max {:>8.2} µs",
        us(p50),
        us(p99),
        us(max)
    );
    println!(
        "  JSON body parse p50 {:>8.2} µs  p99 {:>8.2} µs  (baseline)",
        us(b50),
        us(b99)
    );
    println!(
        "  ratio p50 {:.1}×, p99 {:.1}× the baseline",
        us(p50) / us(b50).max(0.001),
        us(p99) / us(b99).max(0.001)
    );
    Ok(())
}

fn us(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// Times the cryptographic verification of signed requests (each timed alone).
fn signing(requests: u32) -> Result<()> {
    use yunjian_gm::request_signing::{self as rs, SignedParts, Sm3V1};
    let sealing = yunjian_gm::SealingKey::generate();
    let secret = yunjian_gm::random_secret_hex(20);
    let sealed = sealing.seal(secret.as_bytes(), b"yunjian api key v1");
    let body = serde_json::to_vec(&serde_json::json!({
        "items": (0..12).map(|i| serde_json::json!({"name": format!("vm-{i:04}"), "status": "running", "vcpus": 4, "memory_mb": 8192, "host": "cq-dc1-h0042"})).collect::<Vec<_>>()
    }))?;
    let time = "20261124T101500Z";
    let headers = rs::sign_yunjian_request(
        "YJAK0123456789ABCDEF",
        &secret,
        "POST",
        "yunjian.cq.gov.cn",
        "/api/v1/provider/inventory",
        "chunk=3",
        &body,
        time,
        "0123456789abcdef0123",
    );
    let authorization = headers
        .iter()
        .find(|(n, _)| n == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut verify_times = Vec::with_capacity(requests as usize);
    let mut hash_times = Vec::with_capacity(requests as usize);
    let mut parse_times = Vec::with_capacity(requests as usize);
    let mut ok = 0u32;
    for _ in 0..requests {
        let start = Instant::now();
        let parsed = rs::parse_authorization::<Sm3V1>(&authorization).context("parses")?;
        let opened = sealing
            .open(&sealed, b"yunjian api key v1")
            .context("unseal")?;
        let secret = std::str::from_utf8(&opened).context("utf-8")?;
        let body_hash = yunjian_gm::Sm3Digest::of(&body).to_hex();
        let signed: Vec<(String, String)> = headers
            .iter()
            .filter(|(n, _)| parsed.signed_headers.contains(n))
            .cloned()
            .collect();
        let expected = rs::signature::<Sm3V1>(
            secret,
            time,
            "cq",
            "yunjian",
            &SignedParts {
                method: "POST",
                path: "/api/v1/provider/inventory",
                query: "chunk=3",
                headers: &signed,
                body_hash: &body_hash,
            },
        );
        ok += u32::from(rs::signatures_equal(&expected, &parsed.signature));
        verify_times.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(yunjian_gm::Sm3Digest::of(&body));
        hash_times.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(&body)?);
        parse_times.push(start.elapsed());
    }
    if ok != requests {
        bail!("{} of {requests} signatures did not verify", requests - ok);
    }
    for times in [&mut verify_times, &mut hash_times, &mut parse_times] {
        times.sort_unstable();
    }
    println!("machine: {}", machine());
    println!(
        "signing: {requests} verifications of a {}-byte body",
        body.len()
    );
    for (name, times) in [
        ("verify (all crypto)", &verify_times),
        ("SM3 of the body", &hash_times),
        ("JSON parse of body", &parse_times),
    ] {
        println!(
            "  {name:<20} p50 {:>7.2} µs  p99 {:>7.2} µs",
            us(percentile(times, 0.5)),
            us(percentile(times, 0.99))
        );
    }
    let overhead = us(percentile(&verify_times, 0.5)) - us(percentile(&hash_times, 0.5));
    println!("  overhead beyond hashing the body: {overhead:.2} µs at p50; verify = {:.1}× the JSON parse", us(percentile(&verify_times, 0.5)) / us(percentile(&parse_times, 0.5)).max(0.001));
    Ok(())
}

/// Times `app.list` calls for `seconds`, one after another.
async fn timed_reads(
    app: &App,
    context: &yunjian_app::Context,
    seconds: u64,
) -> Result<Vec<Duration>> {
    let query = yunjian_store::ListQuery::default();
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut times = Vec::new();
    while Instant::now() < end {
        let start = Instant::now();
        app.list(context, yunjian_core::schema::Kind::Vpc, &query)
            .await
            .map_err(|error| anyhow::anyhow!("list: {error}"))?;
        times.push(start.elapsed());
    }
    times.sort_unstable();
    Ok(times)
}

async fn login_flood(data: &Path, logins: usize, seconds: u64) -> Result<()> {
    let store = fresh_store(data).await?;
    let app = App::new(
        store,
        Arc::new(yunjian_app::SystemClock),
        yunjian_app::SessionSettings::default(),
    );
    let world = yunjian_core::demo::generate(yunjian_core::demo::Scale::Small, 42);
    app.load_demo(&world)
        .await
        .map_err(|error| anyhow::anyhow!("demo: {error}"))?;
    let account = app
        .store()
        .account_by_username("supervisor")
        .await?
        .context("the demo's supervisor")?;
    let context = yunjian_app::Context::new(
        yunjian_core::role::Principal {
            account_id: account.id,
            username: account.username.clone(),
            role: account.role,
            tenant: None,
            provider: None,
            second_factor: false,
        },
        "bench",
        None,
    );
    let quiet = timed_reads(&app, &context, seconds).await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attempts = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut flood = Vec::new();
    for worker in 0..logins {
        let (app, stop, attempts) = (app.clone(), stop.clone(), attempts.clone());
        flood.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = app
                    .login(
                        "auditor",
                        "wrong-but-long-guess",
                        &format!("flood-{worker}"),
                        None,
                    )
                    .await;
                attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    let flooded = timed_reads(&app, &context, seconds).await?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in flood {
        let _ = task.await;
    }
    println!("machine: {}", machine());
    println!(
        "login flood: {logins} concurrent wrong-password logins, {} attempts in {seconds} s ({:.1}/s)",
        attempts.load(std::sync::atomic::Ordering::Relaxed),
        attempts.load(std::sync::atomic::Ordering::Relaxed) as f64 / seconds as f64
    );
    for (name, times) in [
        ("VPC page alone", &quiet),
        ("VPC page in the flood", &flooded),
    ] {
        println!(
            "  {name:<22} {:>6} reads  p50 {:>8.2} ms  p99 {:>8.2} ms",
            times.len(),
            percentile(times, 0.5).as_secs_f64() * 1e3,
            percentile(times, 0.99).as_secs_f64() * 1e3
        );
    }
    println!(
        "  p99 ratio flood/alone: {:.2}×",
        percentile(&flooded, 0.99).as_secs_f64() / percentile(&quiet, 0.99).as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Reads chunks the way a commit does; answers the objects.
fn read_chunks(chunks: &[Vec<u8>]) -> Result<Vec<yunjian_connectors::sync::PushedObject>> {
    let mut objects = Vec::new();
    for chunk in chunks {
        let parsed = yunjian_connectors::sync::parse_chunk(objects.len(), chunk)
            .map_err(|problems| anyhow::anyhow!("a chunk was refused: {:?}", problems.first()))?;
        objects.extend(parsed);
    }
    Ok(objects)
}

fn to_chunks(objects: &[serde_json::Value]) -> Result<Vec<Vec<u8>>> {
    objects
        .chunks(yunjian_connectors::sync::MAX_OBJECTS_PER_CHUNK)
        .map(|part| Ok(serde_json::to_vec(&serde_json::json!({ "objects": part }))?))
        .collect()
}

/// A scratch store with the demo cloud of `scale` (seed 42) loaded; answers when the
/// load started.
async fn demo_app(
    data: &Path,
    scale: BenchScale,
) -> Result<(App, yunjian_core::demo::DemoWorld, Instant)> {
    let store = fresh_store(data).await?;
    let app = App::new(
        store,
        Arc::new(yunjian_app::SystemClock),
        yunjian_app::SessionSettings::default(),
    );
    let world = yunjian_core::demo::generate(
        match scale {
            BenchScale::Small => yunjian_core::demo::Scale::Small,
            BenchScale::Large => yunjian_core::demo::Scale::Large,
        },
        42,
    );
    let started = Instant::now();
    app.load_demo(&world)
        .await
        .map_err(|error| anyhow::anyhow!("demo: {error}"))?;
    Ok((app, world, started))
}

async fn provider(data: &Path, scale: BenchScale, rounds: usize, target: usize) -> Result<()> {
    use yunjian_connectors::sync::Mode;
    let (app, world, started) = demo_app(data, scale).await?;
    app.seed_demo_provider_interface()
        .await
        .map_err(crate::app_error)?;
    println!("machine: {}", machine());
    println!("demo loaded in {:.2} s", started.elapsed().as_secs_f64());
    // The provider with the most objects.
    let (provider, mut objects) = world
        .providers
        .iter()
        .map(|provider| {
            (
                provider.id,
                yunjian_connectors::sync::demo_provider_objects(&world, provider.id),
            )
        })
        .max_by_key(|(_, objects)| objects.len())
        .context("a provider")?;
    if objects.len() < target {
        // Padding: more VMs like the provider's first, applied once so the snapshot
        // measured below is the store's state.
        let template = objects
            .iter()
            .find(|object| object["kind"] == "vm")
            .cloned()
            .context("a VM")?;
        for n in 0..target - objects.len() {
            let mut vm = template.clone();
            vm["id"] = serde_json::json!(format!("bench-pad-{n}"));
            vm["fields"]["name"] = serde_json::json!(format!("扩容-{n}"));
            objects.push(vm);
        }
        let start = Instant::now();
        let summary = app
            .apply_local_snapshot(provider, Mode::Full, read_chunks(&to_chunks(&objects)?)?)
            .await
            .map_err(crate::app_error)?;
        println!(
            "padding: {} VMs added to reach {} objects in {:.0} ms",
            summary.sync.created,
            objects.len(),
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    let chunks = to_chunks(&objects)?;
    let bytes: usize = chunks.iter().map(Vec::len).sum();
    println!(
        "snapshot: provider {provider}, {} objects in {} chunks, {:.1} MiB of JSON",
        objects.len(),
        chunks.len(),
        bytes as f64 / 1048576.0
    );
    let rounds = rounds.max(1);
    let mut raw = Vec::new();
    let mut read = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for chunk in &chunks {
            std::hint::black_box(serde_json::from_slice::<serde_json::Value>(chunk)?);
        }
        raw.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(read_chunks(&chunks)?);
        read.push(start.elapsed());
    }
    let (raw, read) = (median(raw), median(read));
    println!(
        "baseline: parse the chunks as plain JSON (serde_json::Value), median {:.0} ms",
        raw.as_secs_f64() * 1000.0
    );
    println!(
        "read: check every object (fields, references, ids), median {:.0} ms ({:.1}x the plain parse)",
        read.as_secs_f64() * 1000.0,
        read.as_secs_f64() / raw.as_secs_f64()
    );
    let apply = |label: &'static str, objects: Vec<serde_json::Value>, provider: i64| {
        let app = app.clone();
        async move {
            let chunks = to_chunks(&objects)?;
            let start = Instant::now();
            let pushed = read_chunks(&chunks)?;
            let summary = app
                .apply_local_snapshot(provider, Mode::Full, pushed)
                .await
                .map_err(|error| anyhow::anyhow!("{label}: {error}"))?;
            let total = start.elapsed();
            println!(
                "{label}: {} objects — {} created, {} changed, {} deleted, {} unchanged; read+plan+write {:.0} ms (plan incl. loading the provider's rows {:.0} ms, write {:.0} ms)",
                summary.sync.objects,
                summary.sync.created,
                summary.sync.changed,
                summary.sync.deleted,
                summary.sync.unchanged,
                total.as_secs_f64() * 1000.0,
                summary.plan_ms,
                summary.apply_ms
            );
            Ok::<_, anyhow::Error>(total)
        }
    };
    // The pure plan alone, against the state as read from the store.
    let mut loads = Vec::new();
    let mut plans = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let current = app
            .current_state(provider)
            .await
            .map_err(crate::app_error)?;
        loads.push(start.elapsed());
        let pushed = read_chunks(&chunks)?;
        let start = Instant::now();
        let plan = yunjian_connectors::sync::plan(
            &current,
            Mode::Full,
            &pushed,
            &yunjian_connectors::sync::Coverage::everything(),
        )
        .map_err(|problems| anyhow::anyhow!("{:?}", problems.first()))?;
        plans.push(start.elapsed());
        std::hint::black_box(plan);
    }
    println!(
        "plan alone: load the provider's rows median {:.0} ms, plan the unchanged snapshot median {:.0} ms",
        median(loads).as_secs_f64() * 1000.0,
        median(plans).as_secs_f64() * 1000.0
    );
    apply("unchanged", objects.clone(), provider).await?;
    // 1% changed, 1% new, 1% gone.
    let mut changed = objects.clone();
    let vms: Vec<usize> = changed
        .iter()
        .enumerate()
        .filter(|(_, object)| object["kind"] == "vm")
        .map(|(index, _)| index)
        .collect();
    let one_percent = (objects.len() / 100).max(1);
    for index in vms.iter().take(one_percent) {
        let memory = changed[*index]["fields"]["memory_mib"]
            .as_i64()
            .unwrap_or(4096);
        changed[*index]["fields"]["memory_mib"] = serde_json::json!(memory + 1024);
    }
    let template = changed[vms[0]].clone();
    for n in 0..one_percent {
        let mut added = template.clone();
        added["id"] = serde_json::json!(format!("bench-new-{n}"));
        added["fields"]["name"] = serde_json::json!(format!("bench-new-{n}"));
        changed.push(added);
    }
    // Gone: VMs, with their volumes and those volumes' snapshots; backups outlive
    // their volume and no longer name it (a snapshot never names what it omits).
    let gone_vms: std::collections::HashSet<String> = vms
        .iter()
        .rev()
        .take(one_percent)
        .filter_map(|index| objects[*index]["id"].as_str().map(str::to_owned))
        .collect();
    let gone_volumes: std::collections::HashSet<String> = objects
        .iter()
        .filter(|object| object["kind"] == "volume")
        .filter(|object| {
            object["fields"]["vm_id"]
                .as_str()
                .is_some_and(|vm| gone_vms.contains(vm))
        })
        .filter_map(|object| object["id"].as_str().map(str::to_owned))
        .collect();
    changed.retain(|object| {
        let id = object["id"].as_str().unwrap_or("");
        let gone = match object["kind"].as_str() {
            Some("vm") => gone_vms.contains(id),
            Some("volume") => gone_volumes.contains(id),
            Some("snapshot") => object["fields"]["volume_id"]
                .as_str()
                .is_some_and(|volume| gone_volumes.contains(volume)),
            _ => false,
        };
        !gone
    });
    for object in &mut changed {
        if object["kind"] == "backup"
            && object["fields"]["volume_id"]
                .as_str()
                .is_some_and(|volume| gone_volumes.contains(volume))
        {
            if let Some(fields) = object["fields"].as_object_mut() {
                fields.remove("volume_id");
            }
        }
    }
    apply("1% changed, 1% new, 1% gone", changed, provider).await?;
    // A first import: every object new, under a provider of its own.
    let fresh_provider = {
        let mut tx = app.store().begin_write().await?;
        let mut values = yunjian_core::value::Values::new();
        values.insert(
            "name",
            yunjian_core::value::Value::Text("基准测试云服务商".into()),
        );
        let id = tx
            .insert(yunjian_core::schema::Kind::Provider, &values, 0)
            .await?;
        for mapping in app
            .store()
            .project_mappings(yunjian_store::ResultScope::Provider(provider))
            .await?
        {
            tx.map_project(id, &mapping.project, mapping.tenant_id, None, 0)
                .await?;
        }
        tx.commit().await?;
        id
    };
    let renamed: Vec<serde_json::Value> = objects
        .iter()
        .map(|object| {
            let mut object = object.clone();
            if let Some(name) = object["fields"]["name"].as_str().map(str::to_owned) {
                object["fields"]["name"] = serde_json::json!(format!("b-{name}"));
            }
            object
        })
        .collect();
    apply("first import", renamed, fresh_provider).await?;
    Ok(())
}

/// Realistic lines of the devices the decoders read, with varying addresses and ports.
fn event_lines(count: usize) -> Vec<u8> {
    let mut text = String::with_capacity(count * 160);
    for n in 0..count {
        let (a, b, port) = (n % 250 + 1, (n / 250) % 250 + 1, 1024 + n % 60000);
        let line = match n % 6 {
            0 => format!("<38>Nov 24 09:59:58 web-{b} sshd[2211]: Failed password for invalid user admin{a} from 203.0.{b}.{a} port {port} ssh2"),
            1 => format!("<4>Nov 24 10:00:00 fw-{b} kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:00:00:01 SRC=198.51.{b}.{a} DST=10.1.{b}.5 LEN=60 TTL=52 PROTO=TCP SPT={port} DPT=22 WINDOW=29200 SYN URGP=0"),
            2 => format!("<188>Nov 24 2026 02:00:00 USG6600 %%01SEC/6/POLICYDENY(l):-DevIP=10.0.0.1; vsys=public; protocol=6; source-ip=10.8.{b}.{a}; source-port={port}; destination-ip=8.8.{b}.8; destination-port=443; time=2026/11/24 10:00:00; source-zone=trust; destination-zone=untrust; policy-name=deny-outbound; action=deny"),
            3 => format!("<131>1 2026-11-24T10:00:00.123+08:00 waf-01 modsecurity - - - ModSecurity: Access denied with code 403 (phase 2). [file \"/etc/crs.conf\"] [line \"80\"] [id \"942100\"] [msg \"SQL Injection Attack Detected via libinjection\"] [hostname \"portal{b}.cq.gov.cn\"] [uri \"/search{a}\"]"),
            4 => format!("<36>Nov 24 10:00:01 av-01 clamd[800]: /var/www/upload/{a}/shell.php: Php.Webshell.Generic-1 FOUND"),
            _ => format!("<13>Nov 24 10:00:02 app-{b} java[{port}]: request {n} served in {a} ms"),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text.into_bytes()
}

fn events(count: usize, extra_rules: usize) -> Result<()> {
    use yunjian_events::{classify::Classifier, decode::Decoders, event, syslog};
    let decoders = Decoders::shipped()?;
    let classifier = Classifier::shipped()?;
    let bytes = event_lines(count.max(6));
    println!("machine: {}", machine());
    println!(
        "input: {} lines, {:.1} MiB",
        count,
        bytes.len() as f64 / 1048576.0
    );
    let mut baselines = Vec::new();
    let mut runs = Vec::new();
    let mut decoded_count = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let lines = bytes
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .count();
        std::hint::black_box(lines);
        baselines.push(start.elapsed());
        let start = Instant::now();
        let context = syslog::Context::beijing(1_795_485_600_000_000_000);
        decoded_count = 0;
        for line in bytes
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
        {
            let message = syslog::parse(line, &context);
            let decoded = decoders.decode(&message);
            if decoded.decoder.is_some() {
                decoded_count += 1;
            }
            std::hint::black_box(event::from_syslog(
                &message,
                &decoded,
                &classifier,
                context.received_ns,
                None,
            ));
        }
        runs.push(start.elapsed());
    }
    let (baseline, run) = (median(baselines), median(runs));
    let rate = count as f64 / run.as_secs_f64();
    println!(
        "baseline: split into lines, median {:.1} ms ({:.0} lines/s)",
        baseline.as_secs_f64() * 1000.0,
        count as f64 / baseline.as_secs_f64()
    );
    println!(
        "parse + decode + normalize + classify on one core: median {:.0} ms, {:.0} events/s ({:.0}x the split); {} of {} decoded",
        run.as_secs_f64() * 1000.0,
        rate,
        run.as_secs_f64() / baseline.as_secs_f64(),
        decoded_count,
        count
    );
    detection(&bytes, count, extra_rules)?;
    Ok(())
}

/// `count` generated Sigma rules of the kinds administrators write: message keywords,
/// a decoder and a port list, an address range with a keyword.
fn generated_rules(count: usize) -> String {
    let detectors = [
        "openssh.failed",
        "netfilter.log",
        "huawei_usg.session",
        "modsecurity.denied",
        "clamav.found",
    ];
    let mut text = String::new();
    for index in 0..count {
        let detection = match index % 3 {
            0 => format!(
                "    keywords:\n        - 'token-{index}-a'\n        - 'token-{index}-b'\n    condition: keywords"
            ),
            1 => format!(
                "    selection:\n        detector: {}\n        dst_port:\n            - {}\n            - {}\n    condition: selection",
                detectors[index % detectors.len()],
                1_000 + index,
                20_000 + index
            ),
            _ => format!(
                "    selection:\n        src_ip|cidr: 10.{}.0.0/16\n        message|contains: 'marker-{index}'\n    condition: selection",
                index % 250
            ),
        };
        text.push_str(&format!(
            "---\ntitle: generated {index}\nid: bench-{index}\nlogsource:\n    product: yunjian\ndetection:\n{detection}\nlevel: medium\nincident_class: malware\n"
        ));
    }
    text
}

/// The detection stage on one core: each event's Sigma view evaluated by the shipped
/// rules, then by the shipped rules and `extra` generated ones.
fn detection(bytes: &[u8], count: usize, extra: usize) -> Result<()> {
    use yunjian_events::detect::{sigma_view, Detector, Enrichment, SHIPPED_RULES};
    use yunjian_events::{classify::Classifier, decode::Decoders, event, syslog};
    let decoders = Decoders::shipped()?;
    let classifier = Classifier::shipped()?;
    let context = syslog::Context::beijing(1_795_485_600_000_000_000);
    let events: Vec<_> = bytes
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let message = syslog::parse(line, &context);
            let decoded = decoders.decode(&message);
            event::from_syslog(&message, &decoded, &classifier, context.received_ns, None)
        })
        .collect();
    let generated = generated_rules(extra);
    for (label, texts) in [
        ("the shipped rules", vec![SHIPPED_RULES]),
        (
            "the shipped rules and the generated ones",
            vec![SHIPPED_RULES, generated.as_str()],
        ),
    ] {
        let started = Instant::now();
        let mut detector = Detector::new(&texts, &classifier)?;
        let compile = started.elapsed();
        let rules = detector.rules().count();
        let start = Instant::now();
        let mut alerts = 0usize;
        for (index, event) in events.iter().enumerate() {
            let view = sigma_view(event, &Enrichment::default());
            // One second of server time per 50,000 events: windows fill as in production.
            alerts += detector
                .evaluate(&view, 1_795_485_600 + (index / 50_000) as i64)
                .len();
        }
        let elapsed = start.elapsed();
        println!(
            "detection with {label} ({rules} rules, compiled in {:.0} ms) on one core: {:.0} ms, {:.0} events/s; {alerts} alerts, {} correlation groups held",
            compile.as_secs_f64() * 1000.0,
            elapsed.as_secs_f64() * 1000.0,
            count as f64 / elapsed.as_secs_f64(),
            detector.state_count()
        );
    }
    Ok(())
}

/// Syslog lines of the pool's devices about the demo cloud's own addresses, so the
/// resolution and the rules see what they would in production.
fn addressed_lines(count: usize, addresses: &[String]) -> Vec<Vec<u8>> {
    (0..count)
        .map(|n| {
            let dst = &addresses[n % addresses.len()];
            let src = &addresses[(n * 7 + 3) % addresses.len()];
            let (a, b, port) = (n % 250, (n / 250) % 250, 1024 + n % 60_000);
            let line = match n % 5 {
                0 => format!("<190>Nov 24 2026 10:00:00 USG6000E %%01SEC/6/POLICYPERMIT(l):-DevIP=10.255.0.1; vsys=public; protocol=6; source-ip={src}; source-port={port}; destination-ip={dst}; destination-port=443; time=2026/11/24 10:00:00; source-zone=trust; destination-zone=trust; policy-name=web; action=permit"),
                1 => format!("<190>Nov 24 2026 10:00:00 USG6000E %%01SEC/6/POLICYDENY(l):-DevIP=10.255.0.1; vsys=public; protocol=6; source-ip=198.51.{b}.{a}; source-port={port}; destination-ip={dst}; destination-port=22; time=2026/11/24 10:00:00; source-zone=untrust; destination-zone=trust; policy-name=deny; action=deny"),
                2 => format!("<38>Nov 24 10:00:00 web-{b} sshd[2211]: Accepted publickey for ops from {src} port {port} ssh2"),
                3 => format!("<4>Nov 24 10:00:00 fw-{b} kernel: [UFW ALLOW] IN=eth0 OUT= SRC={src} DST={dst} LEN=60 TTL=52 PROTO=TCP SPT={port} DPT=8080 WINDOW=29200 SYN URGP=0"),
                _ => format!("<13>Nov 24 10:00:02 app-{b} java[{port}]: request {n} served in {a} ms"),
            };
            let mut framed = format!("{} ", line.len()).into_bytes();
            framed.extend_from_slice(line.as_bytes());
            framed
        })
        .collect()
}

async fn events_ingest(data: &Path, count: usize, connections: usize) -> Result<()> {
    use std::sync::atomic::Ordering;
    use tokio::io::AsyncWriteExt;
    let (app, _world, started) = demo_app(data, BenchScale::Small).await?;
    println!("machine: {}", machine());
    println!(
        "small demo loaded in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let addresses: Vec<String> = app
        .store()
        .scan_all(yunjian_core::schema::Kind::Vm)
        .await?
        .into_iter()
        .filter_map(|vm| match vm.values.get("ip_addresses") {
            Some(yunjian_core::value::Value::TextList(list)) => list.first().cloned(),
            _ => None,
        })
        .collect();
    let lines = addressed_lines(count, &addresses);
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!(
        "input: {count} octet-counted syslog lines, {:.1} MiB, over {connections} TCP connections",
        bytes as f64 / 1048576.0
    );
    let per_connection: Vec<Vec<u8>> = (0..connections.max(1))
        .map(|index| {
            lines
                .iter()
                .skip(index)
                .step_by(connections.max(1))
                .flatten()
                .copied()
                .collect()
        })
        .collect();

    // Baseline: the same bytes read and framed from TCP, nothing else.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut frames = 0usize;
        let mut tasks = Vec::new();
        for _ in 0..connections.max(1) {
            let (mut stream, _) = listener.accept().await?;
            tasks.push(tokio::spawn(async move {
                let mut framer = yunjian_events::framing::Framer::new(64 * 1024);
                let mut buffer = vec![0u8; 64 * 1024];
                let mut frames = 0usize;
                loop {
                    let read = stream.read(&mut buffer).await.unwrap_or(0);
                    if read == 0 {
                        break;
                    }
                    frames += framer.push(&buffer[..read]).len();
                }
                frames
            }));
        }
        for task in tasks {
            frames += task.await.unwrap_or(0);
        }
        Ok::<usize, std::io::Error>(frames)
    });
    let start = Instant::now();
    let mut senders = Vec::new();
    for chunk in per_connection.clone() {
        senders.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(address).await?;
            stream.write_all(&chunk).await?;
            stream.shutdown().await
        }));
    }
    for sender in senders {
        sender.await??;
    }
    let framed = reader.await??;
    let baseline = start.elapsed();
    println!(
        "baseline: TCP read and framing only, {framed} frames in {:.0} ms ({:.0} lines/s)",
        baseline.as_secs_f64() * 1000.0,
        framed as f64 / baseline.as_secs_f64()
    );

    // The real intake.
    let config = yunjian_app::IngestConfig {
        spool_dir: Some(data.join("event-spool")),
        ..yunjian_app::IngestConfig::default()
    };
    let (handle, _writer) = app.start_ingest(config.clone());
    let (syslog, _listener) =
        yunjian_app::listen_syslog("127.0.0.1:0".parse()?, handle.clone(), &config).await?;
    let counters = app.event_counters();
    let before = counters.stored.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut senders = Vec::new();
    for chunk in per_connection {
        senders.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(syslog).await?;
            stream.write_all(&chunk).await?;
            stream.shutdown().await
        }));
    }
    for sender in senders {
        sender.await??;
    }
    let sent = start.elapsed();
    let mut peak_queue = 0;
    while counters.stored.load(Ordering::Relaxed) - before < count as u64 {
        peak_queue = peak_queue.max(handle.queued());
        if start.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("the intake did not store every line within ten minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed();
    let snapshot = counters.snapshot();
    let stored_rows = app
        .store()
        .events(
            yunjian_store::ResultScope::All,
            &yunjian_store::EventFilter::default(),
            1,
        )
        .await?
        .first()
        .map_or(0, |event| event.id);
    println!(
        "TCP syslog -> parse, decode, resolve, detect -> SQLite: {count} lines in {:.2} s ({:.0} events/s; senders done after {:.2} s, the queue held at most {peak_queue}); {:.1}x the baseline's time",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        sent.as_secs_f64(),
        elapsed.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "counters: {}; newest event id {stored_rows}",
        snapshot
            .iter()
            .map(|(stage, value)| format!("{stage} {value}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if snapshot.get("dropped_udp").copied().unwrap_or(0)
        + snapshot.get("dropped_queue").copied().unwrap_or(0)
        > 0
    {
        anyhow::bail!("lines were dropped");
    }
    Ok(())
}

/// Peak resident set size of this process so far, in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn containers(clusters: usize, tenants: usize, apps: usize, replicas: usize) -> Result<()> {
    use yunjian_network::engine::Network;
    use yunjian_network::model::{ContainerPolicy, Model, Pod};
    use yunjian_network::verify::Verifier;
    println!("machine: {}", machine());
    let started = Instant::now();
    let mut model = Model::default();
    let mut next_id = 0i64;
    let mut id = || {
        next_id += 1;
        next_id
    };
    let labels = |pairs: &[(&str, String)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect()
    };
    for cluster in 0..clusters {
        let cluster_name = format!("k8s-{cluster:02}");
        for tenant in 0..tenants {
            let tenant_id = (cluster * tenants + tenant) as i64 + 1;
            let namespace = format!("ns-{tenant:03}");
            let team = if tenant == 0 { "ops" } else { "apps" };
            for app in 0..apps {
                for replica in 0..replicas {
                    let pod_id = id();
                    let mut pod_labels = vec![("app", format!("app-{app}"))];
                    // Every third app a StatefulSet: a name label per pod.
                    if app % 3 == 0 {
                        pod_labels.push((
                            "statefulset.kubernetes.io/pod-name",
                            format!("app-{app}-{replica}"),
                        ));
                    } else {
                        pod_labels.push(("pod-template-hash", format!("{:x}", app * 7919)));
                    }
                    model.pods.push(Pod {
                        id: pod_id,
                        tenant_id,
                        cluster: cluster_name.clone(),
                        namespace: namespace.clone(),
                        labels: labels(&pod_labels),
                        namespace_labels: labels(&[("team", team.to_owned())]),
                        address: Some(std::net::IpAddr::from([
                            10,
                            (cluster % 250) as u8,
                            (pod_id / 250 % 250) as u8,
                            (pod_id % 250) as u8 + 1,
                        ])),
                    });
                }
            }
            let mut policy = |spec: serde_json::Value| {
                let policy_id = id();
                model.container_policies.push(ContainerPolicy {
                    id: policy_id,
                    tenant_id,
                    cluster: cluster_name.clone(),
                    namespace: namespace.clone(),
                    spec: spec.to_string(),
                });
            };
            match tenant {
                // Open: no policy at all.
                1 => {}
                // Admits every namespace.
                2 => policy(
                    serde_json::json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}),
                ),
                _ => {
                    policy(
                        serde_json::json!({"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}),
                    );
                    policy(
                        serde_json::json!({"podSelector": {}, "ingress": [{"from": [{
                        "namespaceSelector": {"matchLabels": {"team": "ops"}},
                        "podSelector": {"matchLabels": {"app": "app-0"}}}], "ports": [{"port": 9100}]}]}),
                    );
                    for app in 1..apps {
                        policy(
                            serde_json::json!({"podSelector": {"matchLabels": {"app": format!("app-{app}")}},
                            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": format!("app-{}", app - 1)}}}],
                                         "ports": [{"port": 8080}]}]}),
                        );
                    }
                }
            }
        }
    }
    let generated = started.elapsed();
    let (pods, policies) = (model.pods.len(), model.container_policies.len());
    let started = Instant::now();
    let mut pass = 0u64;
    for pod in &model.pods {
        for (key, value) in &pod.labels {
            pass = pass.wrapping_add((key.len() ^ value.len()) as u64);
        }
    }
    std::hint::black_box(pass);
    let baseline = started.elapsed();
    let started = Instant::now();
    let network = Network::compile(model);
    let compiled = started.elapsed();
    let started = Instant::now();
    let verifier = Verifier::new(network);
    let verified = started.elapsed();
    let mut by_invariant: std::collections::BTreeMap<&str, usize> = Default::default();
    for finding in verifier.findings() {
        *by_invariant.entry(finding.invariant.as_str()).or_default() += 1;
    }
    println!(
        "world: {clusters} clusters, {pods} pods, {policies} NetworkPolicies (generated in {:.2} s)",
        generated.as_secs_f64()
    );
    println!("findings: {by_invariant:?}");
    println!("{:<52} {:>12} {:>12}", "measurement", "time", "vs baseline");
    println!(
        "{:<52} {:>9.1} ms {:>12}",
        "baseline: one pass over every pod's labels",
        baseline.as_secs_f64() * 1e3,
        "1.0×"
    );
    println!(
        "{:<52} {:>9.1} ms {:>11.1}×",
        "compile the policies",
        compiled.as_secs_f64() * 1e3,
        compiled.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "{:<52} {:>9.1} ms {:>11.1}×",
        "check every pod pair of every cluster",
        verified.as_secs_f64() * 1e3,
        verified.as_secs_f64() / baseline.as_secs_f64()
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
    Ok(())
}

fn network(
    vpcs: usize,
    vms: usize,
    rules: usize,
    peerings: usize,
    changes: usize,
    queries: usize,
    hostile: bool,
) -> Result<()> {
    use yunjian_network::engine::{Change, Network};
    use yunjian_network::model::{Action, Direction, GroupRule, Ports, Protocol, Remote};
    use yunjian_network::synthetic::{generate, Shape};
    use yunjian_network::verify::Verifier;
    println!("machine: {}", machine());
    let shape = Shape {
        vpcs,
        vms,
        group_rules: rules,
        peerings,
        hostile,
        ..Shape::large()
    };
    let started = Instant::now();
    let model = generate(shape);
    let generated = started.elapsed();
    let started = Instant::now();
    let mut pass = 0u64;
    for group in &model.groups {
        for rule in &group.rules {
            pass = pass.wrapping_add(u64::from(rule.ports.from) ^ rule.priority as u64);
        }
    }
    std::hint::black_box(pass);
    let baseline = started.elapsed();
    let started = Instant::now();
    let network = Network::compile(model);
    let compiled = started.elapsed();
    let size = network.size();
    println!(
        "world: {} VPCs, {} interfaces, {} group rules, {} ACL rules, {} firewall rules, {} peerings (generated in {:.2} s)",
        size.vpcs, size.interfaces, size.group_rules, size.acl_rules, size.firewall_rules, size.peerings,
        generated.as_secs_f64()
    );
    let started = Instant::now();
    let mut verifier = Verifier::new(network);
    let verified = started.elapsed();
    let mut by_invariant: std::collections::BTreeMap<&str, usize> = Default::default();
    for finding in verifier.findings() {
        *by_invariant.entry(finding.invariant.as_str()).or_default() += 1;
    }
    println!("{:<52} {:>12} {:>12}", "measurement", "time", "vs baseline");
    println!(
        "{:<52} {:>9.1} ms {:>12}",
        "baseline: one pass over every group rule",
        baseline.as_secs_f64() * 1e3,
        "1.0×"
    );
    println!(
        "{:<52} {:>9.1} ms {:>11.1}×",
        "index the world (compile)",
        compiled.as_secs_f64() * 1e3,
        compiled.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "{:<52} {:>9.1} ms {:>11.1}×",
        "verify every invariant over all flows",
        verified.as_secs_f64() * 1e3,
        verified.as_secs_f64() / baseline.as_secs_f64()
    );
    println!("findings: {} {:?}", verifier.count(), by_invariant);
    // Where the time goes, one core: each kind of key checked alone.
    {
        use yunjian_network::checks::{check, Key};
        let keys = yunjian_network::verify::all_keys(verifier.network());
        let mut kinds: std::collections::BTreeMap<&str, (usize, Duration)> = Default::default();
        for key in keys {
            let kind = match key {
                Key::Path(..) => "VPC-to-VPC paths across peerings",
                Key::Group(_) => "security groups, rule by rule",
                Key::Host(_) => "hosts",
                Key::Route(_) => "routes",
                Key::FirewallRule(_) => "layer-7 firewall rules",
                Key::Cluster(_) => "container clusters, pod class by pod class",
            };
            let started = Instant::now();
            std::hint::black_box(check(verifier.network(), key));
            let entry = kinds.entry(kind).or_default();
            entry.0 += 1;
            entry.1 += started.elapsed();
        }
        for (kind, (count, time)) in kinds {
            println!(
                "  one core: {count} {kind}: {:.1} ms",
                time.as_secs_f64() * 1e3
            );
        }
    }
    // Queries: random interface pairs, half within a VPC, half across a peering.
    let network = verifier.network();
    let interfaces: Vec<(usize, i64)> = network
        .interfaces()
        .map(|(index, interface)| (index, interface.vpc_id))
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pairs: Vec<(usize, usize, u16)> = (0..queries)
        .map(|number| {
            let (a, vpc) = interfaces[next() as usize % interfaces.len()];
            let b = if number % 2 == 0 {
                network.in_vpc(vpc).nth(next() as usize % 4).unwrap_or(a)
            } else {
                network
                    .peers_of(vpc)
                    .next()
                    .and_then(|peer| network.in_vpc(peer).next())
                    .unwrap_or(a)
            };
            (a, b, [22u16, 80, 443, 3306, 8080][next() as usize % 5])
        })
        .collect();
    let started = Instant::now();
    let mut allowed = 0usize;
    for (a, b, port) in &pairs {
        if network
            .decide_between(*a, *b, Protocol::Tcp, *port)
            .is_some_and(|verdict| verdict.allowed)
        {
            allowed += 1;
        }
    }
    let per_query = started.elapsed() / queries.max(1) as u32;
    println!(
        "{:<52} {:>9.2} µs   ({} of {} allowed)",
        "one reachability query (hops and deciding rules)",
        per_query.as_secs_f64() * 1e6,
        allowed,
        queries
    );
    // Changes: upsert a rule into a random group (new, then modified), timed each.
    let groups: Vec<i64> = network.groups().map(|(id, _)| id).collect();
    let mut samples = Vec::with_capacity(changes);
    let mut appeared = 0usize;
    let mut rechecked = 0usize;
    for number in 0..changes {
        let group_id = groups[next() as usize % groups.len()];
        let rule = GroupRule {
            id: 900_000_000 + number as i64,
            group_id,
            direction: Direction::Ingress,
            priority: 1 + (next() % 100) as i64,
            action: if number % 3 == 0 {
                Action::Deny
            } else {
                Action::Allow
            },
            protocol: Protocol::Tcp,
            ports: Ports::one([22u16, 443, 3389, 8080][number % 4]),
            remote: Remote::Cidr(if number % 5 == 0 {
                "0.0.0.0/0".parse()?
            } else {
                "10.0.0.0/8".parse()?
            }),
        };
        let started = Instant::now();
        let delta = verifier.apply(&Change::UpsertGroupRule { rule });
        samples.push(started.elapsed());
        appeared += delta.appeared.len();
        rechecked += delta.rechecked;
    }
    samples.sort();
    let p50 = percentile(&samples, 0.5);
    let p99 = percentile(&samples, 0.99);
    println!(
        "{:<52} p50 {:>7.1} µs, p99 {:>7.1} µs ({} findings appeared, {:.1} keys re-checked per change)",
        "one rule change re-verified",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        appeared,
        rechecked as f64 / changes.max(1) as f64
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
    Ok(())
}
