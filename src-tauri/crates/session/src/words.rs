//! Reason and return codes in words: what a CONNACK, SUBACK or DISCONNECT code means to the
//! person who sees it, for MQTT 3.1.1 return codes and MQTT 5 reason codes alike.

use crate::profile::MqttVersion;
use workbench_wire::ErrorCode;

/// What a refused CONNACK means: the error class, whether retrying can help, and the words.
pub fn connack(version: MqttVersion, code: u8) -> (ErrorCode, bool, String) {
    use ErrorCode::{AuthFailed, Protocol, Unreachable};
    let (class, retry, text) = match (version, code) {
        (MqttVersion::V311, 1) => (Protocol, false, "the broker does not support MQTT 3.1.1 (unacceptable protocol version)"),
        (MqttVersion::V311, 2) => (Protocol, false, "the broker rejected the client id (identifier rejected)"),
        (MqttVersion::V311, 3) => (Unreachable, true, "the broker is unavailable (server unavailable)"),
        (MqttVersion::V311, 4) => (AuthFailed, false, "wrong username or password (bad user name or password)"),
        (MqttVersion::V311, 5) => (AuthFailed, false, "not authorized: the broker refused these credentials (mosquitto answers a wrong password this way)"),
        (MqttVersion::V5, 0x80) => (Protocol, true, "the broker refused the connection (unspecified error)"),
        (MqttVersion::V5, 0x81) => (Protocol, false, "the broker found the CONNECT malformed"),
        (MqttVersion::V5, 0x82) => (Protocol, false, "the broker reports a protocol error"),
        (MqttVersion::V5, 0x83) => (Protocol, false, "the broker refused the connection (implementation specific error)"),
        (MqttVersion::V5, 0x84) => (Protocol, false, "the broker does not support MQTT 5 (unsupported protocol version)"),
        (MqttVersion::V5, 0x85) => (Protocol, false, "the broker rejected the client id (client identifier not valid)"),
        (MqttVersion::V5, 0x86) => (AuthFailed, false, "wrong username or password (bad user name or password)"),
        (MqttVersion::V5, 0x87) => (AuthFailed, false, "not authorized to connect"),
        (MqttVersion::V5, 0x88) => (Unreachable, true, "the broker is unavailable (server unavailable)"),
        (MqttVersion::V5, 0x89) => (Unreachable, true, "the broker is busy (server busy)"),
        (MqttVersion::V5, 0x8A) => (AuthFailed, false, "this client is banned by the broker"),
        (MqttVersion::V5, 0x8C) => (AuthFailed, false, "the broker does not support the authentication method"),
        (MqttVersion::V5, 0x90) => (Protocol, false, "the will topic is not accepted (topic name invalid)"),
        (MqttVersion::V5, 0x95) => (Protocol, false, "the CONNECT is larger than the broker accepts (packet too large)"),
        (MqttVersion::V5, 0x97) => (Unreachable, true, "the broker's quota is exceeded"),
        (MqttVersion::V5, 0x99) => (Protocol, false, "the will payload does not match its format indicator"),
        (MqttVersion::V5, 0x9A) => (Protocol, false, "the broker does not support retained wills (retain not supported)"),
        (MqttVersion::V5, 0x9B) => (Protocol, false, "the broker does not support the will's QoS (QoS not supported)"),
        (MqttVersion::V5, 0x9C) => (Unreachable, false, "the broker asks to use another server"),
        (MqttVersion::V5, 0x9D) => (Unreachable, false, "the broker has moved (server moved)"),
        (MqttVersion::V5, 0x9F) => (Unreachable, true, "connecting too often (connection rate exceeded)"),
        _ => (Protocol, false, "the broker refused the connection"),
    };
    (class, retry, format!("{text} [CONNACK code 0x{code:02X}]"))
}

/// What a failed SUBACK code means.
pub fn suback(code: u8) -> String {
    let text = match code {
        0x80 => "refused by the broker (unspecified error)",
        0x83 => "refused by the broker (implementation specific error)",
        0x87 => "not authorized",
        0x8F => "the broker does not accept this filter (topic filter invalid)",
        0x91 => "packet identifier in use",
        0x97 => "the broker's quota is exceeded",
        0x9E => "the broker does not support shared subscriptions",
        0xA1 => "the broker does not support subscription identifiers",
        0xA2 => "the broker does not support wildcard subscriptions",
        _ => "refused by the broker",
    };
    format!("{text} [SUBACK code 0x{code:02X}]")
}

/// What a DISCONNECT from the broker (MQTT 5) means.
pub fn disconnect(code: u8) -> String {
    let text = match code {
        0x00 => "the broker closed the connection",
        0x04 => "the broker closed the connection (and will publish the will)",
        0x80 => "the broker disconnected (unspecified error)",
        0x81 => "the broker found a packet malformed",
        0x82 => "the broker reports a protocol error",
        0x83 => "the broker disconnected (implementation specific error)",
        0x87 => "not authorized",
        0x89 => "the broker is busy",
        0x8B => "the broker is shutting down",
        0x8D => "keep-alive timeout: the broker heard nothing within 1.5 times the keep-alive",
        0x8E => "session taken over: another client connected with the same client id",
        0x8F => "the broker does not accept a topic filter",
        0x90 => "the broker does not accept a topic name",
        0x93 => "receive maximum exceeded",
        0x94 => "topic alias invalid",
        0x95 => "a packet was larger than the broker accepts",
        0x96 => "message rate too high",
        0x97 => "the broker's quota is exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        0x9A => "the broker does not support retained messages",
        0x9B => "the broker does not support that QoS",
        0x9C => "the broker asks to use another server",
        0x9D => "the broker has moved",
        0x9E => "the broker does not support shared subscriptions",
        0x9F => "connecting too often",
        0xA0 => "maximum connect time reached",
        0xA1 => "the broker does not support subscription identifiers",
        0xA2 => "the broker does not support wildcard subscriptions",
        _ => "the broker disconnected",
    };
    format!("{text} [DISCONNECT code 0x{code:02X}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes the UI has Chinese words for, per packet, read from its table.
    fn translated(packet: &str) -> Vec<u8> {
        // This crate lives in src-tauri/crates/session; the UI at the repository's top level.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../ui/src/lib/session/codes.ts"
        );
        let text = std::fs::read_to_string(path).expect("the UI's code table");
        let start = text
            .find(&format!("  {packet}: {{"))
            .expect("a section per packet");
        let section = &text[start..];
        let section = &section[..section.find("\n  },").expect("section end")];
        section
            .lines()
            .filter_map(|line| line.trim().strip_prefix("0x"))
            .map(|rest| u8::from_str_radix(&rest[..2], 16).expect("a hex code"))
            .collect()
    }

    #[test]
    fn every_code_in_words_has_words_in_the_other_language_too() {
        let words_of = |text: String| text[..text.rfind(" [").unwrap()].to_string();
        let (connack_codes, suback_codes, disconnect_codes) = (
            translated("CONNACK"),
            translated("SUBACK"),
            translated("DISCONNECT"),
        );
        for code in 0..=255u8 {
            for version in [MqttVersion::V311, MqttVersion::V5] {
                let text = words_of(connack(version, code).2);
                if text != "the broker refused the connection" {
                    assert!(
                        connack_codes.contains(&code),
                        "CONNACK 0x{code:02X}: {text}"
                    );
                }
            }
            let text = words_of(suback(code));
            if text != "refused by the broker" {
                assert!(suback_codes.contains(&code), "SUBACK 0x{code:02X}: {text}");
            }
            let text = words_of(disconnect(code));
            if text != "the broker disconnected" {
                assert!(
                    disconnect_codes.contains(&code),
                    "DISCONNECT 0x{code:02X}: {text}"
                );
            }
        }
    }

    #[test]
    fn bad_credentials_read_as_such_in_both_versions() {
        let (class, retry, text) = connack(MqttVersion::V311, 4);
        assert_eq!((class, retry), (ErrorCode::AuthFailed, false));
        assert!(
            text.contains("wrong username or password") && text.contains("0x04"),
            "{text}"
        );
        let (class, _, text) = connack(MqttVersion::V5, 0x86);
        assert_eq!(class, ErrorCode::AuthFailed);
        assert!(text.contains("0x86"), "{text}");
        assert!(
            connack(MqttVersion::V5, 0x88).1,
            "server unavailable is worth retrying"
        );
        assert!(suback(0x9E).contains("shared"));
        assert!(disconnect(0x8E).contains("taken over"));
    }
}
