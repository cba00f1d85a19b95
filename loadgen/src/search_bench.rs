//! `cobro-search-bench`: issue 13's search on a million events. Fills a fresh database (SQLite
//! file or PostgreSQL) with `--events` webhook events over the last 30 days, mostly for one busy
//! tenant, with a payment per event (buyer emails, orders), then runs each kind of search the
//! dashboard makes through the same `store::search` functions the API uses, `--runs` times with
//! varying values, and prints p50/p95/max per kind. Not part of CI (it takes minutes).
//!
//!   cargo run --release -p cobro-loadgen --bin cobro-search-bench -- --database-url sqlite:///tmp/s.db?mode=rwc
//!   ... -- --database-url postgres://postgres@127.0.0.1:5432/search_bench

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Parser;
use cobro::domain::TenantId;
use cobro::store::PageQuery;
use cobro::store::search::{self, Filter};
use hdrhistogram::Histogram;
use sea_orm::ActiveValue::Set;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

#[derive(Parser)]
struct Args {
    /// A fresh database: `sqlite://<file>?mode=rwc` or `postgres://...` (it is filled).
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Searches per kind.
    #[arg(long, default_value_t = 200)]
    runs: u64,
}

const TENANTS: u64 = 10;
const EMAILS: u64 = 50_000;
/// Rows per insert: 22 columns each stays under SQLite's 32,766 bound variables.
const BATCH: u64 = 1_000;
const DAYS: i64 = 30;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let db = Database::connect(&args.database_url).await?;
    if args.database_url.starts_with("sqlite") {
        db.execute_unprepared("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .await?;
    }
    cobro::store::db::migrate(&db).await?;
    let tenants = create_tenants(&db).await?;
    let started = Instant::now();
    fill(&db, &tenants, args.events).await?;
    println!(
        "filled {} events and payments in {:.0?}",
        args.events,
        started.elapsed()
    );
    // Both databases plan from statistics; gather them as a production database would have.
    db.execute_unprepared("ANALYZE").await?;
    let busy = TenantId(tenants[0]);
    println!("kind                     p50 ms   p95 ms   max ms   rows (last run)");
    for kind in KINDS {
        measure(&db, busy, kind, args.runs).await?;
    }
    Ok(())
}

async fn create_tenants(db: &DatabaseConnection) -> Result<Vec<Uuid>, sea_orm::DbErr> {
    let mut ids = Vec::new();
    for n in 0..TENANTS {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let row = entity::tenant::ActiveModel {
            id: Set(id),
            name: Set(format!("bench {n}")),
            allow_unsigned: Set(true),
            ghl_api_key: Set(None),
            ghl_location_id: Set(None),
            ghl_tag: Set(None),
            admin_token_hash: Set(format!("bench-{id}")),
            created_at: Set(now),
            updated_at: Set(now),
        };
        entity::tenant::Entity::insert(row).exec(db).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// A UUIDv7 of a moment `n / total` of the way through the last 30 days.
fn id_at(n: u64, total: u64) -> (Uuid, DateTime<Utc>) {
    let span = chrono::Duration::days(DAYS).num_milliseconds() as f64;
    let at = Utc::now() - chrono::Duration::days(DAYS)
        + chrono::Duration::milliseconds((span * n as f64 / total as f64) as i64);
    let seconds = u64::try_from(at.timestamp()).unwrap_or_default();
    let id = Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        seconds,
        at.timestamp_subsec_nanos(),
    ));
    (id, at)
}

/// 90 % of the events are the busy tenant's, the rest spread over the others.
fn tenant_of(n: u64, tenants: &[Uuid]) -> Uuid {
    match n % 10 {
        0 => tenants[1 + (n / 10 % (TENANTS - 1)) as usize],
        _ => tenants[0],
    }
}

async fn fill(db: &DatabaseConnection, tenants: &[Uuid], total: u64) -> Result<(), sea_orm::DbErr> {
    let mut n = 0;
    while n < total {
        let txn = db.begin().await?;
        let end = (n + BATCH).min(total);
        let (events, payments): (Vec<_>, Vec<_>) =
            (n..end).map(|i| rows(i, total, tenants)).unzip();
        entity::payment::Entity::insert_many(payments)
            .exec(&txn)
            .await?;
        entity::webhook_event::Entity::insert_many(events)
            .exec(&txn)
            .await?;
        txn.commit().await?;
        n = end;
        if n % 100_000 == 0 {
            println!("  {n} events");
        }
    }
    Ok(())
}

fn rows(
    i: u64,
    total: u64,
    tenants: &[Uuid],
) -> (
    entity::webhook_event::ActiveModel,
    entity::payment::ActiveModel,
) {
    let (id, at) = id_at(i, total);
    let tenant = tenant_of(i, tenants);
    let mp_payment_id = format!("{}", 10_000_000_000u64 + i);
    let email = format!("buyer{}@example.com", i % EMAILS);
    let status = ["success", "success", "success", "failed", "pending"][(i % 5) as usize];
    let action = ["payment.created", "payment.updated"][(i % 2) as usize];
    let event = entity::webhook_event::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        provider: Set("mercadopago".into()),
        notification_id: Set(format!("n{i}")),
        request_id: Set(None),
        webhook_type: Set("payment".into()),
        action: Set(action.into()),
        mp_payment_id: Set(mp_payment_id.clone()),
        payment_id: Set(None),
        raw_payload: Set(json!({"id": i, "type": "payment", "data": {"id": mp_payment_id}})),
        status: Set(status.into()),
        processed: Set(status == "success"),
        attempts: Set(1),
        max_attempts: Set(4),
        last_error: Set(None),
        error_details: Set(None),
        created_at: Set(at),
        processed_at: Set(None),
        next_retry_at: Set(None),
        processing_ms: Set(Some(12)),
        resource_type: Set("payment".into()),
        resource_id: Set(Some(mp_payment_id.clone())),
        resource_version: Set(None),
        remote_addr: Set(None),
        body_bytes: Set(None),
        ack_ms: Set(None),
        trace_context: Set(None),
    };
    let payment = entity::payment::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant),
        provider: Set("mercadopago".into()),
        mp_payment_id: Set(mp_payment_id),
        status: Set("APPROVED".into()),
        mp_status: Set("approved".into()),
        status_detail: Set(Some("accredited".into())),
        transaction_amount: Set(Some(100.0 + (i % 900) as f64)),
        currency_id: Set(Some("ARS".into())),
        payer_email: Set(Some(email)),
        payer_name: Set(Some("Bench Buyer".into())),
        payment_method: Set(Some("visa".into())),
        payment_type: Set(Some("credit_card".into())),
        external_reference: Set(Some(format!("order-{}", i / 3))),
        order_id: Set(None),
        date_created: Set(None),
        date_approved: Set(None),
        date_last_updated: Set(None),
        ghl_contact_id: Set(None),
        ghl_tagged_at: Set(None),
        raw: Set(json!({"id": i})),
        amount_decimal: Set(None),
        refunded_amount: Set(None),
        fraud_alert: Set(false),
        fraud_acknowledged_at: Set(None),
        dispute: Set(None),
        claim: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    (event, payment)
}

/// The searches a seller's admin makes.
const KINDS: [&str; 8] = [
    "events, newest page",
    "events by status",
    "events by action",
    "events by payment id",
    "events by buyer email",
    "events by order id",
    "events in one day",
    "payments by email",
];

fn filter_for(kind: &str, run: u64) -> Filter {
    // Values of the busy tenant (every event index not divisible by 10).
    let i = run * 7919 % 900_000 / 9 * 10 + 1;
    let mut filter = Filter::default();
    match kind {
        "events by status" => filter.status = Some("failed".into()),
        "events by action" => filter.action = Some("payment.created".into()),
        "events by payment id" => filter.mp_payment_id = Some(format!("{}", 10_000_000_000u64 + i)),
        "events by buyer email" | "payments by email" => {
            filter.email = Some(format!("buyer{}@example.com", i % EMAILS));
        }
        "events by order id" => filter.order_id = Some(format!("order-{}", i / 3)),
        "events in one day" => {
            let from = Utc::now() - chrono::Duration::days(1 + (run % 28) as i64);
            filter.from = Some(from);
            filter.to = Some(from + chrono::Duration::days(1));
        }
        _ => {}
    }
    filter
}

async fn measure(
    db: &DatabaseConnection,
    tenant: TenantId,
    kind: &str,
    runs: u64,
) -> Result<(), sea_orm::DbErr> {
    let mut latency =
        Histogram::<u64>::new(3).map_err(|e| sea_orm::DbErr::Custom(e.to_string()))?;
    let mut rows = 0;
    let page = PageQuery {
        limit: Some(50),
        cursor: None,
    };
    for run in 0..runs {
        let filter = filter_for(kind, run);
        let started = Instant::now();
        rows = match kind {
            "payments by email" => search::payments(db, tenant, &filter, &page)
                .await?
                .items
                .len(),
            _ => search::events(db, tenant, &filter, &page)
                .await?
                .items
                .len(),
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let _ = latency.record(micros.max(1));
    }
    let ms = |q: f64| Duration::from_micros(latency.value_at_quantile(q)).as_secs_f64() * 1e3;
    println!(
        "{kind:<24} {:>7.2} {:>8.2} {:>8.2}   {rows}",
        ms(0.5),
        ms(0.95),
        ms(1.0)
    );
    Ok(())
}
