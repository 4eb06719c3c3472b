//! Times as the files write them: RFC 3339 in UTC for recordings, and the local wall-clock times
//! without a zone that peers write (MQTTX `2024-03-05 14:22:31:456`, HiveMQ mqtt-cli
//! `2024-03-05 14:22:31`, mqttui `2024-03-05T14:22:31.123456789`), read in a given time zone
//! (the system's, unless told otherwise).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// `ms` since the Unix epoch as RFC 3339 in UTC, with milliseconds: `2026-12-01T10:00:00.123Z`.
pub fn rfc3339(ms: u64) -> String {
    match Timestamp::from_millisecond(ms as i64) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::new(),
    }
}

/// Reads an RFC 3339 time with an offset (`…Z`, `…+01:00`) into ms since the epoch.
pub fn parse_rfc3339(text: &str) -> Result<u64, String> {
    let ts: Timestamp = text
        .trim()
        .parse()
        .map_err(|e| format!("'{text}' is not an RFC 3339 time: {e}"))?;
    u64::try_from(ts.as_millisecond()).map_err(|_| format!("'{text}' is before 1970"))
}

/// The time zone local times are read in: `TZ`, or the system's.
pub fn system_zone() -> TimeZone {
    TimeZone::system()
}

/// Reads a local wall-clock time (`YYYY-MM-DD HH:MM:SS`, a `T` or a space between date and
/// time, an optional fraction after `.` or `:`) in `zone` into ms since the epoch. Times that
/// a clock change skipped or repeats are read as the clocks most likely meant (earlier offset).
pub fn parse_local(text: &str, zone: &TimeZone) -> Result<u64, String> {
    let bad = || format!("'{text}' is not a date and time (YYYY-MM-DD HH:MM:SS)");
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 19 || !matches!(bytes[10], b' ' | b'T') {
        return Err(bad());
    }
    let number = |from: usize, to: usize| -> Result<i64, String> {
        let part = text.get(from..to).ok_or_else(bad)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, c)| bytes[at] != c) {
        return Err(bad());
    }
    let nanos = match text.get(19..) {
        None | Some("") => 0,
        Some(rest) => {
            let digits = rest.strip_prefix(['.', ':']).ok_or_else(bad)?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(bad());
            }
            let value: i64 = digits.parse().map_err(|_| bad())?;
            value * 10i64.pow(9 - digits.len() as u32)
        }
    };
    let civil = DateTime::new(
        number(0, 4)? as i16,
        number(5, 7)? as i8,
        number(8, 10)? as i8,
        number(11, 13)? as i8,
        number(14, 16)? as i8,
        number(17, 19)? as i8,
        nanos as i32,
    )
    .map_err(|e| format!("'{text}' is not a valid date and time: {e}"))?;
    let zoned = civil
        .to_zoned(zone.clone())
        .map_err(|e| format!("'{text}' cannot be placed in the time zone: {e}"))?;
    u64::try_from(zoned.timestamp().as_millisecond())
        .map_err(|_| format!("'{text}' is before 1970"))
}

/// `ms` as a local wall-clock time in `zone`, in `format` (jiff's strftime).
pub fn format_local(ms: u64, zone: &TimeZone, format: &str) -> String {
    match Timestamp::from_millisecond(ms as i64) {
        Ok(ts) => ts.to_zoned(zone.clone()).strftime(format).to_string(),
        Err(_) => String::new(),
    }
}

/// Seconds since the epoch with a fraction (`1764583200.123456`, as Python's `time.time()`
/// writes them) into ms.
pub fn parse_epoch_seconds(text: &str) -> Result<u64, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !seconds.is_finite() || !(0.0..=1e13).contains(&seconds) {
        return Err(format!("'{text}' is not a time in seconds since 1970"));
    }
    Ok((seconds * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_and_local_times_read_and_write() {
        assert_eq!(rfc3339(1_764_583_200_123), "2025-12-01T10:00:00.123Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse_rfc3339("2025-12-01T10:00:00.123Z"),
            Ok(1_764_583_200_123)
        );
        assert!(parse_rfc3339("yesterday").is_err());
        let utc = TimeZone::UTC;
        let plus2 = TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(
            parse_local("2025-12-01 10:00:00:123", &utc),
            Ok(1_764_583_200_123)
        );
        assert_eq!(
            parse_local("2025-12-01 10:00:00", &utc),
            Ok(1_764_583_200_000)
        );
        assert_eq!(
            parse_local("2025-12-01T12:00:00.123456789", &plus2),
            Ok(1_764_583_200_123)
        );
        for bad in [
            "2025-12-01",
            "2025-13-01 10:00:00",
            "2025-12-01 10:00:00.",
            "x025-12-01 10:00:00",
        ] {
            assert!(parse_local(bad, &utc).is_err(), "{bad}");
        }
        assert_eq!(
            format_local(1_764_583_200_123, &plus2, "%Y-%m-%d %H:%M:%S:%3f"),
            "2025-12-01 12:00:00:123"
        );
        assert_eq!(parse_epoch_seconds("1764583200.123"), Ok(1_764_583_200_123));
        assert!(parse_epoch_seconds("-1").is_err() && parse_epoch_seconds("nan").is_err());
    }
}
