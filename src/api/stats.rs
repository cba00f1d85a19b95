//! `GET /api/tenants/{tid}/stats` and, for the super admin, `GET /api/stats` (issue 13): the
//! figures the dashboard's overview draws. Counted by `store::stats` at each call.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::access::{SuperAdmin, TenantAccess};
use crate::domain::TenantId;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::stats::{self, Stats};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/stats").route(web::get().to(all)))
        .service(web::resource("/tenants/{tid}/stats").route(web::get().to(one)));
}

/// Events received in one bucket (a minute or a day, UTC), by where they stand now.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct BucketOut {
    /// `YYYY-MM-DDTHH:MM` (a minute) or `YYYY-MM-DD` (a day), UTC.
    pub bucket: String,
    pub pending: i64,
    pub processing: i64,
    pub success: i64,
    pub failed: i64,
}

/// The approved amount of one currency in one day (UTC).
#[derive(Debug, Serialize, ToSchema)]
pub struct AmountOut {
    pub day: String,
    pub currency: Option<String>,
    pub amount: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueOut {
    pub pending: i64,
    pub processing: i64,
    /// When the oldest `pending` event was received.
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

/// The overview's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    pub generated_at: DateTime<Utc>,
    /// The last hour, a bucket per minute that received events.
    pub per_minute: Vec<BucketOut>,
    /// The last 30 days, a bucket per day that received events.
    pub per_day: Vec<BucketOut>,
    /// `failed / (success + failed)` over the last 30 days; `null` before anything finished.
    pub failure_rate: Option<f64>,
    /// Approved payments of the last 30 days, per day and currency.
    pub approved_per_day: Vec<AmountOut>,
    pub queue: QueueOut,
}

fn buckets(counts: Vec<stats::Count>) -> Vec<BucketOut> {
    let mut by_bucket: BTreeMap<String, BucketOut> = BTreeMap::new();
    for count in counts {
        let entry = by_bucket
            .entry(count.bucket.clone())
            .or_insert_with(|| BucketOut {
                bucket: count.bucket,
                ..Default::default()
            });
        match count.status.as_str() {
            "pending" => entry.pending += count.count,
            "processing" => entry.processing += count.count,
            "success" => entry.success += count.count,
            _ => entry.failed += count.count,
        }
    }
    by_bucket.into_values().collect()
}

impl StatsOut {
    fn from_stats(stats: Stats, now: DateTime<Utc>) -> Self {
        let per_day = buckets(stats.per_day);
        let (done, failed) = per_day
            .iter()
            .fold((0, 0), |(d, f), b| (d + b.success + b.failed, f + b.failed));
        Self {
            generated_at: now,
            per_minute: buckets(stats.per_minute),
            failure_rate: (done > 0).then(|| failed as f64 / done as f64),
            per_day,
            approved_per_day: stats
                .approved_per_day
                .into_iter()
                .map(|a| AmountOut {
                    day: a.bucket,
                    currency: a.currency,
                    amount: a.amount.unwrap_or_default(),
                })
                .collect(),
            queue: QueueOut {
                pending: stats.queue.pending,
                processing: stats.queue.processing,
                oldest_pending_at: stats.queue.oldest_pending_at,
            },
        }
    }
}

async fn answer(state: &AppState, tenant: Option<TenantId>) -> Result<HttpResponse, AppError> {
    let now = Utc::now();
    let stats = stats::overview(&state.services.db, tenant, now).await?;
    Ok(HttpResponse::Ok().json(StatsOut::from_stats(stats, now)))
}

#[utoipa::path(get, path = "/api/tenants/{tid}/stats", tag = "events", security(("bearer" = [])),
    params(("tid" = uuid::Uuid, Path, description = "tenant id")),
    responses((status = 200, description = "the tenant's overview figures", body = StatsOut)))]
pub(crate) async fn one(
    access: TenantAccess,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    answer(&state, Some(access.0)).await
}

#[utoipa::path(get, path = "/api/stats", tag = "events", security(("bearer" = [])),
    responses((status = 200, description = "every tenant's overview figures together (super admin)", body = StatsOut)))]
pub(crate) async fn all(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    answer(&state, None).await
}
