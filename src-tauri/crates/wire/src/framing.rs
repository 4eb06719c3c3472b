//! What the packet log shows of a packet, read leniently from its bytes: where it ends, its
//! essentials ([`summarize`]) and its decoded fields ([`describe`]), for both protocol versions.
//!
//! The sessions' packet tap reads every packet their client sends and receives this way, and the
//! broker's door reads the rare packets (not PUBLISH) it reports. Strict decoding, with every
//! check a receiver makes, is [`crate::codec`]'s job.

use crate::packet::{Field, PacketKind, PacketSummary, ProtocolVersion};

/// Where a packet starts and ends in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub packet_type: u8,
    pub flags: u8,
    /// Length of the fixed header (1 byte plus 1 to 4 bytes of remaining length).
    pub header_len: usize,
    pub remaining_len: usize,
}

impl Frame {
    /// The whole packet's length.
    pub fn len(&self) -> usize {
        self.header_len + self.remaining_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn kind(&self) -> Option<PacketKind> {
        PacketKind::from_type(self.packet_type)
    }
}

/// Why bytes could not be read as a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    TooLarge { size: usize, max: usize },
}

/// Finds the first packet in `buf`. `Ok(None)` means more bytes are needed. A packet announced
/// as larger than `max` is refused as soon as its header is read, before its body arrives.
pub fn frame(buf: &[u8], max: usize) -> Result<Option<Frame>, WireError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let mut remaining_len: usize = 0;
    let mut shift = 0;
    let mut header_len = 1;
    loop {
        let Some(&byte) = buf.get(header_len) else {
            return Ok(None);
        };
        header_len += 1;
        remaining_len += usize::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if header_len == 5 {
            return Err(WireError::Malformed(
                "remaining length is longer than 4 bytes",
            ));
        }
    }
    let packet_type = first >> 4;
    if packet_type == 0 {
        return Err(WireError::Malformed("packet type 0 is reserved"));
    }
    let size = header_len + remaining_len;
    if size > max {
        return Err(WireError::TooLarge { size, max });
    }
    if buf.len() < size {
        return Ok(None);
    }
    Ok(Some(Frame {
        packet_type,
        flags: first & 0x0F,
        header_len,
        remaining_len,
    }))
}

/// The bytes after the fixed header of a framed packet.
fn body_of<'a>(packet: &'a [u8], frame: &Frame) -> Result<&'a [u8], WireError> {
    packet
        .get(frame.header_len..frame.len())
        .ok_or(WireError::Malformed(
            "packet is shorter than its header says",
        ))
}

/// A cursor over a packet body that fails instead of panicking on short input.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, WireError> {
        let (&value, rest) = self
            .bytes
            .split_first()
            .ok_or(WireError::Malformed("packet ends early"))?;
        self.bytes = rest;
        Ok(value)
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(WireError::Malformed(
                "a field runs past the end of the packet",
            ));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn string(&mut self) -> Result<&'a str, WireError> {
        let len = usize::from(self.u16()?);
        std::str::from_utf8(self.take(len)?)
            .map_err(|_| WireError::Malformed("string is not UTF-8"))
    }

    fn varint(&mut self) -> Result<usize, WireError> {
        let mut value = 0usize;
        for shift in [0, 7, 14, 21] {
            let byte = self.u8()?;
            value += usize::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::Malformed(
            "variable byte integer is longer than 4 bytes",
        ))
    }

    fn skip_properties(&mut self) -> Result<(), WireError> {
        let len = self.varint()?;
        self.take(len).map(|_| ())
    }

    fn rest(&self) -> usize {
        self.bytes.len()
    }
}

/// Reads the fields the packet log shows from one framed packet.
pub fn summarize(
    packet: &[u8],
    frame: &Frame,
    version: ProtocolVersion,
) -> Result<PacketSummary, WireError> {
    let kind = frame
        .kind()
        .ok_or(WireError::Malformed("packet type 0 is reserved"))?;
    let body = body_of(packet, frame)?;
    let v5 = version == ProtocolVersion::V5;
    let mut r = Reader { bytes: body };
    let mut summary = PacketSummary::new(kind, frame.len());
    match kind {
        PacketKind::Publish => {
            let qos = (frame.flags >> 1) & 0b11;
            if qos == 3 {
                return Err(WireError::Malformed("PUBLISH with QoS 3"));
            }
            summary.qos = qos;
            summary.retain = frame.flags & 0b0001 != 0;
            summary.dup = frame.flags & 0b1000 != 0;
            summary.topic = Some(r.string()?.to_string());
            if qos > 0 {
                summary.packet_id = Some(r.u16()?);
            }
            if v5 {
                r.skip_properties()?;
            }
            summary.payload_len = r.rest();
        }
        PacketKind::PubAck | PacketKind::PubRec | PacketKind::PubRel | PacketKind::PubComp => {
            summary.packet_id = Some(r.u16()?);
            if v5 && r.rest() > 0 {
                summary.reason = Some(r.u8()?);
            } else {
                summary.reason = Some(0);
            }
        }
        PacketKind::Subscribe | PacketKind::Unsubscribe => {
            summary.packet_id = Some(r.u16()?);
            if v5 {
                r.skip_properties()?;
            }
            summary.topic = Some(r.string()?.to_string());
            if kind == PacketKind::Subscribe {
                summary.qos = r.u8()? & 0b11;
            }
        }
        PacketKind::SubAck | PacketKind::UnsubAck => {
            summary.packet_id = Some(r.u16()?);
            if v5 {
                r.skip_properties()?;
            }
            if r.rest() > 0 {
                summary.reason = Some(r.u8()?);
            }
        }
        PacketKind::ConnAck => {
            let _flags = r.u8()?;
            summary.reason = Some(r.u8()?);
        }
        PacketKind::Disconnect | PacketKind::Auth => {
            if r.rest() > 0 {
                summary.reason = Some(r.u8()?);
            }
        }
        PacketKind::Connect | PacketKind::PingReq | PacketKind::PingResp => {}
    }
    Ok(summary)
}

/// The name of an MQTT 5 property.
fn property_name(id: usize) -> &'static str {
    match id {
        0x01 => "Payload Format Indicator",
        0x02 => "Message Expiry Interval",
        0x03 => "Content Type",
        0x08 => "Response Topic",
        0x09 => "Correlation Data",
        0x0B => "Subscription Identifier",
        0x11 => "Session Expiry Interval",
        0x12 => "Assigned Client Identifier",
        0x13 => "Server Keep Alive",
        0x15 => "Authentication Method",
        0x16 => "Authentication Data",
        0x17 => "Request Problem Information",
        0x18 => "Will Delay Interval",
        0x19 => "Request Response Information",
        0x1A => "Response Information",
        0x1C => "Server Reference",
        0x1F => "Reason String",
        0x21 => "Receive Maximum",
        0x22 => "Topic Alias Maximum",
        0x23 => "Topic Alias",
        0x24 => "Maximum QoS",
        0x25 => "Retain Available",
        0x26 => "User Property",
        0x27 => "Maximum Packet Size",
        0x28 => "Wildcard Subscription Available",
        0x29 => "Subscription Identifier Available",
        0x2A => "Shared Subscription Available",
        _ => "Unknown Property",
    }
}

/// Binary data shown as text when it is printable UTF-8, as hex otherwise.
fn show_binary(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) => format!("\"{text}\""),
        _ => bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl Reader<'_> {
    /// Reads a property block into fields.
    fn properties(&mut self, out: &mut Vec<Field>) -> Result<(), WireError> {
        let len = self.varint()?;
        let mut r = Reader {
            bytes: self.take(len)?,
        };
        while r.rest() > 0 {
            let id = r.varint()?;
            let value = match id {
                0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => r.u8()?.to_string(),
                0x13 | 0x21 | 0x22 | 0x23 => r.u16()?.to_string(),
                0x02 | 0x11 | 0x18 | 0x27 => {
                    let b = r.take(4)?;
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]]).to_string()
                }
                0x0B => r.varint()?.to_string(),
                0x03 | 0x08 | 0x12 | 0x15 | 0x1A | 0x1C | 0x1F => r.string()?.to_string(),
                0x09 | 0x16 => {
                    let n = usize::from(r.u16()?);
                    show_binary(r.take(n)?)
                }
                0x26 => format!("{} = {}", r.string()?, r.string()?),
                _ => return Err(WireError::Malformed("unknown property")),
            };
            out.push((property_name(id), value));
        }
        Ok(())
    }
}

/// The MQTT 5 properties of a PUBLISH, decoded. Cheap when there are none (the common case on
/// the broker's path): the topic is skipped by its length, not read again, and nothing is
/// allocated for an empty property block.
pub fn publish_properties(packet: &[u8], frame: &Frame) -> Result<Vec<Field>, WireError> {
    let mut r = Reader {
        bytes: body_of(packet, frame)?,
    };
    let topic_len = usize::from(r.u16()?);
    r.take(topic_len)?;
    if (frame.flags >> 1) & 0b11 > 0 {
        r.u16()?;
    }
    let mut out = Vec::new();
    if r.bytes.first() != Some(&0) {
        r.properties(&mut out)?;
    }
    Ok(out)
}

/// Decodes the fields of a packet that the summary does not carry: CONNECT's client id, flags
/// and will; CONNACK's session-present flag; SUBSCRIBE's filters and options; SUBACK's codes;
/// and every MQTT 5 property. For the packet log's detail view (sessions, not the hot path).
pub fn describe(
    packet: &[u8],
    frame: &Frame,
    version: ProtocolVersion,
) -> Result<Vec<Field>, WireError> {
    let kind = frame
        .kind()
        .ok_or(WireError::Malformed("packet type 0 is reserved"))?;
    let mut r = Reader {
        bytes: body_of(packet, frame)?,
    };
    let v5 = version == ProtocolVersion::V5;
    let mut out = Vec::new();
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
    match kind {
        PacketKind::Connect => {
            let _name = r.string()?;
            let level = r.u8()?;
            let flags = r.u8()?;
            out.push(("Protocol Level", level.to_string()));
            out.push(("Keep Alive", format!("{} s", r.u16()?)));
            out.push(("Clean Start", yes_no(flags & 0x02 != 0)));
            if level == 5 {
                r.properties(&mut out)?;
            }
            out.push(("Client Identifier", r.string()?.to_string()));
            if flags & 0x04 != 0 {
                if level == 5 {
                    let mut will = Vec::new();
                    r.properties(&mut will)?;
                    out.extend(will.into_iter().map(|(k, v)| (k, format!("(will) {v}"))));
                }
                out.push(("Will Topic", r.string()?.to_string()));
                let n = usize::from(r.u16()?);
                out.push(("Will Payload", format!("{} bytes", r.take(n)?.len())));
                out.push(("Will QoS", ((flags >> 3) & 0b11).to_string()));
                out.push(("Will Retain", yes_no(flags & 0x20 != 0)));
            }
            if flags & 0x80 != 0 {
                out.push(("User Name", r.string()?.to_string()));
            }
            // Never the password itself.
            out.push((
                "Password",
                if flags & 0x40 != 0 { "(set)" } else { "(none)" }.into(),
            ));
        }
        PacketKind::ConnAck => {
            out.push(("Session Present", yes_no(r.u8()? & 1 != 0)));
            out.push(("Reason Code", format!("0x{:02X}", r.u8()?)));
            if v5 && r.rest() > 0 {
                r.properties(&mut out)?;
            }
        }
        PacketKind::Publish if v5 => return publish_properties(packet, frame),
        PacketKind::Publish => {}
        PacketKind::PubAck | PacketKind::PubRec | PacketKind::PubRel | PacketKind::PubComp => {
            r.u16()?;
            if v5 && r.rest() > 0 {
                out.push(("Reason Code", format!("0x{:02X}", r.u8()?)));
                if r.rest() > 0 {
                    r.properties(&mut out)?;
                }
            }
        }
        PacketKind::Subscribe | PacketKind::Unsubscribe => {
            r.u16()?;
            if v5 {
                r.properties(&mut out)?;
            }
            while r.rest() > 0 {
                let filter = r.string()?.to_string();
                if kind == PacketKind::Subscribe {
                    let o = r.u8()?;
                    let mut text = format!("QoS {}", o & 0b11);
                    if v5 {
                        text.push_str(&format!(
                            ", no-local {}, retain-as-published {}, retain handling {}",
                            yes_no(o & 0x04 != 0),
                            yes_no(o & 0x08 != 0),
                            (o >> 4) & 0b11
                        ));
                    }
                    out.push(("Filter", format!("{filter} ({text})")));
                } else {
                    out.push(("Filter", filter));
                }
            }
        }
        PacketKind::SubAck | PacketKind::UnsubAck => {
            r.u16()?;
            if v5 {
                r.properties(&mut out)?;
            }
            let codes: Vec<String> = r.bytes.iter().map(|c| format!("0x{c:02X}")).collect();
            if !codes.is_empty() {
                out.push(("Reason Codes", codes.join(", ")));
            }
        }
        PacketKind::Disconnect | PacketKind::Auth => {
            if r.rest() > 0 {
                out.push(("Reason Code", format!("0x{:02X}", r.u8()?)));
                if r.rest() > 0 {
                    r.properties(&mut out)?;
                }
            }
        }
        PacketKind::PingReq | PacketKind::PingResp => {}
    }
    Ok(out)
}

/// The packet id and filters of a SUBSCRIBE or UNSUBSCRIBE.
pub fn subscription_filters(
    packet: &[u8],
    frame: &Frame,
    version: ProtocolVersion,
) -> Result<(u16, Vec<String>), WireError> {
    let subscribe = frame.kind() == Some(PacketKind::Subscribe);
    let mut r = Reader {
        bytes: body_of(packet, frame)?,
    };
    let id = r.u16()?;
    if version == ProtocolVersion::V5 {
        r.skip_properties()?;
    }
    let mut filters = Vec::new();
    while r.rest() > 0 {
        filters.push(r.string()?.to_string());
        if subscribe {
            r.u8()?;
        }
    }
    Ok((id, filters))
}

/// The packet id and the reason codes of a SUBACK or (MQTT 5) UNSUBACK.
pub fn ack_codes(
    packet: &[u8],
    frame: &Frame,
    version: ProtocolVersion,
) -> Result<(u16, Vec<u8>), WireError> {
    let mut r = Reader {
        bytes: body_of(packet, frame)?,
    };
    let id = r.u16()?;
    if version == ProtocolVersion::V5 {
        r.skip_properties()?;
    }
    Ok((id, r.bytes.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode_varint;

    fn publish_v4(topic: &str, payload: &[u8], qos: u8, pkid: u16) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
        body.extend_from_slice(topic.as_bytes());
        if qos > 0 {
            body.extend_from_slice(&pkid.to_be_bytes());
        }
        body.extend_from_slice(payload);
        let mut out = vec![0x30 | (qos << 1)];
        encode_varint(body.len(), &mut out);
        out.extend(body);
        out
    }

    #[test]
    fn frames_need_whole_packets() {
        let packet = publish_v4("a/b", b"hello", 1, 7);
        for cut in 0..packet.len() {
            assert_eq!(frame(&packet[..cut], 1024), Ok(None), "cut at {cut}");
        }
        let f = frame(&packet, 1024).unwrap().unwrap();
        assert_eq!(f.len(), packet.len());
        let s = summarize(&packet, &f, ProtocolVersion::V311).unwrap();
        assert_eq!(s.kind, PacketKind::Publish);
        assert_eq!(s.topic.as_deref(), Some("a/b"));
        assert_eq!(s.packet_id, Some(7));
        assert_eq!(s.qos, 1);
        assert_eq!(s.payload_len, 5);
    }

    #[test]
    fn refuses_huge_packets_from_the_header_alone() {
        // 200 MB announced, only the header sent.
        let mut header = vec![0x30];
        encode_varint(200 * 1024 * 1024, &mut header);
        assert!(matches!(
            frame(&header, 1 << 20),
            Err(WireError::TooLarge { .. })
        ));
        // 300 MB cannot even be expressed: it needs a fifth length byte.
        let mut header = vec![0x30];
        encode_varint(300 * 1024 * 1024, &mut header);
        assert!(matches!(
            frame(&header, usize::MAX),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn refuses_overlong_remaining_length() {
        assert!(matches!(
            frame(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], usize::MAX),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            frame(&[0x00, 0x00], 10),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn truncated_bodies_are_errors_not_panics() {
        // A PUBLISH whose topic length points past the end.
        let packet = [0x30, 0x03, 0x00, 0x09, b'a'];
        let f = frame(&packet, 100).unwrap().unwrap();
        assert!(summarize(&packet, &f, ProtocolVersion::V311).is_err());
        let qos3 = [0x36, 0x03, 0x00, 0x01, b'a'];
        let f = frame(&qos3, 100).unwrap().unwrap();
        assert!(summarize(&qos3, &f, ProtocolVersion::V311).is_err());
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let len = (seed % 40) as usize;
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(seed as u8);
            }
            if let Ok(Some(f)) = frame(&bytes, 1 << 16) {
                let _ = summarize(&bytes, &f, ProtocolVersion::V5);
                let _ = summarize(&bytes, &f, ProtocolVersion::V311);
            }
        }
    }
}
