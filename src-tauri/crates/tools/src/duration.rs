//! Durations as files and command lines write them: `250ms`, `5s`, `1.5s`, `2m`, `1h`, or a bare
//! number of seconds. [`Dur`] deserializes from either a string or a number, so a simulator file
//! may say `every = "5s"` or `every = 5`.

use serde::de::{self, Deserializer, Visitor};
use std::time::Duration;

/// The longest duration accepted anywhere (a week): beyond it a typo is more likely than intent.
pub const MAX: Duration = Duration::from_secs(7 * 24 * 3600);

/// A duration read from text or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn secs(s: u64) -> Dur {
        Dur(Duration::from_secs(s))
    }
    pub fn millis(ms: u64) -> Dur {
        Dur(Duration::from_millis(ms))
    }
}

/// Reads `250ms`, `5s`, `1.5s`, `2m`, `1h`, `1d` or a number of seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (write 250ms, 5s, 2m or 1h)"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{text}' (use ms, s, m, h or d)"
            ))
        }
    };
    seconds(value * scale).map_err(|e| format!("'{text}': {e}"))
}

fn seconds(value: f64) -> Result<Duration, String> {
    if !value.is_finite() || value < 0.0 {
        return Err("a duration cannot be negative".into());
    }
    let duration = Duration::from_secs_f64(value);
    if duration > MAX {
        return Err("longer than a week".into());
    }
    Ok(duration)
}

/// How a duration is written back (`5s`, `250ms`, `2m`).
pub fn format(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms == 0 {
        "0s".into()
    } else if ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

impl<'de> serde::Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Dur, D::Error> {
        struct DurVisitor;
        impl Visitor<'_> for DurVisitor {
            type Value = Dur;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration such as \"250ms\", \"5s\", \"2m\", or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse(v).map(Dur).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                seconds(v as f64).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                seconds(v as f64).map(Dur).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                seconds(v).map(Dur).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(DurVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse(" 1h "), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("3"), Ok(Duration::from_secs(3)));
        assert!(parse("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse("soon").is_err());
        assert!(parse("30d").unwrap_err().contains("week"));
        assert_eq!(format(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format(Duration::from_secs(120)), "2m");
    }
}
