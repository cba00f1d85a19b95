//! `cobro-load`: the benchmark tool of docs/BENCHMARKS.md. It drives a running Cobro over HTTP
//! and WebSocket and prints figures; it also serves the two fixtures a benchmark needs beside
//! Cobro: a bare endpoint (the baseline) and an instant MercadoPago fake.

mod cluster;
mod e2e;
mod fixtures;
mod ingest;
mod otlp_sink;
mod outbound;
mod report;
mod setup;
mod sustained;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cobro-load",
    about = "Load generator and benchmark fixtures for Cobro"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the baseline: POST /webhooks/mp parses the JSON body and answers 200.
    Bare(fixtures::ServeArgs),
    /// Serve an instant MercadoPago: GET /v1/payments/{id} answers an approved payment whose
    /// collector is the id's leading digits (ids are `<mp_user_id><9 digits>`).
    FakeMp(fixtures::FakeMpArgs),
    /// Serve a stand-in OpenTelemetry collector: counts the spans exported to /v1/traces.
    OtlpSink(otlp_sink::OtlpSinkArgs),
    /// Send unique signed webhooks flat out or at a fixed rate; report throughput and latency.
    Ingest(ingest::IngestArgs),
    /// Webhook → `paymentStatusUpdated` on a WebSocket client, at a fixed rate across tenants.
    E2e(e2e::E2eArgs),
    /// Create tenants (and optionally wake one actor each); prints the server's RSS if `--pid`.
    Tenants(setup::TenantsArgs),
    /// Webhooks at a fixed rate while Cobro processes them: offered, acknowledged, processed and
    /// backlog each second, acknowledgement latency, drain time.
    Sustained(sustained::SustainedArgs),
    /// 1, 2, 3 nodes on one PostgreSQL: ingest, processing and take-over after SIGKILL.
    Cluster(cluster::ClusterArgs),
}

fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Bare(args) => fixtures::serve_bare(args),
        Command::FakeMp(args) => fixtures::serve_fake_mp(args),
        Command::OtlpSink(args) => otlp_sink::serve(args),
        command => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                match command {
                    Command::Ingest(args) => ingest::run(args).await,
                    Command::E2e(args) => e2e::run(args).await,
                    Command::Tenants(args) => setup::run(args).await,
                    Command::Cluster(args) => cluster::run(args).await,
                    Command::Sustained(args) => sustained::run(args).await,
                    Command::Bare(_) | Command::FakeMp(_) | Command::OtlpSink(_) => Ok(()),
                }
            })
        }
    }
}
