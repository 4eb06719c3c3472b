//! A cursor over packet bytes that fails instead of panicking on short input, and reads MQTT's
//! data types: integers, variable byte integers, UTF-8 strings and binary data.

use super::DecodeError;

/// Reads MQTT data types from a byte slice, front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Everything not read yet, consumed.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&value, rest) = self
            .bytes
            .split_first()
            .ok_or(DecodeError::Malformed("the packet ends early"))?;
        self.bytes = rest;
        Ok(value)
    }

    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        let bytes = self.take(2)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let bytes = self.take(4)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Malformed(
                "a field runs past the end of the packet",
            ));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// A variable byte integer (1 to 4 bytes, at most 268,435,455), in its shortest form or not.
    pub fn varint(&mut self) -> Result<u32, DecodeError> {
        let mut value = 0u32;
        for shift in [0u32, 7, 14, 21] {
            let byte = self.u8()?;
            value |= u32::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed(
            "a variable byte integer is longer than 4 bytes",
        ))
    }

    /// Binary data: a two-byte length, then that many bytes.
    pub fn binary(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = usize::from(self.u16()?);
        self.take(len)
    }

    /// A UTF-8 encoded string as MQTT defines it: well-formed UTF-8 without U+0000.
    pub fn string(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.binary()?;
        utf8(bytes)
    }
}

/// Checks bytes as an MQTT UTF-8 string: well-formed, no U+0000 (which MQTT forbids; surrogates
/// cannot occur in well-formed UTF-8).
pub fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| DecodeError::Malformed("a string is not well-formed UTF-8"))?;
    if bytes.contains(&0) {
        return Err(DecodeError::Malformed(
            "a string contains U+0000, which MQTT forbids",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_type_and_fails_on_short_input() {
        let mut r = Reader::new(&[0x01, 0x00, 0x02, 0x00, 0x02, b'h', b'i', 0x80, 0x01]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.string(), Ok("hi"));
        assert_eq!(r.varint(), Ok(128));
        assert!(r.is_empty());
        assert!(r.u8().is_err());
        assert!(Reader::new(&[0x00, 0x05, b'a']).string().is_err());
        assert!(Reader::new(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01])
            .varint()
            .is_err());
        assert_eq!(
            Reader::new(&[0xFF, 0xFF, 0xFF, 0x7F]).varint(),
            Ok(268_435_455)
        );
    }

    #[test]
    fn strings_follow_mqtt_rules() {
        assert!(utf8(b"caf\xc3\xa9").is_ok());
        assert!(utf8(b"a\0b").is_err(), "U+0000");
        assert!(utf8(b"\xed\xa0\x80").is_err(), "an encoded surrogate");
        assert!(utf8(b"\xff").is_err());
    }
}
