//! Latency histograms (HdrHistogram, microseconds) and the figures printed at the end of a run.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

pub fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

pub fn record(hist: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    let _ = hist.record(micros.min(60_000_000));
}

/// One line per outcome, then throughput and percentiles in milliseconds.
pub fn print(
    label: &str,
    elapsed: Duration,
    outcomes: &BTreeMap<String, u64>,
    success: &str,
    hist: &Histogram<u64>,
) {
    let total: u64 = outcomes.values().sum();
    let ok = outcomes.get(success).copied().unwrap_or(0);
    let secs = elapsed.as_secs_f64().max(f64::EPSILON);
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!("== {label}");
    println!("   duration {secs:.1} s, requests {total}, {success} {ok}");
    for (outcome, count) in outcomes {
        if outcome != success {
            println!("   {outcome}: {count}");
        }
    }
    println!(
        "   throughput: {:.0} {success}/s ({:.0} requests/s)",
        ok as f64 / secs,
        total as f64 / secs
    );
    println!(
        "   latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        ms(0.50),
        ms(0.90),
        ms(0.99),
        ms(0.999),
        hist.max() as f64 / 1000.0
    );
}
