//! A minimal msgpack reader for event maps: it reads the values of the fields a topology
//! uses and skips the rest. It accepts only what msgpackr (the TS decoder) reads the same
//! way; anything else (ext types, non-string map keys at the top, invalid UTF-8, deep
//! nesting) makes the caller hand the whole batch back to the TS path.

/// Why a payload was not read: `Invalid` is malformed msgpack, `Unsupported` is valid
/// msgpack this reader leaves to the TS decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    Invalid,
    Unsupported,
}

/// A field value as the window operator sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Missing,
    Nil,
    Bool(bool),
    Num(f64),
    Str(&'a str),
    /// An array, a map or binary data.
    Compound,
}

const MAX_DEPTH: u32 = 64;

pub struct Reader<'a> {
    buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }

    fn byte(&mut self) -> Result<u8, ReadError> {
        let b = *self.buf.get(self.pos).ok_or(ReadError::Invalid)?;
        self.pos += 1;
        Ok(b)
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self.pos.checked_add(n).ok_or(ReadError::Invalid)?;
        let slice = self.buf.get(self.pos..end).ok_or(ReadError::Invalid)?;
        self.pos = end;
        Ok(slice)
    }

    fn uint(&mut self, n: usize) -> Result<u64, ReadError> {
        let mut value = 0u64;
        for &b in self.bytes(n)? {
            value = (value << 8) | u64::from(b);
        }
        Ok(value)
    }

    /// A string value: checked UTF-8 when `wanted`; a skipped one is only stepped over,
    /// as msgpackr reads invalid UTF-8 without an error (replacement characters).
    fn string_value(&mut self, n: usize, wanted: bool) -> Result<Value<'a>, ReadError> {
        if !wanted {
            self.bytes(n)?;
            return Ok(Value::Compound);
        }
        Ok(Value::Str(self.str_of(n)?))
    }

    fn str_of(&mut self, n: usize) -> Result<&'a str, ReadError> {
        let raw = self.bytes(n)?;
        std::str::from_utf8(raw).map_err(|_| ReadError::Unsupported)
    }

    /// The length of an array header, or None if the next value is not an array.
    pub fn array_header(&mut self) -> Result<Option<usize>, ReadError> {
        let b = self.byte()?;
        Ok(match b {
            0x90..=0x9f => Some(usize::from(b & 0x0f)),
            0xdc => Some(self.uint(2)? as usize),
            0xdd => Some(self.uint(4)? as usize),
            _ => {
                self.pos -= 1;
                None
            }
        })
    }

    pub fn map_header(&mut self) -> Result<Option<usize>, ReadError> {
        let b = self.byte()?;
        Ok(match b {
            0x80..=0x8f => Some(usize::from(b & 0x0f)),
            0xde => Some(self.uint(2)? as usize),
            0xdf => Some(self.uint(4)? as usize),
            _ => {
                self.pos -= 1;
                None
            }
        })
    }

    /// A map key at the top level of an event: must be a string.
    pub fn key(&mut self) -> Result<&'a str, ReadError> {
        let b = self.byte()?;
        let n = match b {
            0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.uint(1)? as usize,
            0xda => self.uint(2)? as usize,
            0xdb => self.uint(4)? as usize,
            0xc1 => return Err(ReadError::Invalid),
            _ => return Err(ReadError::Unsupported),
        };
        let key = self.str_of(n)?;
        if key == "__proto__" {
            return Err(ReadError::Unsupported);
        }
        Ok(key)
    }

    /// Checks the key of a map inside a value without moving: msgpackr turns a string,
    /// number, boolean or nil key into a property name and refuses an array, map or
    /// binary key ("Invalid property type for record"), so those make the payload invalid.
    fn nested_key(&self) -> Result<(), ReadError> {
        match self.buf.get(self.pos) {
            Some(0x80..=0x9f | 0xdc..=0xdf | 0xc4..=0xc6) => Err(ReadError::Invalid),
            _ => Ok(()),
        }
    }

    /// Reads one value; compound values are skipped (their content is still checked).
    pub fn value(&mut self, depth: u32) -> Result<Value<'a>, ReadError> {
        self.read(depth, true)
    }

    /// Steps over one value without decoding it (nor checking its strings' UTF-8).
    pub fn skip(&mut self, depth: u32) -> Result<(), ReadError> {
        self.read(depth, false).map(|_| ())
    }

    fn read(&mut self, depth: u32, wanted: bool) -> Result<Value<'a>, ReadError> {
        if depth > MAX_DEPTH {
            return Err(ReadError::Unsupported);
        }
        let b = self.byte()?;
        Ok(match b {
            0x00..=0x7f => Value::Num(f64::from(b)),
            0xe0..=0xff => Value::Num(f64::from(b as i8)),
            0xc0 => Value::Nil,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xca => Value::Num(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => Value::Num(f64::from_bits(self.uint(8)?)),
            0xcc => Value::Num(self.uint(1)? as f64),
            0xcd => Value::Num(self.uint(2)? as f64),
            0xce => Value::Num(self.uint(4)? as f64),
            0xcf => Value::Num(self.uint(8)? as f64),
            0xd0 => Value::Num(f64::from(self.uint(1)? as u8 as i8)),
            0xd1 => Value::Num(f64::from(self.uint(2)? as u16 as i16)),
            0xd2 => Value::Num(f64::from(self.uint(4)? as u32 as i32)),
            0xd3 => Value::Num(self.uint(8)? as i64 as f64),
            0xa0..=0xbf => self.string_value(usize::from(b & 0x1f), wanted)?,
            0xd9 => {
                let n = self.uint(1)? as usize;
                self.string_value(n, wanted)?
            }
            0xda => {
                let n = self.uint(2)? as usize;
                self.string_value(n, wanted)?
            }
            0xdb => {
                let n = self.uint(4)? as usize;
                self.string_value(n, wanted)?
            }
            0xc4..=0xc6 => {
                let n = self.uint(1 << (b - 0xc4))? as usize;
                self.bytes(n)?;
                Value::Compound
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                self.pos -= 1;
                let n = self.array_header()?.unwrap_or(0);
                for _ in 0..n {
                    self.read(depth + 1, false)?;
                }
                Value::Compound
            }
            0x80..=0x8f | 0xde | 0xdf => {
                self.pos -= 1;
                let n = self.map_header()?.unwrap_or(0);
                for _ in 0..n {
                    self.nested_key()?;
                    self.read(depth + 1, false)?;
                    self.read(depth + 1, false)?;
                }
                Value::Compound
            }
            0xc1 => return Err(ReadError::Invalid),
            // ext and fixext: msgpackr may turn them into Dates or other objects.
            _ => return Err(ReadError::Unsupported),
        })
    }
}

/// Reads the wanted `fields` of one per-message msgpack event into `out`, as
/// `json::project` does for JSON: only a map whose wanted fields are nil, a boolean, a
/// number or a UTF-8 string is read (the last of a repeated name wins, as msgpackr
/// assigns); anything else — another top-level value, a wanted field holding an array, a
/// map or binary, ext types, a `__proto__` key, trailing bytes, malformed msgpack — is
/// refused, and the caller decodes the message with msgpackr.
pub fn project<'a>(
    message: &'a [u8],
    fields: &[String],
    out: &mut [crate::json::Field<'a>],
) -> Result<(), crate::json::Refused> {
    let mut reader = Reader::new(message);
    project_map(&mut reader, fields, out)?;
    if reader.at_end() {
        Ok(())
    } else {
        Err(crate::json::Refused)
    }
}

/// Reads the wanted `fields` of the event map at the reader's position into `out`, by the
/// rules of `project`, leaving the reader after the map.
pub fn project_map<'a>(
    reader: &mut Reader<'a>,
    fields: &[String],
    out: &mut [crate::json::Field<'a>],
) -> Result<(), crate::json::Refused> {
    use crate::json::{Field, Refused};
    out.iter_mut().for_each(|slot| *slot = Field::Missing);
    let entries = reader.map_header().map_err(|_| Refused)?.ok_or(Refused)?;
    for _ in 0..entries {
        let key = reader.key().map_err(|_| Refused)?;
        match fields.iter().position(|field| field == key) {
            Some(slot) => {
                out[slot] = match reader.value(1).map_err(|_| Refused)? {
                    Value::Missing | Value::Compound => return Err(Refused),
                    Value::Nil => Field::Null,
                    Value::Bool(b) => Field::Bool(b),
                    Value::Num(n) => Field::Number(n),
                    Value::Str(s) => Field::Text(std::borrow::Cow::Borrowed(s)),
                }
            }
            None => reader.skip(1).map_err(|_| Refused)?,
        }
    }
    Ok(())
}

/// Opens a sluice frame (checks, LZ4 into `scratch`) and reads the wanted `fields` of each
/// of its events by the rules of `project`, handing each event's fields to `event`.
/// Refused: a frame `frame::open_frame` refuses, a payload that is not an array of
/// `count` event maps `project_map` reads, trailing bytes.
pub fn project_frame(
    message: &[u8],
    scratch: &mut Vec<u8>,
    fields: &[String],
    mut event: impl FnMut(&[crate::json::Field<'_>]),
) -> Result<(), crate::json::Refused> {
    use crate::json::{Field, Refused};
    let payload = crate::frame::open_frame(message, scratch).map_err(|_| Refused)?;
    let mut reader = Reader::new(payload.packed);
    let length = reader.array_header().map_err(|_| Refused)?.ok_or(Refused)?;
    if length != payload.count {
        return Err(Refused);
    }
    let mut slots = vec![Field::Missing; fields.len()];
    for _ in 0..length {
        project_map(&mut reader, fields, &mut slots)?;
        event(&slots);
    }
    if reader.at_end() {
        Ok(())
    } else {
        Err(Refused)
    }
}
