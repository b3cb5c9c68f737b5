//! The demo's live providers (issue 6): the first and third provider push their
//! inventory through the standard API as `yunjian simulate` does; the second is an
//! OpenStack cloud the server pulls through a configured connector. Every minute each
//! changes a little (a VM resized, one added or removed; in the third round an image's
//! digest changes under the same id), so the console shows syncs, change history and a
//! tampered image being caught.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::json;
use yunjian_app::{App, ConnectorInput, Context, CreatedAccount};
use yunjian_core::demo::DemoWorld;
use yunjian_core::role::{Principal, Role};

use crate::api_client::Signer;
use crate::simulate;
use yunjian_server::fake_openstack::{self, FakeCloud};

/// Seconds between the demo providers' rounds (and the pull connector's interval, at
/// least a minute). `YUNJIAN_DEMO_ROUND_SECONDS` shortens it for tests.
pub const ROUND_SECONDS: u64 = 60;

pub fn round_seconds() -> u64 {
    std::env::var("YUNJIAN_DEMO_ROUND_SECONDS")
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|seconds| *seconds > 0)
        .unwrap_or(ROUND_SECONDS)
}

/// Where the demo's providers talk: printed and written to `demo-endpoints.json`.
pub struct LiveProviders {
    pub pushing: Vec<String>,
    pub openstack: Option<(String, String)>,
}

pub(crate) fn context_of(app: &App, account: &CreatedAccount) -> Context {
    let mut context = Context::new(
        Principal {
            account_id: account.id,
            username: account.username.clone(),
            role: account.role,
            tenant: account.tenant,
            provider: account.provider,
            second_factor: account.totp_secret.is_some(),
        },
        "demo-live",
        Some("local"),
    );
    // The demo's own setup acts as if its accounts had just proved their second factor.
    context.second_factor_at_ns = Some(app.now_ns());
    context
}

/// Starts the live providers against the server at `address`.
pub async fn start(
    app: &App,
    world: &DemoWorld,
    accounts: &[CreatedAccount],
    address: SocketAddr,
) -> Result<LiveProviders> {
    let base = format!("http://{address}");
    let mut live = LiveProviders {
        pushing: Vec::new(),
        openstack: None,
    };
    for (index, provider) in world.providers.iter().enumerate() {
        let objects = simulate::provider_objects(world, provider.id);
        if index == 1 {
            let admin = accounts
                .iter()
                .find(|account| account.role == Role::SystemAdmin)
                .context("the demo's system administrator")?;
            let password = yunjian_gm::random_secret_hex(12);
            let cloud = FakeCloud::new(objects.clone(), &password);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let cloud_base = fake_openstack::serve(cloud.clone(), listener).await?;
            let input = ConnectorInput {
                provider_id: provider.id,
                kind: "openstack".into(),
                endpoint: format!("{cloud_base}/identity/v3"),
                settings: fake_openstack::settings(&objects, "yunjian-reader"),
                secret: Some(password),
                interval_s: round_seconds().max(60) as i64,
            };
            app.add_connector(&context_of(app, admin), &input)
                .await
                .map_err(|error| anyhow::anyhow!("configuring the OpenStack connector: {error}"))?;
            live.openstack = Some((provider.short_name.clone(), cloud_base));
            tokio::spawn(change_the_cloud(cloud));
            continue;
        }
        let Some(operator) = accounts
            .iter()
            .find(|account| account.provider.map(|id| id.0) == Some(provider.id))
        else {
            continue;
        };
        let key = app
            .create_api_key(
                &context_of(app, operator),
                "演示：云服务商推送 / demo provider push",
            )
            .await
            .map_err(|error| anyhow::anyhow!("an API key for {}: {error}", operator.username))?;
        let signer = Signer::new(&base, &key.access_key_id, key.secret.clone())?;
        live.pushing.push(provider.short_name.clone());
        tokio::spawn(push_rounds(signer, objects, provider.short_name.clone()));
    }
    // The first pull now rather than at the serve loop's next minute.
    let app = app.clone();
    tokio::spawn(async move {
        if let Err(error) = app.run_due_connectors().await {
            tracing::warn!(%error, "the demo's first pull failed");
        }
    });
    Ok(live)
}

async fn push_rounds(signer: Signer, mut objects: Vec<serde_json::Value>, name: String) {
    let run = yunjian_gm::random_secret_hex(4);
    for round in 0u32.. {
        if round > 0 {
            tokio::time::sleep(Duration::from_secs(round_seconds())).await;
            simulate::mutate(&mut objects, round);
        }
        match simulate::push_snapshot(
            &signer,
            &format!("demo-{run}-{round}"),
            &objects,
            5_000,
            None,
        )
        .await
        {
            Ok(answer) => tracing::info!(
                provider = %name, round, created = %answer["created"], changed = %answer["changed"],
                deleted = %answer["deleted"], image_alerts = %answer["image_alerts"], "demo push committed"
            ),
            Err(error) => tracing::warn!(provider = %name, round, %error, "a demo push failed"),
        }
        if let Err(error) = simulate::push_usage(&signer, &objects, round).await {
            tracing::warn!(provider = %name, %error, "demo usage push failed");
        }
    }
}

async fn change_the_cloud(cloud: Arc<FakeCloud>) {
    for round in 1u32.. {
        tokio::time::sleep(Duration::from_secs(round_seconds().max(60))).await;
        if let Ok(mut objects) = cloud.objects.write() {
            simulate::mutate(&mut objects, round);
        }
    }
}

/// The endpoints file's content.
pub fn endpoints_json(live: &LiveProviders, address: SocketAddr) -> serde_json::Value {
    json!({
        "console": format!("http://{address}/console"),
        "api": format!("http://{address}/api/v1"),
        "pushing_providers": live.pushing,
        "openstack": live.openstack.as_ref().map(|(name, base)| json!({"provider": name, "keystone": format!("{base}/identity/v3")})),
        "round_seconds": round_seconds(),
    })
}
