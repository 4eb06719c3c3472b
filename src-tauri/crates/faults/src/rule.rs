//! What a fault rule is: the faults a tester can arm against one client, the limits on their
//! values, the one-line syntax of the command line (`dev1:drop=puback:1`), and the words that
//! describe a rule in logs.
//!
//! Nothing here knows about sockets or time; [`crate::FaultBook`] keeps the armed rules and
//! [`crate::Faults`] applies them to one connection.

use serde::{Deserialize, Serialize};
use wire::PacketKind;

/// The longest delay a rule may add to each packet (fixed plus jitter), milliseconds.
pub const MAX_DELAY_MS: u32 = 60_000;
/// The most packets one drop or duplicate rule may count.
pub const MAX_COUNT: u32 = 10_000;
/// The most rules armed for one client.
pub const MAX_RULES_PER_CLIENT: usize = 32;
/// The most rules armed in all.
pub const MAX_RULES: usize = 1_024;
/// The longest client id a rule may name (the MQTT maximum).
pub const MAX_CLIENT_ID: usize = 65_535;

/// Which way a packet goes, seen from the device under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Toward {
    /// From the broker (or the proxy's upstream) to the client.
    Client,
    /// From the client to the broker (or the proxy's upstream).
    Broker,
}

impl Toward {
    /// The way of a packet reported by a broker or proxy: inbound packets come from the client.
    pub fn of(direction: wire::Direction) -> Toward {
        match direction {
            wire::Direction::Inbound => Toward::Broker,
            wire::Direction::Outbound => Toward::Client,
        }
    }

    /// Where a packet of `kind` usually goes when a rule does not say: packets only a client
    /// sends go to the broker; everything else (acknowledgements, PUBLISH, PUBREL) is what the
    /// device receives, which is what a tester of a device usually wants to lose.
    pub fn default_for(kind: PacketKind) -> Toward {
        use PacketKind::*;
        match kind {
            Connect | Subscribe | Unsubscribe | PingReq => Toward::Broker,
            _ => Toward::Client,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Toward::Client => "to the client",
            Toward::Broker => "to the broker",
        }
    }
}

/// One fault a tester arms against a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Fault {
    /// Every packet going `toward` waits `fixedMs` plus a random 0..=`jitterMs` (order kept),
    /// until the rule is cleared.
    Delay {
        toward: Toward,
        #[serde(rename = "fixedMs")]
        fixed_ms: u32,
        #[serde(rename = "jitterMs")]
        jitter_ms: u32,
    },
    /// The next `count` packets of `kind` going `toward` are lost.
    Drop {
        kind: PacketKind,
        toward: Toward,
        count: u32,
    },
    /// The next `count` PUBLISH packets going `toward` are sent twice, the copy with DUP set
    /// (QoS 1 and 2; a QoS 0 copy keeps DUP clear, as the specification requires).
    Duplicate { toward: Toward, count: u32 },
    /// Close the connection now without a DISCONNECT, as a lost network would (the will fires).
    Cut,
    /// Stop reading from the client (a slow broker) until the rule is cleared.
    Pause,
    /// Refuse the client's next CONNECT with this reason code (MQTT 5; a 3.1.1 client gets the
    /// nearest return code).
    Refuse { code: u8 },
    /// Send the client a DISCONNECT with this reason code (MQTT 5) and close; a 3.1.1 client
    /// is just closed, as 3.1.1 has no server DISCONNECT.
    Disconnect { code: u8 },
}

/// Why a rule was not armed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("a fault rule needs a client id")]
    NoClient,
    #[error("the client id is longer than {MAX_CLIENT_ID} bytes")]
    ClientTooLong,
    #[error("a delay may add at most {MAX_DELAY_MS} ms (fixed plus jitter)")]
    DelayTooLong,
    #[error("a count must be between 1 and {MAX_COUNT}")]
    BadCount,
    #[error(
        "{0} cannot be refused with reason code {1:#04x}: a refusal needs a code of 0x80 or more"
    )]
    BadRefusal(&'static str, u8),
    #[error("a server DISCONNECT needs a reason code of 0x80 or more, or 0x00 (normal), 0x04 is for clients only; got {0:#04x}")]
    BadDisconnect(u8),
    #[error("{0} already has {MAX_RULES_PER_CLIENT} fault rules; clear some first")]
    TooManyForClient(String),
    #[error("{MAX_RULES} fault rules are armed; clear some first")]
    TooMany,
    #[error("not a fault rule: {0}")]
    Syntax(String),
}

impl wire::Coded for RuleError {
    fn code(&self) -> wire::ErrorCode {
        match self {
            RuleError::TooMany | RuleError::TooManyForClient(_) => wire::ErrorCode::InvalidState,
            _ => wire::ErrorCode::InvalidInput,
        }
    }
}

impl Fault {
    /// Checks the values a rule carries.
    pub fn validate(&self) -> Result<(), RuleError> {
        match *self {
            Fault::Delay {
                fixed_ms,
                jitter_ms,
                ..
            } => {
                if fixed_ms.saturating_add(jitter_ms) > MAX_DELAY_MS {
                    return Err(RuleError::DelayTooLong);
                }
            }
            Fault::Drop { count, .. } | Fault::Duplicate { count, .. } => {
                if count == 0 || count > MAX_COUNT {
                    return Err(RuleError::BadCount);
                }
            }
            Fault::Refuse { code } => {
                if code < 0x80 {
                    return Err(RuleError::BadRefusal("CONNECT", code));
                }
            }
            Fault::Disconnect { code } => {
                if code != 0 && code < 0x80 {
                    return Err(RuleError::BadDisconnect(code));
                }
            }
            Fault::Cut | Fault::Pause => {}
        }
        Ok(())
    }

    /// How many packets the rule still counts, for rules that count.
    pub fn count(&self) -> Option<u32> {
        match *self {
            Fault::Drop { count, .. } | Fault::Duplicate { count, .. } => Some(count),
            _ => None,
        }
    }

    /// The rule in words, for logs and the command line.
    pub fn describe(&self) -> String {
        match self {
            Fault::Delay {
                toward,
                fixed_ms,
                jitter_ms,
            } => format!(
                "delay packets {} by {fixed_ms} ms plus up to {jitter_ms} ms",
                toward.word()
            ),
            Fault::Drop {
                kind,
                toward,
                count,
            } => format!("drop the next {count} {} {}", kind.name(), toward.word()),
            Fault::Duplicate { toward, count } => {
                format!("duplicate the next {count} PUBLISH {}", toward.word())
            }
            Fault::Cut => "cut the connection without DISCONNECT".into(),
            Fault::Pause => "stop reading from the client".into(),
            Fault::Refuse { code } => format!("refuse the next CONNECT with {code:#04x}"),
            Fault::Disconnect { code } => format!("send DISCONNECT {code:#04x} and close"),
        }
    }
}

/// A rule as the book keeps it: which client, what fault, and how much of it is left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ArmedRule {
    /// Unique while the book lives; names the rule for clearing it.
    pub id: u32,
    pub client_id: String,
    /// The fault; for counting rules, `count` is what is still to come.
    pub fault: Fault,
}

/// Reads a rule of the command line: `CLIENT:FAULT`, where FAULT is one of
///
/// - `drop=KIND[:N]`, `drop-in=KIND[:N]`, `drop-out=KIND[:N]` (N defaults to 1; `-in` is
///   toward the broker, `-out` toward the client, plain picks the usual way of KIND);
/// - `delay=MS[+JITTER]` (both ways), `delay-in=...`, `delay-out=...`;
/// - `dup[=N]` (PUBLISH to the client), `dup-in[=N]`;
/// - `cut`, `pause`, `refuse=CODE`, `disconnect=CODE` (codes in decimal or 0x hex).
///
/// A client id may itself contain `:`; the rule starts at the first `:` followed by a fault
/// that reads. Returns the client id and the faults (a two-way delay is two rules).
pub fn parse(text: &str) -> Result<(String, Vec<Fault>), RuleError> {
    for (at, _) in text.match_indices(':') {
        let (client, spec) = (&text[..at], &text[at + 1..]);
        if client.is_empty() {
            return Err(RuleError::NoClient);
        }
        if let Ok(faults) = parse_fault(spec) {
            for fault in &faults {
                fault.validate()?;
            }
            return Ok((client.to_string(), faults));
        }
    }
    match text.rfind(':') {
        Some(at) => Err(parse_fault(&text[at + 1..]).err().unwrap_or_else(|| {
            RuleError::Syntax(format!("{text} (expected CLIENT:FAULT, such as dev1:cut)"))
        })),
        None => Err(RuleError::Syntax(format!(
            "{text} (expected CLIENT:FAULT, such as dev1:drop=puback:1)"
        ))),
    }
}

fn parse_fault(spec: &str) -> Result<Vec<Fault>, RuleError> {
    let (name, value) = match spec.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (spec, None),
    };
    let bad = || RuleError::Syntax(spec.to_string());
    let towards = |suffix: &str| match suffix {
        "" => Ok(None),
        "-in" => Ok(Some(Toward::Broker)),
        "-out" => Ok(Some(Toward::Client)),
        _ => Err(bad()),
    };
    let name = name.to_ascii_lowercase();
    if let Some(suffix) = name.strip_prefix("drop") {
        let toward = towards(suffix)?;
        let value = value.ok_or_else(bad)?;
        let (kind, count) = match value.split_once(':') {
            Some((kind, count)) => (kind, number(count).ok_or_else(bad)?),
            None => (value, 1),
        };
        let kind = kind_named(kind).ok_or_else(|| {
            RuleError::Syntax(format!("{kind} is not a packet type (puback, suback, ...)"))
        })?;
        return Ok(vec![Fault::Drop {
            kind,
            toward: toward.unwrap_or(Toward::default_for(kind)),
            count,
        }]);
    }
    if let Some(suffix) = name.strip_prefix("delay") {
        let toward = towards(suffix)?;
        let value = value.ok_or_else(bad)?;
        let value = value.trim_end_matches("ms");
        let (fixed, jitter) = match value.split_once('+') {
            Some((fixed, jitter)) => (fixed, jitter.trim_end_matches("ms")),
            None => (value, "0"),
        };
        let fixed_ms = number(fixed).ok_or_else(bad)?;
        let jitter_ms = number(jitter).ok_or_else(bad)?;
        let ways = match toward {
            Some(way) => vec![way],
            None => vec![Toward::Client, Toward::Broker],
        };
        return Ok(ways
            .into_iter()
            .map(|toward| Fault::Delay {
                toward,
                fixed_ms,
                jitter_ms,
            })
            .collect());
    }
    if let Some(suffix) = name.strip_prefix("dup") {
        let toward = towards(suffix)?.unwrap_or(Toward::Client);
        let count = match value {
            Some(value) => number(value).ok_or_else(bad)?,
            None => 1,
        };
        return Ok(vec![Fault::Duplicate { toward, count }]);
    }
    let code = || value.and_then(number).and_then(|c| u8::try_from(c).ok());
    Ok(vec![match (name.as_str(), value) {
        ("cut", None) => Fault::Cut,
        ("pause", None) => Fault::Pause,
        ("refuse", Some(_)) => Fault::Refuse {
            code: code().ok_or_else(bad)?,
        },
        ("disconnect", Some(_)) => Fault::Disconnect {
            code: code().ok_or_else(bad)?,
        },
        _ => return Err(bad()),
    }])
}

fn number(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The packet type a word names (`puback`, `PUBACK`, `pingresp`...).
pub fn kind_named(word: &str) -> Option<PacketKind> {
    (1..=15)
        .filter_map(PacketKind::from_type)
        .find(|kind| kind.name().eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_rules_read_as_the_help_shows() {
        assert_eq!(
            parse("dev1:drop=puback:1").unwrap(),
            (
                "dev1".into(),
                vec![Fault::Drop {
                    kind: PacketKind::PubAck,
                    toward: Toward::Client,
                    count: 1
                }]
            )
        );
        assert_eq!(
            parse("dev1:refuse=0x87").unwrap().1,
            vec![Fault::Refuse { code: 0x87 }]
        );
        assert_eq!(
            parse("aa:bb:cc:drop-in=PUBLISH:3").unwrap(),
            (
                "aa:bb:cc".into(),
                vec![Fault::Drop {
                    kind: PacketKind::Publish,
                    toward: Toward::Broker,
                    count: 3
                }]
            )
        );
        assert_eq!(parse("d:delay=200+50ms").unwrap().1.len(), 2);
        assert_eq!(
            parse("d:delay-out=200").unwrap().1,
            vec![Fault::Delay {
                toward: Toward::Client,
                fixed_ms: 200,
                jitter_ms: 0
            }]
        );
        assert_eq!(
            parse("d:dup=2").unwrap().1,
            vec![Fault::Duplicate {
                toward: Toward::Client,
                count: 2
            }]
        );
        assert_eq!(parse("d:cut").unwrap().1, vec![Fault::Cut]);
        assert_eq!(parse("d:pause").unwrap().1, vec![Fault::Pause]);
        assert_eq!(
            parse("d:disconnect=0x8e").unwrap().1,
            vec![Fault::Disconnect { code: 0x8e }]
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        assert!(matches!(parse("dev1"), Err(RuleError::Syntax(_))));
        assert_eq!(parse(":cut"), Err(RuleError::NoClient));
        assert!(matches!(parse("d:drop=nothing"), Err(RuleError::Syntax(_))));
        assert_eq!(parse("d:drop=puback:0"), Err(RuleError::BadCount));
        assert_eq!(parse("d:delay=90000"), Err(RuleError::DelayTooLong));
        assert_eq!(
            parse("d:refuse=0x00"),
            Err(RuleError::BadRefusal("CONNECT", 0))
        );
        assert!(matches!(parse("d:refuse=300"), Err(RuleError::Syntax(_))));
    }

    #[test]
    fn rules_cross_the_ipc_boundary_as_tagged_objects() {
        let json = serde_json::to_string(&Fault::Drop {
            kind: PacketKind::PubAck,
            toward: Toward::Client,
            count: 1,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"type":"drop","kind":"PubAck","toward":"client","count":1}"#
        );
        let back: Fault =
            serde_json::from_str(r#"{"type":"delay","toward":"broker","fixedMs":5,"jitterMs":0}"#)
                .unwrap();
        assert_eq!(
            back,
            Fault::Delay {
                toward: Toward::Broker,
                fixed_ms: 5,
                jitter_ms: 0
            }
        );
    }
}
