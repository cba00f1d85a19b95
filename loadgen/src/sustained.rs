//! The sustained scenario (issue 9): webhooks at a fixed total `--rate` for `--duration` seconds
//! over `--tenants`, while Cobro processes them against the instant MercadoPago fake. A user's
//! capacity is what Cobro brings to `success` while webhooks keep arriving, so besides the
//! acknowledgements this prints, second by second, what was offered, acknowledged and processed
//! and the backlog (accepted, not yet processed); then the totals while the load lasted, the
//! backlog at its end and how long it took to drain.
//!
//! Processed events are read from the server's `/metrics` (successful attempts, a counter of the
//! process, so run one Cobro per measurement); acknowledgement latency counts from when each
//! request was due (no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::ingest::{Tally, Target, TargetArgs, first_sequence, payment_id, stripe_account};
use crate::outbound::Receiver;
use crate::report;
use crate::setup::{ensure_tenants, metric, metric_f64};

#[derive(clap::Args)]
pub struct SustainedArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long, default_value_t = 50)]
    tenants: u64,
    #[arg(long, default_value_t = 700_000)]
    first_user_id: u64,
    /// Webhooks per second offered, in total.
    #[arg(long, default_value_t = 2000)]
    rate: u64,
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Workers sending at once; a worker behind schedule sends its late requests back to back.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to wait for the backlog after the load before giving up.
    #[arg(long, default_value_t = 120)]
    drain_timeout: u64,
    #[arg(long, default_value = "sustained")]
    label: String,
    /// How many of the tenants (the first ones) take their payments through Stripe: linked to a
    /// connected account, sent Stripe events (Cobro must run with `COBRO_STRIPE_*` pointing at
    /// the fake).
    #[arg(long, default_value_t = 0)]
    stripe_tenants: u64,
    /// Issue 25: serve the platform's backend on this address, subscribe it to every tenant's
    /// `payment.updated` (a platform-wide endpoint; Cobro must run with
    /// `COBRO_OUTBOUND_ALLOW_PRIVATE=true`) and report messages per second and the end-to-end
    /// latency from each webhook to its message.
    #[arg(long)]
    outbound_receiver: Option<String>,
}

/// Links each of `users` (by MercadoPago user id) to its connected Stripe account.
async fn link_stripe(target: &Target, users: &[u64]) -> std::io::Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let admin = target.admin_token.clone().unwrap_or_default();
    let listed: serde_json::Value = target
        .http
        .get(format!("{}/api/tenants?limit=500", target.url))
        .bearer_auth(&admin)
        .send()
        .await
        .map_err(std::io::Error::other)?
        .json()
        .await
        .map_err(std::io::Error::other)?;
    for tenant in listed["items"].as_array().into_iter().flatten() {
        let user = tenant["mp_user_id"]
            .as_str()
            .and_then(|u| u.parse::<u64>().ok());
        let (Some(user), Some(id)) = (user, tenant["id"].as_str()) else {
            continue;
        };
        if !users.contains(&user) {
            continue;
        }
        let linked = target
            .http
            .patch(format!("{}/api/tenants/{id}", target.url))
            .bearer_auth(&admin)
            .json(&serde_json::json!({ "stripe_account_id": stripe_account(user) }))
            .send()
            .await
            .map_err(std::io::Error::other)?;
        if !linked.status().is_success() {
            return Err(std::io::Error::other(format!(
                "linking {user}: {}",
                linked.status()
            )));
        }
    }
    Ok(())
}

/// Successful attempts so far, from the server's `/metrics`.
async fn processed(target: &Target) -> std::io::Result<u64> {
    metric(
        target,
        "cobro_processing_duration_seconds_count{result=\"success\"}",
    )
    .await
}

/// Counters the workers bump and the reporter reads each second.
#[derive(Default)]
struct Progress {
    offered: AtomicU64,
    accepted: AtomicU64,
}

pub async fn run(args: SustainedArgs) -> std::io::Result<()> {
    let target = Arc::new(Target::new(&args.target, args.connections));
    let users: Arc<Vec<u64>> = Arc::new(
        ensure_tenants(&target, args.tenants, args.first_user_id)
            .await?
            .iter()
            .map(|t| t.mp_user_id)
            .collect(),
    );
    let stripe_users: Arc<Vec<u64>> = Arc::new(
        users
            .iter()
            .copied()
            .take(args.stripe_tenants as usize)
            .collect(),
    );
    link_stripe(&target, &stripe_users).await?;
    let receiver = match &args.outbound_receiver {
        Some(bind) => {
            let receiver = Receiver::start(bind)?;
            receiver.subscribe(&target, bind).await?;
            Some(receiver)
        }
        None => None,
    };
    let before = processed(&target).await?;
    let progress = Arc::new(Progress::default());
    let tally = Tally::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let interval = Duration::from_secs_f64(args.connections as f64 / args.rate.max(1) as f64);
    let counter = Arc::new(AtomicU64::new(first_sequence()));
    let workers: Vec<_> = (0..args.connections)
        .map(|worker| {
            let (target, users, stripe_users, counter, progress, tally, receiver) = (
                target.clone(),
                users.clone(),
                stripe_users.clone(),
                counter.clone(),
                progress.clone(),
                tally.clone(),
                receiver.clone(),
            );
            let first_due = started + interval.mul_f64(worker as f64 / args.connections as f64);
            tokio::spawn(async move {
                let mut due = first_due;
                while due < deadline {
                    tokio::time::sleep_until(due.into()).await;
                    let seq = counter.fetch_add(1, Ordering::Relaxed);
                    let user = users[(seq % users.len() as u64) as usize];
                    progress.offered.fetch_add(1, Ordering::Relaxed);
                    let stripe = stripe_users.contains(&user);
                    if let Some(receiver) = &receiver {
                        receiver.due(payment_id(user, seq).to_string(), due);
                    }
                    if tally.send_as(&target, user, seq, due, stripe).await {
                        progress.accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    due += interval;
                }
            })
        })
        .collect();
    println!(
        "== {} ({}/s offered over {} tenants, {} of them on Stripe, {} connections)",
        args.label, args.rate, args.tenants, args.stripe_tenants, args.connections
    );
    println!(
        "   {:>4}  {:>8}  {:>8}  {:>9}  {:>8}",
        "s", "offered", "accepted", "processed", "backlog"
    );
    // Each second until every worker has sent its last request and had its answer: a server
    // that acknowledges slowly makes the load last longer than `--duration`.
    let mut last = (0, 0, 0);
    let mut second = 0;
    let during = loop {
        second += 1;
        tokio::time::sleep_until((started + Duration::from_secs(second)).into()).await;
        let offered = progress.offered.load(Ordering::Relaxed);
        let accepted = progress.accepted.load(Ordering::Relaxed);
        let done = processed(&target).await?.saturating_sub(before);
        println!(
            "   {second:>4}  {:>8}  {:>8}  {:>9}  {:>8}",
            offered - last.0,
            accepted - last.1,
            done - last.2,
            accepted.saturating_sub(done)
        );
        last = (offered, accepted, done);
        if workers.iter().all(|w| w.is_finished()) {
            break done;
        }
    };
    let load_lasted = Duration::from_secs(second);
    let told_while_loaded = receiver.as_ref().map_or(0, Receiver::received);
    for worker in workers {
        worker.await.map_err(std::io::Error::other)?;
    }
    let accepted = progress.accepted.load(Ordering::Relaxed);
    let backlog_at_end = accepted.saturating_sub(processed(&target).await?.saturating_sub(before));
    let drain_started = Instant::now();
    let drained = loop {
        if processed(&target).await?.saturating_sub(before) >= accepted {
            break Some(drain_started.elapsed());
        }
        if drain_started.elapsed() > Duration::from_secs(args.drain_timeout) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let secs = load_lasted.as_secs_f64().max(f64::EPSILON);
    report::print(
        &format!("{}: acknowledgements", args.label),
        load_lasted,
        &tally.outcomes(),
        "accepted",
        &tally.acks(),
    );
    println!(
        "   processed while the load lasted: {during} ({:.0}/s, {:.0}% of accepted); backlog at the end {backlog_at_end}",
        during as f64 / secs,
        100.0 * during as f64 / accepted.max(1) as f64
    );
    match drained {
        Some(took) => println!(
            "   backlog drained {:.1} s after the load ({:.0}/s)",
            took.as_secs_f64(),
            backlog_at_end as f64 / took.as_secs_f64().max(f64::EPSILON)
        ),
        None => println!(
            "   backlog not drained {} s after the load",
            args.drain_timeout
        ),
    }
    if let Some(receiver) = &receiver {
        report_outbound(receiver, told_while_loaded, load_lasted, accepted).await;
    }
    print_cycles(&target).await
}

/// Messages the platform's backend got (waiting up to a minute for the last ones) and the
/// latency from each webhook's due time to its `payment.updated`.
async fn report_outbound(receiver: &Receiver, while_loaded: u64, lasted: Duration, accepted: u64) {
    let waited = Instant::now();
    while receiver.received() < accepted && waited.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut latency = report::histogram();
    for each in receiver.latencies() {
        report::record(&mut latency, each);
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "   outbound: {} messages received ({while_loaded} while the load lasted, {:.0}/s), {} refused; the last {:.1} s after the load",
        receiver.received(),
        while_loaded as f64 / lasted.as_secs_f64().max(f64::EPSILON),
        receiver.refused(),
        waited.elapsed().as_secs_f64()
    );
    println!(
        "   webhook → platform backend: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} messages)",
        ms(0.5),
        ms(0.99),
        latency.max() as f64 / 1000.0,
        latency.len()
    );
}

/// The server's write cycles over its whole life (this run, on a fresh server), by kind: how many,
/// how long each took and what each carried, to tell a slow cycle from a starved one.
async fn print_cycles(target: &Target) -> std::io::Result<()> {
    for (kind, carried, what) in [
        ("webhooks", "cobro_write_cycle_events_sum", "webhooks"),
        (
            "pipeline",
            "cobro_write_cycle_writes_sum",
            "pipeline writes",
        ),
    ] {
        let cycles = metric_f64(
            target,
            &format!("cobro_write_cycle_seconds_count{{kind=\"{kind}\"}}"),
        )
        .await?;
        if cycles == 0.0 {
            continue;
        }
        let seconds = metric_f64(
            target,
            &format!("cobro_write_cycle_seconds_sum{{kind=\"{kind}\"}}"),
        )
        .await?;
        let items = metric_f64(target, carried).await?;
        println!(
            "   writer, {kind} cycles: {cycles:.0} taking {seconds:.1} s in all, {:.2} ms each on average, {:.1} {what} each",
            1000.0 * seconds / cycles,
            items / cycles
        );
    }
    Ok(())
}
