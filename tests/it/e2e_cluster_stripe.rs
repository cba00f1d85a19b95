//! Issue 24 in a cluster (SPEC §13, §19): three real `cobro` processes on one PostgreSQL
//! database, tenants taking payments through both MercadoPago and Stripe, webhooks of each kind
//! spread over the nodes and node C SIGKILLed mid-storm. The fake plays both providers and
//! witnesses each tenant's calls to either under one key: no two overlap across nodes, and each
//! tenant's payments are fetched in arrival order whatever provider they came through.
//! PostgreSQL pass only, as every cluster test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::utils::TestDb;
use crate::utils::chaos::Chaos;
use crate::utils::cluster::*;

const TENANTS: u64 = 8;

#[actix_web::test]
async fn stripe_and_mercadopago_events_of_a_seller_never_overlap_across_nodes() {
    if !postgres() {
        return;
    }
    let db = TestDb::new().await;
    let chaos = Chaos::start(0.0, Duration::from_millis(10), 24).await;
    chaos.set_payment_rule(payment_rule);
    chaos.set_mp_delay(Duration::from_millis(5));
    let http = client();
    let mut nodes = start_nodes(&db, &chaos, &http, &["node-a", "node-b", "node-c"]).await;
    let tenants = create_tenants(&http, nodes[0].url(), TENANTS).await;
    link_stripe(&http, nodes[0].url(), &tenants).await;
    settled(
        &http,
        nodes[0].url(),
        &["node-a", "node-b", "node-c"],
        &tenants,
    )
    .await;

    // Each tenant's webhooks one after another, MercadoPago's and Stripe's in turn, spread over
    // the nodes; node C is killed mid-storm.
    let urls: Vec<String> = nodes.iter().map(|n| n.url().to_owned()).collect();
    let stop_at = Instant::now() + Duration::from_secs(4);
    let victim = &mut nodes[2];
    let killer = async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        victim.kill();
    };
    let (accepted, ()) = tokio::join!(storm(&http, &urls, &tenants, stop_at, true), killer);
    assert!(
        accepted.len() > 60,
        "the storm got through: {}",
        accepted.len()
    );
    all_succeed(&http, nodes[0].url(), &accepted, Duration::from_secs(60)).await;
    assert_eq!(
        chaos.overlaps(),
        HashMap::new(),
        "a seller's calls overlapped"
    );
    assert_fetched_in_arrival_order(&chaos);
    // Every tenant was called for, by more than one node, and has payments of both providers.
    let order = chaos.fetch_order();
    assert_eq!(order.len(), TENANTS as usize, "{order:?}");
    let callers: std::collections::HashSet<String> = order
        .values()
        .flatten()
        .map(|(caller, _)| caller.clone())
        .collect();
    assert!(callers.len() >= 2, "{callers:?}");
    for tenant in &tenants {
        for provider in ["stripe", "mercadopago"] {
            let url = format!(
                "{}/api/tenants/{tenant}/payments?provider={provider}",
                nodes[0].url()
            );
            let page = admin_get(&http, url).await;
            let stored = page["items"].as_array().map_or(0, Vec::len);
            assert!(stored > 0, "{tenant} has no {provider} payment: {page}");
        }
    }
}
