//! Which JSON reader the native hot path uses, chosen by benchmark (issue 9: "simd-json or
//! serde; choose by benchmark"). Every reader takes the same messages — one JSON event
//! each, shaped like the generator's, in batches of 5,000 as a partition receives them —
//! and hands back the three fields a window reads (`user_id`, `ts`, `amount`). They must
//! agree on every message before any is timed.
//!
//!   cargo run --release --manifest-path native/json-bench/Cargo.toml [messages]

use std::borrow::Cow;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Deserialize;
use sluice_native_core::json::{self, Field};

const BATCH: usize = 5_000;

/// What every reader returns per message.
#[derive(Debug, PartialEq)]
struct Wanted<'a> {
    user_id: Option<Cow<'a, str>>,
    ts: Option<f64>,
    amount: Option<f64>,
}

/// Messages like the generator's events: 100,000 users with a skew, 2-decimal amounts.
fn messages(count: usize) -> Vec<Vec<u8>> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|i| {
            let r = (next() % 1_000_000) as f64 / 1_000_000.0;
            let user = (100_000.0 * r * r) as u64;
            let cents = next() % 50_000;
            let page = next() % 50;
            format!(
                "{{\"user_id\":\"u{user}\",\"ts\":{},\"amount\":{}.{:02},\"page\":\"/p/{page}\"}}",
                1_714_564_800_000u64 + (i as u64 * 60) / 1000,
                cents / 100,
                cents % 100
            )
            .into_bytes()
        })
        .collect()
}

fn sluice(message: &[u8], fields: &[String]) -> Wanted<'static> {
    let mut out = vec![Field::Missing; fields.len()];
    json::project(message, fields, &mut out).expect("the field reader reads every message");
    let number = |field: &Field| match field {
        Field::Number(n) => Some(*n),
        _ => None,
    };
    Wanted {
        user_id: match &out[0] {
            Field::Text(text) => Some(Cow::Owned(text.to_string())),
            _ => None,
        },
        ts: number(&out[1]),
        amount: number(&out[2]),
    }
}

#[derive(Deserialize)]
struct SerdeWanted<'a> {
    #[serde(borrow)]
    user_id: Option<Cow<'a, str>>,
    ts: Option<f64>,
    amount: Option<f64>,
}

fn serde_typed(message: &[u8]) -> Wanted<'_> {
    let read: SerdeWanted = serde_json::from_slice(message).expect("serde reads every message");
    Wanted {
        user_id: read.user_id,
        ts: read.ts,
        amount: read.amount,
    }
}

fn serde_value(message: &[u8]) -> Wanted<'static> {
    let value: serde_json::Value =
        serde_json::from_slice(message).expect("serde reads every message");
    Wanted {
        user_id: value["user_id"].as_str().map(|s| Cow::Owned(s.to_owned())),
        ts: value["ts"].as_f64(),
        amount: value["amount"].as_f64(),
    }
}

fn simd(message: &[u8], scratch: &mut Vec<u8>) -> Wanted<'static> {
    use simd_json::prelude::*;
    // simd-json parses in place: each message is copied into a buffer it may overwrite.
    scratch.clear();
    scratch.extend_from_slice(message);
    let value = simd_json::to_borrowed_value(scratch).expect("simd-json reads every message");
    Wanted {
        user_id: value.get_str("user_id").map(|s| Cow::Owned(s.to_owned())),
        ts: value.get("ts").and_then(|v| v.cast_f64()),
        amount: value.get("amount").and_then(|v| v.cast_f64()),
    }
}

struct Figures {
    name: &'static str,
    per_second: f64,
    histogram: Histogram<u64>,
}

/// Times `read` over every message, batch by batch; what it reads is summed so nothing is
/// optimised away.
fn time<'a>(
    name: &'static str,
    all: &'a [Vec<u8>],
    mut read: impl FnMut(&'a [u8]) -> f64,
) -> Figures {
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let mut sink = 0.0;
    let began = Instant::now();
    for batch in all.chunks(BATCH) {
        let start = Instant::now();
        for message in batch {
            sink += read(message);
        }
        histogram
            .record(start.elapsed().as_micros().max(1) as u64)
            .expect("in bounds");
    }
    let seconds = began.elapsed().as_secs_f64();
    assert!(sink.is_finite());
    Figures {
        name,
        per_second: all.len() as f64 / seconds,
        histogram,
    }
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("messages: a number"))
        .unwrap_or(500_000);
    let all = messages(count);
    let fields: Vec<String> = ["user_id", "ts", "amount"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut scratch = Vec::new();

    // Agreement first: every reader gives the same three fields for every message.
    for message in &all {
        let reference = sluice(message, &fields);
        assert_eq!(serde_typed(message), reference, "serde_json (typed)");
        assert_eq!(serde_value(message), reference, "serde_json (Value)");
        assert_eq!(simd(message, &mut scratch), reference, "simd-json");
    }
    println!("result check: the four readers agree on {count} messages");

    let mut out = vec![Field::Missing; 3];
    let mut runs = Vec::new();
    for _round in 0..3 {
        runs.push(time("sluice field reader", &all, |message| {
            json::project(message, &fields, &mut out).expect("read");
            let len = match &out[0] {
                Field::Text(text) => text.len() as f64,
                _ => 0.0,
            };
            len + match (&out[1], &out[2]) {
                (Field::Number(a), Field::Number(b)) => a + b,
                _ => 0.0,
            }
        }));
        runs.push(time("serde_json, borrowed struct", &all, |message| {
            let read: SerdeWanted = serde_json::from_slice(message).expect("read");
            read.user_id.map_or(0.0, |s| s.len() as f64)
                + read.ts.unwrap_or(0.0)
                + read.amount.unwrap_or(0.0)
        }));
        runs.push(time("serde_json, Value", &all, |message| {
            let value: serde_json::Value = serde_json::from_slice(message).expect("read");
            value["user_id"].as_str().map_or(0.0, |s| s.len() as f64)
                + value["ts"].as_f64().unwrap_or(0.0)
                + value["amount"].as_f64().unwrap_or(0.0)
        }));
        runs.push(time("simd-json, borrowed value", &all, |message| {
            use simd_json::prelude::*;
            scratch.clear();
            scratch.extend_from_slice(message);
            let value = simd_json::to_borrowed_value(&mut scratch).expect("read");
            value.get_str("user_id").map_or(0.0, |s| s.len() as f64)
                + value.get("ts").and_then(|v| v.cast_f64()).unwrap_or(0.0)
                + value
                    .get("amount")
                    .and_then(|v| v.cast_f64())
                    .unwrap_or(0.0)
        }));
    }
    // The best of three rounds per reader, as each round warms the next.
    let mut best: Vec<&Figures> = Vec::new();
    for figures in &runs {
        match best.iter_mut().find(|b| b.name == figures.name) {
            Some(b) if b.per_second >= figures.per_second => {}
            Some(b) => *b = figures,
            None => best.push(figures),
        }
    }
    let reference = best[0].per_second;
    println!("| reader | messages/s | p50 | p99 | max | field reader ÷ this |");
    println!("|---|---:|---:|---:|---:|---:|");
    for figures in best {
        let h = &figures.histogram;
        println!(
            "| {} | {:.2}M | {} µs | {} µs | {} µs | {:.2}× |",
            figures.name,
            figures.per_second / 1e6,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.max(),
            reference / figures.per_second
        );
    }
    println!("latency: per batch of {BATCH} messages, one thread; best of three rounds");
}
