//! An authorization started with MercadoPago (SPEC §14): the `state` nonce it was given, the
//! tenant it connects, the PKCE verifier (sealed) and when it stops being accepted. Deleted when
//! the callback uses it, so a `state` works once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub nonce: String,
    pub tenant_id: Uuid,
    pub code_verifier: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
