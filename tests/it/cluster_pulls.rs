//! Issue 10: the tenant actors' pulls are read together (`cobro::store::pending_reads`), one statement
//! for every pull waiting, each pull answered as if read alone. PostgreSQL only (SQLite never
//! pulls); straight against a database of the test's own, with nothing else running.

use cobro::domain::TenantId;
use cobro::store::pending_reads::PendingReads;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use crate::utils::TestDb;
use crate::utils::cluster::postgres;

async fn tenant(pool: &PgPool, n: u32) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tenants (id, name, admin_token_hash, created_at, updated_at)
         VALUES ($1, $2, $3, now(), now())",
    )
    .bind(id)
    .bind(format!("shop {n}"))
    .bind(format!("hash-{n}"))
    .execute(pool)
    .await
    .expect("tenant");
    id
}

/// An event of `tenant` in `status`; answers its id and `seq`.
async fn event(pool: &PgPool, tenant: Uuid, n: u32, status: &str) -> (Uuid, i64) {
    let id = Uuid::now_v7();
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO webhook_events (id, tenant_id, notification_id, webhook_type, action,
             mp_payment_id, raw_payload, status, processed, attempts, max_attempts, created_at)
         VALUES ($1, $2, $3, 'payment', 'payment.updated', $4, '{}', $5, false, 0, 5, now())
         RETURNING seq",
    )
    .bind(id)
    .bind(tenant)
    .bind(format!("n-{n}"))
    .bind(n.to_string())
    .bind(status)
    .fetch_one(pool)
    .await
    .expect("event");
    (id, seq)
}

#[tokio::test]
async fn pulls_waiting_together_are_answered_by_one_read_each_as_if_alone() {
    if !postgres() {
        return;
    }
    let db = TestDb::new().await;
    let conn = sea_orm::Database::connect(&db.url).await.expect("connect");
    cobro::store::db::migrate(&conn).await.expect("migrate");
    let pool = conn.get_postgres_connection_pool().clone();
    let (a, b, idle) = (
        tenant(&pool, 1).await,
        tenant(&pool, 2).await,
        tenant(&pool, 3).await,
    );
    let mut a_pending = Vec::new();
    for n in 0..5 {
        a_pending.push(event(&pool, a, n, "pending").await);
        event(&pool, a, 100 + n, "success").await;
    }
    let mut b_pending = Vec::new();
    for n in 10..13 {
        b_pending.push(event(&pool, b, n, "pending").await);
    }
    let ids = |events: &[(Uuid, i64)]| events.iter().map(|e| e.0).collect::<Vec<_>>();

    let reads = PendingReads::start(pool.clone());
    // Queued before the reading task can run (this runtime has one thread): one read for all.
    let first_two_of_a = reads.after(TenantId(a), 0, 2);
    let all_of_b = reads.after(TenantId(b), 0, 1000);
    let rest_of_a = reads.after(TenantId(a), a_pending[1].1, 1000);
    let nothing = reads.after(TenantId(idle), 0, 1000);
    let answers = futures_util::future::join4(first_two_of_a, all_of_b, rest_of_a, nothing).await;
    let answer = |r: Result<Vec<cobro::store::cluster::PendingEvent>, _>| {
        r.expect("answered")
            .into_iter()
            .map(|e| e.id.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        answer(answers.0),
        ids(&a_pending[..2]),
        "limit and arrival order"
    );
    assert_eq!(
        answer(answers.1),
        ids(&b_pending),
        "another tenant's own events only"
    );
    assert_eq!(
        answer(answers.2),
        ids(&a_pending[2..]),
        "after the cursor, pending only"
    );
    assert_eq!(answer(answers.3), Vec::<Uuid>::new());
    assert_eq!(reads.reads(), 1, "four pulls waiting, one read");

    // A pull asked for after a read is answered by a read that started after it.
    let later = event(&pool, b, 20, "pending").await;
    let again = reads.after(TenantId(b), b_pending[2].1, 1000).await;
    assert_eq!(answer(again), vec![later.0]);
    assert_eq!(reads.reads(), 2);
}
