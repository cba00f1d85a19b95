//! SPEC §19's `POST /webhooks/stripe` answer table over real HTTP, on SQLite and PostgreSQL:
//! signatures (missing, malformed, wrong secret, stale, either secret of a rotation), bodies
//! that are not events, livemode, unknown accounts, unsupported types and duplicates, with
//! nothing written for a refused delivery; linking a tenant's Stripe account; and Checkout
//! Sessions created on the connected account.

use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::stripe::{OLD_WHSEC, StripeApp, WHSEC, event, intent, sign};
use crate::utils::{ADMIN, Tenant};

const ACCOUNT: &str = "acct_1QpXsellerFixture01";

async fn events_of(app: &StripeApp, tenant: &Tenant) -> Vec<Value> {
    let (status, page) = app
        .app
        .get(&format!("/api/tenants/{}/events", tenant.id), ADMIN)
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

fn succeeded(id: &str) -> Value {
    event(
        id,
        "payment_intent.succeeded",
        Some(ACCOUNT),
        json!({ "id": "pi_answer_table", "object": "payment_intent", "status": "succeeded" }),
    )
}

#[actix_web::test]
async fn the_answer_table_row_by_row() {
    let stripe = StripeApp::spawn().await;
    let tenant = stripe.tenant("3100000001", ACCOUNT, None).await;
    stripe
        .serves_intent(
            ACCOUNT,
            &intent("pi_answer_table", "succeeded", 1999, "usd", None),
        )
        .await;
    let body = succeeded("evt_table_1").to_string();
    let t = chrono::Utc::now().timestamp();

    // 401 bad_signature: none, malformed, another secret, stale, no v1.
    let refusals = [
        None,
        Some("garbage".to_owned()),
        Some(format!("t={t},v1={}", sign("whsec_someone_else", t, &body))),
        Some(format!("t={},v1={}", t - 301, sign(WHSEC, t - 301, &body))),
        Some(format!("t={t},v0={}", sign(WHSEC, t, &body))),
    ];
    for signature in refusals {
        let (status, answer) = stripe.send_raw(&body, signature.as_deref()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (401, Some("bad_signature")),
            "{signature:?}: {answer}"
        );
        assert!(answer["error"].is_string());
    }
    assert!(
        events_of(&stripe, &tenant).await.is_empty(),
        "a refusal writes nothing"
    );

    // 400: signed, but not an event.
    for broken in [
        "not json",
        "[1]",
        r#"{"id":"evt_x","type":"charge.refunded"}"#,
    ] {
        let t = chrono::Utc::now().timestamp();
        let signature = format!("t={t},v1={}", sign(WHSEC, t, broken));
        let (status, answer) = stripe.send_raw(broken, Some(&signature)).await;
        assert_eq!(status, 400, "{broken}: {answer}");
        assert!(answer["code"].is_string());
    }

    // 200 ignored: another mode, no account, an account no tenant has (whatever the type), a type
    // not taken.
    let mut test_mode = succeeded("evt_table_2");
    test_mode["livemode"] = json!(false);
    let platform = event(
        "evt_table_3",
        "payment_intent.succeeded",
        None,
        json!({ "id": "pi_1" }),
    );
    let stranger = event(
        "evt_table_4",
        "payment_intent.succeeded",
        Some("acct_nobody"),
        json!({ "id": "pi_1" }),
    );
    let stranger_other_type = event(
        "evt_table_5",
        "customer.created",
        Some("acct_nobody"),
        json!({ "id": "cus_1" }),
    );
    let other_type = event(
        "evt_table_6",
        "customer.created",
        Some(ACCOUNT),
        json!({ "id": "cus_1" }),
    );
    for (sent, reason) in [
        (test_mode, "livemode mismatch"),
        (platform, "unknown account"),
        (stranger, "unknown account"),
        (stranger_other_type, "unknown account"),
        (other_type, "unsupported type: customer.created"),
    ] {
        let (status, answer) = stripe.send(&sent, WHSEC).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer,
            json!({ "status": "ignored", "reason": reason }),
            "{sent}"
        );
    }
    assert!(
        events_of(&stripe, &tenant).await.is_empty(),
        "ignored bodies are not stored"
    );

    // Accepted under either secret of the rotation; the same event id again is a duplicate.
    let (status, accepted) = stripe.send(&succeeded("evt_table_7"), OLD_WHSEC).await;
    assert_eq!(
        (status, accepted["status"].as_str()),
        (200, Some("accepted")),
        "{accepted}"
    );
    let event_id = accepted["event_id"].as_str().expect("event id").to_owned();
    let (status, again) = stripe.send(&succeeded("evt_table_7"), WHSEC).await;
    assert_eq!(status, 200);
    assert_eq!(
        again,
        json!({ "status": "duplicate", "event_id": event_id })
    );
    let stored = stripe.app.wait_status(&tenant, &event_id, "success").await;
    assert_eq!(stored["provider"], "stripe");
    assert_eq!(stored["webhook_type"], "payment_intent.succeeded");
    assert_eq!(stored["notification_id"], "evt_table_7");
    assert_eq!(events_of(&stripe, &tenant).await.len(), 1);

    // The delivery log has every request: the tenant's own (the other mode and the type not taken,
    // both verified and of its account, the accepted and the duplicate), and the refusals among
    // the anonymous ones, all under `stripe`.
    let deliveries = |path: String, at_least: usize| {
        let app = &stripe.app;
        async move {
            let listed = || async {
                let (_, page) = app.get(&path, ADMIN).await;
                page["items"].as_array().cloned().unwrap_or_default()
            };
            let arrived = crate::utils::poll(|| async { listed().await.len() >= at_least }).await;
            let found = listed().await;
            assert!(arrived, "{path}: {found:?}");
            found
        }
    };
    let own = deliveries(format!("/api/tenants/{}/deliveries", tenant.id), 4).await;
    let mut outcomes: Vec<_> = own
        .iter()
        .map(|d| {
            d["reason"]
                .as_str()
                .or(d["outcome"].as_str())
                .unwrap_or_default()
        })
        .collect();
    outcomes.sort();
    let expected = [
        "accepted",
        "duplicate",
        "livemode mismatch",
        "unsupported type: customer.created",
    ];
    assert_eq!(outcomes, expected, "{own:?}");
    assert!(own.iter().all(|d| d["provider"] == "stripe"));
    let all = deliveries("/api/deliveries".to_owned(), 15).await;
    let refused: Vec<_> = all.iter().filter(|d| d["http_status"] == 401).collect();
    assert_eq!(refused.len(), 5, "{all:?}");
    assert!(
        refused
            .iter()
            .all(|d| d["outcome"] == "refused" && d["tenant_id"].is_null()),
        "{refused:?}"
    );
}

#[actix_web::test]
async fn without_a_configured_secret_every_delivery_is_refused() {
    let stripe = StripeApp::spawn_with(&[("stripe_webhook_secret", "")]).await;
    let (status, answer) = stripe.send(&succeeded("evt_unconfigured"), WHSEC).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["code"], "bad_signature");
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(error.contains("COBRO_STRIPE_WEBHOOK_SECRET"), "{error}");
}

#[actix_web::test]
async fn a_tenants_stripe_account_is_linked_shown_and_unique() {
    let stripe = StripeApp::spawn().await;
    let tenant = stripe.tenant("3100000002", ACCOUNT, None).await;
    let (_, shown) = stripe
        .app
        .get(&format!("/api/tenants/{}", tenant.id), ADMIN)
        .await;
    let accounts = shown["accounts"].as_array().cloned().unwrap_or_default();
    let account = accounts.iter().find(|a| a["provider"] == "stripe");
    assert_eq!(
        account.map(|a| (a["account_id"].clone(), a["connection"].clone())),
        Some((json!(ACCOUNT), json!("manual"))),
        "{shown}"
    );
    assert_eq!(
        shown["mp_user_id"], "3100000002",
        "the MercadoPago account stays"
    );

    let other = stripe.app.create_tenant("3100000003", None).await;
    let patch = |body: Value| {
        let app = &stripe.app;
        let path = format!("/api/tenants/{}", other.id);
        async move {
            app.call(reqwest::Method::PATCH, &path, Some(ADMIN), Some(body))
                .await
        }
    };
    let (status, taken) = patch(json!({ "stripe_account_id": ACCOUNT })).await;
    assert_eq!(
        (status, taken["code"].as_str()),
        (409, Some("conflict")),
        "{taken}"
    );
    let (status, bad) = patch(json!({ "stripe_account_id": "1234" })).await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (422, Some("unprocessable")),
        "{bad}"
    );
    let (status, linked) = patch(json!({ "stripe_account_id": "acct_other" })).await;
    assert_eq!(status, 200, "{linked}");
    let (status, unlinked) = patch(json!({ "stripe_account_id": null })).await;
    assert_eq!(status, 200, "{unlinked}");
    let providers: Vec<_> = unlinked["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["provider"].clone())
        .collect();
    assert_eq!(providers, vec![json!("mercadopago")], "{unlinked}");
}

#[actix_web::test]
async fn a_stripe_checkout_is_a_session_on_the_connected_account() {
    let stripe = StripeApp::spawn().await;
    let tenant = stripe.tenant("3100000004", ACCOUNT, None).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("stripe-account", ACCOUNT))
        .and(body_string_contains("mode=payment"))
        .and(body_string_contains(
            "line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=150000",
        ))
        .and(body_string_contains(
            "line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=clp",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_test_1", "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_1" })))
        .expect(1)
        .mount(&stripe.stripe)
        .await;
    let orders = format!("/api/tenants/{}/orders", tenant.id);
    let body = json!({ "amount": 150000, "currency": "CLP", "description": "Curso",
        "checkout": true, "provider": "stripe" });
    let (status, order) = stripe.app.post(&orders, &tenant.token, body).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        order["checkout_url"],
        "https://checkout.stripe.com/c/pay/cs_test_1"
    );
    assert_eq!(order["status"], "PENDING_PAYMENT");
    let sent = stripe.stripe.received_requests().await.unwrap_or_default();
    let form = String::from_utf8_lossy(&sent[0].body).into_owned();
    let id = order["id"].as_str().expect("order id");
    assert!(
        form.contains(&format!("client_reference_id={id}")),
        "{form}"
    );
    assert!(
        form.contains(&format!(
            "payment_intent_data%5Bmetadata%5D%5Bcobro_order_id%5D={id}"
        )),
        "{form}"
    );

    // Refused before anything is written: a currency that cannot hold the amount, a tenant with
    // no Stripe account, a provider Cobro does not know.
    let bare = stripe.app.create_tenant("3100000005", None).await;
    let bare_orders = format!("/api/tenants/{}/orders", bare.id);
    let refused = [
        (
            &tenant,
            &orders,
            100.5,
            "CLP",
            "stripe",
            422,
            "unprocessable",
        ),
        (&bare, &bare_orders, 10.0, "USD", "stripe", 409, "conflict"),
        (
            &bare,
            &bare_orders,
            10.0,
            "USD",
            "paypal",
            400,
            "invalid_json",
        ),
    ];
    for (owner, path, amount, currency, provider, status_wanted, code) in refused {
        let body = json!({ "amount": amount, "currency": currency, "description": "x",
            "checkout": true, "provider": provider });
        let (status, answer) = stripe.app.post(path, &owner.token, body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (status_wanted, Some(code)),
            "{answer}"
        );
    }
    let (_, listed) = stripe.app.get(&bare_orders, ADMIN).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
}
