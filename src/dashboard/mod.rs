//! The admin dashboard (SPEC §11): one HTML page with its script and stylesheet, compiled into
//! the binary so there is nothing to build or deploy. It talks to the admin API and `/ws` like
//! any other client.

use actix_web::{HttpResponse, web};

const INDEX: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("app.js");
const STYLE: &str = include_str!("style.css");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/",
        web::get().to(|| asset(INDEX, "text/html; charset=utf-8")),
    )
    .route(
        "/assets/app.js",
        web::get().to(|| asset(SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/style.css",
        web::get().to(|| asset(STYLE, "text/css; charset=utf-8")),
    );
}

async fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-cache"))
        .body(body)
}
