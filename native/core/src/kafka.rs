//! The values of Kafka record batches (format v2, uncompressed or LZ4) as fetched, read
//! where the field reader needs them without a JS view per record. Whatever this reader
//! does not take — a gzip, snappy or zstd batch, a control batch, another format, a record
//! without a value, a dead-letter record, malformed bytes — is refused, and the caller
//! reads the batches the ordinary way (`actors/kafka/raw-record-batches.ts`), which
//! decides as it always did.

use crate::json::Refused;
use std::io::Read;

const HEADER_BYTES: usize = 61;
const MAGIC_AT: usize = 16;
const ATTRIBUTES_AT: usize = 21;
const RECORD_COUNT_AT: usize = 57;
const CODEC_MASK: u16 = 0x07;
const CODEC_NONE: u16 = 0;
const CODEC_LZ4: u16 = 3;
const CONTROL_FLAG: u16 = 0x20;
/// A decompressed batch larger than this is left to the ordinary reader.
const MAX_DECOMPRESSED: u64 = 256 * 1024 * 1024;

fn be_i64(bytes: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn be_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// A zig-zag varint at `*at` (at most 10 bytes), moving past it.
fn varint(bytes: &[u8], at: &mut usize) -> Result<i64, Refused> {
    let mut value = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *bytes.get(*at).ok_or(Refused)?;
        *at += 1;
        value |= u64::from(byte & 0x7f).checked_shl(shift).ok_or(Refused)?;
        if byte < 0x80 {
            return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
        }
    }
    Err(Refused)
}

/// `length` bytes at `*at`, moving past them; a negative length is none.
fn take<'a>(bytes: &'a [u8], at: &mut usize, length: i64) -> Result<Option<&'a [u8]>, Refused> {
    if length < 0 {
        return Ok(None);
    }
    let end = at
        .checked_add(usize::try_from(length).map_err(|_| Refused)?)
        .ok_or(Refused)?;
    let taken = bytes.get(*at..end).ok_or(Refused)?;
    *at = end;
    Ok(Some(taken))
}

/// One record batch as fetched: where its offsets start, how many records it says it
/// holds, and its records area (LZ4-compressed when `lz4`).
struct RecordBatch<'a> {
    base: i64,
    count: i32,
    lz4: bool,
    records: &'a [u8],
}

/// The record batches of `bytes` (whole v2 batches back to back), checked up to their
/// records area.
fn record_batches(bytes: &[u8]) -> Result<Vec<RecordBatch<'_>>, Refused> {
    let mut batches = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if at + HEADER_BYTES > bytes.len() {
            return Err(Refused);
        }
        let length = usize::try_from(be_i32(bytes, at + 8)).map_err(|_| Refused)?;
        let end = at + 12 + length;
        if end > bytes.len() || end < at + HEADER_BYTES || bytes[at + MAGIC_AT] != 2 {
            return Err(Refused);
        }
        let attributes =
            u16::from_be_bytes([bytes[at + ATTRIBUTES_AT], bytes[at + ATTRIBUTES_AT + 1]]);
        let codec = attributes & CODEC_MASK;
        if attributes & CONTROL_FLAG != 0 || (codec != CODEC_NONE && codec != CODEC_LZ4) {
            return Err(Refused);
        }
        batches.push(RecordBatch {
            base: be_i64(bytes, at),
            count: be_i32(bytes, at + RECORD_COUNT_AT),
            lz4: codec == CODEC_LZ4,
            records: &bytes[at + HEADER_BYTES..end],
        });
        at = end;
    }
    Ok(batches)
}

/// The records area of an LZ4 batch, decompressed (Kafka writes the LZ4 frame format).
fn decompress(batch: &RecordBatch<'_>) -> Result<Vec<u8>, Refused> {
    let mut out = Vec::new();
    lz4_flex::frame::FrameDecoder::new(batch.records)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|_| Refused)?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(Refused);
    }
    Ok(out)
}

/// Calls `visit` with the value of every record of one batch's (uncompressed) `records`
/// at or after `from_offset`, in order. A record carrying a header named `refused_header`
/// (a dead letter) refuses the batch.
fn batch_values<'a>(
    records: &'a [u8],
    base: i64,
    count: i32,
    from_offset: i64,
    refused_header: &[u8],
    mut visit: impl FnMut(&'a [u8]) -> Result<(), Refused>,
) -> Result<(), Refused> {
    let mut cursor = 0;
    for _ in 0..count {
        let record_length = varint(records, &mut cursor)?;
        let record = take(records, &mut cursor, record_length)?.ok_or(Refused)?;
        let mut inside = 1; // past the attributes
        varint(record, &mut inside)?; // timestamp delta
        let delta = varint(record, &mut inside)?;
        let key_length = varint(record, &mut inside)?;
        take(record, &mut inside, key_length)?;
        let value_length = varint(record, &mut inside)?;
        let value = take(record, &mut inside, value_length)?.ok_or(Refused)?;
        let headers = varint(record, &mut inside)?;
        for _ in 0..headers {
            let key_length = varint(record, &mut inside)?;
            let key = take(record, &mut inside, key_length)?;
            let value_length = varint(record, &mut inside)?;
            take(record, &mut inside, value_length)?;
            if key == Some(refused_header) {
                return Err(Refused);
            }
        }
        if base.checked_add(delta).ok_or(Refused)? >= from_offset {
            visit(value)?;
        }
    }
    Ok(())
}

/// Fetched record batches ready to read: their headers checked, LZ4 ones decompressed.
/// The values `values` hands out borrow from it, so it outlives whatever reads them.
pub struct Fetched<'a> {
    batches: Vec<RecordBatch<'a>>,
    decompressed: Vec<Option<Vec<u8>>>,
}

impl<'a> Fetched<'a> {
    /// `bytes`: whole v2 record batches back to back.
    pub fn read(bytes: &'a [u8]) -> Result<Self, Refused> {
        let batches = record_batches(bytes)?;
        let decompressed = batches
            .iter()
            .map(|batch| batch.lz4.then(|| decompress(batch)).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Fetched {
            batches,
            decompressed,
        })
    }

    /// Calls `visit` with the value of every record at or after `from_offset`, in order;
    /// a record carrying a header named `refused_header` refuses the whole.
    pub fn values<'s>(
        &'s self,
        from_offset: i64,
        refused_header: &[u8],
        mut visit: impl FnMut(&'s [u8]) -> Result<(), Refused>,
    ) -> Result<(), Refused> {
        for (batch, owned) in self.batches.iter().zip(&self.decompressed) {
            let records = owned.as_deref().unwrap_or(batch.records);
            batch_values(
                records,
                batch.base,
                batch.count,
                from_offset,
                refused_header,
                &mut visit,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zigzag(value: i64, out: &mut Vec<u8>) {
        let mut v = ((value << 1) ^ (value >> 63)) as u64;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn batch(base: i64, values: &[Option<&str>], header: Option<&str>, attributes: u16) -> Vec<u8> {
        let mut records = Vec::new();
        for (delta, value) in values.iter().enumerate() {
            let mut record = vec![0u8];
            zigzag(0, &mut record);
            zigzag(delta as i64, &mut record);
            zigzag(-1, &mut record);
            match value {
                Some(v) => {
                    zigzag(v.len() as i64, &mut record);
                    record.extend_from_slice(v.as_bytes());
                }
                None => zigzag(-1, &mut record),
            }
            match header {
                Some(h) => {
                    zigzag(1, &mut record);
                    zigzag(h.len() as i64, &mut record);
                    record.extend_from_slice(h.as_bytes());
                    zigzag(1, &mut record);
                    record.push(b'x');
                }
                None => zigzag(0, &mut record),
            }
            zigzag(record.len() as i64, &mut records);
            records.extend_from_slice(&record);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&base.to_be_bytes());
        out.extend_from_slice(&((HEADER_BYTES - 12 + records.len()) as i32).to_be_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(2);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&attributes.to_be_bytes());
        out.extend_from_slice(&[0; 34]);
        out.extend_from_slice(&(values.len() as i32).to_be_bytes());
        out.extend_from_slice(&records);
        out
    }

    fn read(bytes: &[u8], from: i64) -> Option<Vec<String>> {
        let mut seen = Vec::new();
        let fetched = Fetched::read(bytes).ok()?;
        fetched
            .values(from, b"dead", |v| {
                seen.push(String::from_utf8(v.to_vec()).unwrap());
                Ok(())
            })
            .ok()
            .map(|()| seen)
    }

    #[test]
    fn reads_values_from_the_offset_on() {
        let mut bytes = batch(10, &[Some("a"), Some("b"), Some("c")], None, 0);
        bytes.extend(batch(13, &[Some("d")], Some("trace"), 0));
        assert_eq!(read(&bytes, 11).unwrap(), vec!["b", "c", "d"]);
        assert_eq!(read(&bytes, 0).unwrap().len(), 4);
    }

    #[test]
    fn refuses_what_the_ordinary_reader_must_decide() {
        assert!(read(&batch(0, &[None], None, 0), 0).is_none());
        assert!(read(&batch(0, &[Some("a")], Some("dead"), 0), 0).is_none());
        assert!(read(&batch(0, &[Some("a")], None, 3), 0).is_none());
        assert!(read(&batch(0, &[Some("a")], None, 0x20), 0).is_none());
        let whole = batch(0, &[Some("abc")], None, 0);
        for cut in 1..whole.len() {
            assert!(read(&whole[..cut], 0).is_none(), "cut at {cut}");
        }
    }
}
