//! Issue 25 in a cluster (SPEC §13, §21): three real `cobro` processes on one PostgreSQL database,
//! a platform-wide endpoint listening, each tenant's webhooks spread over the nodes and node C
//! SIGKILLed mid-storm. Each (endpoint, tenant) pair is sent by its tenant's owner only; the pairs
//! of C's tenants move with their leases. The receiver must get every payment change, once by
//! `webhook-id`, and each tenant's in arrival order. PostgreSQL pass only, as every cluster test.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::utils::TestDb;
use crate::utils::chaos::Chaos;
use crate::utils::cluster::*;
use crate::utils::receiver::Receiver;

const TENANTS: u64 = 6;

#[actix_web::test]
async fn a_dead_nodes_tenants_still_tell_the_platform_everything_in_order() {
    if !postgres() {
        return;
    }
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::from_millis(10), 25).await;
    chaos.set_payment_rule(payment_rule);
    let receiver = Receiver::start().await;
    let http = client();
    let names = ["node-a", "node-b", "node-c"];
    let mut nodes = start_nodes(&db, &chaos, &http, &names).await;
    let tenants = create_tenants(&http, nodes[0].url(), TENANTS).await;
    let created = http
        .post(format!("{}/api/endpoints", nodes[0].url()))
        .bearer_auth(crate::utils::ADMIN)
        .json(&json!({ "url": receiver.url(), "events": ["payment.updated"] }))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(created.ok(), Some(201));
    settled(&http, nodes[0].url(), &names, &tenants).await;

    let urls: Vec<String> = nodes.iter().map(|n| n.url().to_owned()).collect();
    let stop_at = Instant::now() + Duration::from_secs(4);
    let victim = &mut nodes[2];
    let killer = async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        victim.kill();
    };
    let (accepted, ()) = tokio::join!(storm(&http, &urls, &tenants, stop_at, false), killer);
    assert!(
        accepted.len() > 40,
        "the storm got through: {}",
        accepted.len()
    );
    all_succeed(&http, nodes[0].url(), &accepted, Duration::from_secs(60)).await;

    // Each tenant's k-th webhook is payment (tenant, k): the platform must hear 0, 1, 2, ...
    let sent: HashMap<u64, u64> = accepted.iter().fold(HashMap::new(), |mut most, (id, _)| {
        let t = tenants.iter().position(|x| x == id).unwrap_or_default() as u64;
        *most.entry(t).or_default() += 1;
        most
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let heard = loop {
        let mut heard: HashMap<u64, Vec<u64>> = HashMap::new();
        for message in receiver.delivered() {
            let id = message.body["data"]["paymentId"]
                .as_str()
                .unwrap_or_default();
            let n = id
                .parse::<u64>()
                .unwrap_or_default()
                .saturating_sub(700_000_000);
            heard.entry(n / 100_000).or_default().push(n % 100_000);
        }
        let complete = sent
            .iter()
            .all(|(t, n)| heard.get(t).map_or(0, Vec::len) as u64 >= *n);
        if complete || Instant::now() > deadline {
            break heard;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // A payment stored again (its node died after storing it, before the tag and the success:
    // the new owner does the attempt again) is a second change, told in place.
    let mut restored = 0;
    for (t, count) in &sent {
        let mut got = heard.get(t).cloned().unwrap_or_default();
        let told = got.len();
        got.dedup();
        restored += told - got.len();
        let expected: Vec<u64> = (0..*count).collect();
        assert_eq!(got, expected, "tenant {t}: told out of order or not at all");
    }
    let ids: HashSet<String> = receiver.delivered().iter().map(|m| m.id.clone()).collect();
    assert_eq!(
        ids.len(),
        accepted.len() + restored,
        "one message per committed change"
    );
    println!(
        "cluster outbound: {} messages, every tenant's in order; {restored} payments stored twice \
         across the kill; {} deliveries repeated",
        ids.len(),
        receiver.received().len() - receiver.delivered().len()
    );
}
