//! The sluice frame, version 1 (`actors/codecs/frame-format.md`): header checks in the
//! same order as `frame-header.ts` and `frame.ts`, so a bad frame gets the same code.

const MIN_HEADER: usize = 30;
const FIXED_HEADER: usize = 26;
const MAX_BATCH_ID: usize = 256;
const MAX_UNCOMPRESSED: u64 = 64 * 1024 * 1024;

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// A frame that passed every check up to the msgpack payload.
pub struct Payload<'a> {
    pub count: usize,
    pub packed: &'a [u8],
}

/// Checks a frame and returns its uncompressed msgpack payload, or the failure code.
/// An LZ4 payload is decompressed into `scratch`, which callers keep between frames.
pub fn open_frame<'a>(
    buf: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<Payload<'a>, &'static str> {
    let magic = b"SLFR";
    for i in 0..buf.len().min(4) {
        if buf[i] != magic[i] {
            return Err("FRAME_BAD_MAGIC");
        }
    }
    if buf.len() < 5 {
        return Err("FRAME_TRUNCATED");
    }
    if buf[4] != 1 {
        return Err("FRAME_UNKNOWN_VERSION");
    }
    if buf.len() < MIN_HEADER {
        return Err("FRAME_TRUNCATED");
    }
    let id_length = usize::from(u16::from_le_bytes([buf[24], buf[25]]));
    if id_length > MAX_BATCH_ID {
        return Err("FRAME_BAD_HEADER");
    }
    let header_length = MIN_HEADER + id_length;
    if buf.len() < header_length {
        return Err("FRAME_TRUNCATED");
    }
    let crc_at = FIXED_HEADER + id_length;
    if crc32fast::hash(&buf[..crc_at]) != u32_at(buf, crc_at) {
        return Err("FRAME_HEADER_CRC_MISMATCH");
    }
    let codec = buf[5];
    if codec > 1 {
        return Err("FRAME_UNKNOWN_CODEC");
    }
    if buf[6] != 0 || buf[7] != 0 {
        return Err("FRAME_BAD_HEADER");
    }
    let count = u64::from(u32_at(buf, 8));
    let uncompressed = u64::from(u32_at(buf, 12));
    let payload_length = u64::from(u32_at(buf, 16));
    if uncompressed > MAX_UNCOMPRESSED {
        return Err("FRAME_TOO_LARGE");
    }
    if codec == 0 && payload_length != uncompressed {
        return Err("FRAME_BAD_HEADER");
    }
    if codec == 1 && payload_length > 4 + uncompressed + uncompressed / 255 + 16 {
        return Err("FRAME_BAD_HEADER");
    }
    if count >= uncompressed {
        return Err("FRAME_BAD_HEADER");
    }
    if std::str::from_utf8(&buf[FIXED_HEADER..crc_at]).is_err() {
        return Err("FRAME_BAD_HEADER");
    }
    let frame_length = header_length as u64 + payload_length;
    if (buf.len() as u64) < frame_length {
        return Err("FRAME_TRUNCATED");
    }
    if (buf.len() as u64) > frame_length {
        return Err("FRAME_TRAILING_BYTES");
    }
    let payload = &buf[header_length..];
    if crc32fast::hash(payload) != u32_at(buf, 20) {
        return Err("FRAME_PAYLOAD_CRC_MISMATCH");
    }
    let packed = if codec == 1 {
        if payload.len() < 4 || u64::from(u32_at(payload, 0)) != uncompressed {
            return Err("FRAME_DECOMPRESSION_FAILED");
        }
        scratch.clear();
        scratch.resize(uncompressed as usize, 0);
        match lz4_flex::block::decompress_into(&payload[4..], scratch) {
            Ok(n) if n as u64 == uncompressed => &scratch[..],
            _ => return Err("FRAME_DECOMPRESSION_FAILED"),
        }
    } else {
        payload
    };
    Ok(Payload {
        count: count as usize,
        packed,
    })
}
