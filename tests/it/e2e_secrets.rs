//! SPEC §16, issue 11: tenant secrets at rest. With `COBRO_SECRET_KEY` the MercadoPago token,
//! the webhook secret and the GoHighLevel key are sealed in the database and used as given;
//! plain values are sealed at start; a wrong key stops start-up with one line; `cobro secrets
//! rotate` re-seals everything under a new key. On SQLite and PostgreSQL (the suite's database).

use std::process::{Command, Output};
use std::time::Duration;

use base64::Engine;
use sea_orm::{Database, EntityTrait};

use crate::utils::process::{spawn_cobro, wait_exit, wait_ready};
use crate::utils::{SECRET, TestApp, TestDb};

const SELLER: &str = "2079614828";

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

/// The secret columns of the only tenant and its accounts, as stored.
async fn stored_secrets(db_url: &str) -> Vec<String> {
    let conn = Database::connect(db_url).await.expect("database");
    let tenants = entity::tenant::Entity::find()
        .all(&conn)
        .await
        .expect("tenants");
    let accounts = entity::tenant_account::Entity::find()
        .all(&conn)
        .await
        .expect("accounts");
    let of_accounts = accounts
        .into_iter()
        .flat_map(|a| [Some(a.access_token), a.refresh_token, a.webhook_secret]);
    tenants
        .into_iter()
        .map(|t| t.ghl_api_key)
        .chain(of_accounts)
        .flatten()
        .collect()
}

fn all_sealed(values: &[String]) -> bool {
    !values.is_empty() && values.iter().all(|v| v.starts_with("enc:v1:"))
}

fn cobro(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    crate::utils::process::run_cobro(&db.url, args, env)
}

/// `cobro serve` that must refuse to start: its stderr. Killed (and the test failed) if it is
/// still running after 20 s, so a regression fails rather than hangs.
async fn serve_refused(db: &TestDb, env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cobro"));
    command
        .arg("serve")
        .env("COBRO_DATABASE_URL", &db.url)
        .env("COBRO_BIND", "127.0.0.1:0")
        .env("COBRO_ADMIN_TOKEN", crate::utils::ADMIN)
        .env_remove("COBRO_CONFIG")
        .env_remove("COBRO_SECRET_KEY")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("cobro runs");
    let exited = wait_exit(&mut child, Duration::from_secs(20)).await;
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("cobro started although it should have refused");
    }
    assert!(exited.is_some_and(|status| !status.success()));
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    stderr
}

/// `cobro serve` with this key becomes ready; then it is stopped.
async fn starts_with_key(db: &TestDb, key: &str) {
    let unused = "http://127.0.0.1:9";
    let mut server = spawn_cobro(&db.url, unused, unused, &[("COBRO_SECRET_KEY", key)]);
    wait_ready(&reqwest::Client::new(), &server.url).await;
    server.child.kill().expect("kill");
    assert!(
        wait_exit(&mut server.child, Duration::from_secs(5))
            .await
            .is_some()
    );
}

#[actix_web::test]
async fn sealed_at_rest_and_used_as_given() {
    let app = TestApp::spawn_with(&[("secret_key", &key(1))]).await;
    let tenant = app.create_tenant(SELLER, Some("cliente")).await;
    let stored = stored_secrets(&app.db.url).await;
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(all_sealed(&stored), "{stored:?}");
    for value in &stored {
        assert!(
            !value.contains("APP_USR") && !value.contains(SECRET) && !value.contains("ghl-key")
        );
    }

    // A signed webhook verifies against the opened secret, and MP and GHL get the plain values.
    app.mp_serves("150211668619", "approved", SELLER, None)
        .await;
    app.ghl_accepts().await;
    let (status, answer) = app.webhook(SELLER, "150211668619", 1).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let event = answer["event_id"].as_str().expect("event id");
    app.wait_status(&tenant, event, "success").await;
    let mp_calls = app.mp.received_requests().await.unwrap_or_default();
    let bearer = mp_calls[0]
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    assert_eq!(bearer, Some(format!("Bearer APP_USR-{SELLER}").as_str()));
    let ghl_calls = app.ghl.received_requests().await.unwrap_or_default();
    assert!(ghl_calls.iter().all(|r| {
        r.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer ghl-key")
    }));

    // A PATCH seals what it writes too.
    let (status, _) = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/tenants/{}", tenant.id),
            Some(crate::utils::ADMIN),
            Some(serde_json::json!({ "mp_access_token": "APP_USR-rotated" })),
        )
        .await;
    assert_eq!(status, 200);
    let stored = stored_secrets(&app.db.url).await;
    assert!(all_sealed(&stored), "{stored:?}");
}

#[actix_web::test]
async fn plain_values_are_sealed_at_start_a_wrong_key_stops_it_and_rotation_moves_keys() {
    let db = TestDb::new().await;
    // A tenant written without a key: plain.
    let added = cobro(
        &db,
        &[
            "tenant",
            "add",
            "--name",
            "Academia",
            "--mp-user-id",
            SELLER,
            "--mp-access-token",
            "APP_USR-plain",
            "--mp-webhook-secret",
            "whsec-plain",
        ],
        &[],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let plain = stored_secrets(&db.url).await;
    assert_eq!(
        plain,
        vec!["APP_USR-plain".to_owned(), "whsec-plain".to_owned()]
    );

    // Started with key 1: the plain values are sealed.
    starts_with_key(&db, &key(1)).await;
    let sealed = stored_secrets(&db.url).await;
    assert!(all_sealed(&sealed), "{sealed:?}");

    // A wrong key, or none, stops start-up with one line that says what to do.
    let wrong = key(2);
    for env in [vec![("COBRO_SECRET_KEY", wrong.as_str())], vec![]] {
        let stderr = serve_refused(&db, &env).await;
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(lines[0].contains("COBRO_SECRET_KEY"), "{stderr}");
        assert!(
            !stderr.contains("APP_USR") && !stderr.contains("whsec"),
            "{stderr}"
        );
    }

    // Rotation from key 1 to key 3, in one go: key 1 no longer starts it, key 3 does.
    let rotated = cobro(
        &db,
        &["secrets", "rotate", "--new-key", &key(3)],
        &[("COBRO_SECRET_KEY", &key(1))],
    );
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("re-encrypted 2 tenant secrets"));
    let resealed = stored_secrets(&db.url).await;
    assert!(all_sealed(&resealed) && resealed != sealed, "{resealed:?}");
    serve_refused(&db, &[("COBRO_SECRET_KEY", &key(1))]).await;
    starts_with_key(&db, &key(3)).await;

    // A rotation with the wrong current key changes nothing.
    let refused = cobro(
        &db,
        &["secrets", "rotate", "--new-key", &key(4)],
        &[("COBRO_SECRET_KEY", &key(1))],
    );
    assert!(!refused.status.success());
    assert_eq!(stored_secrets(&db.url).await, resealed);
    // The audit trail (SPEC §20): the rotation that happened, by the command line; not the
    // refused one.
    let conn = Database::connect(&db.url).await.expect("database");
    let rotations: Vec<_> = entity::audit_entry::Entity::find()
        .all(&conn)
        .await
        .expect("audit_log")
        .into_iter()
        .filter(|row| row.action == "secrets.rotated")
        .map(|row| (row.actor, row.target))
        .collect();
    assert_eq!(
        rotations,
        [("cli".to_owned(), Some("2 sealed values".to_owned()))]
    );
}

#[actix_web::test]
async fn a_malformed_key_is_a_configuration_error() {
    let db = TestDb::new().await;
    let stderr = serve_refused(&db, &[("COBRO_SECRET_KEY", "too-short")]).await;
    assert!(
        stderr.contains("COBRO_SECRET_KEY") && !stderr.contains("too-short"),
        "{stderr}"
    );
}

#[actix_web::test]
async fn a_tenant_whose_secret_was_damaged_can_be_mended_through_the_api() {
    let app = TestApp::spawn_with(&[("secret_key", &key(5))]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    let conn = Database::connect(&app.db.url).await.expect("database");
    let mut row: entity::tenant_account::ActiveModel = entity::tenant_account::Entity::find()
        .one(&conn)
        .await
        .expect("read")
        .expect("the tenant's account")
        .into();
    row.access_token = sea_orm::ActiveValue::Set("enc:v1:AAAA".into());
    sea_orm::ActiveModelTrait::update(row, &conn)
        .await
        .expect("damaged");
    app.state.services.directory.forget_all();

    let path = format!("/api/tenants/{}", tenant.id);
    let (status, _) = app.get(&path, crate::utils::ADMIN).await;
    assert_eq!(status, 200, "the tenant can still be read");
    let (status, body) = app
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(crate::utils::ADMIN),
            Some(serde_json::json!({ "mp_access_token": "APP_USR-mended" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.mp_serves("150211668619", "approved", SELLER, None)
        .await;
    let (_, answer) = app.webhook(SELLER, "150211668619", 1).await;
    let event = answer["event_id"].as_str().expect("event id");
    app.wait_status(&tenant, event, "success").await;
}

/// Issue 25: an outbound endpoint's signing secret is sealed at rest, used opened (its messages
/// verify under the secret shown once), and re-sealed by a key rotation.
#[actix_web::test]
async fn endpoint_secrets_are_sealed_used_and_rotated() {
    use crate::utils::receiver::Receiver;
    use cobro::secrets::SecretBox;
    let app = TestApp::spawn_with(&[
        ("secret_key", &key(1)),
        ("outbound_allow_private", "true"),
        ("outbound_poll_interval_ms", "100"),
    ])
    .await;
    let tenant = app.create_tenant(SELLER, None).await;
    let receiver = Receiver::start().await;
    let path = format!("/api/tenants/{}/endpoints", tenant.id);
    let (status, created) = app
        .post(
            &path,
            &tenant.token,
            serde_json::json!({ "url": receiver.url() }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap_or_default().to_owned();
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let stored = || async {
        let row = entity::outbound_endpoint::Entity::find_by_id(
            id.parse::<uuid::Uuid>().unwrap_or_default(),
        )
        .one(&app.state.services.db)
        .await
        .expect("read")
        .expect("the endpoint");
        row.secret
    };
    let sealed = stored().await;
    assert!(
        sealed.starts_with("enc:v1:") && !sealed.contains(&secret[6..]),
        "{sealed}"
    );
    let (status, _) = app
        .post(
            &format!("{path}/{id}/test"),
            &tenant.token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 202);
    let arrived = crate::utils::poll(|| async { !receiver.delivered().is_empty() }).await;
    assert!(arrived && receiver.delivered()[0].signed_by(&secret));

    let (old, new) = (
        SecretBox::from_base64(&key(1)).expect("key 1"),
        SecretBox::from_base64(&key(3)).expect("key 3"),
    );
    let by = cobro::store::audit::By::cli();
    cobro::store::tenant_secrets::rotate(&app.state.services.db, &old, &new, &by)
        .await
        .expect("rotation");
    let resealed = stored().await;
    assert_ne!(resealed, sealed);
    assert_eq!(new.open(&resealed).ok().as_deref(), Some(secret.as_str()));
}
