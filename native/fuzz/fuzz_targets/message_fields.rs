//! Any bytes as one message read for chosen fields — as JSON, as msgpack — and as Kafka
//! record batches whose values are read so (the partition's native path for `format:
//! json` and `msgpack`). The property is "never panics, never reads out of bounds", and
//! what the JSON reader accepts is UTF-8 text holding one object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_native_core::json::{self, Field};
use sluice_native_core::{kafka, msgpack};

fuzz_target!(|data: &[u8]| {
    let names = ["ts".to_string(), "k".to_string(), "v".to_string()];
    let mut out = vec![Field::Missing; names.len()];
    if json::project(data, &names, &mut out).is_ok() {
        let text = std::str::from_utf8(data).expect("accepted JSON is UTF-8");
        let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        assert!(
            trimmed.starts_with('{') && trimmed.ends_with('}'),
            "accepted JSON is one object"
        );
    }
    let _ = msgpack::project(data, &names, &mut out);
    if let Ok(fetched) = kafka::Fetched::read(data) {
        let _ = fetched.values(0, b"sluice-dead-letter-code", |value| {
            let mut slots = vec![Field::Missing; names.len()];
            json::project(value, &names, &mut slots)?;
            msgpack::project(value, &names, &mut slots)
        });
    }
});
