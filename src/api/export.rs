//! CSV exports (issue 13): the filtered payments list, one row per payment, the columns a
//! person reconciling sales wants, written by the `csv` crate (quoting, embedded commas and
//! newlines). A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) is prefixed
//! with `'`: buyer names come from outside.

use entity::payment::Model;

/// `provider` came last (issue 24), so scripts that read columns by position keep working.
const HEADER: [&str; 13] = [
    "mp_payment_id",
    "status",
    "mp_status",
    "status_detail",
    "transaction_amount",
    "currency_id",
    "payer_email",
    "payer_name",
    "payment_method",
    "order_id",
    "date_approved",
    "updated_at",
    "provider",
];

pub fn payments_csv(rows: &[Model]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    for p in rows {
        let amount = p.transaction_amount.map(|a| a.to_string());
        out.write_record([
            p.mp_payment_id.as_str(),
            p.status.as_str(),
            p.mp_status.as_str(),
            p.status_detail.as_deref().unwrap_or_default(),
            amount.as_deref().unwrap_or_default(),
            p.currency_id.as_deref().unwrap_or_default(),
            &safe(p.payer_email.as_deref()),
            &safe(p.payer_name.as_deref()),
            p.payment_method.as_deref().unwrap_or_default(),
            &safe(p.external_reference.as_deref()),
            p.date_approved.as_deref().unwrap_or_default(),
            &p.updated_at.to_rfc3339(),
            p.provider.as_str(),
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// Text from outside, made inert for spreadsheets (CSV injection).
fn safe(text: Option<&str>) -> String {
    let text = text.unwrap_or_default();
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn formulas_are_made_inert_and_plain_text_kept() {
        assert_eq!(safe(Some("=HYPERLINK(\"x\")")), "'=HYPERLINK(\"x\")");
        assert_eq!(safe(Some("@SUM(A1)")), "'@SUM(A1)");
        assert_eq!(safe(Some("maria@example.com")), "maria@example.com");
        assert_eq!(safe(None), "");
    }
}
