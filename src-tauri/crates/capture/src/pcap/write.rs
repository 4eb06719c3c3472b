//! A pcapng writer for MQTT conversations: one section, one Ethernet interface, and for each
//! packet an Enhanced Packet Block holding synthesized Ethernet, IP (v4, or v6 when either end
//! is v6) and TCP headers around the MQTT bytes. Each connection starts with a three-way
//! handshake, sequence and acknowledgement numbers follow the bytes sent each way, and checksums
//! are right, so Wireshark's TCP analysis and its MQTT dissector (with reassembly across
//! segments) read it as a clean capture. Block layout from the pcapng specification
//! (draft-ietf-opsawg-pcapng): little-endian, 32-bit aligned, options ended by `opt_endofopt`.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

const SECTION_HEADER: u32 = 0x0A0D_0D0A;
const INTERFACE_DESCRIPTION: u32 = 1;
const ENHANCED_PACKET: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const LINKTYPE_ETHERNET: u16 = 1;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;

/// The most TCP payload one synthesized segment carries (IPv4's total length is 16 bits).
const MAX_SEGMENT: usize = 65_000;

/// TCP flags.
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Locally administered MAC addresses for the two ends.
const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

/// One MQTT packet (or any TCP payload) of one connection, with which way it went.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub time: SystemTime,
    /// Tells connections apart, even ones between the same addresses.
    pub connection: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// From the client to the server (else the other way).
    pub from_client: bool,
    pub bytes: &'a [u8],
    /// Shown by Wireshark as the packet's comment (`frame.comment`).
    pub comment: Option<&'a str>,
}

/// Where each connection's sequence numbers stand.
#[derive(Debug, Clone, Copy)]
struct Flow {
    client_next: u32,
    server_next: u32,
}

/// Writes a pcapng stream.
pub struct PcapngWriter<W: Write> {
    out: W,
    flows: HashMap<u64, Flow>,
    ip_id: u16,
    blocks: u64,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts the file: the section header and the one interface.
    pub fn new(mut out: W) -> io::Result<PcapngWriter<W>> {
        let mut body = Vec::with_capacity(64);
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        option(&mut body, SHB_USERAPPL, b"MQTT Workbench");
        option(&mut body, OPT_END, b"");
        block(&mut out, SECTION_HEADER, &body)?;

        let mut body = Vec::with_capacity(32);
        body.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes()); // no snapshot limit
        option(&mut body, IF_NAME, b"mqtt-workbench");
        option(&mut body, OPT_END, b"");
        block(&mut out, INTERFACE_DESCRIPTION, &body)?;
        Ok(PcapngWriter {
            out,
            flows: HashMap::new(),
            ip_id: 0,
            blocks: 0,
        })
    }

    /// Packets written so far (handshakes and segments included).
    pub fn frames(&self) -> u64 {
        self.blocks
    }

    /// Writes one MQTT packet as one TCP segment (or several, past 65,000 bytes), preceded by
    /// the connection's handshake the first time it is seen.
    pub fn write(&mut self, segment: &Segment<'_>) -> io::Result<()> {
        let flow = match self.flows.get(&segment.connection) {
            Some(flow) => *flow,
            None => self.handshake(segment)?,
        };
        let mut flow = flow;
        let chunks: Vec<&[u8]> = if segment.bytes.is_empty() {
            vec![segment.bytes]
        } else {
            segment.bytes.chunks(MAX_SEGMENT).collect()
        };
        for (n, chunk) in chunks.iter().enumerate() {
            let (seq, ack) = if segment.from_client {
                (flow.client_next, flow.server_next)
            } else {
                (flow.server_next, flow.client_next)
            };
            let comment = if n == 0 { segment.comment } else { None };
            self.frame(
                segment,
                segment.from_client,
                seq,
                ack,
                PSH | ACK,
                chunk,
                comment,
            )?;
            let advanced = seq.wrapping_add(chunk.len() as u32);
            if segment.from_client {
                flow.client_next = advanced;
            } else {
                flow.server_next = advanced;
            }
        }
        self.flows.insert(segment.connection, flow);
        Ok(())
    }

    /// Closes a connection with FIN from `from_client`'s side (a connection closed without
    /// DISCONNECT shows as a FIN with no MQTT packet before it).
    pub fn close(&mut self, segment: &Segment<'_>) -> io::Result<()> {
        let Some(flow) = self.flows.remove(&segment.connection) else {
            return Ok(());
        };
        let (seq, ack) = if segment.from_client {
            (flow.client_next, flow.server_next)
        } else {
            (flow.server_next, flow.client_next)
        };
        self.frame(
            segment,
            segment.from_client,
            seq,
            ack,
            FIN | ACK,
            b"",
            segment.comment,
        )
    }

    /// Ends the file and gives back the writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn handshake(&mut self, segment: &Segment<'_>) -> io::Result<Flow> {
        // Fixed initial sequence numbers: the capture is synthesized, and fixed numbers keep
        // files reproducible.
        let client_isn = 1_000u32;
        let server_isn = 5_000u32;
        self.frame(segment, true, client_isn, 0, SYN, b"", None)?;
        self.frame(
            segment,
            false,
            server_isn,
            client_isn + 1,
            SYN | ACK,
            b"",
            None,
        )?;
        self.frame(
            segment,
            true,
            client_isn + 1,
            server_isn + 1,
            ACK,
            b"",
            None,
        )?;
        Ok(Flow {
            client_next: client_isn + 1,
            server_next: server_isn + 1,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn frame(
        &mut self,
        segment: &Segment<'_>,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
        comment: Option<&str>,
    ) -> io::Result<()> {
        let (from, to) = if from_client {
            (segment.client, segment.server)
        } else {
            (segment.server, segment.client)
        };
        let (src_mac, dst_mac) = if from_client {
            (CLIENT_MAC, SERVER_MAC)
        } else {
            (SERVER_MAC, CLIENT_MAC)
        };
        self.ip_id = self.ip_id.wrapping_add(1);
        let tcp = tcp_segment(from, to, seq, ack, flags, payload);
        let mut frame = Vec::with_capacity(14 + 40 + tcp.len());
        frame.extend_from_slice(&dst_mac);
        frame.extend_from_slice(&src_mac);
        match (from.ip(), to.ip()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                frame.extend_from_slice(&0x0800u16.to_be_bytes());
                let total = (20 + tcp.len()) as u16;
                let mut ip = [0u8; 20];
                ip[0] = 0x45;
                ip[2..4].copy_from_slice(&total.to_be_bytes());
                ip[4..6].copy_from_slice(&self.ip_id.to_be_bytes());
                ip[6] = 0x40; // don't fragment
                ip[8] = 64;
                ip[9] = 6;
                ip[12..16].copy_from_slice(&src.octets());
                ip[16..20].copy_from_slice(&dst.octets());
                let sum = checksum(&[&ip]);
                ip[10..12].copy_from_slice(&sum.to_be_bytes());
                frame.extend_from_slice(&ip);
            }
            (src, dst) => {
                frame.extend_from_slice(&0x86DDu16.to_be_bytes());
                let mut ip = [0u8; 40];
                ip[0] = 0x60;
                ip[4..6].copy_from_slice(&(tcp.len() as u16).to_be_bytes());
                ip[6] = 6;
                ip[7] = 64;
                ip[8..24].copy_from_slice(&v6(src).octets());
                ip[24..40].copy_from_slice(&v6(dst).octets());
                frame.extend_from_slice(&ip);
            }
        }
        frame.extend_from_slice(&tcp);
        self.packet(segment.time, &frame, comment)
    }

    fn packet(&mut self, time: SystemTime, frame: &[u8], comment: Option<&str>) -> io::Result<()> {
        let micros = time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let mut body = Vec::with_capacity(frame.len() + 64);
        body.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        body.extend_from_slice(&((micros >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(micros as u32).to_le_bytes());
        body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        body.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        body.extend_from_slice(frame);
        pad(&mut body);
        if let Some(comment) = comment {
            option(&mut body, OPT_COMMENT, comment.as_bytes());
            option(&mut body, OPT_END, b"");
        }
        self.blocks += 1;
        block(&mut self.out, ENHANCED_PACKET, &body)
    }
}

fn v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// A TCP header (no options) and payload, its checksum over the IP pseudo-header.
fn tcp_segment(
    from: SocketAddr,
    to: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut tcp = Vec::with_capacity(20 + payload.len());
    tcp.extend_from_slice(&from.port().to_be_bytes());
    tcp.extend_from_slice(&to.port().to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.push(5 << 4);
    tcp.push(flags);
    tcp.extend_from_slice(&0xFFFFu16.to_be_bytes()); // window
    tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    tcp.extend_from_slice(payload);
    let length = (tcp.len() as u32).to_be_bytes();
    let sum = match (from.ip(), to.ip()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let pseudo = [0, 6, length[2], length[3]];
            checksum(&[&src.octets(), &dst.octets(), &pseudo, &tcp])
        }
        (src, dst) => {
            let pseudo = [length[0], length[1], length[2], length[3], 0, 0, 0, 6];
            checksum(&[&v6(src).octets(), &v6(dst).octets(), &pseudo, &tcp])
        }
    };
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());
    tcp
}

/// The Internet checksum (RFC 1071) over the parts taken as one byte string.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u64;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &byte in part.iter() {
            match odd.take() {
                Some(high) => sum += u64::from(u16::from_be_bytes([high, byte])),
                None => odd = Some(byte),
            }
        }
    }
    if let Some(high) = odd {
        sum += u64::from(u16::from_be_bytes([high, 0]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

fn pad(body: &mut Vec<u8>) {
    while body.len() % 4 != 0 {
        body.push(0);
    }
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = &value[..value.len().min(usize::from(u16::MAX) - 3)];
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(value.len() as u16).to_le_bytes());
    body.extend_from_slice(value);
    pad(body);
}

fn block(out: &mut impl Write, kind: u32, body: &[u8]) -> io::Result<()> {
    let total = (12 + body.len()) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_rfc_1071_examples() {
        // RFC 1071 section 3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2, its complement 220d.
        assert_eq!(
            checksum(&[&[0x00, 0x01, 0xf2, 0x03], &[0xf4, 0xf5, 0xf6, 0xf7]]),
            0x220d
        );
        // A header with its checksum in place sums to zero.
        let mut ip = [
            0x45, 0, 0, 0x28, 0, 1, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        let sum = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(checksum(&[&ip]), 0);
    }

    #[test]
    fn blocks_are_aligned_and_framed_by_their_length() {
        let mut writer = PcapngWriter::new(Vec::new()).unwrap();
        let segment = Segment {
            time: UNIX_EPOCH + std::time::Duration::from_secs(1),
            connection: 1,
            client: "127.0.0.1:50000".parse().unwrap(),
            server: "127.0.0.1:1883".parse().unwrap(),
            from_client: true,
            bytes: &[0xC0, 0x00],
            comment: Some("odd"),
        };
        writer.write(&segment).unwrap();
        assert_eq!(writer.frames(), 4, "three handshake frames and the PINGREQ");
        let bytes = writer.finish().unwrap();
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < bytes.len() {
            let kind = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
            assert_eq!(len % 4, 0);
            let trailer = u32::from_le_bytes(bytes[at + len - 4..at + len].try_into().unwrap());
            assert_eq!(trailer as usize, len);
            kinds.push(kind);
            at += len;
        }
        assert_eq!(kinds, [SECTION_HEADER, 1, 6, 6, 6, 6]);
    }
}
