//! SPEC §15, issue 11: the contract, walked from the OpenAPI document itself, so that a route
//! added later is covered without touching this file. Authentication comes before anything else
//! (no token, a wrong token, with a bad body and bad path ids: 401 each); every error body is
//! `{"error","code"}` and its status is one the operation documents; a method a path lacks is
//! 405 with `Allow`. The property-based half (schemathesis) is `tests/contract/run.sh`.

use reqwest::Method;
use serde_json::Value;

use crate::utils::{ADMIN, TestApp};

/// Every operation of the document: (method, path template, the operation).
fn operations(doc: &Value) -> Vec<(Method, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            found.push((method, path.clone(), operation.clone()));
        }
    }
    found
}

/// The path with each `{param}` replaced by `value`.
fn fill(path: &str, value: &str) -> String {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("closing brace") + open;
        filled.push_str(&rest[..open]);
        filled.push_str(value);
        rest = &rest[close + 1..];
    }
    filled.push_str(rest);
    filled
}

fn secured(operation: &Value) -> bool {
    operation["security"]
        .as_array()
        .is_some_and(|s| !s.is_empty())
}

fn assert_error_body(what: &str, body: &Value) {
    let code = body["code"].as_str().unwrap_or_default();
    assert!(
        !code.is_empty()
            && code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: not an error body: {body}"
    );
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    raw_body: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut request = app.http.request(method, format!("{}{path}", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(raw) = raw_body {
        request = request
            .header("content-type", "application/json")
            .body(raw.to_owned());
    }
    let response = request.send().await.expect("request reaches cobro");
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, allow)
}

#[actix_web::test]
async fn every_secured_operation_authenticates_before_it_validates() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let tenant = app.create_tenant("5551000", None).await;
    let mut walked = 0;
    let mut secured_operations = 0;
    for (method, path, operation) in operations(&doc) {
        if !secured(&operation) {
            assert!(!path.starts_with("/api/"), "{method} {path} is not secured");
            continue;
        }
        secured_operations += 1;
        // Ids of the right shape (another tenant's, even) and of the wrong shape.
        for id in [tenant.id.as_str(), "0", "not-a-uuid"] {
            let target = fill(&path, id);
            for token in [None, Some("wrong-token"), Some("cbt_0000")] {
                for body in [None, Some("{\"not\": json"), Some("[]")] {
                    let what = format!("{method} {target} token={token:?} body={body:?}");
                    let (status, answer, _) =
                        send(&app, method.clone(), &target, token, body).await;
                    assert_eq!(status, 401, "{what}: {answer}");
                    assert_eq!(answer["code"], "unauthorized", "{what}: {answer}");
                    walked += 1;
                }
            }
        }
    }
    // Everything under /api/ in the document (48 operations, 22 of them the endpoints' of SPEC
    // §21, 2 the audit trail's of §20) and the WebSocket handshake.
    assert_eq!(
        secured_operations, 49,
        "the document's secured operations changed"
    );
    assert_eq!(walked, secured_operations * 27);
}

#[actix_web::test]
async fn errors_have_a_code_and_a_documented_status() {
    // With OAuth configured, so that `…/mp/connect` answers as it would in production.
    let app = crate::utils::oauth::app_with(&[]).await;
    let (_, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let tenant = app.create_tenant("5551001", None).await;
    let other = app.create_tenant("5551002", None).await;
    let mut errors = 0;
    for (method, path, operation) in operations(&doc) {
        if !path.starts_with("/api/") {
            continue;
        }
        let documented = |status: u16| operation["responses"][status.to_string()].is_object();
        // The super admin with bad ids and bad bodies; a tenant's token on another tenant.
        let cases = [
            (ADMIN, fill(&path, "not-a-uuid"), Some("{")),
            (
                ADMIN,
                fill(&path, &uuid::Uuid::now_v7().to_string()),
                Some("[]"),
            ),
            (tenant.token.as_str(), fill(&path, &other.id), None),
            (
                tenant.token.as_str(),
                fill(&path, &tenant.id),
                Some("{\"amount\": \"x\"}"),
            ),
        ];
        for (token, target, body) in cases {
            let body = body.filter(|_| operation["requestBody"].is_object());
            let what = format!("{method} {target} body={body:?}");
            let (status, answer, _) = send(&app, method.clone(), &target, Some(token), body).await;
            assert!(status < 500, "{what}: {status} {answer}");
            if status >= 400 {
                assert!(
                    documented(status),
                    "{what}: {status} is not documented: {answer}"
                );
                assert_error_body(&what, &answer);
                errors += 1;
            }
        }
    }
    assert!(errors > 30, "only {errors} error answers were checked");
}

#[actix_web::test]
async fn a_method_a_path_lacks_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    let tenant = app.create_tenant("5551003", None).await;
    let all = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let declared: Vec<String> = item
            .as_object()
            .expect("path item")
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        let target = fill(path, &tenant.id);
        for method in all.iter().filter(|m| !declared.contains(&m.to_string())) {
            let what = format!("{method} {target}");
            let (status, answer, allow) =
                send(&app, method.clone(), &target, Some(ADMIN), None).await;
            assert_eq!(status, 405, "{what}: {answer}");
            assert_eq!(answer["code"], "method_not_allowed", "{what}");
            let mut allowed: Vec<String> = allow
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect();
            allowed.sort();
            let mut expected = declared.clone();
            expected.sort();
            assert_eq!(allowed, expected, "{what}: Allow");
        }
    }
}

#[actix_web::test]
async fn path_ids_are_typed_as_uuids() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    for (method, path, operation) in operations(&doc) {
        for param in operation["parameters"].as_array().into_iter().flatten() {
            let name = param["name"].as_str().unwrap_or_default();
            if param["in"] == "path" && (name == "tid" || name == "id") {
                assert_eq!(
                    param["schema"]["format"], "uuid",
                    "{method} {path}: {name} is not a uuid"
                );
            }
        }
    }
}

/// PostgreSQL's `text` holds no NUL character: such text is refused before it reaches the
/// database, on both databases alike (schemathesis found the 500 it was on PostgreSQL).
#[actix_web::test]
async fn text_with_a_nul_character_is_refused_not_a_database_error() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("5551004", None).await;
    let body = serde_json::json!({ "name": "Shop\u{0}", "mp_user_id": "5551005",
        "mp_access_token": "APP_USR-x", "allow_unsigned": true });
    let (status, answer) = app.post("/api/tenants", ADMIN, body).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("unprocessable")),
        "{answer}"
    );
    let order = serde_json::json!({ "amount": 1, "currency": "ARS", "description": "a\u{0}b" });
    let path = format!("/api/tenants/{}/orders", tenant.id);
    let (status, answer) = app.post(&path, ADMIN, order).await;
    assert_eq!(status, 422, "{answer}");
    let path = format!("/api/tenants/{}/payments/12%0034", tenant.id);
    let (status, answer) = app.get(&path, ADMIN).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("not_found")),
        "{answer}"
    );
}
