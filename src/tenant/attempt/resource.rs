//! An attempt on a notification that is not about one payment (SPEC §17): an order of the
//! Orders API, a dispute (chargeback), a fraud alert, a buyer's claim. These are rare next to
//! payments, so an attempt runs its steps one write after the other, alone in the tenant's
//! queue (the batch waits for every earlier write first, as for a payment whose buyer is
//! tagged): fetch what the notification names (never trusting its body), store the payments and
//! the order move in one write, then add or take back GoHighLevel tags, then `success`.

use std::time::Instant;

use entity::webhook_event;
use serde_json::json;
use uuid::Uuid;

use super::credentials;
use super::payment::check_seller;
use super::publish::status_update;
use super::tagging::{ghl_settings, tag_buyer, untag_buyer};
use super::{AttemptOutcome, Steps, Stop};
use crate::domain::{Failure, PaymentSnapshot, ResourceKind};
use crate::provider::Provider;
use crate::publish::{FraudAlert, StatusUpdate};
use crate::store::resources::{OrderChange, PaymentChange, ResourceStored, ResourceWrite};
use crate::tenant::failure;
use crate::writer::{self as record, Claimed};

/// What an attempt fetched, before it is written.
struct Fetched {
    write: ResourceWrite,
    /// The payments as fetched, in `write.payments`' order, for the broadcasts and tags.
    snapshots: Vec<PaymentSnapshot>,
}

impl Steps<'_> {
    /// One attempt on `event` (not a payment notification), whatever its outcome.
    pub async fn process_resource(
        &self,
        event: &webhook_event::Model,
        kind: ResourceKind,
        started: Instant,
        then_claim: Vec<Uuid>,
    ) -> (AttemptOutcome, Vec<Claimed>) {
        match self
            .resource_steps(event, kind, started, then_claim.clone())
            .await
        {
            Ok((outcome, next)) => (outcome, next),
            Err(Stop::LeaseLost) => (AttemptOutcome::LeaseLost, Vec::new()),
            Err(Stop::Failed(failure)) => {
                self.record_failure(event, failure, started, then_claim)
                    .await
            }
        }
    }

    async fn resource_steps(
        &self,
        event: &webhook_event::Model,
        kind: ResourceKind,
        started: Instant,
        then_claim: Vec<Uuid>,
    ) -> Result<(AttemptOutcome, Vec<Claimed>), Stop> {
        let (svc, lease) = (self.svc, self.lease());
        let tenant = self.tenant_row().await?;
        let ghl = ghl_settings(&tenant);
        let fetched = match self.superseded(event, kind).await? {
            Some(note) => Fetched {
                write: self.write(event, Vec::new(), None, false, Some(note), started),
                snapshots: Vec::new(),
            },
            None => {
                credentials::usable(&tenant)?;
                self.fetch_resource(&tenant, event, kind, ghl.is_some(), started)
                    .await?
            }
        };
        let stored = svc
            .writer
            .store_resource(lease, fetched.write.clone())
            .await?;
        let (finished, next) = match stored.finished.clone() {
            Some(event) => (event, Vec::new()),
            None => {
                let tagged = self.settle_tags(&fetched, &stored, ghl.as_ref()).await?;
                let payment = stored.payments.first().map(|(p, _)| p.id);
                let success = svc
                    .writer
                    .mark_success(lease, event.id, payment, started, tagged, then_claim);
                let done = success.await?;
                (done.event, done.next)
            }
        };
        self.publish_resource(event, kind, &fetched, &stored);
        self.publish_event(&finished);
        tracing::info!(event = %finished.id, resource = kind.as_str(),
            processing_ms = finished.processing_ms, "event processed");
        Ok((AttemptOutcome::Succeeded, next))
    }

    async fn tenant_row(&self) -> Result<std::sync::Arc<entity::tenant::Model>, Stop> {
        let found = self.svc.directory.get(self.tenant).await;
        let tenant = found.map_err(failure::from_db)?;
        Ok(tenant.ok_or_else(|| Failure::permanent("the tenant was deleted", json!({})))?)
    }

    /// SPEC §17: an order notification whose version is not above the last one processed for
    /// its order fetches nothing.
    async fn superseded(
        &self,
        event: &webhook_event::Model,
        kind: ResourceKind,
    ) -> Result<Option<String>, Stop> {
        let (Some(version), Some(order), ResourceKind::Order) =
            (event.resource_version, &event.resource_id, kind)
        else {
            return Ok(None);
        };
        let last = crate::store::events::last_version_processed(&self.svc.db, self.tenant, order)
            .await
            .map_err(failure::from_db)?;
        Ok(last
            .filter(|last| version <= *last)
            .map(|last| format!("superseded by version {last}")))
    }

    /// Fetches what the notification names, with the seller's token (refreshed once when
    /// refused, as for payments).
    async fn fetch_resource(
        &self,
        tenant: &entity::tenant::Model,
        event: &webhook_event::Model,
        kind: ResourceKind,
        ghl: bool,
        started: Instant,
    ) -> Result<Fetched, Stop> {
        let providers = &self.svc.providers;
        let provider = Provider::of_tenant(tenant);
        let resource = event.resource_id.clone().unwrap_or_default();
        let seller = tenant.mp_user_id.as_str();
        let payment = |id: String| {
            self.with_token(tenant, move |token| {
                let id = id.clone();
                async move { providers.fetch_payment(provider, &token, &id).await }
            })
        };
        let (changes, order) = match kind {
            ResourceKind::Order => {
                let order = self
                    .with_token(tenant, |token| {
                        let id = resource.clone();
                        async move { providers.fetch_order(provider, &token, &id).await }
                    })
                    .await?;
                if let Some(owner) = &order.seller_account_id {
                    check_owner(owner, seller, &format!("order {}", order.id))?;
                }
                let changes = order
                    .payments
                    .into_iter()
                    .filter_map(|snapshot| Some(change(snapshot.id.clone()?, snapshot)))
                    .collect();
                let move_to = order.external_reference.map(|reference| OrderChange {
                    reference,
                    target: order.target,
                    fraud: false,
                });
                (changes, move_to)
            }
            ResourceKind::Chargeback => {
                let dispute = self
                    .with_token(tenant, |token| {
                        let id = resource.clone();
                        async move { providers.fetch_dispute(provider, &token, &id).await }
                    })
                    .await?;
                let mut ids = dispute.payment_ids.clone();
                if ids.is_empty() && !event.mp_payment_id.is_empty() {
                    ids.push(event.mp_payment_id.clone());
                }
                let mut changes = Vec::with_capacity(ids.len());
                for id in ids {
                    let snapshot = payment(id.clone()).await?;
                    check_seller(&snapshot, seller)?;
                    let mut change = change(id, snapshot);
                    change.dispute = Some(dispute.summary.clone());
                    changes.push(change);
                }
                let order = follow_payment(&changes, false);
                (changes, order)
            }
            ResourceKind::FraudAlert => {
                let snapshot = payment(event.mp_payment_id.clone()).await?;
                check_seller(&snapshot, seller)?;
                let mut change = change(event.mp_payment_id.clone(), snapshot);
                change.fraud_alert = true;
                let changes = vec![change];
                let order = follow_payment(&changes, true);
                (changes, order)
            }
            ResourceKind::Claim => {
                let claim = self
                    .with_token(tenant, |token| {
                        let id = resource.clone();
                        async move { providers.fetch_claim(provider, &token, &id).await }
                    })
                    .await?;
                let Some(id) = claim.payment_id.clone() else {
                    let message =
                        format!("claim {} is not on a payment; nothing to update", claim.id);
                    return Err(
                        Failure::permanent(message, json!({ "service": "mercadopago" })).into(),
                    );
                };
                let snapshot = payment(id.clone()).await?;
                check_seller(&snapshot, seller)?;
                let mut change = change(id, snapshot);
                change.claim = Some(claim.summary.clone());
                let changes = vec![change];
                let order = follow_payment(&changes, false);
                (changes, order)
            }
            ResourceKind::Payment | ResourceKind::Connection => {
                let message = format!("a {} event has no resource step", kind.as_str());
                return Err(Failure::permanent(message, json!({})).into());
            }
        };
        let snapshots = changes
            .iter()
            .map(|c: &PaymentChange| c.snapshot.clone())
            .collect();
        Ok(Fetched {
            write: self.write(event, changes, order, ghl, None, started),
            snapshots,
        })
    }

    fn write(
        &self,
        event: &webhook_event::Model,
        payments: Vec<PaymentChange>,
        order: Option<OrderChange>,
        ghl: bool,
        note: Option<String>,
        started: Instant,
    ) -> ResourceWrite {
        ResourceWrite {
            tenant: self.tenant,
            event_id: event.id,
            payments,
            order,
            ghl,
            note,
            processing_ms: record::elapsed_ms(started),
        }
    }

    /// A provider call under the tenant's limiter and lease, with its token; a refused OAuth
    /// token is refreshed once and the call made again.
    async fn with_token<T, F, Fut>(
        &self,
        tenant: &entity::tenant::Model,
        call: F,
    ) -> Result<T, Stop>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let limits = self.limits;
        let token = tenant.mp_access_token.clone();
        let attempt = async {
            limits.provider.until_ready().await;
            match call(token.clone()).await {
                Err(refused) if credentials::worth_refreshing(tenant, &refused) => {
                    let fresh =
                        credentials::refreshed(self.svc, self.tenant, &token, refused).await?;
                    limits.provider.until_ready().await;
                    call(fresh).await
                }
                other => other,
            }
        };
        Ok(self.guarded(attempt).await??)
    }

    /// Adds the tags due (approved, not flagged) and takes back those a fraud alert flags, each
    /// recorded at once; answers whether a tag was added.
    async fn settle_tags(
        &self,
        fetched: &Fetched,
        stored: &ResourceStored,
        settings: Option<&crate::ghl::GhlSettings>,
    ) -> Result<bool, Stop> {
        let (svc, lease) = (self.svc, self.lease());
        let Some(settings) = settings else {
            return Ok(false);
        };
        let mut tagged = false;
        for ((payment, _), snapshot) in stored.payments.iter().zip(&fetched.snapshots) {
            if !fetched.write.ghl_due(payment) {
                continue;
            }
            match (payment.fraud_alert, &payment.ghl_contact_id) {
                (true, Some(contact)) => {
                    let untag = untag_buyer(svc, self.limits, settings, contact);
                    self.guarded(untag).await??;
                    svc.writer.mark_untagged(lease, payment.id).await?;
                }
                (true, None) => {}
                (false, _) => {
                    let tag = tag_buyer(svc, self.limits, settings, snapshot);
                    if let Some(contact) = self.guarded(tag).await?? {
                        svc.writer.mark_tagged(lease, payment.id, contact).await?;
                        tagged = true;
                    }
                }
            }
        }
        Ok(tagged)
    }

    /// `paymentStatusUpdated` for each payment whose status changed (an order's) or that the
    /// notification is about (a dispute, fraud alert or claim), and `fraudAlert`.
    fn publish_resource(
        &self,
        event: &webhook_event::Model,
        kind: ResourceKind,
        fetched: &Fetched,
        stored: &ResourceStored,
    ) {
        let publisher = &self.svc.publisher;
        let order_status = stored.order.as_ref().map(|(_, status)| status.as_str());
        for ((payment, before), snapshot) in stored.payments.iter().zip(&fetched.snapshots) {
            let changed = before.as_deref() != Some(payment.status.as_str());
            if kind == ResourceKind::Order && !changed {
                continue;
            }
            let update = status_update(self.tenant, snapshot, &payment.mp_payment_id, order_status);
            publisher.publish(self.tenant, StatusUpdate::Payment(update));
        }
        if kind == ResourceKind::FraudAlert {
            let alert = FraudAlert {
                order_id: fetched
                    .snapshots
                    .first()
                    .and_then(|s| s.external_reference.clone()),
                payment_id: event.mp_payment_id.clone(),
                description: event
                    .raw_payload
                    .pointer("/data/description")
                    .and_then(|d| d.as_str())
                    .map(str::to_owned),
            };
            tracing::warn!(payment = %alert.payment_id, "fraud alert: do not deliver");
            publisher.publish(self.tenant, StatusUpdate::FraudAlert(alert));
        }
    }
}

fn change(payment_id: String, snapshot: PaymentSnapshot) -> PaymentChange {
    PaymentChange {
        payment_id,
        snapshot,
        fraud_alert: false,
        dispute: None,
        claim: None,
    }
}

/// The Cobro order a payment names moves as the payment's status says (SPEC §7), or, for a
/// fraud alert, to `CANCELLED`.
fn follow_payment(changes: &[PaymentChange], fraud: bool) -> Option<OrderChange> {
    changes.iter().find_map(|change| {
        let reference = change.snapshot.external_reference.clone()?;
        let target = match fraud {
            true => crate::domain::OrderStatus::Cancelled,
            false => change.snapshot.status.order_target()?,
        };
        Some(OrderChange {
            reference,
            target,
            fraud,
        })
    })
}

/// The body is not signed: what the provider answers must be the notified seller's.
fn check_owner(owner: &str, seller: &str, what: &str) -> Result<(), Failure> {
    match owner == seller {
        true => Ok(()),
        false => Err(Failure::permanent(
            format!(
                "seller mismatch: {what} belongs to seller {owner}, not to this tenant ({seller})"
            ),
            json!({ "user_id": owner, "mp_user_id": seller }),
        )),
    }
}
