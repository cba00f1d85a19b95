//! Issue 8, SPEC §13, exclusivity: a node that lost a tenant (paused past its lease, or taken
//! over) writes nothing for it, and SQLite, which has no leases, stays single-node.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::utils::chaos::Chaos;
use crate::utils::cluster::*;
use crate::utils::process::{spawn_cobro, wait_ready};
use crate::utils::{ADMIN, TestDb};

#[actix_web::test]
async fn a_paused_node_writes_nothing_for_the_tenant_it_lost() {
    if !postgres() {
        return;
    }
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::from_millis(10), 9).await;
    chaos.set_payment_rule(payment_rule);
    let http = client();
    let mut nodes = vec![
        Node::start(&db, &chaos, "node-a", 3_000),
        Node::start(&db, &chaos, "node-b", 3_000),
    ];
    for node in &nodes {
        wait_ready(&http, node.url()).await;
    }
    let tenants = create_tenants(&http, nodes[0].url(), 1).await;
    settled(&http, nodes[0].url(), &["node-a", "node-b"], &tenants).await;

    // The first fetch is slow and would say "rejected"; any later fetch says "approved" at once.
    // The owner is whichever node makes that first fetch (on a loaded machine a short lease can
    // move once before the webhook arrives).
    let payment = payment_id(0, 1);
    chaos.script_payment(&payment, vec![(Duration::from_millis(1000), "rejected")]);
    let event = deliver_somewhere(&http, &[nodes[0].url().to_owned()], 0, 0, 1).await;
    let fetcher = || {
        ["node-a", "node-b"]
            .into_iter()
            .position(|name| chaos.payments_fetched_by(name).contains(&payment))
    };
    assert!(
        crate::utils::poll(|| async { fetcher().is_some() }).await,
        "the owner started fetching"
    );
    let owner = fetcher().expect("a fetcher");
    let other = 1 - owner;
    let owner_name = nodes[owner].name.clone();
    // Paused mid-call, past its lease: the other node takes the tenant and does the work.
    nodes[owner].signal("STOP");
    all_succeed(
        &http,
        nodes[other].url(),
        &[(tenants[0].clone(), event.clone())],
        Duration::from_secs(20),
    )
    .await;
    nodes[owner].signal("CONT");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let stored = admin_get(
        &http,
        format!(
            "{}/api/tenants/{}/payments/{payment}",
            nodes[other].url(),
            tenants[0]
        ),
    )
    .await;
    assert_eq!(
        stored["status"], "APPROVED",
        "the paused node's stale answer was written: {stored}"
    );
    let body = admin_get(
        &http,
        format!(
            "{}/api/tenants/{}/events/{event}",
            nodes[other].url(),
            tenants[0]
        ),
    )
    .await;
    assert_eq!(body["status"], "success", "{body}");
    assert_eq!(
        chaos.calls_of(&owner_name),
        1,
        "the paused node called MercadoPago again after it lost the tenant"
    );
    assert_eq!(chaos.overlaps(), HashMap::new());
    for node in &mut nodes {
        node.kill();
    }
}

#[actix_web::test]
async fn a_second_process_on_one_sqlite_file_refuses_to_start() {
    if postgres() {
        return;
    }
    let db = TestDb::new().await;
    let http = client();
    let mut first = spawn_cobro(&db.url, "http://127.0.0.1:9", "http://127.0.0.1:9", &[]);
    wait_ready(&http, &first.url).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("serve")
        .env_remove("COBRO_CONFIG")
        .env("COBRO_BIND", format!("127.0.0.1:{port}"))
        .env("COBRO_DATABASE_URL", &db.url)
        .env("RUST_LOG", "error")
        .output()
        .expect("second cobro runs");
    assert!(
        !second.status.success(),
        "the second process must not start"
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one clear line: {stderr}");
    assert!(
        lines[0].contains("another Cobro process is already serving"),
        "{stderr}"
    );
    // The first one runs on.
    let ready = http
        .get(format!("{}/ready", first.url))
        .send()
        .await
        .expect("ready");
    assert!(ready.status().is_success());
    let _ = first.child.kill();
    let _ = first.child.wait();
}

/// The fence itself, without the lease clock in front of it: a node whose lease was taken over
/// writes nothing, even though nothing stopped it from trying.
#[actix_web::test]
async fn a_write_under_a_taken_over_lease_is_refused_and_changes_nothing() {
    use cobro::domain::TenantId;
    use cobro::lease::FenceToken;
    use cobro::provider::mercadopago::payment::read;
    use cobro::writer::{PaymentUpdate, WriteError};
    use sea_orm::{ConnectionTrait, Database};

    if !postgres() {
        return;
    }
    let app = crate::utils::TestApp::spawn().await;
    let tenant = app.create_tenant("2079614828", None).await;
    let tenant_id = TenantId(uuid::Uuid::parse_str(&tenant.id).expect("uuid"));
    let cluster = app
        .state
        .cluster
        .clone()
        .expect("PostgreSQL runs a cluster");
    let held = || cluster.held.get(&tenant_id).map(|f| f.token);
    assert!(
        crate::utils::poll(|| async { held().is_some() }).await,
        "the node takes its tenant"
    );
    let stale = held().expect("held");

    // Another node takes the lease over (as a take-over after this node was seen dead does).
    let db = Database::connect(&app.db.url).await.expect("connect");
    db.execute_unprepared(&format!(
        "UPDATE tenant_leases SET owner_node = 'intruder', fence = fence + 1 WHERE tenant_id = '{}'",
        tenant.id
    ))
    .await
    .expect("take over");

    let update = |payment: &str| PaymentUpdate {
        tenant: tenant_id,
        event_id: cobro::domain::EventId(uuid::Uuid::nil()),
        payment_id: payment.to_owned(),
        snapshot: read(crate::utils::payment(
            payment,
            "approved",
            "2079614828",
            None,
        ))
        .expect("payment"),
        wants_tag: true,
        started: Instant::now(),
    };
    let lease = |token| {
        Some(FenceToken {
            tenant: tenant_id,
            token,
        })
    };
    let refused = app
        .state
        .services
        .writer
        .store_payment(lease(stale), update("555001"), Vec::new())
        .await;
    assert!(
        matches!(refused, Err(WriteError::LeaseLost(_))),
        "a stale fence must be refused"
    );
    let (code, _) = app
        .get(
            &format!("/api/tenants/{}/payments/555001", tenant.id),
            ADMIN,
        )
        .await;
    assert_eq!(code, 404, "nothing was written under the stale fence");

    // The intruder is no live node: this node takes the tenant back under a new fence, and a
    // write under that one lands (so the refusal above was the fence's doing).
    assert!(
        crate::utils::poll(|| async { held().is_some_and(|f| f > stale + 1) }).await,
        "the node takes its tenant back"
    );
    let current = held().expect("held");
    app.state
        .services
        .writer
        .store_payment(lease(current), update("555002"), Vec::new())
        .await
        .expect("a write under the current fence lands");
    let (code, _) = app
        .get(
            &format!("/api/tenants/{}/payments/555002", tenant.id),
            ADMIN,
        )
        .await;
    assert_eq!(code, 200);
}
