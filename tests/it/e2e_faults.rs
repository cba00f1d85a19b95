//! Issue 4 fault suite: MercadoPago and GoHighLevel fail 30% of calls at random (5xx, 429 with
//! Retry-After, answers past the timeout, dropped connections). Every event must still end in
//! `success`, no buyer may be tagged twice, and no retry may run before its planned time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cobro::publish::StatusUpdate;

use crate::utils::chaos::{Chaos, Fate};
use crate::utils::{ADMIN, TestApp};

const TENANTS: u64 = 5;
const PAYMENTS_PER_TENANT: u64 = 8;

#[actix_web::test]
async fn thirty_percent_faults_still_end_in_success_and_never_tag_twice() {
    let chaos = Chaos::start(0.3, Duration::from_millis(600), 20261123).await;
    let schedule = vec!["0.05"; 40].join(",");
    let app = TestApp::spawn_with(&[
        ("mp_api_base", &chaos.url),
        ("ghl_api_base", &chaos.url),
        ("retry_schedule", &schedule),
        ("http_timeout_ms", "250"),
        ("mp_requests_per_second", "1000"),
        ("ghl_requests_per_10s", "10000"),
        ("ghl_429_backoff_ms", "100"),
    ])
    .await;

    let mut events = Vec::new();
    for t in 0..TENANTS {
        let seller = format!("{}", 7000 + t);
        let tenant = app.create_tenant(&seller, Some("cliente")).await;
        for p in 0..PAYMENTS_PER_TENANT {
            let payment = format!("{}{:03}", 9000 + t, p);
            chaos.add_payment(&payment, &seller, &format!("buyer-{payment}@example.com"));
            // Two notifications per payment (created, then updated), as MP sends them.
            for n in 0..2 {
                let (status, answer) = app
                    .webhook(&seller, &payment, (t * 1000 + p) * 10 + n)
                    .await;
                assert_eq!((status, answer["status"].as_str()), (200, Some("accepted")));
                events.push((
                    tenant.id.clone(),
                    answer["event_id"].as_str().expect("id").to_owned(),
                ));
            }
        }
    }

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut unfinished = events.clone();
    while !unfinished.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} events never finished",
            unfinished.len()
        );
        let mut still = Vec::new();
        for (tenant, id) in unfinished {
            let (_, event) = app
                .get(&format!("/api/tenants/{tenant}/events/{id}"), ADMIN)
                .await;
            assert_ne!(
                event["status"], "failed",
                "an event failed for good: {event}"
            );
            if event["status"] != "success" {
                still.push((tenant, id));
            }
        }
        unfinished = still;
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }

    let fates = chaos.fates();
    for fate in [Fate::Status5xx, Fate::TooMany, Fate::Slow, Fate::Dropped] {
        assert!(
            fates.get(&fate).copied().unwrap_or(0) > 0,
            "no {fate:?} happened: {fates:?}"
        );
    }
    let tags = chaos.tags_by_email();
    assert_eq!(
        tags.len() as u64,
        TENANTS * PAYMENTS_PER_TENANT,
        "one contact per buyer"
    );
    for (email, count) in &tags {
        assert_eq!(*count, 1, "{email} was tagged {count} times");
    }
    assert_retries_waited_for_their_time(&app);
}

/// Every retry starts no earlier than the `nextRetryAt` its failed attempt announced.
fn assert_retries_waited_for_their_time(app: &TestApp) {
    let mut planned: HashMap<cobro::domain::EventId, chrono::DateTime<chrono::Utc>> =
        HashMap::new();
    let mut retries = 0;
    for (at, _, update) in app.recorder.all() {
        let StatusUpdate::Event(event) = update else {
            continue;
        };
        match (event.status.as_str(), event.next_retry_at) {
            ("pending", Some(next)) => {
                planned.insert(event.id, next);
            }
            ("processing", _) => {
                if let Some(next) = planned.remove(&event.id) {
                    retries += 1;
                    let early = (next - at).num_milliseconds();
                    assert!(early <= 5, "retry of {} ran {early} ms early", event.id);
                }
            }
            _ => {}
        }
    }
    assert!(retries > 0, "the faults caused retries");
}
