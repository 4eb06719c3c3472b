//! Compressed payloads: gzip (RFC 1952), zlib (RFC 1950) and raw deflate (RFC 1951), recognised
//! and inflated with a limit on the output, so a decompression bomb (a few kilobytes that inflate
//! to gigabytes) is refused after [`MAX_INFLATED`] bytes instead of filling memory.

use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
use serde::Serialize;
use std::io::Read;

/// The most a payload may inflate to.
pub const MAX_INFLATED: usize = 16 * 1024 * 1024;

/// How a payload is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Gzip,
    Zlib,
    Deflate,
}

/// Why a compressed payload was not inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    #[error(
        "the payload inflates to more than {limit} bytes (a decompression bomb?); not inflated"
    )]
    TooLarge { limit: usize },
    #[error("the {0:?} stream is damaged: {1}")]
    Damaged(Compression, String),
}

/// The compression the payload's header announces: gzip's magic bytes, or a zlib header
/// (deflate method, a window of at most 32 KiB, and its check bits). Raw deflate has no header
/// and is only tried when asked for.
pub fn detect(payload: &[u8]) -> Option<Compression> {
    match payload {
        [0x1f, 0x8b, 0x08, ..] => Some(Compression::Gzip),
        [cmf, flg, ..]
            if cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 =>
        {
            Some(Compression::Zlib)
        }
        _ => None,
    }
}

/// Inflates `payload` compressed with `how`, refusing past `limit` bytes of output.
pub fn inflate(payload: &[u8], how: Compression, limit: usize) -> Result<Vec<u8>, InflateError> {
    let reader: Box<dyn Read + '_> = match how {
        Compression::Gzip => Box::new(GzDecoder::new(payload)),
        Compression::Zlib => Box::new(ZlibDecoder::new(payload)),
        Compression::Deflate => Box::new(DeflateDecoder::new(payload)),
    };
    let mut out = Vec::new();
    // One byte past the limit tells "exactly the limit" from "more".
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| InflateError::Damaged(how, e.to_string()))?;
    if out.len() > limit {
        return Err(InflateError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn gzip_and_zlib_are_recognised_and_inflated() {
        let json = br#"{"temperature": 21.5}"#;
        let gz = gzip(json);
        assert_eq!(detect(&gz), Some(Compression::Gzip));
        assert_eq!(
            inflate(&gz, Compression::Gzip, MAX_INFLATED).expect("inflates"),
            json
        );
        let mut z = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(json).expect("write");
        let z = z.finish().expect("finish");
        assert_eq!(detect(&z), Some(Compression::Zlib));
        assert_eq!(
            inflate(&z, Compression::Zlib, MAX_INFLATED).expect("inflates"),
            json
        );
        assert_eq!(detect(json), None);
        assert_eq!(detect(b"x"), None);
    }

    #[test]
    fn a_gzip_bomb_is_refused_at_the_limit() {
        // 64 MiB of zeros compress to about 64 KiB.
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..64 {
            e.write_all(&zeros).expect("write");
        }
        let bomb = e.finish().expect("finish");
        assert!(bomb.len() < 200 * 1024, "{} bytes", bomb.len());
        assert_eq!(
            inflate(&bomb, Compression::Gzip, MAX_INFLATED),
            Err(InflateError::TooLarge {
                limit: MAX_INFLATED
            })
        );
        // Exactly at the limit is fine.
        let edge = gzip(&vec![7u8; 1000]);
        assert_eq!(
            inflate(&edge, Compression::Gzip, 1000).map(|v| v.len()),
            Ok(1000)
        );
        assert!(inflate(&edge, Compression::Gzip, 999).is_err());
    }

    #[test]
    fn a_damaged_stream_says_so() {
        let mut gz = gzip(b"hello hello hello");
        let n = gz.len();
        gz.truncate(n - 6);
        assert!(matches!(
            inflate(&gz, Compression::Gzip, MAX_INFLATED),
            Err(InflateError::Damaged(Compression::Gzip, _))
        ));
    }
}
