//! The background refresh (SPEC §14): every `mp_token_refresh_interval`, each node refreshes the
//! connected tenants whose token expires within `mp_token_refresh_before` and that it owns (every
//! tenant on SQLite; on PostgreSQL those whose lease it holds, so one node refreshes a tenant),
//! and publishes how many tokens expire within 7 days.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::{Connector, Reason, RefreshError, refresh};
use crate::domain::TenantId;
use crate::store::connections;

/// Which tenants this node may refresh.
pub type Owns = Arc<dyn Fn(TenantId) -> bool + Send + Sync>;

/// Runs until the process ends (spawned by `app::start` when OAuth is configured).
pub async fn run(svc: Arc<Connector>, owns: Owns) {
    let mut tick = tokio::time::interval(svc.config.mp_token_refresh_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = once(&svc, &owns).await {
            tracing::warn!(error = %err, "token refresh pass failed; next pass retries");
        }
    }
}

/// One pass; answers how many tokens were refreshed.
pub async fn once(svc: &Connector, owns: &Owns) -> Result<usize, sea_orm::DbErr> {
    let now = Utc::now();
    let week = now + chrono::Duration::days(7);
    let expiring = connections::expiring(&svc.db, week).await?;
    metrics::gauge!("cobro_mp_tokens_expiring_7d").set(expiring as f64);
    connections::forget_expired_states(&svc.db).await?;
    let window = chrono::Duration::from_std(svc.config.mp_token_refresh_before).unwrap_or_default();
    let due = connections::due_for_refresh(&svc.db, now + window).await?;
    let mut refreshed = 0;
    for tenant in due.into_iter().filter(|t| owns(*t)) {
        match refresh(svc, tenant, Reason::Expiring).await {
            Ok(_) => refreshed += 1,
            // Already counted and logged by `refresh`; the tenant is marked when MP refused.
            Err(RefreshError::Refused(_) | RefreshError::Unavailable(_)) => {}
            Err(RefreshError::NotConnected) => {}
            Err(RefreshError::Db(err)) => tracing::warn!(%tenant, error = %err, "token refresh"),
        }
        // Spread a large batch instead of calling MercadoPago for every seller at once.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(refreshed)
}
