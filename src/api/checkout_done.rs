//! `GET /checkout/done`: where a buyer lands after paying on a Stripe Checkout page (its
//! `success_url`). Public and static: the payment is confirmed by Stripe's webhook, never by
//! this visit, so the page promises nothing and reads nothing.

use actix_web::{HttpResponse, web};

pub const PATH: &str = "/checkout/done";

const PAGE: &str = r#"<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>Pago recibido</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; text-align: center">
<h1>Gracias</h1>
<p>Recibimos tu pago; la tienda lo confirma en unos segundos. Ya puedes cerrar esta página.</p>
<p lang="en">Thank you: your payment was received and the shop is confirming it. You may close this page.</p>
</body></html>"#;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PATH).route(web::get().to(done)));
}

#[utoipa::path(get, path = "/checkout/done", tag = "orders",
    responses((status = 200, description = "a static thank-you page for buyers back from a Stripe Checkout", content_type = "text/html", body = String)))]
pub(crate) async fn done() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PAGE)
}
