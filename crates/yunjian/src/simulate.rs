//! `yunjian simulate`: a provider's integration driving the standard push API
//! (docs/provider-api.md) with the demo generator's world, so demos show live syncs,
//! changes and tampered images, and benchmarks can load a server. Each round pushes a
//! full snapshot in signed chunks and utilization samples; with `--changes` the rounds
//! after the first resize a VM, add and remove one, and (third round) tamper with an
//! image's digest.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use serde_json::{json, Value as Json};
use yunjian_core::demo::{generate, DemoWorld, Scale};

use crate::api_client::{read_secret, Signer};

#[derive(Args)]
pub struct SimulateArgs {
    /// The provider to play, by name or short name (as the demo generator names them).
    #[arg(long)]
    pub provider: String,
    /// Base URL of the yunjian server.
    #[arg(long, env = "YUNJIAN_URL", default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// The provider operator's access key id (YJAK…).
    #[arg(long = "key", env = "YUNJIAN_ACCESS_KEY_ID")]
    pub key_id: String,
    /// File holding the key's secret (first line). Otherwise YUNJIAN_API_SECRET.
    #[arg(long)]
    pub secret_file: Option<PathBuf>,
    /// The demo world to play (the same scale and seed as the server's demo).
    #[arg(long, default_value = "small")]
    pub scale: String,
    #[arg(long, default_value_t = crate::DEFAULT_SEED)]
    pub seed: u64,
    /// Snapshots to push.
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// Seconds between rounds.
    #[arg(long, default_value_t = 60)]
    pub interval: u64,
    /// Objects per chunk.
    #[arg(long, default_value_t = 5_000)]
    pub chunk: usize,
    /// Change something in every round after the first.
    #[arg(long)]
    pub changes: bool,
}

/// What a provider of the demo world would push.
pub fn provider_objects(world: &DemoWorld, provider: i64) -> Vec<Json> {
    yunjian_connectors::sync::demo_provider_objects(world, provider)
}

/// The changes of round `round` (from 1): deterministic, so a demo tells the same story.
pub fn mutate(objects: &mut Vec<Json>, round: u32) {
    let vms: Vec<usize> = objects
        .iter()
        .enumerate()
        .filter(|(_, object)| {
            object["kind"] == "vm" && !object["id"].as_str().unwrap_or("").starts_with("sim-")
        })
        .map(|(index, _)| index)
        .collect();
    if vms.is_empty() {
        return;
    }
    // A VM resized each round.
    let resized = vms[(round as usize * 7) % vms.len()];
    let memory = objects[resized]["fields"]["memory_mib"]
        .as_i64()
        .unwrap_or(4096);
    objects[resized]["fields"]["memory_mib"] = json!((memory * 2).min(1_048_576));
    // A VM added in odd rounds and gone in even ones.
    objects.retain(|object| !object["id"].as_str().unwrap_or("").starts_with("sim-"));
    if round % 2 == 1 {
        let mut added = objects[vms[0]].clone();
        added["id"] = json!(format!("sim-vm-{round}"));
        added["fields"]["name"] = json!(format!("扩容云主机-{round}"));
        added["fields"]["ip_addresses"] = json!([]);
        objects.push(added);
    }
    // An image's digest changed under the same id in the third round: tampering.
    if round == 2 {
        if let Some(image) = objects.iter_mut().find(|object| object["kind"] == "image") {
            let digest = yunjian_gm::Sm3Digest::of(b"tampered image").to_hex();
            image["fields"]["digest"] = json!(format!("sm3:{digest}"));
        }
    }
}

/// Pushes one full snapshot in chunks; answers the commit's JSON.
pub async fn push_snapshot(
    signer: &Signer,
    request_id: &str,
    objects: &[Json],
    chunk: usize,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<Json> {
    let body = json!({"request_id": request_id, "mode": "full"}).to_string();
    let (status, text) = signer
        .send("POST", "/api/v1/provider/snapshots", body.as_bytes())
        .await?;
    if !status.is_success() {
        bail!("opening the snapshot answered {status}: {text}");
    }
    let sync: Json = serde_json::from_str(&text).context("the snapshot's answer")?;
    let id = sync["id"].as_i64().context("the snapshot's id")?;
    let chunks: Vec<&[Json]> = objects.chunks(chunk.max(1)).collect();
    if let Some(progress) = progress {
        progress.set_length(chunks.len() as u64);
        progress.set_position(0);
    }
    for (index, part) in chunks.iter().enumerate() {
        let body = json!({ "objects": part }).to_string();
        let path = format!("/api/v1/provider/snapshots/{id}/chunks/{}", index + 1);
        let (status, text) = signer.send("PUT", &path, body.as_bytes()).await?;
        if !status.is_success() {
            bail!("chunk {} answered {status}: {text}", index + 1);
        }
        if let Some(progress) = progress {
            progress.inc(1);
        }
    }
    let body = json!({ "chunks": chunks.len() }).to_string();
    let (status, text) = signer
        .send(
            "POST",
            &format!("/api/v1/provider/snapshots/{id}/commit"),
            body.as_bytes(),
        )
        .await?;
    if !status.is_success() {
        bail!("the commit answered {status}: {text}");
    }
    serde_json::from_str(&text).context("the commit's answer")
}

/// Utilization per project of the provider, a gentle random walk by round.
pub async fn push_usage(signer: &Signer, objects: &[Json], round: u32) -> Result<Json> {
    let mut projects: Vec<&str> = objects
        .iter()
        .filter_map(|object| object["project"].as_str())
        .collect();
    projects.sort_unstable();
    projects.dedup();
    let samples: Vec<Json> = projects
        .iter()
        .enumerate()
        .flat_map(|(index, project)| {
            let base = 20.0 + ((index * 37 + round as usize * 11) % 60) as f64;
            [
                json!({"metric": "cpu_utilization", "project": project, "value": base}),
                json!({"metric": "memory_utilization", "project": project, "value": (base + 15.0).min(100.0)}),
                json!({"metric": "bandwidth_mbps", "project": project, "value": base * 4.0}),
            ]
        })
        .collect();
    let mut answers = Vec::new();
    for part in samples.chunks(5_000) {
        let body = json!({ "samples": part }).to_string();
        let (status, text) = signer
            .send("POST", "/api/v1/provider/usage", body.as_bytes())
            .await?;
        if !status.is_success() {
            bail!("usage answered {status}: {text}");
        }
        answers.push(serde_json::from_str::<Json>(&text).unwrap_or(Json::Null));
    }
    Ok(json!(answers))
}

pub fn find_provider(world: &DemoWorld, wanted: &str) -> Result<i64> {
    world
        .providers
        .iter()
        .find(|provider| {
            provider.name == wanted
                || provider.short_name == wanted
                || provider.id.to_string() == wanted
        })
        .map(|provider| provider.id)
        .with_context(|| {
            let known: Vec<String> = world
                .providers
                .iter()
                .map(|provider| provider.short_name.clone())
                .collect();
            format!(
                "no provider '{wanted}' in the demo world; one of {}",
                known.join(", ")
            )
        })
}

pub async fn run(args: SimulateArgs) -> Result<()> {
    let scale = match args.scale.as_str() {
        "small" => Scale::Small,
        "large" => Scale::Large,
        other => bail!("--scale is small or large, not {other}"),
    };
    let secret = read_secret(args.secret_file.as_deref())?;
    let signer = Signer::new(&args.target, &args.key_id, secret)?;
    let world = generate(scale, args.seed);
    let provider = find_provider(&world, &args.provider)?;
    let mut objects = provider_objects(&world, provider);
    println!(
        "simulating provider {} with {} objects",
        args.provider,
        objects.len()
    );
    let run_id = yunjian_gm::random_secret_hex(4);
    for round in 0..args.rounds {
        if round > 0 {
            tokio::time::sleep(Duration::from_secs(args.interval)).await;
            if args.changes {
                mutate(&mut objects, round);
            }
        }
        let progress = indicatif::ProgressBar::new(0).with_message(format!("round {}", round + 1));
        let answer = push_snapshot(
            &signer,
            &format!("sim-{run_id}-{round}"),
            &objects,
            args.chunk,
            Some(&progress),
        )
        .await?;
        progress.finish_and_clear();
        push_usage(&signer, &objects, round).await?;
        println!(
            "round {}: sync {} — {} created, {} changed, {} deleted, {} unchanged, {} set aside, {} image alerts",
            round + 1,
            answer["id"],
            answer["created"],
            answer["changed"],
            answer["deleted"],
            answer["unchanged"],
            answer["unassigned"],
            answer["image_alerts"]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use yunjian_core::schema::Kind;
    use yunjian_core::value::Value;

    #[test]
    fn the_demo_world_exports_as_valid_snapshots_and_mutations_stay_valid() {
        let world = generate(Scale::Small, crate::DEFAULT_SEED);
        for provider in &world.providers {
            let mut objects = provider_objects(&world, provider.id);
            assert!(objects.len() > 100, "{}: {}", provider.name, objects.len());
            for round in 1..4 {
                mutate(&mut objects, round);
                let body = json!({ "objects": objects }).to_string();
                // No chunk limit here: the whole snapshot, read as one.
                let parsed: Vec<_> = objects
                    .iter()
                    .enumerate()
                    .map(|(index, object)| yunjian_connectors::sync::parse_object(index, object))
                    .collect();
                let bad: Vec<_> = parsed
                    .iter()
                    .filter_map(|result| result.as_ref().err())
                    .take(3)
                    .collect();
                assert!(
                    bad.is_empty(),
                    "{}: {bad:?} in {} bytes",
                    provider.name,
                    body.len()
                );
            }
        }
    }

    #[test]
    fn values_round_trip_through_the_export() {
        let world = generate(Scale::Small, crate::DEFAULT_SEED);
        let objects = provider_objects(&world, world.providers[0].id);
        let vm = objects
            .iter()
            .find(|object| object["kind"] == "vm")
            .expect("a vm");
        let id = vm["id"].as_str().expect("id");
        let (_, values) = world
            .rows(Kind::Vm)
            .rows
            .iter()
            .find(|(_, values)| values.get("external_id").and_then(Value::as_text) == Some(id))
            .expect("the row");
        assert_eq!(vm["fields"]["memory_mib"], values["memory_mib"].to_json());
    }
}
