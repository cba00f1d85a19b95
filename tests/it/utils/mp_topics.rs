//! Sending MercadoPago's notifications of every topic (SPEC §17) as MercadoPago does: signed
//! with the tenant's secret over `data.id`, or a recorded fixture request replayed exactly; and
//! reading a tenant's API. Shared by `e2e_mp_topics` and `e2e_fraud_alerts`.

use cobro::provider::mercadopago::signature;
use serde_json::Value;

use super::{ADMIN, SECRET, Tenant, TestApp, fixture};

pub const SELLER: &str = "2079614828";
/// Posts a webhook with its query and a signature over `data.id` (as sent) when there is one.
pub async fn post(app: &TestApp, kind: &str, data_id: Option<&str>, body: &Value) -> (u16, Value) {
    let request_id = uuid::Uuid::new_v4().to_string();
    let ts = "1764871563221";
    let v1 = signature::sign(
        SECRET.as_bytes(),
        &signature::manifest(data_id, Some(&request_id), ts),
    );
    let query = match data_id {
        Some(id) => format!("data.id={id}&type={kind}"),
        None => format!("type={kind}"),
    };
    let response = app
        .http
        .post(format!("{}/webhooks/mp?{query}", app.url))
        .header("content-type", "application/json")
        .header("x-request-id", &request_id)
        .header("x-signature", format!("ts={ts},v1={v1}"))
        .body(body.to_string())
        .send()
        .await
        .expect("webhook reaches cobro");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A fixture request (`mercadopago/<name>`) sent exactly as recorded: its query, headers and
/// locally computed signature.
pub async fn replay(app: &TestApp, name: &str) -> (u16, Value) {
    let request = fixture(&format!("mercadopago/{name}"));
    let query: Vec<(String, String)> = request["query"]
        .as_object()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut call = app
        .http
        .post(format!("{}/webhooks/mp", app.url))
        .query(&query)
        .body(request["body"].to_string());
    for (name, value) in request["headers"].as_object().into_iter().flatten() {
        call = call.header(name.as_str(), value.as_str().unwrap_or_default());
    }
    let response = call.send().await.expect("webhook reaches cobro");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn accepted(answer: &(u16, Value)) -> String {
    assert_eq!(
        (answer.0, answer.1["status"].as_str()),
        (200, Some("accepted")),
        "{}",
        answer.1
    );
    answer.1["event_id"].as_str().expect("event id").to_owned()
}

pub async fn get(app: &TestApp, tenant: &Tenant, rest: &str) -> Value {
    let (status, body) = app
        .get(&format!("/api/tenants/{}/{rest}", tenant.id), ADMIN)
        .await;
    assert_eq!(status, 200, "{rest}: {body}");
    body
}
