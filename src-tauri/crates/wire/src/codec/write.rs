//! Writing MQTT's data types into a byte buffer.

/// How many bytes `value` takes as a variable byte integer.
pub fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Appends `value` as a variable byte integer. Values above 268,435,455 cannot be encoded; the
/// callers keep lengths below it (the largest packet is 256 MB).
pub fn encode_varint(mut value: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if value == 0 {
            break;
        }
    }
}

pub fn put_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

pub fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Binary data: two-byte length, then the bytes. Longer input is cut at 65,535 bytes; callers
/// validate lengths before encoding.
pub fn put_binary(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len().min(usize::from(u16::MAX));
    put_u16(out, len as u16);
    out.extend_from_slice(&bytes[..len]);
}

/// A UTF-8 string: two-byte length, then the bytes.
pub fn put_string(out: &mut Vec<u8>, text: &str) {
    put_binary(out, text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        for value in [
            0usize,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            268_435_455,
        ] {
            let mut out = Vec::new();
            encode_varint(value, &mut out);
            assert_eq!(out.len(), varint_len(value), "{value}");
            let mut reader = super::super::Reader::new(&out);
            assert_eq!(reader.varint(), Ok(value as u32));
        }
    }
}
