//! The command line (`cobro serve|migrate|prune|tenant add|tenant list|secrets rotate`): parsing and the small commands.
//! `serve` lives in [`crate::run`]; everything here goes through the same store functions as the
//! admin API.

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::domain::Provider;
use crate::store::accounts::{self, StoredTenant};
use crate::store::audit::By;
use crate::store::{db, tenants};

#[derive(Parser)]
#[command(
    name = "cobro",
    version,
    about = "Multi-tenant MercadoPago webhook receiver"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (the default): webhooks, admin API, tenant actors.
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Run everything with a built-in MercadoPago/GoHighLevel sandbox and demo traffic, on a
    /// fresh SQLite file (data/demo/), and print the dashboard URL with tokens.
    Demo {
        /// Webhooks per second the demo sends.
        #[arg(long, default_value_t = 2.0)]
        rate: f64,
    },
    /// Delete processed events older than an age, in batches, showing progress.
    Prune(Prune),
    /// Manage tenants (sellers).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Tenant secrets at rest (COBRO_SECRET_KEY).
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every tenant secret under a new key, in one transaction. The current key is
    /// COBRO_SECRET_KEY (unset: the stored values are plain). Restart with the new key after.
    Rotate {
        /// The new key: base64 of 32 random bytes (`openssl rand -base64 32`).
        #[arg(long)]
        new_key: String,
    },
}

#[derive(Args)]
pub struct Prune {
    /// Age of the oldest events to keep, e.g. `30d`, `12h`, `90days`.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub older_than: std::time::Duration,
    /// Delete `failed` events of that age too (they are kept by default).
    #[arg(long)]
    pub failed: bool,
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Add a tenant and print its admin token (shown this once).
    Add(TenantAdd),
    /// List tenants (no secrets).
    List,
}

#[derive(Args)]
pub struct TenantAdd {
    /// Display name of the seller.
    #[arg(long)]
    pub name: String,
    /// The seller's MercadoPago user id (the webhook `user_id`).
    #[arg(long)]
    pub mp_user_id: String,
    /// The seller's MercadoPago access token, used to fetch payments.
    #[arg(long, env = "COBRO_TENANT_MP_ACCESS_TOKEN", hide_env_values = true)]
    pub mp_access_token: String,
    /// The seller's own webhook secret; without it COBRO_MP_WEBHOOK_SECRET applies.
    #[arg(long, env = "COBRO_TENANT_MP_WEBHOOK_SECRET", hide_env_values = true)]
    pub mp_webhook_secret: Option<String>,
    /// Accept unsigned notifications when no secret applies (MP does not sign QR payments).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// GoHighLevel location token (with --ghl-location-id and --ghl-tag).
    #[arg(long, env = "COBRO_TENANT_GHL_API_KEY", hide_env_values = true, requires_all = ["ghl_location_id", "ghl_tag"])]
    pub ghl_api_key: Option<String>,
    #[arg(long, requires = "ghl_api_key")]
    pub ghl_location_id: Option<String>,
    /// Tag added to buyers of approved payments.
    #[arg(long, requires = "ghl_api_key")]
    pub ghl_tag: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Secrets(#[from] crate::store::tenant_secrets::SecretsError),
    #[error("--new-key {0}")]
    NewKey(crate::secrets::SecretError),
    #[error("{0}")]
    Tenant(#[from] tenants::TenantError),
}

pub async fn secrets(config: &Config, command: SecretsCommand) -> Result<(), CliError> {
    let SecretsCommand::Rotate { new_key } = command;
    let new = crate::secrets::SecretBox::from_base64(&new_key).map_err(CliError::NewKey)?;
    let conn = db::connect(config).await?;
    db::migrate(&conn).await?;
    let count =
        crate::store::tenant_secrets::rotate(&conn, &config.secrets, &new, &By::cli()).await?;
    println!("re-encrypted {count} tenant secrets under the new key");
    println!("restart every node with COBRO_SECRET_KEY set to the new key");
    Ok(())
}

/// A tenant's MercadoPago account as `tenant list` shows it: `-` until one is linked.
fn shown(tenant: &StoredTenant) -> &str {
    tenant
        .account(Provider::MercadoPago)
        .and_then(|a| a.account_id.as_deref())
        .unwrap_or("-")
}

pub async fn migrate(config: &Config) -> Result<(), CliError> {
    let conn = db::connect(config).await?;
    db::migrate(&conn).await?;
    println!("database is up to date");
    Ok(())
}

pub async fn prune(config: &Config, args: Prune) -> Result<(), CliError> {
    let conn = db::connect(config).await?;
    db::migrate(&conn).await?;
    let gate = crate::store::gate::WriteGate::for_database(config.database_kind);
    let what = crate::retention::which_events(args.failed);
    println!(
        "pruning {what} events older than {}",
        humantime::format_duration(args.older_than)
    );
    let by = By::cli();
    let total = crate::retention::prune(
        &conn,
        &gate,
        args.older_than,
        args.failed,
        Some(&by),
        |done| {
            println!("  deleted {done}");
        },
    )
    .await?;
    println!("done: {total} events deleted");
    Ok(())
}

pub async fn tenant(config: &Config, command: TenantCommand) -> Result<(), CliError> {
    let conn = db::connect(config).await?;
    db::migrate(&conn).await?;
    match command {
        TenantCommand::Add(add) => {
            let ghl = match (add.ghl_api_key, add.ghl_location_id, add.ghl_tag) {
                (Some(api_key), Some(location_id), Some(tag)) => Some(tenants::GhlInput {
                    api_key,
                    location_id,
                    tag,
                }),
                _ => None,
            };
            let new = tenants::NewTenant {
                name: add.name,
                mp_user_id: Some(add.mp_user_id),
                mp_access_token: Some(add.mp_access_token),
                mp_webhook_secret: add.mp_webhook_secret,
                allow_unsigned: add.allow_unsigned,
                ghl,
            };
            let (tenant, token) = tenants::create(
                &conn,
                &config.secrets,
                new,
                config.mp_webhook_secret.is_some(),
                &By::cli(),
            )
            .await?;
            println!("tenant created");
            println!("  id:          {}", tenant.id());
            println!("  mp_user_id:  {}", shown(&tenant));
            println!("  admin_token: {token}   (shown once: store it now)");
        }
        TenantCommand::List => {
            println!("{:<36}  {:<14}  NAME", "ID", "MP USER ID");
            for tenant in accounts::list(&conn).await? {
                println!(
                    "{:<36}  {:<14}  {}",
                    tenant.id(),
                    shown(&tenant),
                    tenant.tenant.name
                );
            }
        }
    }
    Ok(())
}
