//! SPEC §6 failures: the retry schedule with every kind of transient failure, exhaustion into
//! `failed`, manual and bulk retries, and recovery of unfinished events after a restart.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cobro::publish::StatusUpdate;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::utils::{ADMIN, TestApp, payment, poll};

const SELLER: &str = "2079614828";

/// Mounts one-shot answers for `GET /v1/payments/{id}`, used in order, then a lasting success.
async fn mp_sequence(app: &TestApp, id: &str, answers: Vec<ResponseTemplate>) {
    for (n, answer) in answers.into_iter().enumerate() {
        Mock::given(method("GET"))
            .and(path(format!("/v1/payments/{id}")))
            .respond_with(answer)
            .up_to_n_times(1)
            .with_priority(u8::try_from(n + 1).unwrap_or(u8::MAX))
            .mount(&app.mp)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(format!("/v1/payments/{id}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(payment(id, "approved", SELLER, None)),
        )
        .with_priority(100)
        .mount(&app.mp)
        .await;
}

#[actix_web::test]
async fn transient_failures_follow_the_schedule_then_succeed() {
    let app = TestApp::spawn_with(&[
        ("retry_schedule", "0.1,0.1,0.1"),
        ("http_timeout_ms", "300"),
    ])
    .await;
    let tenant = app.create_tenant(SELLER, None).await;
    mp_sequence(
        &app,
        "61",
        vec![
            ResponseTemplate::new(500).set_body_string("<html>oops</html>"),
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            ResponseTemplate::new(200).set_delay(Duration::from_millis(800)),
        ],
    )
    .await;
    let (_, answer) = app.webhook(SELLER, "61", 1).await;
    let event_id = answer["event_id"].as_str().expect("id");
    let event = app.wait_status(&tenant, event_id, "success").await;
    assert_eq!(
        event["attempts"], 4,
        "500, 429, timeout, then success: {event}"
    );
    assert_eq!(event["max_attempts"], 4);
    assert!(event["last_error"].is_null());

    // What each failed attempt told a person, and when it planned the next one.
    let pendings: Vec<(DateTime<Utc>, cobro::publish::WebhookEventUpdated)> = app
        .recorder
        .all()
        .into_iter()
        .filter_map(|(at, _, u)| match u {
            StatusUpdate::Event(e) if e.status == "pending" && e.attempts > 0 => Some((at, e)),
            _ => None,
        })
        .collect();
    assert_eq!(pendings.len(), 3);
    let errors: Vec<_> = pendings
        .iter()
        .map(|(_, e)| e.last_error.clone().unwrap_or_default())
        .collect();
    assert!(errors[0].contains("500"), "{errors:?}");
    assert!(errors[1].contains("429"), "{errors:?}");
    assert!(errors[2].contains("did not answer in time"), "{errors:?}");
    let wait = |(at, e): &(DateTime<Utc>, cobro::publish::WebhookEventUpdated)| {
        (e.next_retry_at.expect("next_retry_at") - *at).num_milliseconds()
    };
    // Measured from the broadcast, which comes after the failed attempt's commit: on a loaded
    // machine that commit can take a few hundred ms, so the bounds keep well apart from both.
    assert!(wait(&pendings[0]) < 500, "schedule delay of 0.1 s");
    assert!(wait(&pendings[1]) >= 500, "Retry-After: 1 wins over 0.1 s");
}

#[actix_web::test]
async fn exhausted_retries_fail_and_a_person_can_retry_one_or_all() {
    let app = TestApp::spawn_with(&[("retry_schedule", "0.05,0.05")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    let failing = Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .mount_as_scoped(&app.mp)
        .await;
    let (_, one) = app.webhook(SELLER, "71", 1).await;
    let (_, two) = app.webhook(SELLER, "72", 2).await;
    let (_, three) = app.webhook(SELLER, "73", 3).await;
    let ids: Vec<String> = [one, two, three]
        .iter()
        .map(|a| a["event_id"].as_str().expect("id").to_owned())
        .collect();
    for id in &ids {
        let event = app.wait_status(&tenant, id, "failed").await;
        assert_eq!(event["attempts"], 3, "one attempt plus two retries");
        assert_eq!(event["last_error"], "MercadoPago failed with 502");
        assert_eq!(event["error_details"]["status"], 502);
    }
    // Failed is final: nothing retries it by itself.
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.mp.received_requests().await.unwrap_or_default().len(),
        9
    );

    drop(failing);
    for id in ["71", "72", "73"] {
        app.mp_serves(id, "approved", SELLER, None).await;
    }
    let retry = format!("/api/tenants/{}/events/{}/retry", tenant.id, ids[0]);
    let (status, event) = app.post(&retry, &tenant.token, json!({})).await;
    assert_eq!(status, 202, "{event}");
    assert_eq!(
        event["max_attempts"], 6,
        "a fresh schedule: three more attempts"
    );
    let done = app.wait_status(&tenant, &ids[0], "success").await;
    assert_eq!(done["attempts"], 4, "attempts keep counting");
    let (status, _) = app.post(&retry, &tenant.token, json!({})).await;
    assert_eq!(status, 409, "a successful event cannot be retried");

    let (status, answer) = app
        .post(
            &format!("/api/tenants/{}/events/retry-failed", tenant.id),
            ADMIN,
            json!({}),
        )
        .await;
    assert_eq!((status, answer), (202, json!({ "requeued": 2 })));
    for id in &ids[1..] {
        app.wait_status(&tenant, id, "success").await;
    }
    let (_, failed) = app
        .get(
            &format!("/api/tenants/{}/events?status=failed", tenant.id),
            ADMIN,
        )
        .await;
    assert_eq!(failed["items"], json!([]));
}

#[actix_web::test]
async fn unfinished_events_resume_after_a_restart() {
    // Three attempts: 82 may be claimed with 81 (one batch), and a claimed event's attempt counts
    // even if a crash comes before its fetch, as a job queue counts a fetched job.
    let app = TestApp::spawn_with(&[("retry_schedule", "1,1")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    // Payment 81 hangs (its attempt is cut by the "crash"), 82 fails once and waits for a retry.
    Mock::given(method("GET"))
        .and(path("/v1/payments/81"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.mp)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payments/82"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.mp)
        .await;
    let (_, a) = app.webhook(SELLER, "81", 1).await;
    let (_, b) = app.webhook(SELLER, "82", 2).await;
    let (a, b) = (
        a["event_id"].as_str().expect("id").to_owned(),
        b["event_id"].as_str().expect("id").to_owned(),
    );
    app.wait_status(&tenant, &a, "processing").await;
    let asked_mp = poll(|| async {
        let requests = app.mp.received_requests().await.unwrap_or_default();
        requests.iter().any(|r| r.url.path() == "/v1/payments/81")
    })
    .await;
    assert!(
        asked_mp,
        "the first attempt reached MercadoPago before the stop"
    );

    app.mp_serves("81", "approved", SELLER, None).await;
    app.mp_serves("82", "approved", SELLER, None).await;
    let app = app.restart().await;
    // 81 was claimed when the process stopped; 82 was never fetched (it queued behind 81).
    let first = app.wait_status(&tenant, &a, "success").await;
    assert_eq!(first["attempts"], 2, "the interrupted attempt counts");
    let second = app.wait_status(&tenant, &b, "success").await;
    assert!(second["attempts"].as_i64() >= Some(1));
}

#[actix_web::test]
async fn a_restart_honours_next_retry_at() {
    let app = TestApp::spawn_with(&[("retry_schedule", "2")]).await;
    let tenant = app.create_tenant(SELLER, None).await;
    mp_sequence(&app, "91", vec![ResponseTemplate::new(503)]).await;
    let (_, answer) = app.webhook(SELLER, "91", 1).await;
    let event_id = answer["event_id"].as_str().expect("id").to_owned();
    // Pending at first too: wait for the failed attempt's plan.
    let planned = poll(|| async {
        let event = app.event(&tenant, &event_id).await;
        event["attempts"] == 1 && event["status"] == "pending"
    })
    .await;
    assert!(planned, "the first attempt failed and planned a retry");
    let waiting = app.event(&tenant, &event_id).await;
    let retry_at: DateTime<Utc> = waiting["next_retry_at"]
        .as_str()
        .expect("next_retry_at")
        .parse()
        .expect("date");

    let app = app.restart().await;
    let done = app.wait_status(&tenant, &event_id, "success").await;
    let processed_at: DateTime<Utc> = done["processed_at"]
        .as_str()
        .expect("processed_at")
        .parse()
        .expect("date");
    assert!(
        processed_at >= retry_at,
        "retried at {processed_at}, planned for {retry_at}"
    );
    assert_eq!(done["attempts"], 2);
}
