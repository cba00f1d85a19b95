//! The audit trail (SPEC §20, issue 27): who changed what, appended with [`append`] on the
//! transaction of the change itself, so that a change without its row cannot commit; read page by
//! page, newest first, by the admin API; deleted only by retention (`store::prune::audit`).
//! Nothing else writes to `audit_log`.
//!
//! What a row says is decided by the caller, as an [`Entry`]; this module only guarantees its
//! shape: the actor as SPEC §20 spells it, and changed *field names*, never values.

use chrono::{DateTime, Utc};
use entity::audit_entry::{ActiveModel, Column, Entity as AuditLog, Model};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::page::{self, Page, PageQuery};
use super::search::id_floor;
use crate::domain::TenantId;

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The admin token (API or dashboard).
    SuperAdmin,
    /// A tenant's own token: it can change only its own data.
    Tenant(TenantId),
    /// `cobro` on the command line.
    Cli,
    /// Cobro itself, on nobody's request (an OAuth token refreshed before it expires).
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::SuperAdmin => f.write_str("super_admin"),
            Actor::Tenant(id) => write!(f, "tenant:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// Where a change came from: the request's peer and `x-request-id` (both absent for the CLI
/// and for `system`).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub remote_addr: Option<String>,
    pub request_id: Option<String>,
}

/// Who makes a change and from where: what every audited store function is handed.
#[derive(Debug, Clone)]
pub struct By {
    pub actor: Actor,
    pub origin: Origin,
}

impl By {
    /// `cobro` on the command line.
    pub fn cli() -> Self {
        Self {
            actor: Actor::Cli,
            origin: Origin::default(),
        }
    }

    /// Cobro itself.
    pub fn system() -> Self {
        Self {
            actor: Actor::System,
            origin: Origin::default(),
        }
    }
}

/// One row to append: what was done, on what.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `tenant.create`, `event.retry`, … (docs/API.md lists every one).
    pub action: &'static str,
    pub tenant_id: Option<TenantId>,
    /// What the action was on, beyond the tenant (an event's or an order's id).
    pub target: Option<String>,
    /// The names of the fields changed. Names only: a secret's value must never reach the log,
    /// and the type keeps callers from handing over anything but static names.
    pub changes: Vec<&'static str>,
}

impl Entry {
    /// An action on a tenant as a whole.
    pub fn on_tenant(action: &'static str, tenant: TenantId, changes: Vec<&'static str>) -> Self {
        Self {
            action,
            tenant_id: Some(tenant),
            target: None,
            changes,
        }
    }
}

/// Appends `entry`, made `by`, on `txn`: call it on the transaction that makes the change.
pub async fn append(txn: &impl ConnectionTrait, by: &By, entry: Entry) -> Result<(), DbErr> {
    let changes = (!entry.changes.is_empty()).then(|| serde_json::json!(entry.changes));
    let row = ActiveModel {
        id: Set(super::new_id()),
        at: Set(Utc::now()),
        actor: Set(by.actor.to_string()),
        action: Set(entry.action.to_owned()),
        tenant_id: Set(entry.tenant_id.map(Into::into)),
        target: Set(entry.target),
        changes: Set(changes),
        remote_addr: Set(by.origin.remote_addr.clone()),
        request_id: Set(by.origin.request_id.clone()),
    };
    AuditLog::insert(row).exec_without_returning(txn).await?;
    Ok(())
}

/// Which rows to read: all, or one tenant's; one action; a time window.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub tenant_id: Option<TenantId>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Reads a page of the rows `filter` selects, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &Filter,
    query: &PageQuery,
) -> Result<Page<Model>, DbErr> {
    let mut select = AuditLog::find();
    if let Some(tenant) = filter.tenant_id {
        select = select.filter(Column::TenantId.eq(tenant.0));
    }
    if let Some(action) = &filter.action {
        select = select.filter(Column::Action.eq(action.as_str()));
    }
    // By the id's time, which is the row's: the primary key serves the window.
    if let Some(from) = filter.from {
        select = select.filter(Column::Id.gte(id_floor(from)));
    }
    if let Some(to) = filter.to {
        select = select.filter(Column::Id.lt(id_floor(to)));
    }
    page::fetch(db, select, Column::Id, |row| row.id, query).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{Database, TransactionTrait};

    async fn migrated(dir: &tempfile::TempDir) -> sea_orm::DatabaseConnection {
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("audit.db").display()
        );
        let db = Database::connect(url).await.expect("connect");
        crate::store::db::migrate(&db).await.expect("migrate");
        db
    }

    fn entry(action: &'static str, tenant: TenantId) -> Entry {
        Entry::on_tenant(action, tenant, vec!["name", "webhook_secret"])
    }

    fn by(tenant: TenantId) -> By {
        By {
            actor: Actor::Tenant(tenant),
            origin: Origin {
                remote_addr: Some("10.0.0.1".into()),
                request_id: Some("req-1".into()),
            },
        }
    }

    #[test]
    fn actors_are_spelled_as_the_spec_spells_them() {
        let id = TenantId(uuid::Uuid::nil());
        assert_eq!(Actor::SuperAdmin.to_string(), "super_admin");
        assert_eq!(
            Actor::Tenant(id).to_string(),
            "tenant:00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(Actor::Cli.to_string(), "cli");
        assert_eq!(Actor::System.to_string(), "system");
    }

    #[tokio::test]
    async fn a_row_goes_with_its_transaction_and_pages_read_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = migrated(&dir).await;
        let (a, b) = (
            TenantId(uuid::Uuid::now_v7()),
            TenantId(uuid::Uuid::now_v7()),
        );
        let rolled_back = db.begin().await.expect("begin");
        append(&rolled_back, &by(a), entry("tenant.update", a))
            .await
            .expect("append");
        rolled_back.rollback().await.expect("rollback");
        for (action, tenant) in [
            ("tenant.create", a),
            ("tenant.create", b),
            ("tenant.update", a),
        ] {
            let txn = db.begin().await.expect("begin");
            append(&txn, &by(tenant), entry(action, tenant))
                .await
                .expect("append");
            txn.commit().await.expect("commit");
        }
        let all = list(&db, &Filter::default(), &PageQuery::default())
            .await
            .expect("list");
        let actions: Vec<_> = all.items.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["tenant.update", "tenant.create", "tenant.create"]);
        let first = &all.items[0];
        assert_eq!(first.actor, format!("tenant:{a}"));
        assert_eq!(
            first.changes,
            Some(serde_json::json!(["name", "webhook_secret"]))
        );
        assert_eq!(first.request_id.as_deref(), Some("req-1"));

        let only_a = Filter {
            tenant_id: Some(a),
            ..Filter::default()
        };
        let one = |cursor| PageQuery {
            limit: Some(1),
            cursor,
        };
        let page = list(&db, &only_a, &one(None)).await.expect("page 1");
        assert_eq!(page.items.len(), 1);
        let rest = list(&db, &only_a, &one(page.next_cursor))
            .await
            .expect("page 2");
        assert_eq!(rest.items[0].action, "tenant.create");
        assert_eq!(rest.next_cursor, None, "a's two rows, no third");
        let updates = Filter {
            action: Some("tenant.update".into()),
            ..Filter::default()
        };
        assert_eq!(
            list(&db, &updates, &PageQuery::default())
                .await
                .expect("list")
                .items
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn retention_deletes_only_rows_older_than_its_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = migrated(&dir).await;
        let tenant = TenantId(uuid::Uuid::now_v7());
        append(&db, &By::cli(), entry("tenant.create", tenant))
            .await
            .expect("append");
        let before = Utc::now() - chrono::Duration::days(1);
        let prune = crate::store::prune::audit;
        assert_eq!(prune(&db, before, 100).await.expect("prune"), 0);
        let later = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(prune(&db, later, 100).await.expect("prune"), 1);
    }
}
