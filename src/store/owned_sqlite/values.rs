//! Values across the writer's own SQLite connection, stored exactly as sqlx stores them (the
//! pool's connections read every row the writer writes, and compare timestamps as text): UUIDs as
//! 16-byte blobs, timestamps as RFC 3339 text, JSON as text, booleans as 0/1. A row comes back as
//! a JSON object typed by the entities' column definitions, which the entity models deserialize.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use sea_orm::sea_query::{OptionEnum, Value};
use sea_orm::{ColumnTrait, ColumnType, DbErr, IdenStatic, Iterable};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

/// How a column's stored value is read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Uuid,
    Timestamp,
    Json,
    Bool,
    Int,
    BigInt,
    Double,
    Text,
}

/// Every entity column by name. A name means the same kind in every table (a unit test checks it),
/// so a row is typed without knowing which table it came from.
static KINDS: LazyLock<HashMap<&'static str, Kind>> = LazyLock::new(|| {
    let mut kinds = HashMap::new();
    columns::<entity::webhook_event::Column>(&mut kinds);
    columns::<entity::payment::Column>(&mut kinds);
    columns::<entity::order::Column>(&mut kinds);
    columns::<entity::tenant::Column>(&mut kinds);
    kinds
});

fn columns<C: ColumnTrait + Iterable + IdenStatic>(kinds: &mut HashMap<&'static str, Kind>) {
    for column in C::iter() {
        kinds.insert(column.as_str(), kind_of(column.def().get_column_type()));
    }
}

fn kind_of(column: &ColumnType) -> Kind {
    match column {
        ColumnType::Uuid => Kind::Uuid,
        ColumnType::TimestampWithTimeZone | ColumnType::DateTime | ColumnType::Timestamp => {
            Kind::Timestamp
        }
        ColumnType::Json | ColumnType::JsonBinary => Kind::Json,
        ColumnType::Boolean => Kind::Bool,
        ColumnType::TinyInteger | ColumnType::SmallInteger | ColumnType::Integer => Kind::Int,
        ColumnType::BigInteger => Kind::BigInt,
        ColumnType::Float | ColumnType::Double => Kind::Double,
        _ => Kind::Text,
    }
}

/// A bound value, encoded as `sea-query-sqlx` and sqlx encode it for SQLite. Text and bytes are
/// borrowed, not copied.
pub(super) fn bind(value: &Value) -> Result<ToSqlOutput<'_>, DbErr> {
    Ok(match value {
        Value::String(Some(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        Value::Bytes(Some(bytes)) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
        Value::Uuid(Some(uuid)) => ToSqlOutput::Borrowed(ValueRef::Blob(uuid.as_bytes())),
        other => ToSqlOutput::Owned(owned(other)?),
    })
}

fn owned(value: &Value) -> Result<Sql, DbErr> {
    let integer = |v: Option<i64>| v.map_or(Sql::Null, Sql::Integer);
    Ok(match value {
        Value::Bool(v) => integer(v.map(i64::from)),
        Value::TinyInt(v) => integer(v.map(i64::from)),
        Value::SmallInt(v) => integer(v.map(i64::from)),
        Value::Int(v) => integer(v.map(i64::from)),
        Value::BigInt(v) => integer(*v),
        Value::TinyUnsigned(v) => integer(v.map(i64::from)),
        Value::SmallUnsigned(v) => integer(v.map(i64::from)),
        Value::Unsigned(v) => integer(v.map(i64::from)),
        Value::BigUnsigned(v) => match v {
            Some(v) => Sql::Integer(
                i64::try_from(*v).map_err(|_| unsupported("an unsigned value over i64::MAX"))?,
            ),
            None => Sql::Null,
        },
        Value::Float(v) => v.map_or(Sql::Null, |v| Sql::Real(f64::from(v))),
        Value::Double(v) => v.map_or(Sql::Null, Sql::Real),
        Value::String(v) => v.clone().map_or(Sql::Null, Sql::Text),
        Value::Enum(OptionEnum::Some(v)) => Sql::Text(v.value.to_string()),
        Value::Enum(OptionEnum::None(_)) => Sql::Null,
        Value::Char(v) => v.map_or(Sql::Null, |c| Sql::Text(c.to_string())),
        Value::Bytes(v) => v.clone().map_or(Sql::Null, Sql::Blob),
        Value::Json(v) => match v {
            Some(json) => {
                Sql::Text(serde_json::to_string(json).map_err(|e| DbErr::Custom(e.to_string()))?)
            }
            None => Sql::Null,
        },
        Value::ChronoDateTimeUtc(v) => v.map_or(Sql::Null, |t| Sql::Text(rfc3339(&t))),
        Value::ChronoDateTimeWithTimeZone(v) => v.map_or(Sql::Null, |t| Sql::Text(rfc3339(&t))),
        Value::ChronoDateTimeLocal(v) => v.map_or(Sql::Null, |t| Sql::Text(rfc3339(&t))),
        Value::ChronoDateTime(v) => {
            v.map_or(Sql::Null, |t| Sql::Text(t.format("%F %T%.f").to_string()))
        }
        Value::ChronoDate(v) => v.map_or(Sql::Null, |d| Sql::Text(d.format("%F").to_string())),
        Value::ChronoTime(v) => v.map_or(Sql::Null, |t| Sql::Text(t.format("%T%.f").to_string())),
        Value::Uuid(v) => v.map_or(Sql::Null, |u| Sql::Blob(u.as_bytes().to_vec())),
        other => return Err(unsupported(&format!("{other:?}"))),
    })
}

/// sqlx's text for a timestamp (`2026-12-01T23:48:21.123456789+00:00`).
fn rfc3339<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn unsupported(what: &str) -> DbErr {
    DbErr::Custom(format!("the writer's SQLite connection cannot bind {what}"))
}

/// The kind of each result column, looked up once per statement (`None`: a column no entity has,
/// such as a `COUNT(*)`, read as what SQLite stored).
pub(super) fn kinds(names: &[String]) -> Vec<Option<Kind>> {
    names
        .iter()
        .map(|name| KINDS.get(name.as_str()).copied())
        .collect()
}

/// One result row as a JSON object, each column read as its kind.
pub(super) fn row(
    names: &[String],
    kinds: &[Option<Kind>],
    row: &rusqlite::Row<'_>,
) -> Result<Json, DbErr> {
    let mut object = Map::new();
    for (index, (name, kind)) in names.iter().zip(kinds).enumerate() {
        let stored = row.get_ref(index).map_err(super::db_err)?;
        let value = match kind {
            Some(kind) => {
                typed(*kind, stored).map_err(|e| DbErr::Type(format!("column {name}: {e}")))?
            }
            None => untyped(stored),
        };
        object.insert(name.clone(), value);
    }
    Ok(Json::Object(object))
}

fn typed(kind: Kind, stored: ValueRef<'_>) -> Result<Json, String> {
    if stored == ValueRef::Null {
        return Ok(Json::Null);
    }
    Ok(match kind {
        Kind::Uuid => Json::String(uuid(stored)?.to_string()),
        Kind::Timestamp => Json::String(timestamp_text(stored)?),
        Kind::Json => serde_json::from_str(text(stored)?).map_err(|e| e.to_string())?,
        Kind::Bool => Json::Bool(integer(stored)? != 0),
        Kind::Int | Kind::BigInt => Json::from(integer(stored)?),
        Kind::Double => Json::from(match stored {
            ValueRef::Integer(i) => i as f64,
            other => other.as_f64().map_err(|e| e.to_string())?,
        }),
        Kind::Text => Json::String(text(stored)?.to_owned()),
    })
}

fn untyped(stored: ValueRef<'_>) -> Json {
    match stored {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(i) => Json::from(i),
        ValueRef::Real(f) => Json::from(f),
        ValueRef::Text(t) => Json::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Json::from(b.to_vec()),
    }
}

fn text<'a>(stored: ValueRef<'a>) -> Result<&'a str, String> {
    stored.as_str().map_err(|e| e.to_string())
}

fn integer(stored: ValueRef<'_>) -> Result<i64, String> {
    stored.as_i64().map_err(|e| e.to_string())
}

/// A blob of 16 bytes as sqlx writes it, or hyphenated text.
fn uuid(stored: ValueRef<'_>) -> Result<Uuid, String> {
    match stored {
        ValueRef::Blob(bytes) => Uuid::from_slice(bytes).map_err(|e| e.to_string()),
        other => Uuid::parse_str(text(other)?).map_err(|e| e.to_string()),
    }
}

/// A timestamp as the RFC 3339 text the models read: as stored when sqlx or this connection wrote
/// it (`2026-12-01T23:48:21.123456789+00:00`, the only writers), converted from SQLite's own
/// `YYYY-MM-DD HH:MM:SS[.fff]` (UTC) otherwise.
fn timestamp_text(stored: ValueRef<'_>) -> Result<String, String> {
    let text = text(stored)?;
    if text.as_bytes().get(10) == Some(&b'T') {
        return Ok(text.to_owned());
    }
    NaiveDateTime::parse_from_str(text, "%F %T%.f")
        .map(|t| rfc3339(&Utc.from_utc_datetime(&t)))
        .map_err(|e| format!("{text:?} is not a timestamp: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds_of<C: ColumnTrait + Iterable + IdenStatic>(seen: &mut HashMap<&str, Kind>) {
        for column in C::iter() {
            let kind = kind_of(column.def().get_column_type());
            if let Some(before) = seen.insert(column.as_str(), kind) {
                assert_eq!(before, kind, "column {} has two kinds", column.as_str());
            }
        }
    }

    /// Rows are typed by column name alone: that is only right while a name means one kind.
    #[test]
    fn a_column_name_means_the_same_kind_in_every_entity() {
        let mut seen = HashMap::new();
        all_kinds_of::<entity::webhook_event::Column>(&mut seen);
        all_kinds_of::<entity::payment::Column>(&mut seen);
        all_kinds_of::<entity::order::Column>(&mut seen);
        all_kinds_of::<entity::tenant::Column>(&mut seen);
        assert_eq!(seen.get("id"), Some(&Kind::Uuid));
        assert_eq!(seen.get("created_at"), Some(&Kind::Timestamp));
        assert_eq!(seen.get("raw_payload"), Some(&Kind::Json));
        assert_eq!(seen.get("processed"), Some(&Kind::Bool));
        assert_eq!(seen.get("attempts"), Some(&Kind::Int));
        assert_eq!(seen.get("processing_ms"), Some(&Kind::BigInt));
        assert_eq!(
            seen.get("date_created"),
            Some(&Kind::Text),
            "MP's date stays text"
        );
    }

    /// What is bound reads back as the same value, with sqlx's encodings.
    #[test]
    fn bound_values_read_back_as_they_were() {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 1, 23, 48, 21)
            .single()
            .expect("time")
            + chrono::Duration::nanoseconds(123_456_789);
        let id = Uuid::now_v7();
        assert_eq!(
            bind(&Value::ChronoDateTimeUtc(Some(at))).expect("bind"),
            ToSqlOutput::Owned(Sql::Text("2026-12-01T23:48:21.123456789+00:00".into())),
            "the text sqlx writes"
        );
        assert_eq!(
            bind(&Value::Uuid(Some(id))).expect("bind"),
            ToSqlOutput::Borrowed(ValueRef::Blob(id.as_bytes()))
        );
        let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        let read = |kind: Kind, value: Value| -> Json {
            let bound = bind(&value).expect("bind");
            conn.query_row("SELECT ?1", [bound], |row| Ok(typed(kind, row.get_ref(0)?)))
                .expect("select")
                .expect("typed")
        };
        let json = serde_json::json!({"a": [1, "b"]});
        let back: Uuid =
            serde_json::from_value(read(Kind::Uuid, Value::Uuid(Some(id)))).expect("uuid");
        assert_eq!(back, id);
        let back: DateTime<Utc> =
            serde_json::from_value(read(Kind::Timestamp, Value::ChronoDateTimeUtc(Some(at))))
                .expect("timestamp");
        assert_eq!(back, at);
        assert_eq!(
            read(Kind::Json, Value::Json(Some(Box::new(json.clone())))),
            json
        );
        assert_eq!(read(Kind::Bool, Value::Bool(Some(true))), Json::Bool(true));
        assert_eq!(read(Kind::Int, Value::Int(Some(-3))), Json::from(-3));
        assert_eq!(
            read(Kind::BigInt, Value::BigInt(Some(1 << 40))),
            Json::from(1_i64 << 40)
        );
        assert_eq!(
            read(Kind::Double, Value::Double(Some(12.5))),
            Json::from(12.5)
        );
        assert_eq!(
            read(Kind::Text, Value::String(Some("héllo".into()))),
            Json::from("héllo")
        );
        assert_eq!(read(Kind::Uuid, Value::Uuid(None)), Json::Null);
        assert_eq!(
            read(Kind::Timestamp, Value::ChronoDateTimeUtc(None)),
            Json::Null
        );
    }
}
