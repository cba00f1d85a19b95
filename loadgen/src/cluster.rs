//! The cluster scenario (issue 8): for each size in `--nodes` (1, 2, 3), `cobro serve` processes
//! on one fresh PostgreSQL database; webhooks at a fixed total rate, round robin over the nodes
//! (as a load balancer would spread them); reports acknowledgement latency (from when each request
//! was due), events brought to `success` per second while the load lasts and until the backlog is
//! gone, and, from two nodes up, the take-over time after one node is killed with SIGKILL. Needs
//! the instant MercadoPago fake and `psql` (to create the database).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ingest::{Tally, Target, first_sequence};
use crate::report;
use crate::setup::{ensure_tenants, json_of, metric};

#[derive(clap::Args)]
pub struct ClusterArgs {
    /// The `cobro` binary the nodes run.
    #[arg(long, default_value = "target/release/cobro")]
    cobro: String,
    /// A PostgreSQL URL whose server gets a fresh database `cobro_cluster_bench` per size; its
    /// options (`?sslmode=disable`) are the nodes' too.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres: String,
    /// MercadoPago base the nodes call (`cobro-load fake-mp`).
    #[arg(long, default_value = "http://127.0.0.1:9091")]
    mp: String,
    /// Cluster sizes to measure, in turn.
    #[arg(long, default_value = "1,2,3", value_delimiter = ',')]
    nodes: Vec<usize>,
    #[arg(long, default_value_t = 50)]
    tenants: u64,
    #[arg(long, default_value_t = 500_000)]
    first_user_id: u64,
    /// Webhooks per second offered, in total.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value = "bench-admin")]
    admin_token: String,
    #[arg(long, default_value = "bench-secret")]
    secret: String,
    #[arg(long, default_value_t = 18100)]
    first_port: u16,
}

const DATABASE: &str = "cobro_cluster_bench";

/// The nodes of one run; killed (SIGKILL) when dropped.
struct Nodes(Vec<(Child, Arc<Target>)>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for (child, _) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub async fn run(args: ClusterArgs) -> std::io::Result<()> {
    for &size in &args.nodes {
        fresh_database(&args.postgres)?;
        let nodes = start_nodes(&args, size).await?;
        let first = &nodes.0[0].1;
        let tenants = ensure_tenants(first, args.tenants, args.first_user_id).await?;
        settled(first, size, args.tenants).await?;
        println!("== cluster of {size} node(s), {} tenants", tenants.len());
        let users: Vec<u64> = tenants.iter().map(|t| t.mp_user_id).collect();
        load(&args, &nodes, &users).await?;
        if size >= 2 {
            take_over(nodes, size, args.tenants).await?;
        }
    }
    Ok(())
}

fn fresh_database(url: &str) -> std::io::Result<()> {
    let status = Command::new("psql")
        .arg(url)
        .args([
            "-qc",
            &format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"),
        ])
        .args(["-qc", &format!("CREATE DATABASE {DATABASE}")])
        .stdout(Stdio::null())
        .status()?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| std::io::Error::other("psql could not create the benchmark database"))
}

async fn start_nodes(args: &ClusterArgs, size: usize) -> std::io::Result<Nodes> {
    // The nodes get the same server and options (e.g. `?sslmode=disable`), another database.
    let (server, options) = match args.postgres.split_once('?') {
        Some((server, options)) => (server, format!("?{options}")),
        None => (args.postgres.as_str(), String::new()),
    };
    let (base, _) = server
        .rsplit_once('/')
        .ok_or_else(|| std::io::Error::other("--postgres needs a database name"))?;
    let database_url = format!("{base}/{DATABASE}{options}");
    let mut nodes = Nodes(Vec::new());
    for i in 0..size {
        let port = args.first_port + i as u16;
        let child = Command::new(&args.cobro)
            .arg("serve")
            .env("COBRO_BIND", format!("127.0.0.1:{port}"))
            .env("COBRO_NODE_ID", format!("bench-{i}"))
            .env("COBRO_DATABASE_URL", &database_url)
            .env("COBRO_ADMIN_TOKEN", &args.admin_token)
            .env("COBRO_MP_API_BASE", &args.mp)
            .env("COBRO_INGEST_PER_TENANT_PER_SECOND", "0")
            .env("COBRO_MP_REQUESTS_PER_SECOND", "100000")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let target = Arc::new(Target {
            url: format!("http://127.0.0.1:{port}"),
            admin_token: Some(args.admin_token.clone()),
            secret: args.secret.clone(),
            stripe_secret: String::new(),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(args.connections)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        });
        nodes.0.push((child, target));
    }
    for (_, target) in &nodes.0 {
        wait_ready(target).await?;
    }
    Ok(nodes)
}

async fn wait_ready(target: &Target) -> std::io::Result<()> {
    for _ in 0..400 {
        let ready = target
            .http
            .get(format!("{}/ready", target.url))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(std::io::Error::other(format!(
        "{} never became ready",
        target.url
    )))
}

/// Live nodes and tenants owned, as `target` sees the cluster.
async fn ownership(target: &Target) -> std::io::Result<(usize, i64)> {
    let admin = target.admin_token.clone().unwrap_or_default();
    let view = json_of(
        target
            .http
            .get(format!("{}/api/cluster", target.url))
            .bearer_auth(admin),
    )
    .await?;
    let nodes = view["nodes"].as_array().cloned().unwrap_or_default();
    let live: Vec<_> = nodes.iter().filter(|n| n["alive"] == true).collect();
    let owned = live
        .iter()
        .filter_map(|n| n["tenants_owned"].as_i64())
        .sum();
    Ok((live.len(), owned))
}

/// Waits until `size` nodes are live and own every tenant; answers how long that took.
async fn settled(target: &Target, size: usize, tenants: u64) -> std::io::Result<Duration> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if ownership(target).await? == (size, tenants as i64) {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(std::io::Error::other("the cluster never settled"))
}

/// Events in `success`, counted by the database (any node's `/metrics` shows them all).
async fn successes(target: &Target) -> std::io::Result<u64> {
    metric(target, "cobro_events{status=\"success\"}").await
}

async fn load(args: &ClusterArgs, nodes: &Nodes, users: &[u64]) -> std::io::Result<()> {
    let targets: Vec<Arc<Target>> = nodes.0.iter().map(|(_, t)| t.clone()).collect();
    let before = successes(&targets[0]).await?;
    let tally = Tally::new();
    let period = Duration::from_secs_f64(1.0 / args.rate.max(1) as f64);
    let started = Instant::now();
    let mut seq = first_sequence();
    let mut sends = Vec::new();
    let mut n: u64 = 0;
    while started.elapsed() < Duration::from_secs(args.duration) {
        let due = started + period.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        seq += 1;
        let target = targets[(n % targets.len() as u64) as usize].clone();
        let user = users[(seq % users.len() as u64) as usize];
        let tally = tally.clone();
        sends.push(tokio::spawn(async move {
            tally.send(&target, user, seq, due).await;
        }));
        n += 1;
    }
    let offered_for = started.elapsed();
    let during = successes(&targets[0]).await?.saturating_sub(before);
    futures_util::future::join_all(sends).await;
    let outcomes = tally.outcomes();
    let accepted = outcomes.get("accepted").copied().unwrap_or(0);
    while successes(&targets[0]).await?.saturating_sub(before) < accepted {
        if started.elapsed() > offered_for + Duration::from_secs(120) {
            println!("   backlog not drained after 120 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_done = started.elapsed();
    let hist = tally.acks();
    let label = format!(
        "ingest over {} node(s), {}/s offered",
        targets.len(),
        args.rate
    );
    report::print(&label, offered_for, &outcomes, "accepted", &hist);
    let secs = offered_for.as_secs_f64().max(f64::EPSILON);
    println!(
        "   processed to success while the load lasted: {during} ({:.0}/s); all {accepted} after {:.1} s ({:.0}/s overall)",
        during as f64 / secs,
        all_done.as_secs_f64(),
        accepted as f64 / all_done.as_secs_f64().max(f64::EPSILON)
    );
    Ok(())
}

/// Kills the last node with SIGKILL and times how long until the survivors own every tenant.
async fn take_over(mut nodes: Nodes, size: usize, tenants: u64) -> std::io::Result<()> {
    let (mut victim, _) = nodes
        .0
        .pop()
        .ok_or_else(|| std::io::Error::other("no node to kill"))?;
    let killed = Instant::now();
    victim.kill()?;
    let _ = victim.wait();
    settled(&nodes.0[0].1, size - 1, tenants).await?;
    println!(
        "   take-over after SIGKILL of one node: every tenant owned by the {} survivor(s) after {:.0} ms (polled every 20 ms)",
        size - 1,
        killed.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
