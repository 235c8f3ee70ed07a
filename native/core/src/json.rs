//! One JSON event per message, read for the few top-level fields a topology uses
//! (key, time, aggregated fields) without building the rest.
//!
//! The reader answers only when its answer is certainly `JSON.parse`'s: a message that is
//! valid UTF-8 holding one JSON object whose wanted fields are `null`, `true`, `false`, a
//! number or a string. Anything else — invalid JSON, another top-level value, a wanted
//! field holding an object or array, a string with a lone surrogate escape, a byte order
//! mark, nesting deeper than `MAX_DEPTH` — is refused, and the caller decodes the message
//! the ordinary way, which then decides exactly as it always did. Everything the reader
//! skips is still checked to be valid JSON.

use std::borrow::Cow;

/// A wanted field's value in one message.
#[derive(Clone, Debug, PartialEq)]
pub enum Field<'a> {
    Missing,
    Null,
    Bool(bool),
    Number(f64),
    Text(Cow<'a, str>),
}

/// Nesting beyond this (inside skipped values) is refused rather than followed.
pub const MAX_DEPTH: usize = 256;

/// Why a message is refused; the caller only needs to know that it is.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused;

type Read<T> = Result<T, Refused>;

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The text between two positions. Both must lie at ASCII bytes or the ends (as a
    /// quote, a backslash or an escape's end do), so that the slice is whole characters.
    fn text(&self, from: usize, to: usize) -> &'a str {
        let bytes = &self.bytes[from..to];
        // SAFETY: `project` checked the whole message is UTF-8, and the slice starts and
        // ends at character boundaries (see above), so it is UTF-8 too.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Read<()> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(Refused)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Read<()> {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(Refused)
        }
    }

    fn hex4(&mut self) -> Read<u32> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or(Refused)?;
        let mut value = 0u32;
        for &d in digits {
            let nibble = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(Refused),
            };
            value = value << 4 | u32::from(nibble);
        }
        self.at += 4;
        Ok(value)
    }

    /// A string after its opening quote. `keep`: decode it (a lone surrogate is then
    /// refused, since Rust strings cannot hold one); else only check it.
    fn string(&mut self, keep: bool) -> Read<Cow<'a, str>> {
        let start = self.at;
        // Plain run up to the first quote or backslash: borrowed as is.
        loop {
            match self.peek() {
                None => return Err(Refused),
                Some(b'"') => {
                    let text = self.text(start, self.at);
                    self.at += 1;
                    return Ok(Cow::Borrowed(text));
                }
                Some(b'\\') => break,
                Some(0..=0x1f) => return Err(Refused),
                Some(_) => self.at += 1,
            }
        }
        let mut owned = String::new();
        if keep {
            owned.push_str(self.text(start, self.at));
        }
        let mut run = self.at;
        loop {
            match self.peek() {
                None => return Err(Refused),
                Some(b'"') => {
                    if keep {
                        owned.push_str(self.text(run, self.at));
                    }
                    self.at += 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(0..=0x1f) => return Err(Refused),
                Some(b'\\') => {
                    if keep {
                        owned.push_str(self.text(run, self.at));
                    }
                    self.at += 1;
                    let escape = self.peek().ok_or(Refused)?;
                    self.at += 1;
                    let decoded = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape(keep)?,
                        _ => return Err(Refused),
                    };
                    if keep {
                        owned.push(decoded);
                    }
                    run = self.at;
                }
                Some(_) => self.at += 1,
            }
        }
    }

    /// The code point of `\uXXXX` (the `\u` read), joining a surrogate pair. A lone
    /// surrogate is valid JSON: only checked (`keep` false) it passes as U+FFFD, kept it is refused.
    fn unicode_escape(&mut self, keep: bool) -> Read<char> {
        let unit = self.hex4()?;
        if (0xDC00..0xE000).contains(&unit) {
            return if keep { Err(Refused) } else { Ok('\u{fffd}') };
        }
        if (0xD800..0xDC00).contains(&unit) {
            if self.bytes[self.at..].starts_with(b"\\u") {
                let mark = self.at;
                self.at += 2;
                let low = self.hex4()?;
                if (0xDC00..0xE000).contains(&low) {
                    let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    return char::from_u32(code).ok_or(Refused);
                }
                // Not a pair: the second escape is read on its own next time round.
                self.at = mark;
            }
            return if keep { Err(Refused) } else { Ok('\u{fffd}') };
        }
        char::from_u32(unit).ok_or(Refused)
    }

    /// A number by JSON's grammar, converted as `JSON.parse` converts it (correctly rounded).
    /// Up to 15 significant digits and a power of ten within ±22, both the digits and the
    /// power are exact doubles, so one multiplication or division rounds correctly
    /// (Clinger's fast path); anything else goes through Rust's own correctly rounded parser.
    fn number(&mut self) -> Read<f64> {
        const POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let mut mantissa = 0u64;
        let mut digits = 0u32;
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                    digits += 1;
                    self.at += 1;
                }
            }
            _ => return Err(Refused),
        }
        let mut scale = 0i64;
        if self.peek() == Some(b'.') {
            self.at += 1;
            let first = self.at;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                if mantissa != 0 || d != b'0' {
                    digits += 1;
                }
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                scale -= 1;
                self.at += 1;
            }
            if self.at == first {
                return Err(Refused);
            }
        }
        let mut exponent = 0i64;
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            let minus = self.peek() == Some(b'-');
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            let first = self.at;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                exponent = (exponent * 10 + i64::from(d - b'0')).min(1 << 40);
                self.at += 1;
            }
            if self.at == first {
                return Err(Refused);
            }
            if minus {
                exponent = -exponent;
            }
        }
        let power = scale + exponent;
        if digits <= 15 && (-22..=22).contains(&power) {
            let magnitude = mantissa as f64;
            let value = if power < 0 {
                magnitude / POWERS[(-power) as usize]
            } else {
                magnitude * POWERS[power as usize]
            };
            return Ok(if negative { -value } else { value });
        }
        self.text(start, self.at)
            .parse::<f64>()
            .map_err(|_| Refused)
    }

    /// After a member of an object or array: true past a comma (another member follows),
    /// false past `close`; anything else is refused.
    fn more(&mut self, close: u8) -> Read<bool> {
        self.skip_space();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                self.skip_space();
                Ok(true)
            }
            Some(byte) if byte == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Refused),
        }
    }

    /// A wanted field's value: a scalar, else refused.
    fn scalar(&mut self) -> Read<Field<'a>> {
        match self.peek().ok_or(Refused)? {
            b'"' => {
                self.at += 1;
                Ok(Field::Text(self.string(true)?))
            }
            b't' => self.literal(b"true").map(|()| Field::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Field::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Field::Null),
            _ => self.number().map(Field::Number),
        }
    }

    /// Checks and passes over any value.
    fn skip_value(&mut self, depth: usize) -> Read<()> {
        if depth > MAX_DEPTH {
            return Err(Refused);
        }
        match self.peek().ok_or(Refused)? {
            b'"' => {
                self.at += 1;
                self.string(false).map(drop)
            }
            b'{' => {
                self.at += 1;
                self.skip_space();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.expect(b'"')?;
                    self.string(false)?;
                    self.skip_space();
                    self.expect(b':')?;
                    self.skip_space();
                    self.skip_value(depth + 1)?;
                    if !self.more(b'}')? {
                        return Ok(());
                    }
                }
            }
            b'[' => {
                self.at += 1;
                self.skip_space();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if !self.more(b']')? {
                        return Ok(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }
}

/// Reads the wanted `fields` of one message into `out` (one slot per field; the last
/// occurrence of a repeated name wins, as in `JSON.parse`).
pub fn project<'a>(message: &'a [u8], fields: &[String], out: &mut [Field<'a>]) -> Read<()> {
    if !message.is_ascii() {
        std::str::from_utf8(message).map_err(|_| Refused)?;
    }
    out.iter_mut().for_each(|slot| *slot = Field::Missing);
    let mut cursor = Cursor {
        bytes: message,
        at: 0,
    };
    cursor.skip_space();
    cursor.expect(b'{')?;
    cursor.skip_space();
    if cursor.peek() == Some(b'}') {
        cursor.at += 1;
    } else {
        loop {
            cursor.expect(b'"')?;
            let name = cursor.string(true)?;
            cursor.skip_space();
            cursor.expect(b':')?;
            cursor.skip_space();
            match fields.iter().position(|field| *field == name) {
                Some(slot) => out[slot] = cursor.scalar()?,
                None => cursor.skip_value(1)?,
            }
            if !cursor.more(b'}')? {
                break;
            }
        }
    }
    cursor.skip_space();
    if cursor.at == message.len() {
        Ok(())
    } else {
        Err(Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, fields: &[&str]) -> Option<Vec<Field<'static>>> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let leaked: &'static [u8] = Box::leak(text.as_bytes().to_vec().into_boxed_slice());
        let mut out = vec![Field::Missing; fields.len()];
        project(leaked, &fields, &mut out).ok().map(|()| out)
    }

    #[test]
    fn reads_wanted_fields_and_skips_the_rest() {
        let out = read(
            r#"{"user_id":"u1","page":{"a":[1,2,{"b":null}]},"ts":1714564799500,"ok":true,"n":null}"#,
            &["user_id", "ts", "ok", "n", "gone"],
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                Field::Text(Cow::Borrowed("u1")),
                Field::Number(1714564799500.0),
                Field::Bool(true),
                Field::Null,
                Field::Missing
            ]
        );
    }

    #[test]
    fn last_repeated_name_wins_and_escapes_decode() {
        let out = read(r#"{"k":"a","k":"\u00e9\ud83d\ude00\n"}"#, &["k"]).unwrap();
        assert_eq!(out, vec![Field::Text(Cow::Owned("é😀\n".to_owned()))]);
        let out = read(r#"{"k\u0031":1}"#, &["k1"]).unwrap();
        assert_eq!(out, vec![Field::Number(1.0)]);
    }

    #[test]
    fn refuses_what_it_cannot_answer_exactly() {
        for text in [
            "",
            "[]",
            "\"x\"",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":-}",
            "{\"a\":1} x",
            "{\"k\":{}}",
            "{\"k\":[1]}",
            "{\"k\":\"\\ud800\"}",
            "{\"a\":\"\t\"}",
            "\u{feff}{}",
            "{'a':1}",
            "{\"a\":tru}",
            "{\"a\":\"\\x\"}",
            "{\"a\" 1}",
        ] {
            assert!(read(text, &["k"]).is_none(), "accepted {text:?}");
        }
    }

    #[test]
    fn accepts_what_json_parse_accepts_in_skipped_values() {
        for text in [
            " { } ",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":[]}",
            "{\"a\":-0.5e-3}",
            "{\"a\":1E+2}",
            "{\"a\":\"\\ud800x\"}",
            "{\"a\":\"\\ud800\\u0041\"}",
        ] {
            assert!(read(text, &["k"]).is_some(), "refused {text:?}");
        }
        assert_eq!(
            read("{\"k\":-0}", &["k"]).unwrap(),
            vec![Field::Number(-0.0)]
        );
        assert!(
            matches!(read("{\"k\":-0}", &["k"]).unwrap()[0], Field::Number(n) if n.is_sign_negative())
        );
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(read(&deep, &["k"]).is_none());
        let fine = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(read(&fine, &["k"]).is_some());
    }
}
