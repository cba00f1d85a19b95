//! Steps 2–5 of a payment notification's attempt: fetch the payment (under the tenant's limiter
//! and lease, the seller's token refreshed once when refused), check it is the tenant's, and
//! either store it and tag its buyer one write after the other, or hand the batch the write to
//! queue and read its answer.

use std::time::Instant;

use entity::webhook_event;
use serde_json::json;

use super::credentials;
use super::fetch::seller;
use super::tagging::tag_buyer;
use super::{AttemptOutcome, Fetched, Processed, Steps, Stop, guarded};
use crate::domain::{Account, EventId, PaymentSnapshot, PaymentStatus};
use crate::tenant::failure::{self, Failure};
use crate::writer::{self as record, Claimed, PaymentStored, WriteError};

impl Steps<'_> {
    /// Steps 2–3: wait for the tenant's provider limiter, fetch the payment (its provider maps
    /// the status), and check that it is the tenant's.
    pub async fn fetch(
        &self,
        event: &webhook_event::Model,
        started: Instant,
    ) -> Result<Fetched, Stop> {
        let (svc, limits) = (self.svc, self.limits);
        let tenant = self.tenant().await?;
        let payment_id = event.mp_payment_id.as_str();
        let account = credentials::account(&tenant, event)?;
        let provider = account.provider;
        let fetch = async {
            limits.provider(provider).until_ready().await;
            let token = &account.access_token;
            let first = svc
                .providers
                .fetch_payment(provider, seller(account, token), payment_id)
                .await;
            match first {
                Err(refused) if credentials::worth_refreshing(account, &refused) => {
                    let fresh = credentials::refreshed(svc, self.tenant, token, refused).await?;
                    limits.provider(provider).until_ready().await;
                    svc.providers
                        .fetch_payment(provider, seller(account, &fresh), payment_id)
                        .await
                }
                other => other,
            }
        };
        let mut snapshot = guarded(self.fence, fetch).await??;
        if snapshot.external_reference.is_none() {
            snapshot.external_reference = provider.order_named_by(&event.raw_payload);
        }
        check_seller(&snapshot, account)?;
        let approved = snapshot.status == PaymentStatus::Approved;
        let tagging = tenant.ghl.clone().filter(|_| approved);
        let update = record::PaymentUpdate {
            tenant: self.tenant,
            event_id: EventId(event.id),
            payment_id: payment_id.to_owned(),
            snapshot: snapshot.clone(),
            wants_tag: tagging.is_some(),
            started,
        };
        Ok(Fetched {
            update,
            snapshot,
            tagging,
        })
    }

    /// Steps 4–7 of a payment whose buyer may need a tag, one write after the other: the payment
    /// is stored, the buyer tagged and the tag recorded (so a replay never tags again), then the
    /// event marked `success` together with the claim of `then_claim`.
    pub async fn store_and_tag(
        &self,
        event: &webhook_event::Model,
        fetched: Fetched,
        then_claim: Vec<EventId>,
    ) -> Result<(Processed, Vec<Claimed>), Stop> {
        let (svc, lease) = (self.svc, self.lease());
        let Fetched {
            update,
            snapshot,
            tagging,
        } = fetched;
        let (started, order_target) = (update.started, update.order_target());
        let stored = svc.writer.store_payment(lease, update, Vec::new()).await?;
        let (event, next) = match stored.finished {
            Some(finished) => (finished, Vec::new()),
            None => {
                let mut tagged = false;
                if let Some(settings) = tagging {
                    let tag = tag_buyer(svc, self.limits, &settings, &snapshot);
                    if let Some(contact) = guarded(self.fence, tag).await?? {
                        svc.writer
                            .mark_tagged(lease, stored.payment.payment_id(), contact)
                            .await?;
                        tagged = true;
                    }
                }
                let payment = stored.payment.payment_id();
                let success = svc.writer.mark_success(
                    lease,
                    EventId(event.id),
                    Some(payment),
                    started,
                    tagged,
                    then_claim,
                );
                let finished = success.await?;
                (finished.event, finished.next)
            }
        };
        let processed = Processed {
            payment: stored.payment,
            snapshot,
            mapped_order_status: order_target.map(|o| o.as_str()),
            event,
        };
        Ok((processed, next))
    }

    /// A payment write answered: broadcasts its success, or records why it was not made.
    pub async fn payment_answered(
        &self,
        event: &webhook_event::Model,
        snapshot: PaymentSnapshot,
        mapped_order_status: Option<&'static str>,
        started: Instant,
        stored: Result<PaymentStored, WriteError>,
    ) -> (AttemptOutcome, Vec<Claimed>) {
        let failure = match stored {
            Ok(PaymentStored {
                payment,
                finished: Some(event),
                next,
                ..
            }) => {
                let processed = Processed {
                    payment,
                    mapped_order_status,
                    snapshot,
                    event,
                };
                return (self.publish_success(&processed), next);
            }
            // No tag was wanted, so the write finishes the event; a store that did not is a bug.
            Ok(PaymentStored { finished: None, .. }) => failure::from_db(sea_orm::DbErr::Custom(
                "the payment was stored but its event was not marked success".into(),
            )),
            Err(WriteError::LeaseLost(_)) => return (AttemptOutcome::LeaseLost, Vec::new()),
            Err(WriteError::Database(err)) => failure::from_db(err),
        };
        self.record_failure(event, failure, started, Vec::new())
            .await
    }
}

/// Step 3: the body is not signed, so the payment must belong to the account that was notified.
pub fn check_seller(payment: &PaymentSnapshot, account: &Account) -> Result<(), Failure> {
    let mp_user_id = account.account_id.as_deref().unwrap_or("none");
    if account.account_id.is_some() && payment.seller_account_id == account.account_id {
        return Ok(());
    }
    let found = payment.seller_account_id.as_deref().unwrap_or("none");
    Err(Failure::permanent(
        format!(
            "collector mismatch: the payment belongs to collector {found}, not to this tenant ({mp_user_id})"
        ),
        json!({ "collector_id": found, "mp_user_id": mp_user_id }),
    ))
}
