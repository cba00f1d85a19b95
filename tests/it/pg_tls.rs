//! Issue 26: Cobro on PostgreSQL with TLS as production runs it. `sslmode=require` against the
//! run's real server (its connections are encrypted: `pg_stat_ssl` says so), `verify-full` against
//! a CA the test gives it (through [`TlsFront`], whose certificate the test creates), and a wrong
//! CA or a wrong host name refused at start with one clear line. PostgreSQL pass only.

use std::net::SocketAddr;

use sea_orm::{ConnectionTrait, Database, Statement};

use crate::utils::cluster::postgres;
use crate::utils::process::run_cobro;
use crate::utils::tls_front::{TlsFront, unrelated_ca_pem};
use crate::utils::{ADMIN, TestApp, TestDb};

/// The server's address and the test database's name, from a `postgres://` URL.
fn server_and_name(url: &str) -> (SocketAddr, String) {
    let parsed = reqwest::Url::parse(url).expect("database URL");
    let host = parsed.host_str().expect("host");
    let port = parsed.port().unwrap_or(5432);
    let address = format!("{host}:{port}").parse().expect("numeric host");
    (address, parsed.path().trim_start_matches('/').to_owned())
}

/// The same database reached through the front as `host`, with these TLS parameters.
fn through_front(url: &str, host: &str, front: &TlsFront, params: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("database URL");
    parsed.set_host(Some(host)).expect("host");
    parsed.set_port(Some(front.port)).expect("port");
    parsed.set_query(Some(params));
    parsed.to_string()
}

/// A webhook is acknowledged and processed: the database path works end to end.
async fn processes_a_webhook(app: &TestApp) {
    let tenant = app.create_tenant("5500", None).await;
    app.mp_serves("55001", "approved", "5500", None).await;
    let (status, body) = app.webhook("5500", "55001", 1).await;
    assert_eq!(status, 200, "{body}");
    let event_id = body["event_id"].as_str().expect("event id").to_owned();
    app.wait_status(&tenant, &event_id, "success").await;
}

fn pem_file(dir: &tempfile::TempDir, name: &str, pem: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, pem).expect("write PEM");
    path.display().to_string()
}

#[actix_web::test]
async fn require_encrypts_every_connection_to_the_real_server() {
    if !postgres() {
        return;
    }
    let mut db = TestDb::new().await;
    let (_, name) = server_and_name(&db.url);
    db.url = format!("{}?sslmode=require", db.url);
    let admin_url = std::env::var("COBRO_TEST_POSTGRES_URL").expect("admin URL");
    let app = TestApp::spawn_on(db, &[]).await;
    processes_a_webhook(&app).await;

    let admin = Database::connect(&admin_url)
        .await
        .expect("admin connection");
    let counts = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT count(*) FILTER (WHERE s.ssl) AS tls, count(*) FILTER (WHERE NOT s.ssl) AS plain \
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
            [name.into()],
        ))
        .await
        .expect("pg_stat_ssl")
        .expect("one row");
    let tls: i64 = counts.try_get("", "tls").expect("tls");
    let plain: i64 = counts.try_get("", "plain").expect("plain");
    assert!(tls >= 2, "Cobro holds encrypted connections: {tls}");
    assert_eq!(plain, 0, "and no plain one");
    app.stop().await;
}

#[actix_web::test]
async fn verify_full_accepts_the_server_signed_by_the_ca_it_is_given() {
    if !postgres() {
        return;
    }
    let mut db = TestDb::new().await;
    let (server, _) = server_and_name(&db.url);
    let front = TlsFront::start(server).await;
    let dir = tempfile::tempdir().expect("folder");
    let ca = pem_file(&dir, "ca.pem", &front.ca_pem);
    let params = format!("sslmode=verify-full&sslrootcert={ca}");
    db.url = through_front(&db.url, "localhost", &front, &params);
    let app = TestApp::spawn_on(db, &[]).await;
    processes_a_webhook(&app).await;
    assert!(front.handshakes() >= 2, "every connection went through TLS");
    app.stop().await;
}

#[actix_web::test]
async fn verify_full_refuses_a_wrong_ca_or_host_with_one_clear_line() {
    if !postgres() {
        return;
    }
    let db = TestDb::new().await;
    let (server, _) = server_and_name(&db.url);
    let front = TlsFront::start(server).await;
    let dir = tempfile::tempdir().expect("folder");
    let right = pem_file(&dir, "ca.pem", &front.ca_pem);
    let wrong = pem_file(&dir, "other-ca.pem", &unrelated_ca_pem());
    let cases = [
        // Signed by a CA Cobro was not given.
        (
            "localhost",
            format!("sslmode=verify-full&sslrootcert={wrong}"),
            "UnknownIssuer",
        ),
        // Signed by the right CA, for another name than the one Cobro connected to.
        (
            "127.0.0.1",
            format!("sslmode=verify-full&sslrootcert={right}"),
            "not valid for name",
        ),
    ];
    for (host, params, cause) in cases {
        let url = through_front(&db.url, host, &front, &params);
        // Off the test's thread: the front answers on it while the process runs.
        let ran = tokio::task::spawn_blocking(move || {
            let env = [("COBRO_ADMIN_TOKEN", ADMIN), ("COBRO_BIND", "127.0.0.1:0")];
            run_cobro(&url, &["serve"], &env)
        })
        .await
        .expect("cobro ran");
        assert!(!ran.status.success(), "refused to start: {host} {params}");
        let stderr = String::from_utf8_lossy(&ran.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(
            lines[0].contains("cannot open the database") && lines[0].contains("certificate"),
            "says what failed: {stderr}"
        );
        assert!(lines[0].contains(cause), "and why ({cause}): {stderr}");
    }
    assert_eq!(front.handshakes(), 0, "no connection was let through");
}
