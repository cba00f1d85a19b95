//! An attempt on a notification that is not about one payment (SPEC §17): an order of the
//! Orders API, a dispute (chargeback), a fraud alert, a buyer's claim. These are rare next to
//! payments, so an attempt runs its steps one write after the other, alone in the tenant's
//! queue (the batch waits for every earlier write first, as for a payment whose buyer is
//! tagged): fetch what the notification names (never trusting its body), store the payments and
//! the order move in one write, then add or take back GoHighLevel tags, then `success`.

use std::time::Instant;

use entity::webhook_event;

use super::credentials;
use super::tagging::{tag_buyer, untag_buyer};
use super::{AttemptOutcome, Steps, Stop};
use crate::domain::{EventId, PaymentSnapshot, ResourceKind};
use crate::publish::{FraudAlert, PaymentStatusUpdated, StatusUpdate};
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
        then_claim: Vec<EventId>,
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
        then_claim: Vec<EventId>,
    ) -> Result<(AttemptOutcome, Vec<Claimed>), Stop> {
        let (svc, lease) = (self.svc, self.lease());
        let tenant = self.tenant().await?;
        let ghl = tenant.ghl.clone();
        let fetched = match self.superseded(event, kind).await? {
            Some(note) => Fetched {
                write: self.write(event, Vec::new(), None, false, Some(note), started),
                snapshots: Vec::new(),
            },
            None => {
                let account = credentials::account(&tenant, event)?;
                let (changes, order) = self.fetch_named(account, event, kind).await?;
                let snapshots = changes.iter().map(|c| c.snapshot.clone()).collect();
                let write = self.write(event, changes, order, ghl.is_some(), None, started);
                Fetched { write, snapshots }
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
                let payment = stored.payments.first().map(|(p, _)| p.payment_id());
                let success = svc.writer.mark_success(
                    lease,
                    EventId(event.id),
                    payment,
                    started,
                    tagged,
                    then_claim,
                );
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
            event_id: EventId(event.id),
            payments,
            order,
            ghl,
            note,
            processing_ms: record::elapsed_ms(started),
        }
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
                    svc.writer
                        .mark_untagged(lease, payment.payment_id())
                        .await?;
                }
                (true, None) => {}
                (false, _) => {
                    let tag = tag_buyer(svc, self.limits, settings, snapshot);
                    if let Some(contact) = self.guarded(tag).await?? {
                        svc.writer
                            .mark_tagged(lease, payment.payment_id(), contact)
                            .await?;
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
            let update = PaymentStatusUpdated::of(
                self.tenant,
                snapshot,
                &payment.mp_payment_id,
                order_status,
            );
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
