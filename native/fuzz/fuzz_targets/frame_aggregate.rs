//! Any bytes as a sluice frame: checked, decompressed, read and pre-aggregated, and read
//! for chosen fields (the partition's native path). The property is "never panics, never
//! reads out of bounds"; libFuzzer reports otherwise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_native_core::batch::{Aggregator, Fn, Spec, Workspace};
use sluice_native_core::{frame, msgpack, read_events};

fuzz_target!(|data: &[u8]| {
    let spec = Spec {
        size: 10,
        slide: 4,
        lateness: 5,
        out_of_order: 2,
        group_by: 1,
        aggregates: vec![
            (Fn::Count, None),
            (Fn::Sum, Some(2)),
            (Fn::Max, Some(2)),
            (Fn::Last, Some(1)),
        ],
        max_keys: 4,
    };
    let names = ["ts".to_string(), "k".to_string(), "v".to_string()];
    // The raw bytes as a frame, and as an already-decompressed payload behind a valid header.
    let mut scratch = Vec::new();
    // One workspace for both reads: key ids kept, reset (at 4 keys) and taken back.
    let mut work = Workspace::default();
    if let Ok(payload) = frame::open_frame(data, &mut scratch) {
        let mut aggregator = Aggregator::new(&spec, 0.0, payload.count.min(1 << 20), &mut work);
        // A refused batch is dropped unfinished: its new key ids are taken back.
        if read_events(payload.packed, payload.count, &names, &mut aggregator).is_ok() {
            let _ = aggregator.finish();
        }
    }
    let mut events = 0usize;
    let read = msgpack::project_frame(data, &mut scratch, &names, |fields| {
        assert_eq!(fields.len(), names.len());
        events += 1;
    });
    if read.is_ok() {
        assert!(
            frame::open_frame(data, &mut Vec::new()).is_ok(),
            "a frame read for its fields passes the frame checks"
        );
    }
    if let Some((&count, packed)) = data.split_first() {
        let mut aggregator = Aggregator::new(&spec, f64::NEG_INFINITY, 16, &mut work);
        if read_events(packed, usize::from(count % 16), &names, &mut aggregator).is_ok() {
            let _ = aggregator.finish();
        }
    }
});
