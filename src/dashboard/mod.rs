//! The admin dashboard (SPEC §11): one HTML page with its script and stylesheet, and the charting
//! library of its overview (uPlot, vendored in `vendor/`), compiled into the binary so there is
//! nothing to build or deploy and the page works offline. It talks to the admin API and `/ws` like
//! any other client.

use actix_web::{HttpResponse, web};

const INDEX: &str = include_str!("index.html");
const SCRIPT: &str = include_str!("app.js");
const DETAIL_SCRIPT: &str = include_str!("detail.js");
const OVERVIEW_SCRIPT: &str = include_str!("overview.js");
const ALERTS_SCRIPT: &str = include_str!("alerts.js");
const ACTIONS_SCRIPT: &str = include_str!("actions.js");
const DELIVERIES_SCRIPT: &str = include_str!("deliveries.js");
const ENDPOINTS_SCRIPT: &str = include_str!("endpoints.js");
const ACTIVITY_SCRIPT: &str = include_str!("activity.js");
const STYLE: &str = include_str!("style.css");
const CHART_SCRIPT: &str = include_str!("vendor/uplot-1.6.32.iife.min.js");
const CHART_STYLE: &str = include_str!("vendor/uplot-1.6.32.min.css");

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
        "/assets/detail.js",
        web::get().to(|| asset(DETAIL_SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/overview.js",
        web::get().to(|| asset(OVERVIEW_SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/alerts.js",
        web::get().to(|| asset(ALERTS_SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/actions.js",
        web::get().to(|| asset(ACTIONS_SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/deliveries.js",
        web::get().to(|| asset(DELIVERIES_SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/endpoints.js",
        web::get().to(|| asset(ENDPOINTS_SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/activity.js",
        web::get().to(|| asset(ACTIVITY_SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/style.css",
        web::get().to(|| asset(STYLE, "text/css; charset=utf-8")),
    )
    .route(
        "/assets/vendor/uplot.js",
        web::get().to(|| asset(CHART_SCRIPT, "text/javascript; charset=utf-8")),
    )
    .route(
        "/assets/vendor/uplot.css",
        web::get().to(|| asset(CHART_STYLE, "text/css; charset=utf-8")),
    );
}

async fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-cache"))
        .body(body)
}
