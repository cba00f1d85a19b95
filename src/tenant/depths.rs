//! The queue depth of each tenant that has work (queued, waiting on a retry timer, or in flight),
//! for `GET /metrics` as `cobro_tenant_queue_depth{tenant}`. Written by the tenant actors when
//! their depth changes, read by the metrics handler.
//!
//! Only tenants with work have an entry and a series. Kept in the metrics recorder, every tenant
//! ever processed kept a series until the process ended (the recorder cannot drop one): 10,000
//! tenants were 10,000 series of `0` and 2.6 MB (issue 23), and a Prometheus scraping them pays
//! for that cardinality too. A series missing from a scrape reads as "no work" (`or vector(0)`).

use std::fmt::Write as _;
use std::sync::Arc;

use dashmap::DashMap;

use crate::domain::TenantId;

#[derive(Clone, Default)]
pub struct QueueDepths(Arc<DashMap<TenantId, usize>>);

impl QueueDepths {
    pub fn set(&self, tenant: TenantId, depth: usize) {
        if depth == 0 {
            self.0.remove(&tenant);
        } else {
            self.0.insert(tenant, depth);
        }
    }

    /// The gauge in Prometheus' text format, tenants in a stable order; empty when no tenant has
    /// work. Written here because the recorder of `metrics` keeps every series it was given.
    pub fn render(&self) -> String {
        let mut depths: Vec<(TenantId, usize)> = self
            .0
            .iter()
            .map(|entry| (*entry.key(), *entry.value()))
            .collect();
        if depths.is_empty() {
            return String::new();
        }
        depths.sort_unstable();
        let mut text = String::from("# TYPE cobro_tenant_queue_depth gauge\n");
        for (tenant, depth) in depths {
            // Writing to a String cannot fail.
            let _ = writeln!(
                text,
                "cobro_tenant_queue_depth{{tenant=\"{tenant}\"}} {depth}"
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tenants_with_work_have_a_series() {
        let depths = QueueDepths::default();
        let (busy, done) = (
            TenantId(uuid::Uuid::new_v4()),
            TenantId(uuid::Uuid::new_v4()),
        );
        depths.set(busy, 3);
        depths.set(done, 1);
        depths.set(done, 0);
        assert_eq!(
            depths.render(),
            format!(
                "# TYPE cobro_tenant_queue_depth gauge\ncobro_tenant_queue_depth{{tenant=\"{busy}\"}} 3\n"
            )
        );
        depths.set(busy, 0);
        assert_eq!(depths.render(), "");
    }
}
