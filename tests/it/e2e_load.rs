//! Issue 9: processing keeps going while ingest is saturated. Senders post signed webhooks flat
//! out (each waits only for its previous answer) while the tenant actors process them against an
//! instant MercadoPago; events must reach `success` *during* the storm, not only after it, and
//! every accepted one must reach `success` in the end. One writer commits both kinds of write, so
//! a bias toward acknowledgements would starve processing and fail this test.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::utils::chaos::Chaos;
use crate::utils::{SECRET, TestApp, notification, sign};

const TENANTS: u64 = 8;
const SENDERS: usize = 32;

#[actix_web::test]
async fn processing_makes_progress_while_ingest_is_flat_out() {
    let mp = Chaos::start(0.0, Duration::ZERO, 9).await;
    // Payment ids are `<collector><6 digits>`: the fake serves each to its own tenant.
    mp.set_payment_rule(|id| {
        let collector = id.get(..id.len().checked_sub(6)?)?;
        Some((collector.to_owned(), format!("buyer-{id}@example.com")))
    });
    let app = Arc::new(
        TestApp::spawn_with(&[
            ("mp_api_base", mp.url.as_str()),
            ("ingest_per_tenant_per_second", "0"),
            ("mp_requests_per_second", "100000"),
        ])
        .await,
    );
    for n in 0..TENANTS {
        app.create_tenant(&(7100 + n).to_string(), None).await;
    }
    let (stop, next, accepted) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (app, stop, next, accepted) =
                (app.clone(), stop.clone(), next.clone(), accepted.clone());
            actix_rt::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let seller = (7100 + n % TENANTS).to_string();
                    let payment = format!("{seller}{:06}", n);
                    let request_id = uuid::Uuid::new_v4().to_string();
                    let (status, answer) = app
                        .raw_webhook(
                            &payment,
                            &notification(&seller, &payment, n).to_string(),
                            &request_id,
                            Some(&sign(SECRET, &payment, &request_id)),
                        )
                        .await;
                    assert_eq!((status, &answer["status"]), (200, &"accepted".into()));
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let processed = || app.recorder.payments_published();
    actix_rt::time::sleep(Duration::from_millis(1500)).await;
    let (accepted_before, processed_before) = (accepted.load(Ordering::Relaxed), processed());
    actix_rt::time::sleep(Duration::from_millis(2000)).await;
    let (accepted_after, processed_after) = (accepted.load(Ordering::Relaxed), processed());
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.expect("sender");
    }
    let during = processed_after - processed_before;
    println!(
        "in 2 s of flat-out ingest: {} accepted, {during} processed",
        accepted_after - accepted_before
    );
    assert!(accepted_after - accepted_before >= 50, "ingest kept going");
    assert!(
        during >= 20,
        "processing stalled while ingest was saturated: {during} events processed in 2 s"
    );
    let total = accepted.load(Ordering::Relaxed) as usize;
    assert!(
        crate::utils::poll_for(Duration::from_secs(120), || async { processed() >= total }).await,
        "every accepted event reaches success: {} of {total}",
        processed()
    );
    assert_eq!(processed(), total, "each event is processed once");
    assert_eq!(
        app.state.services.writer.cycles_redone(),
        0,
        "every cycle committed on the set-based path (the fallback is for a bad write)"
    );
    app.stop().await;
}
