#![deny(clippy::all)]
//! sluice's hot path without the Node binding, so that tests and fuzz targets link it
//! alone: frame checks (`frame`), a msgpack event reader (`msgpack`), the batch
//! pre-aggregation of a tumbling or hopping window (`batch`) with key ids kept between batches
//! (`keys`), a reader of the wanted fields of JSON events (`json`) and of Kafka record
//! batches (`kafka`).

pub mod batch;
pub mod frame;
pub mod json;
pub mod kafka;
pub mod keys;
pub mod msgpack;

use batch::Aggregator;
use msgpack::{KeyMatcher, ReadError, Reader, Value};

/// Reads every event of the payload into the aggregator, after those it holds already.
pub fn read_events<'a>(
    packed: &'a [u8],
    count: usize,
    names: &[String],
    aggregator: &mut Aggregator<'a, '_>,
) -> Result<(), &'static str> {
    let invalid = |e: ReadError| match e {
        ReadError::Invalid => "FRAME_PAYLOAD_INVALID",
        ReadError::Unsupported => "UNSUPPORTED_MSGPACK",
    };
    let mut reader = Reader::new(packed);
    let length = reader
        .array_header()
        .map_err(invalid)?
        .ok_or("FRAME_PAYLOAD_INVALID")?;
    if length != count {
        return Err("FRAME_COUNT_MISMATCH");
    }
    let mut fields = vec![Value::Missing; names.len()];
    let mut keys = KeyMatcher::new(names);
    // A name may be wanted twice (the time field also grouped by): every slot of it is filled.
    let repeated = (1..names.len()).any(|i| names[..i].contains(&names[i]));
    for _ in 0..length {
        fields.iter_mut().for_each(|f| *f = Value::Missing);
        let entries = reader
            .map_header()
            .map_err(invalid)?
            .ok_or("FRAME_PAYLOAD_INVALID")?;
        for position in 0..entries {
            let key = reader.raw_key().map_err(invalid)?;
            let Some(slot) = keys.slot(position, key).map_err(invalid)? else {
                reader.skip(1).map_err(invalid)?;
                continue;
            };
            let value = reader.value(1).map_err(invalid)?;
            fields[slot] = value;
            if repeated {
                for (other, name) in names.iter().enumerate().skip(slot + 1) {
                    if *name == names[slot] {
                        fields[other] = value;
                    }
                }
            }
        }
        aggregator.push(&fields)?;
    }
    if !reader.at_end() {
        return Err("FRAME_PAYLOAD_INVALID");
    }
    Ok(())
}
