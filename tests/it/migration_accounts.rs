//! Issue 23: the `tenant_accounts` migration on a database filled by the schema before it (the
//! migrations of the last release, run up to `m20261204_000001`): tenants in every connection
//! state with sealed secrets, and their events, payments and orders. After the migration every
//! `mp_*` field reads as before, the secrets still open, nothing that hung off a tenant is gone
//! (SQLite rebuilds `tenants`; a cascade there would empty the other tables), and the server
//! serves: webhooks reach the sellers and are processed with their migrated tokens. The later
//! migrations run too: issue 24's gives the old payments their provider.

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Alias, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::{ADMIN, SECRET, Tenant, TestApp, TestDb, notification, payment, sign};
use cobro::domain::{Provider, TenantId};
use cobro::secrets::SecretBox;
use cobro::store::tenants::hash_token;

/// The migrations of the release before `tenant_accounts`.
const BEFORE_ACCOUNTS: u32 = 6;
const PLATFORM_SECRET: &str = "platform-wide-secret";
const REFUSED: &str = "MercadoPago refused to refresh the seller's token: reconnect";

/// One tenant as the old schema held it.
struct OldTenant {
    name: &'static str,
    /// `None`: created by name alone (`unlinked:<id>` in the old column).
    seller: Option<&'static str>,
    access_token: &'static str,
    refresh_token: Option<&'static str>,
    own_secret: Option<&'static str>,
    connection: &'static str,
    expires_in_days: Option<i64>,
    last_error: Option<&'static str>,
    connected: bool,
}

fn old_tenants() -> Vec<OldTenant> {
    let tenant = |name, seller, access_token, connection| OldTenant {
        name,
        seller,
        access_token,
        refresh_token: None,
        own_secret: None,
        connection,
        expires_in_days: None,
        last_error: None,
        connected: false,
    };
    vec![
        OldTenant {
            own_secret: Some(SECRET),
            ..tenant("manual", Some("1001"), "APP_USR-manual", "manual")
        },
        OldTenant {
            refresh_token: Some("TG-connected"),
            expires_in_days: Some(150),
            connected: true,
            ..tenant("connected", Some("1002"), "APP_USR-connected", "connected")
        },
        tenant("unlinked", None, "", "disconnected"),
        OldTenant {
            refresh_token: Some("TG-failed"),
            expires_in_days: Some(-2),
            last_error: Some(REFUSED),
            connected: true,
            ..tenant("failed", Some("1004"), "APP_USR-failed", "refresh_failed")
        },
        OldTenant {
            last_error: Some("the seller revoked Cobro's access in MercadoPago: reconnect"),
            connected: true,
            ..tenant("revoked", Some("1005"), "APP_USR-revoked", "disconnected")
        },
    ]
}

fn key() -> String {
    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
}

async fn insert(db: &DatabaseConnection, table: &str, row: Vec<(&str, SimpleExpr)>) {
    let (columns, values): (Vec<_>, Vec<_>) = row.into_iter().unzip();
    let statement = Query::insert()
        .into_table(Alias::new(table))
        .columns(columns.into_iter().map(Alias::new))
        .values_panic(values)
        .to_owned();
    db.execute(&statement).await.expect("insert an old row");
}

/// Fills `tenants` (old columns), and gives the first two tenants an event, a payment, an order.
async fn fill(db: &DatabaseConnection, seal: &SecretBox, now: DateTime<Utc>) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for (n, old) in old_tenants().into_iter().enumerate() {
        let id = Uuid::now_v7();
        let seller = old
            .seller
            .map_or_else(|| format!("unlinked:{id}"), str::to_owned);
        let expires = old.expires_in_days.map(|days| now + Duration::days(days));
        let row = vec![
            ("id", id.into()),
            ("name", old.name.into()),
            ("mp_user_id", seller.into()),
            ("mp_access_token", seal.seal(old.access_token).into()),
            (
                "mp_webhook_secret",
                old.own_secret.map(|s| seal.seal(s)).into(),
            ),
            ("allow_unsigned", false.into()),
            ("ghl_api_key", Some(seal.seal("ghl-key")).into()),
            ("ghl_location_id", Some("loc-1").into()),
            ("ghl_tag", Some(format!("tag-{}", old.name)).into()),
            (
                "admin_token_hash",
                hash_token(&format!("cbt_old_{n}")).into(),
            ),
            ("created_at", now.into()),
            ("updated_at", now.into()),
            ("mp_connection", old.connection.into()),
            (
                "mp_refresh_token",
                old.refresh_token.map(|t| seal.seal(t)).into(),
            ),
            ("mp_token_expires_at", expires.into()),
            ("mp_last_error", old.last_error.into()),
            ("mp_connected_at", old.connected.then_some(now).into()),
        ];
        insert(db, "tenants", row).await;
        ids.push(id);
    }
    for (n, tenant) in ids.iter().take(2).enumerate() {
        let (event, payment_row, order) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mp_payment = format!("90{n}");
        insert(
            db,
            "orders",
            vec![
                ("id", order.into()),
                ("tenant_id", (*tenant).into()),
                ("amount", 100.0.into()),
                ("currency", "ARS".into()),
                ("description", "old order".into()),
                ("status", "PAID".into()),
                ("created_at", now.into()),
                ("updated_at", now.into()),
            ],
        )
        .await;
        insert(
            db,
            "payments",
            vec![
                ("id", payment_row.into()),
                ("tenant_id", (*tenant).into()),
                ("mp_payment_id", mp_payment.clone().into()),
                ("status", "APPROVED".into()),
                ("mp_status", "approved".into()),
                ("order_id", Some(order).into()),
                ("raw", json!({ "id": mp_payment }).into()),
                ("created_at", now.into()),
                ("updated_at", now.into()),
            ],
        )
        .await;
        insert(
            db,
            "webhook_events",
            vec![
                ("id", event.into()),
                ("tenant_id", (*tenant).into()),
                ("notification_id", format!("old-{n}").into()),
                ("webhook_type", "payment".into()),
                ("action", "payment.updated".into()),
                ("mp_payment_id", mp_payment.into()),
                ("payment_id", Some(payment_row).into()),
                ("raw_payload", json!({ "type": "payment" }).into()),
                ("status", "success".into()),
                ("max_attempts", 5.into()),
                ("created_at", now.into()),
            ],
        )
        .await;
    }
    ids
}

/// A database at the schema before `tenant_accounts`, filled.
async fn old_database(seal: &SecretBox, now: DateTime<Utc>) -> (TestDb, Vec<Uuid>) {
    let db = TestDb::new().await;
    let conn = Database::connect(&db.url).await.expect("database");
    Migrator::up(&conn, Some(BEFORE_ACCOUNTS))
        .await
        .expect("the old migrations");
    let ids = fill(&conn, seal, now).await;
    conn.close().await.expect("closed");
    (db, ids)
}

async fn tenants_by_name(app: &TestApp) -> HashMap<String, Value> {
    let (status, list) = app.get("/api/tenants", ADMIN).await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().expect("items").clone();
    items
        .into_iter()
        .map(|t| (t["name"].as_str().expect("name").to_owned(), t))
        .collect()
}

fn expiry(tenant: &Value) -> Option<DateTime<Utc>> {
    tenant["mp_token_expires_at"]
        .as_str()
        .map(|at| at.parse().expect("a timestamp"))
}

#[actix_web::test]
async fn tenants_of_the_old_schema_migrate_with_their_secrets_and_keep_being_served() {
    let seal = SecretBox::from_base64(&key()).expect("key");
    let now = Utc::now();
    let (db, ids) = old_database(&seal, now).await;
    let overrides = [
        ("secret_key", key()),
        ("mp_webhook_secret", PLATFORM_SECRET.into()),
    ];
    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_on(db, &overrides).await;

    let tenants = tenants_by_name(&app).await;
    assert_eq!(tenants.len(), old_tenants().len());
    for old in old_tenants() {
        let t = &tenants[old.name];
        assert_eq!(t["mp_user_id"].as_str(), old.seller, "{t}");
        assert_eq!(t["mp_connection"], old.connection, "{t}");
        assert_eq!(t["has_webhook_secret"], old.own_secret.is_some(), "{t}");
        assert_eq!(t["mp_last_error"].as_str(), old.last_error, "{t}");
        let expected = old.expires_in_days.map(|days| now + Duration::days(days));
        let drift = expiry(t)
            .zip(expected)
            .map(|(got, want)| (got - want).num_milliseconds().abs());
        assert!(drift.is_none_or(|ms| ms < 1), "expiry kept: {t}");
        assert_eq!(expiry(t).is_some(), expected.is_some(), "{t}");
        assert_eq!(t["ghl"]["tag"], format!("tag-{}", old.name));
        let accounts = t["accounts"].as_array().expect("accounts");
        assert_eq!(accounts.len(), 1, "{t}");
        assert_eq!(accounts[0]["provider"], "mercadopago");
        assert_eq!(accounts[0]["account_id"].as_str(), old.seller);
        assert_eq!(accounts[0]["connection"], old.connection);
    }
    assert_secrets_open(&app, &seal, &ids).await;
    assert_rows_kept(&app).await;
    assert_old_admin_tokens_work(&app, &ids).await;
    assert_served(&app, &tenants).await;
    app.stop().await;
}

async fn assert_secrets_open(app: &TestApp, seal: &SecretBox, ids: &[Uuid]) {
    let db = &app.state.services.db;
    for (old, id) in old_tenants().iter().zip(ids) {
        let account = cobro::store::accounts::row(db, TenantId(*id), Provider::MercadoPago)
            .await
            .expect("read")
            .expect("the MercadoPago account");
        assert!(account.access_token.starts_with("enc:v1:"), "still sealed");
        assert_eq!(
            seal.open(&account.access_token).ok().as_deref(),
            Some(old.access_token)
        );
        let refresh = seal
            .open_optional(account.refresh_token.as_deref())
            .expect("opens");
        assert_eq!(refresh.as_deref(), old.refresh_token);
        let secret = seal
            .open_optional(account.webhook_secret.as_deref())
            .expect("opens");
        assert_eq!(secret.as_deref(), old.own_secret);
        assert_eq!(account.connected_at.is_some(), old.connected);
    }
}

async fn assert_rows_kept(app: &TestApp) {
    let db = &app.state.services.db;
    let events = entity::webhook_event::Entity::find()
        .all(db)
        .await
        .expect("events");
    assert_eq!(events.len(), 2, "no event lost to a cascade");
    assert!(events.iter().all(|e| e.provider == "mercadopago"));
    let payments = entity::payment::Entity::find()
        .all(db)
        .await
        .expect("payments");
    // Issue 24's migration (run after this one) names their provider.
    assert!(payments.iter().all(|p| p.provider == "mercadopago"));
    let payments = payments.len() as u64;
    let orders = entity::order::Entity::find()
        .count(db)
        .await
        .expect("orders");
    assert_eq!(
        (payments, orders),
        (2, 2),
        "no payment or order lost to a cascade"
    );
}

async fn assert_old_admin_tokens_work(app: &TestApp, ids: &[Uuid]) {
    for (n, id) in ids.iter().enumerate() {
        let (status, me) = app.get("/api/me", &format!("cbt_old_{n}")).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["tenant_id"], id.to_string());
    }
}

/// MercadoPago's fake answers the payment only with the seller's migrated token.
async fn mp_serves_with_token(app: &TestApp, payment_id: &str, seller: &str, token: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/payments/{payment_id}")))
        .and(header("authorization", format!("Bearer {token}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(payment(payment_id, "approved", seller, None)),
        )
        .mount(&app.mp)
        .await;
}

async fn assert_served(app: &TestApp, tenants: &HashMap<String, Value>) {
    app.ghl_accepts().await;
    // The manual seller signs with its own secret; the connected one with the platform's.
    for (name, seller, secret, n) in [
        ("manual", "1001", SECRET, 1),
        ("connected", "1002", PLATFORM_SECRET, 2),
    ] {
        let payment_id = format!("77{n}");
        mp_serves_with_token(app, &payment_id, seller, &format!("APP_USR-{name}")).await;
        let body = notification(seller, &payment_id, n).to_string();
        let request_id = Uuid::new_v4().to_string();
        let signature = sign(secret, &payment_id, &request_id);
        let (status, answer) = app
            .raw_webhook(&payment_id, &body, &request_id, Some(&signature))
            .await;
        assert_eq!(status, 200, "{name}: {answer}");
        let tenant = Tenant {
            id: tenants[name]["id"].as_str().expect("id").to_owned(),
            token: String::new(),
        };
        let event_id = answer["event_id"].as_str().expect("event id");
        app.wait_status(&tenant, event_id, "success").await;
    }
    // The unique seller index came across: one tenant per MercadoPago account.
    let revoked = tenants["revoked"]["id"].as_str().expect("id");
    let body = json!({ "mp_user_id": "1001" });
    let (status, _) = patch(app, revoked, body).await;
    assert_eq!(status, 409);
    let unlinked = tenants["unlinked"]["id"].as_str().expect("id");
    let (status, linked) = patch(app, unlinked, json!({ "mp_user_id": "1003" })).await;
    assert_eq!((status, linked["mp_user_id"].as_str()), (200, Some("1003")));
}

async fn patch(app: &TestApp, tenant: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/tenants/{tenant}");
    app.call(reqwest::Method::PATCH, &path, Some(ADMIN), Some(body))
        .await
}
