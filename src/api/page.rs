//! The list answer of every paged endpoint (SPEC §9): `{"items": [...], "next_cursor": ...}`,
//! and the query that asks for a page.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::AppError;
use crate::store::{Page, PageQuery};

#[derive(Debug, Serialize, ToSchema)]
pub struct PageOut<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<Uuid>,
}

impl<T> PageOut<T> {
    /// A page of rows, each mapped to its API type.
    pub fn from_rows<R>(page: Page<R>, to_out: impl FnMut(R) -> T) -> Self {
        let page = page.map(to_out);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// `limit` and `cursor` (the previous page's `next_cursor`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageIn {
    /// How many items: 50 when absent; 0 counts as 1 and anything over 500 as 500.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    pub cursor: Option<Uuid>,
}

impl PageIn {
    /// The store's query. `limit` is read as a signed 64-bit number, the OpenAPI `integer` (a
    /// larger one does not parse: 400), and a negative one is refused here, as the document says.
    pub fn to_query(&self) -> Result<PageQuery, AppError> {
        Ok(PageQuery {
            limit: limit(self.limit)?,
            cursor: self.cursor,
        })
    }
}

pub fn limit(asked: Option<i64>) -> Result<Option<u64>, AppError> {
    asked
        .map(|n| {
            u64::try_from(n)
                .map_err(|_| AppError::InvalidQuery("limit must not be negative".into()))
        })
        .transpose()
}
