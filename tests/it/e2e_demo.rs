//! Issue 5 `cobro demo`: the real binary, run for a few seconds in a fresh folder, prints the
//! dashboard URL and tokens, labels itself sandbox, and its webhooks reach `success`. Issue 12:
//! its shop without a token connects itself through the sandbox's MercadoPago OAuth pages.
//! Issue 22: a shop sells through the Orders API, a chargeback shows its deadline, a fraud alert
//! raises the banner, and the terminal shows a compact progress line, not a line per request.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[actix_web::test]
async fn the_demo_runs_in_one_command_and_events_succeed() {
    // The demo always runs on its own SQLite file: the PostgreSQL pass adds nothing here.
    if std::env::var("COBRO_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
        return;
    }
    let folder = tempfile::tempdir().expect("folder");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .args(["demo", "--rate", "5"])
        .current_dir(folder.path())
        .env_remove("COBRO_CONFIG")
        .env_remove("COBRO_DATABASE_URL")
        .env("COBRO_BIND", format!("127.0.0.1:{port}"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(folder.path().join("demo.log")).expect("log file"))
        .spawn()
        .expect("cobro demo starts");
    let stdout = child.stdout.take().expect("stdout");
    // Read the banner, then keep draining stdout so the demo never writes into a closed pipe.
    let (lines, banner_lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut banner = Vec::new();
    while let Ok(line) = banner_lines.recv_timeout(Duration::from_secs(30)) {
        let done = line.contains("Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    let text = banner.join("\n");
    assert!(text.contains("SANDBOX"), "{text}");
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/")),
        "{text}"
    );
    let admin = banner
        .iter()
        .find(|l| l.contains("super admin"))
        .and_then(|l| l.split_whitespace().last())
        .expect("super-admin token")
        .to_owned();

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let get = |path: String| {
        let request = http.get(format!("{base}{path}")).bearer_auth(&admin);
        async move {
            request
                .send()
                .await
                .expect("cobro answers")
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    };
    let me = get("/api/me".into()).await;
    assert_eq!(me["sandbox"], true);
    let tenants = get("/api/tenants".into()).await;
    let ids: Vec<String> = tenants["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        ids.len(),
        5,
        "three demo tenants, a shop to connect, a shop on Stripe"
    );
    let shop = banner
        .iter()
        .find(|l| l.contains("Nueva Tienda"))
        .and_then(|l| l.split_whitespace().last())
        .expect("the unconnected shop's token")
        .to_owned();
    connect_through_the_sandbox(&http, &base, &shop).await;

    mp_topics_show_up(&get, &ids).await;
    stripe_sales_show_up(&get, &ids).await;
    the_platform_hears_signed_events(&http, &banner).await;
    let progress = std::iter::from_fn(|| banner_lines.recv_timeout(Duration::from_secs(15)).ok())
        .find(|line| !line.trim().is_empty())
        .expect("a progress line after the banner");
    assert!(progress.contains("webhooks accepted"), "{progress}");

    let deadline = Instant::now() + Duration::from_secs(45);
    let mut successes = 0;
    while successes < 5 && Instant::now() < deadline {
        successes = 0;
        for id in &ids {
            let page = get(format!("/api/tenants/{id}/events?status=success")).await;
            successes += page["items"].as_array().map_or(0, Vec::len);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut seen = Vec::new();
    for id in &ids {
        let page = get(format!("/api/tenants/{id}/events?limit=5")).await;
        for event in page["items"].as_array().into_iter().flatten() {
            seen.push(format!(
                "{} {} {}",
                event["status"], event["attempts"], event["last_error"]
            ));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        successes >= 5,
        "demo events reached success: {successes}; latest events: {seen:?}"
    );
    assert!(
        folder.path().join("data/demo/cobro-demo.db").exists(),
        "a fresh SQLite file under data/demo"
    );
    // Without RUST_LOG the demo logs errors only: no line per request.
    let log = std::fs::read_to_string(folder.path().join("demo.log")).unwrap_or_default();
    assert!(!log.contains("webhook accepted"), "{log}");
}

/// The Orders API shop's events succeed, a payment carries a dispute with its deadline, and a
/// fraud alert waits for someone to acknowledge it.
async fn mp_topics_show_up<F, Fut>(get: &F, ids: &[String])
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + Duration::from_secs(45);
    let (mut orders, mut disputes, mut alerts) = (0, 0, 0);
    while (orders == 0 || disputes == 0 || alerts == 0) && Instant::now() < deadline {
        (orders, disputes, alerts) = (0, 0, 0);
        for id in ids {
            let events = get(format!(
                "/api/tenants/{id}/events?resource_type=order&status=success"
            ))
            .await;
            orders += events["items"].as_array().map_or(0, Vec::len);
            let payments = get(format!("/api/tenants/{id}/payments?limit=200")).await;
            disputes += payments["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["dispute"]["date_documentation_deadline"].is_string())
                .count();
            let open = get(format!("/api/tenants/{id}/fraud-alerts")).await;
            alerts += open["items"].as_array().map_or(0, Vec::len);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        orders > 0 && disputes > 0 && alerts > 0,
        "orders {orders}, disputes {disputes}, fraud alerts {alerts}"
    );
}

/// The Stripe shop's sales are processed: approved ones, in dollars and in pesos (zero-decimal),
/// and a declined card.
async fn stripe_sales_show_up<F, Fut>(get: &F, ids: &[String])
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut statuses: Vec<(String, String)> = Vec::new();
    let wanted = |s: &[(String, String)]| {
        ["USD", "CLP"]
            .iter()
            .all(|c| s.iter().any(|(st, cur)| st == "APPROVED" && cur == c))
            && s.iter().any(|(st, _)| st == "REJECTED")
    };
    while !wanted(&statuses) && Instant::now() < deadline {
        statuses.clear();
        for id in ids {
            let page = get(format!(
                "/api/tenants/{id}/payments?provider=stripe&limit=200"
            ))
            .await;
            statuses.extend(page["items"].as_array().into_iter().flatten().map(|p| {
                let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                (text("status"), text("currency_id"))
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(wanted(&statuses), "Stripe payments: {statuses:?}");
}

/// What a browser does: start the connection, open the sandbox's authorization page, follow its
/// Allow link back to Cobro's callback.
async fn connect_through_the_sandbox(http: &reqwest::Client, base: &str, token: &str) {
    let me: Value = http
        .get(format!("{base}/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let tenant = me["tenant_id"].as_str().expect("a tenant token").to_owned();
    let started: Value = http
        .post(format!("{base}/api/tenants/{tenant}/mp/connect"))
        .bearer_auth(token)
        .send()
        .await
        .expect("connect")
        .json()
        .await
        .expect("json");
    let authorization = started["authorization_url"]
        .as_str()
        .expect("authorization_url");
    let page = http
        .get(authorization)
        .send()
        .await
        .expect("sandbox page")
        .text()
        .await
        .expect("html");
    let allow = page
        .split("id=\"authorize\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("no Allow link in {page}"));
    let answer = http.get(&allow).send().await.expect("callback");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Connected"), "{text}");
    let shown: Value = http
        .get(format!("{base}/api/tenants/{tenant}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("tenant")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["mp_connection"], "connected", "{shown}");
}

/// Issue 25: the sandbox's platform backend receives Cobro's events and verifies each signature.
async fn the_platform_hears_signed_events(http: &reqwest::Client, banner: &[String]) {
    let page = banner
        .iter()
        .find(|l| l.contains("platform's backend"))
        .and_then(|l| l.split_whitespace().last())
        .expect("the platform backend's page in the banner")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut counts = Value::Null;
    while Instant::now() < deadline {
        counts = http
            .get(format!("{page}.json"))
            .send()
            .await
            .expect("the sandbox answers")
            .json()
            .await
            .unwrap_or_default();
        if counts["received"]["payment.updated"].as_u64().unwrap_or(0) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        counts["received"]["payment.updated"].as_u64().unwrap_or(0) >= 3,
        "{counts}"
    );
    assert_eq!(counts["refused"], 0, "every message verified: {counts}");
    let html = http
        .get(&page)
        .send()
        .await
        .expect("the page")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        html.contains("payment.updated") && html.contains("SANDBOX"),
        "{html}"
    );
}
