//! `cobro demo`: the whole system on a fresh SQLite file, with a built-in MercadoPago, Stripe and
//! GoHighLevel sandbox ([`sandbox`]), a generator of signed webhooks ([`generator`]) for three
//! demo tenants and a shop selling through Stripe ([`stripe_shop`]), so a newcomer sees it work
//! in one command without any provider account.

pub mod generator;
pub mod platform;
pub mod sandbox;
pub mod stripe_shop;

use std::time::Duration;

use crate::config::{Config, MpOAuth, RetrySchedule, Secret};
use crate::store::audit::By;
use crate::store::tenants::{self, GhlInput, NewTenant, TenantPatch};
use crate::{RunError, app};
use generator::{DEMO_SECRET, DemoTenant};
use sandbox::Sandbox;

const DEMO_DATABASE: &str = "data/demo/cobro-demo.db";

pub async fn run(mut config: Config, rate: f64) -> Result<(), RunError> {
    let sandbox = Sandbox::default();
    let sandbox_url = sandbox.start().map_err(RunError::Server)?;
    let _ = std::fs::remove_file(DEMO_DATABASE);
    config.database_url = format!("sqlite://{DEMO_DATABASE}?mode=rwc");
    config.database_kind = crate::config::DatabaseKind::Sqlite;
    config.mp_api_base = sandbox_url
        .parse()
        .map_err(|e| RunError::Demo(format!("sandbox URL: {e}")))?;
    config.ghl_api_base = config.mp_api_base.clone();
    config.mp_webhook_secret = Some(Secret::new(DEMO_SECRET));
    let admin = crate::store::tenants::new_admin_token().0;
    config.admin_token = Some(Secret::new(admin.clone()));
    config.retry_schedule =
        RetrySchedule::new(vec![Duration::from_secs(2), Duration::from_secs(5)])
            .ok_or_else(|| RunError::Demo("empty retry schedule".into()))?;
    config.sandbox = true;
    // The Stripe shop's events are test mode, as a Connect platform's sandbox sends them.
    config.stripe.api_base = config.mp_api_base.clone();
    config.stripe.secret_key = Some(Secret::new("sk_test_cobro_sandbox"));
    config.stripe.webhook_secrets = vec![Secret::new(stripe_shop::DEMO_STRIPE_SECRET)];
    config.stripe.livemode = false;
    // The demo platform's backend is the sandbox, on this machine, over http.
    config.outbound.allow_private = true;
    let bind = config.bind.clone();
    // SPEC §14 in the sandbox: the shop without a token connects itself through OAuth.
    config.public_url = format!("http://{bind}")
        .parse()
        .map_err(|e| RunError::Demo(format!("public URL: {e}")))?;
    config.mp_oauth = Some(MpOAuth {
        client_id: "sandbox-app".into(),
        client_secret: Secret::new(crate::store::tenants::new_admin_token().0),
        auth_base: config.mp_api_base.clone(),
    });
    tracing::info!(sandbox = true, url = %sandbox_url, "SANDBOX: MercadoPago, Stripe and GoHighLevel are simulated locally");
    let state = app::start(config, Vec::new()).await?;
    let demo_tenants = create_tenants(&state).await?;
    let unconnected = create_unconnected_shop(&state).await?;
    let stripe_shop = create_stripe_shop(&state).await?;
    listen_as_the_platform(&state, &sandbox, &sandbox_url).await?;
    let base_url = format!("http://{bind}");
    let platform_url = format!("{sandbox_url}/platform");
    let (generator_state, tenants_for_generator) = (state.clone(), demo_tenants.clone());
    crate::serve(state, &bind, move || {
        actix_web::rt::spawn(async move {
            wait_until_serving(&base_url).await;
            let shops = Shops {
                tenants: &demo_tenants,
                unconnected: &unconnected,
                stripe_shop: &stripe_shop,
            };
            print_banner(&base_url, &admin, &shops, &platform_url);
            actix_web::rt::spawn(print_progress(generator_state.services.db.clone()));
            // The Stripe shop sells at a third of the MercadoPago shops' rate.
            let every = Duration::from_secs_f64(3.0 / rate.max(0.1));
            actix_web::rt::spawn(stripe_shop::run(
                generator_state.clone(),
                sandbox.clone(),
                stripe_shop.clone(),
                base_url.clone(),
                every,
            ));
            generator::run(
                generator_state,
                sandbox,
                tenants_for_generator,
                base_url,
                rate,
            )
            .await;
        });
    })
    .await
}

/// The port is bound before the server's workers run: wait for `/ready` before telling anyone.
async fn wait_until_serving(base_url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(answer) = http.get(format!("{base_url}/ready")).send().await
            && answer.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create_tenants(state: &crate::state::AppState) -> Result<Vec<DemoTenant>, RunError> {
    let shops = [
        ("Academia Online", "1001001", true),
        ("Tienda de Ropa", "1002002", false),
        ("Café Central", "1003003", false),
    ];
    let mut created = Vec::new();
    for (name, mp_user_id, ghl) in shops {
        let new = shop(name, mp_user_id, ghl);
        let (tenant, token) = tenants::create(
            &state.services.db,
            &state.services.config.secrets,
            new,
            true,
            &By::cli(),
        )
        .await
        .map_err(|e| RunError::Demo(e.to_string()))?;
        created.push(DemoTenant {
            id: tenant.id(),
            name: name.into(),
            mp_user_id: mp_user_id.into(),
            token,
        });
    }
    Ok(created)
}

/// A demo shop with a sandbox MercadoPago token and, with `ghl`, GoHighLevel tagging.
fn shop(name: &str, mp_user_id: &str, ghl: bool) -> NewTenant {
    NewTenant {
        name: name.into(),
        mp_user_id: Some(mp_user_id.into()),
        mp_access_token: Some("APP_USR-sandbox".into()),
        mp_webhook_secret: None,
        allow_unsigned: false,
        ghl: ghl.then(|| GhlInput {
            api_key: "sandbox".into(),
            location_id: "sandbox".into(),
            tag: "cliente-demo".into(),
        }),
    }
}

/// A shop with no token yet: it connects itself with **Connect MercadoPago** in the dashboard,
/// through the sandbox's authorization page. Answers its admin token.
async fn create_unconnected_shop(state: &crate::state::AppState) -> Result<String, RunError> {
    let new = NewTenant {
        name: "Nueva Tienda".into(),
        mp_user_id: Some(sandbox::SANDBOX_SELLER.into()),
        mp_access_token: None,
        mp_webhook_secret: None,
        allow_unsigned: false,
        ghl: None,
    };
    let services = &state.services;
    let (_, token) = tenants::create(
        &services.db,
        &services.config.secrets,
        new,
        true,
        &By::cli(),
    )
    .await
    .map_err(|e| RunError::Demo(e.to_string()))?;
    Ok(token)
}

/// A shop that takes MercadoPago at home and Stripe abroad: its connected Stripe account is
/// linked as `PATCH {"stripe_account_id"}` would link it.
async fn create_stripe_shop(state: &crate::state::AppState) -> Result<DemoTenant, RunError> {
    let (name, mp_user_id) = ("Global Store", "1005005");
    let new = shop(name, mp_user_id, false);
    let services = &state.services;
    let secrets = &services.config.secrets;
    let failed = |e: crate::store::tenants::TenantError| RunError::Demo(e.to_string());
    let (tenant, token) = tenants::create(&services.db, secrets, new, true, &By::cli())
        .await
        .map_err(failed)?;
    let link = TenantPatch {
        stripe_account_id: Some(Some(stripe_shop::DEMO_STRIPE_ACCOUNT.into())),
        ..TenantPatch::default()
    };
    tenants::update(&services.db, secrets, tenant.id(), link, true, &By::cli())
        .await
        .map_err(failed)?;
    Ok(DemoTenant {
        id: tenant.id(),
        name: name.into(),
        mp_user_id: mp_user_id.into(),
        token,
    })
}

/// A platform-wide endpoint (SPEC §21) pointing at the sandbox's backend, which is told the secret.
async fn listen_as_the_platform(
    state: &crate::state::AppState,
    sandbox: &Sandbox,
    sandbox_url: &str,
) -> Result<(), RunError> {
    use crate::store::outbound::endpoints::{self, NewEndpoint, Scope};
    let new = NewEndpoint {
        url: format!("{sandbox_url}/platform/webhooks"),
        events: None,
        description: Some("the demo platform's backend (sandbox)".into()),
    };
    let services = &state.services;
    let (_, secret) =
        endpoints::create(&services.db, &services.config.secrets, Scope::Platform, new)
            .await
            .map_err(|e| RunError::Demo(e.to_string()))?;
    sandbox.platform.trust(secret);
    Ok(())
}

/// Every few seconds, one compact line of what happened so far (logs default to warnings in the
/// demo, so the banner with the sign-in tokens stays on the screen).
async fn print_progress(db: sea_orm::DatabaseConnection) {
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Ok(counts) = crate::store::events::count_by_status(&db).await else {
            continue;
        };
        let line = progress_line(chrono::Local::now().format("%H:%M:%S"), &counts);
        let mut stdout = std::io::stdout().lock();
        let _ = std::io::Write::write_all(&mut stdout, line.as_bytes());
        let _ = std::io::Write::flush(&mut stdout);
    }
}

const PROGRESS_EVERY: Duration = Duration::from_secs(5);

fn progress_line(at: impl std::fmt::Display, counts: &[(String, i64)]) -> String {
    let of = |status: &str| {
        counts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    let accepted: i64 = counts.iter().map(|(_, n)| n).sum();
    let waiting = of("pending") + of("processing");
    format!(
        "  {at}  webhooks accepted {accepted} · processed {} · failed {} · waiting {waiting}\n",
        of("success"),
        of("failed"),
    )
}

/// Written in one go, and a closed stdout (a pipe whose reader went away) is not a reason to stop
/// the demo: `println!` would panic there and take the webhook generator with it.
/// The shops whose tokens the banner prints.
struct Shops<'a> {
    tenants: &'a [DemoTenant],
    unconnected: &'a str,
    stripe_shop: &'a DemoTenant,
}

fn print_banner(base_url: &str, admin: &str, shops: &Shops<'_>, platform_url: &str) {
    let Shops {
        tenants,
        unconnected,
        stripe_shop,
    } = shops;
    use std::fmt::Write as _;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\n  Cobro demo — SANDBOX: MercadoPago, Stripe and GoHighLevel are simulated on this machine.\n"
    );
    let _ = writeln!(text, "  Dashboard:  {base_url}/");
    let _ = writeln!(text, "  Sign in as the super admin with:  {admin}");
    for tenant in tenants.iter() {
        let _ = writeln!(
            text,
            "  ... or as {:<16} with:  {}",
            tenant.name, tenant.token
        );
    }
    let _ = writeln!(
        text,
        "  ... or as {:<16} with:  {unconnected}\n      (not connected yet: sign in and click Connect MercadoPago)",
        "Nueva Tienda"
    );
    let _ = writeln!(
        text,
        "  ... or as {:<16} with:  {}\n      (sells abroad through Stripe: test-mode events on /webhooks/stripe)",
        stripe_shop.name, stripe_shop.token
    );
    let _ = writeln!(
        text,
        "\n  The platform's backend (sandbox) hears every change, signed: {platform_url}"
    );
    let _ = writeln!(
        text,
        "\n  Signed webhooks are arriving now (payments, an Orders API shop, a chargeback, a fraud alert);\n  a line below every few seconds says how they went (RUST_LOG=info shows every request).\n  Ctrl-C stops the demo. Database: {DEMO_DATABASE}\n"
    );
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, text.as_bytes());
    let _ = std::io::Write::flush(&mut stdout);
}
