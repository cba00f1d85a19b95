//! The end-to-end scenario: webhooks at a fixed rate across many tenants, each tenant's admin
//! listening on its own WebSocket; the latency is from just before the webhook is sent to the
//! moment its `paymentStatusUpdated` arrives. Needs Cobro pointed at the instant MP fake.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::ingest::{Tally, Target, TargetArgs, first_sequence, payment_id};
use crate::report;
use crate::setup::ensure_tenants;

#[derive(clap::Args)]
pub struct E2eArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value_t = 100)]
    tenants: u64,
    #[arg(long, default_value_t = 300_000)]
    first_user_id: u64,
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    duration: u64,
}

type Pending = Arc<Mutex<HashMap<u64, Instant>>>;

pub async fn run(args: E2eArgs) -> std::io::Result<()> {
    let target = Arc::new(Target::new(&args.target, 256));
    let tenants = ensure_tenants(&target, args.tenants, args.first_user_id).await?;
    let pending: Pending = Arc::default();
    let hist = Arc::new(Mutex::new(report::histogram()));
    let ws_base = target.url.replacen("http", "ws", 1);
    for tenant in &tenants {
        let url = format!("{ws_base}/ws?token={}", tenant.token);
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(std::io::Error::other)?;
        socket.next().await; // {"event":"subscribed",...}
        let (pending, hist) = (pending.clone(), hist.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if value["event"] != "paymentStatusUpdated" {
                    continue;
                }
                let Some(id) = value["data"]["mpPaymentId"].as_u64() else {
                    continue;
                };
                let sent = pending.lock().ok().and_then(|mut p| p.remove(&id));
                if let (Some(sent), Ok(mut hist)) = (sent, hist.lock()) {
                    report::record(&mut hist, sent.elapsed());
                }
            }
        });
    }
    println!("   {} WebSocket clients subscribed", tenants.len());

    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(1) as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let tally = Tally::new();
    let mut seq = first_sequence();
    while started.elapsed() < Duration::from_secs(args.duration) {
        ticker.tick().await;
        seq += 1;
        let user = tenants[(seq % tenants.len() as u64) as usize].mp_user_id;
        if let Ok(mut p) = pending.lock() {
            p.insert(payment_id(user, seq), Instant::now());
        }
        let (target, tally) = (target.clone(), tally.clone());
        tokio::spawn(async move { tally.send(&target, user, seq, Instant::now()).await });
    }
    let sent_for = started.elapsed();
    // Let the last ones arrive.
    let drain_until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < drain_until && pending.lock().map(|p| !p.is_empty()).unwrap_or(false) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let missing = pending.lock().map(|p| p.len()).unwrap_or(0);
    let hist = hist
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|_| report::histogram());
    let outcomes = tally.outcomes();
    println!(
        "   paymentStatusUpdated received: {}, missing: {missing}",
        hist.len()
    );
    let label = format!(
        "webhook → paymentStatusUpdated ({} tenants, {}/s offered)",
        tenants.len(),
        args.rate
    );
    report::print(&label, sent_for, &outcomes, "accepted", &hist);
    Ok(())
}
