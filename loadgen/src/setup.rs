//! Tenants for a benchmark: created through the admin API (or found and given a fresh token), and
//! the `tenants` scenario that wakes one actor per tenant and reads the server's memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ingest::{Target, send_webhook};

#[derive(Clone)]
pub struct Tenant {
    pub mp_user_id: u64,
    pub token: String,
}

/// Tenants `first .. first + count` (by MP user id), each with a usable admin token.
pub async fn ensure_tenants(
    target: &Target,
    count: u64,
    first: u64,
) -> std::io::Result<Vec<Tenant>> {
    let admin = target
        .admin_token
        .clone()
        .ok_or_else(|| std::io::Error::other("--admin-token is required"))?;
    let listed = json_of(
        target
            .http
            .get(format!("{}/api/tenants", target.url))
            .bearer_auth(&admin),
    )
    .await?;
    let existing: HashMap<String, String> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                t["mp_user_id"].as_str()?.to_owned(),
                t["id"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let existing = Arc::new(existing);
    let ids: Vec<u64> = (first..first + count).collect();
    let mut tenants = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(32) {
        let batch = chunk
            .iter()
            .map(|&id| token_for(target, &admin, id, existing.clone()));
        for result in futures_util::future::join_all(batch).await {
            tenants.push(result?);
        }
    }
    Ok(tenants)
}

async fn token_for(
    target: &Target,
    admin: &str,
    mp_user_id: u64,
    existing: Arc<HashMap<String, String>>,
) -> std::io::Result<Tenant> {
    let request = match existing.get(&mp_user_id.to_string()) {
        Some(id) => target
            .http
            .patch(format!("{}/api/tenants/{id}", target.url))
            .json(&json!({ "rotate_admin_token": true })),
        None => target
            .http
            .post(format!("{}/api/tenants", target.url))
            .json(&json!({
                "name": format!("Bench seller {mp_user_id}"), "mp_user_id": mp_user_id,
                "mp_access_token": "APP_USR-bench", "mp_webhook_secret": target.secret,
            })),
    };
    let answer = json_of(request.bearer_auth(admin)).await?;
    let token = answer["admin_token"]
        .as_str()
        .ok_or_else(|| std::io::Error::other(format!("no token: {answer}")))?;
    Ok(Tenant {
        mp_user_id,
        token: token.to_owned(),
    })
}

/// Sends the request and reads its JSON answer.
/// The value of one series (`name{labels}`) in the server's `/metrics`; 0 when absent.
pub async fn metric(target: &Target, series: &str) -> std::io::Result<u64> {
    Ok(metric_f64(target, series).await? as u64)
}

/// A series' value as the server printed it (sums of seconds are fractions).
pub async fn metric_f64(target: &Target, series: &str) -> std::io::Result<f64> {
    let text = target
        .http
        .get(format!("{}/metrics", target.url))
        .send()
        .await
        .map_err(std::io::Error::other)?
        .text()
        .await
        .map_err(std::io::Error::other)?;
    Ok(text
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0))
}

pub async fn json_of(request: reqwest::RequestBuilder) -> std::io::Result<Value> {
    let response = request.send().await.map_err(std::io::Error::other)?;
    response.json().await.map_err(std::io::Error::other)
}

#[derive(clap::Args)]
pub struct TenantsArgs {
    #[command(flatten)]
    target: crate::ingest::TargetArgs,
    #[arg(long, default_value_t = 10_000)]
    count: u64,
    #[arg(long, default_value_t = 200_000)]
    first_user_id: u64,
    /// Send one webhook per tenant so that each has a live actor.
    #[arg(long)]
    wake: bool,
    /// The Cobro process to read VmRSS from.
    #[arg(long)]
    pid: Option<u32>,
}

pub async fn run(args: TenantsArgs) -> std::io::Result<()> {
    let target = Target::new(&args.target, 64);
    let started = Instant::now();
    let tenants = ensure_tenants(&target, args.count, args.first_user_id).await?;
    println!(
        "== tenants: {} ready in {:.1} s",
        tenants.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(pid) = args.pid {
        println!("   RSS before waking actors: {} MB", rss_mb(pid)?);
    }
    if args.wake {
        let started = Instant::now();
        for (chunk_index, chunk) in tenants.chunks(64).enumerate() {
            let sends = chunk.iter().enumerate().map(|(i, t)| {
                let seq = (chunk_index * 64 + i) as u64;
                send_webhook(&target, t.mp_user_id, seq)
            });
            futures_util::future::join_all(sends).await;
        }
        println!(
            "   one webhook per tenant sent in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if let Some(pid) = args.pid {
        println!(
            "   RSS with {} live tenant actors: {} MB",
            if args.wake { tenants.len() } else { 0 },
            rss_mb(pid)?
        );
    }
    Ok(())
}

fn rss_mb(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    Ok(kb / 1024)
}
