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

/// Checked UTF-8; short ASCII text, an event's usual strings, skips the general check.
fn utf8(raw: &[u8]) -> Result<&str, ReadError> {
    if raw.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(raw) });
    }
    std::str::from_utf8(raw).map_err(|_| ReadError::Unsupported)
}

/// Key positions remembered per event; events with more keys match the rest by name.
const REMEMBERED_KEYS: usize = 64;

/// Matches the top-level keys of event maps against the wanted field names. The events
/// of a batch mostly repeat one key order, so the key met at each position of the
/// previous event is remembered with its slot: a repeated key costs one comparison and
/// is not checked again. A new key is checked — UTF-8, and not `__proto__`, which
/// msgpackr would turn into a prototype — and looked up by name.
pub struct KeyMatcher<'n, 'a> {
    names: &'n [String],
    seen: Vec<(&'a [u8], Option<usize>)>,
}

impl<'n, 'a> KeyMatcher<'n, 'a> {
    pub fn new(names: &'n [String]) -> Self {
        KeyMatcher {
            names,
            seen: Vec::new(),
        }
    }

    /// The first slot of `names` equal to the key at `position` of an event map, or None
    /// for a key that is not wanted.
    pub fn slot(&mut self, position: usize, raw: &'a [u8]) -> Result<Option<usize>, ReadError> {
        if let Some(&(seen, slot)) = self.seen.get(position) {
            if seen == raw {
                return Ok(slot);
            }
        }
        let key = utf8(raw)?;
        if key == "__proto__" {
            return Err(ReadError::Unsupported);
        }
        let slot = self.names.iter().position(|name| name == key);
        if position < self.seen.len() {
            self.seen[position] = (raw, slot);
        } else if position == self.seen.len() && position < REMEMBERED_KEYS {
            self.seen.push((raw, slot));
        }
        Ok(slot)
    }
}

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

    #[inline]
    fn byte(&mut self) -> Result<u8, ReadError> {
        let b = *self.buf.get(self.pos).ok_or(ReadError::Invalid)?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self.pos.checked_add(n).ok_or(ReadError::Invalid)?;
        let slice = self.buf.get(self.pos..end).ok_or(ReadError::Invalid)?;
        self.pos = end;
        Ok(slice)
    }

    #[inline]
    fn uint(&mut self, n: usize) -> Result<u64, ReadError> {
        if n == 8 {
            let bytes: [u8; 8] = self.bytes(8)?.try_into().map_err(|_| ReadError::Invalid)?;
            return Ok(u64::from_be_bytes(bytes));
        }
        let mut value = 0u64;
        for &b in self.bytes(n)? {
            value = (value << 8) | u64::from(b);
        }
        Ok(value)
    }

    /// A string value: checked UTF-8 when `wanted`; a skipped one is only stepped over,
    /// as msgpackr reads invalid UTF-8 without an error (replacement characters).
    #[inline]
    fn string_value(&mut self, n: usize, wanted: bool) -> Result<Value<'a>, ReadError> {
        if !wanted {
            self.bytes(n)?;
            return Ok(Value::Compound);
        }
        Ok(Value::Str(self.str_of(n)?))
    }

    #[inline]
    fn str_of(&mut self, n: usize) -> Result<&'a str, ReadError> {
        utf8(self.bytes(n)?)
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

    #[inline]
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

    /// A map key at the top level of an event, its bytes unchecked: it must be a string
    /// (`KeyMatcher::slot` checks the rest).
    #[inline]
    pub fn raw_key(&mut self) -> Result<&'a [u8], ReadError> {
        let b = self.byte()?;
        let n = match b {
            0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.uint(1)? as usize,
            0xda => self.uint(2)? as usize,
            0xdb => self.uint(4)? as usize,
            0xc1 => return Err(ReadError::Invalid),
            _ => return Err(ReadError::Unsupported),
        };
        self.bytes(n)
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
    #[inline]
    pub fn value(&mut self, depth: u32) -> Result<Value<'a>, ReadError> {
        // An event's usual values — small integers, doubles, short strings — read here,
        // inline, so that the value stays in registers; the rest by `read`.
        match self.buf.get(self.pos) {
            Some(&b @ 0x00..=0x7f) => {
                self.pos += 1;
                Ok(Value::Num(f64::from(b)))
            }
            Some(0xcb) => {
                self.pos += 1;
                Ok(Value::Num(f64::from_bits(self.uint(8)?)))
            }
            Some(&b @ 0xa0..=0xbf) => {
                self.pos += 1;
                self.string_value(usize::from(b & 0x1f), true)
            }
            _ => self.read(depth, true),
        }
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
    project_map(&mut reader, &mut KeyMatcher::new(fields), out)?;
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
    keys: &mut KeyMatcher<'_, 'a>,
    out: &mut [crate::json::Field<'a>],
) -> Result<(), crate::json::Refused> {
    use crate::json::{Field, Refused};
    out.iter_mut().for_each(|slot| *slot = Field::Missing);
    let entries = reader.map_header().map_err(|_| Refused)?.ok_or(Refused)?;
    for position in 0..entries {
        let key = reader.raw_key().map_err(|_| Refused)?;
        match keys.slot(position, key).map_err(|_| Refused)? {
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
    let mut keys = KeyMatcher::new(fields);
    for _ in 0..length {
        project_map(&mut reader, &mut keys, &mut slots)?;
        event(&slots);
    }
    if reader.at_end() {
        Ok(())
    } else {
        Err(Refused)
    }
}
