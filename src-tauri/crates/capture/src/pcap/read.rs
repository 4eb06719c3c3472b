//! Reading packet captures (classic pcap in either byte order and time resolution, and pcapng)
//! into MQTT packets: link layers tcpdump and Wireshark write (Ethernet with VLAN tags, Linux
//! cooked v1 and v2, raw IP, BSD loopback), IPv4 and IPv6, TCP streams put back in order per
//! direction, and MQTT packets framed out of them. A connection is MQTT when its first bytes
//! are a CONNECT, or when one end is a port the caller names (1883 by default) for a capture
//! that began mid-connection.
//!
//! Streams: the file is read block by block and never held whole; each direction keeps at most
//! one unfinished MQTT packet plus a bounded number of out-of-order segments. What cannot be
//! read is counted as problems with where it happened, and the rest is still read.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use workbench_wire::{PacketSummary, ProtocolVersion};

/// The largest block or record a capture may hold (a jumbo frame is 9 KB; TSO captures 64 KB).
const MAX_RECORD: usize = 1 << 20;
/// The largest MQTT packet put back together (bigger ones are counted and skipped).
const MAX_MQTT_PACKET: usize = 16 << 20;
/// Out-of-order bytes held per direction while waiting for a gap to fill.
const MAX_PENDING: usize = 1 << 20;
/// Problems described one by one (the rest are only counted).
const MAX_DESCRIBED: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("this is not a pcap or pcapng capture (it starts with {0})")]
    NotACapture(String),
    #[error("the capture could not be read: {0}")]
    Io(#[from] io::Error),
}

/// What the reader found, in capture order.
#[derive(Debug, Clone)]
pub enum Captured {
    /// An MQTT connection began (its CONNECT, or its first packet when the capture began later).
    Opened {
        connection: u64,
        client: SocketAddr,
        server: SocketAddr,
        time: SystemTime,
    },
    /// One MQTT packet, with its bytes. `from_client` tells the direction.
    Packet {
        connection: u64,
        client: SocketAddr,
        server: SocketAddr,
        from_client: bool,
        time: SystemTime,
        version: ProtocolVersion,
        /// The client id its CONNECT gave ("" until then, or when the capture missed it).
        client_id: String,
        summary: PacketSummary,
        bytes: Vec<u8>,
    },
    /// The connection ended (FIN or RST from `by_client`'s side).
    Closed {
        connection: u64,
        client: SocketAddr,
        by_client: bool,
        reset: bool,
        time: SystemTime,
    },
}

/// How to read a capture.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Server ports of connections whose CONNECT the capture does not hold.
    pub server_ports: Vec<u16>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            server_ports: vec![1883],
        }
    }
}

/// What a read found, and what it could not read.
#[derive(Debug, Clone, Default, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct CaptureStats {
    /// Link-layer frames in the file.
    pub frames: u32,
    pub connections: u32,
    pub mqtt_packets: u32,
    /// Frames that were not TCP, or TCP that was not MQTT.
    pub skipped: u32,
    pub problems: u32,
    /// The first problems, in words.
    pub described: Vec<String>,
}

impl CaptureStats {
    fn problem(&mut self, text: String) {
        self.problems += 1;
        if self.described.len() < MAX_DESCRIBED {
            self.described.push(text);
        }
    }
}

/// Reads a whole capture, handing each MQTT connection event and packet to `on`.
pub fn read_capture(
    input: impl Read,
    options: &ReadOptions,
    mut on: impl FnMut(Captured),
) -> Result<CaptureStats, PcapError> {
    let mut input = io::BufReader::with_capacity(64 * 1024, input);
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut input, &mut magic)?;
    let mut streams = Streams::new(options);
    let mut stats = CaptureStats::default();
    let mut sink = |frame: Frame<'_>, stats: &mut CaptureStats| {
        stats.frames += 1;
        streams.frame(frame, stats, &mut on);
    };
    match magic {
        [0xD4, 0xC3, 0xB2, 0xA1] | [0x4D, 0x3C, 0xB2, 0xA1] => {
            classic(&mut input, magic, Endian::Little, &mut stats, &mut sink)?
        }
        [0xA1, 0xB2, 0xC3, 0xD4] | [0xA1, 0xB2, 0x3C, 0x4D] => {
            classic(&mut input, magic, Endian::Big, &mut stats, &mut sink)?
        }
        [0x0A, 0x0D, 0x0D, 0x0A] => next_gen(&mut input, &mut stats, &mut sink)?,
        _ => {
            let shown: Vec<String> = magic[..got].iter().map(|b| format!("{b:02x}")).collect();
            let shown = if shown.is_empty() {
                "nothing: the file is empty".to_string()
            } else {
                shown.join(" ")
            };
            return Err(PcapError::NotACapture(shown));
        }
    }
    streams.finish(&mut stats);
    Ok(stats)
}

#[derive(Clone, Copy)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, b: &[u8]) -> u16 {
        let b = [b[0], b[1]];
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
    fn u32(self, b: &[u8]) -> u32 {
        let b = [b[0], b[1], b[2], b[3]];
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
}

/// One link-layer frame.
struct Frame<'a> {
    link: u32,
    time: SystemTime,
    data: &'a [u8],
    /// Where it is in the file, for problems.
    offset: u64,
}

fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Classic libpcap: a 24-byte header, then records of a 16-byte header and the frame.
fn classic(
    input: &mut impl Read,
    magic: [u8; 4],
    endian: Endian,
    stats: &mut CaptureStats,
    sink: &mut impl FnMut(Frame<'_>, &mut CaptureStats),
) -> Result<(), PcapError> {
    let nanos = matches!(magic, [0x4D, 0x3C, 0xB2, 0xA1] | [0xA1, 0xB2, 0x3C, 0x4D]);
    let mut header = [0u8; 20];
    if read_up_to(input, &mut header)? < 20 {
        stats.problem("the file ends inside the pcap header".into());
        return Ok(());
    }
    let link = endian.u32(&header[16..20]) & 0x0FFF_FFFF;
    let mut offset = 24u64;
    let mut record = [0u8; 16];
    let mut data = Vec::new();
    loop {
        match read_up_to(input, &mut record)? {
            0 => return Ok(()),
            16 => {}
            _ => {
                stats.problem(format!(
                    "the file ends inside a record header at byte {offset}"
                ));
                return Ok(());
            }
        }
        let seconds = u64::from(endian.u32(&record[0..4]));
        let fraction = u64::from(endian.u32(&record[4..8]));
        let length = endian.u32(&record[8..12]) as usize;
        if length > MAX_RECORD {
            stats.problem(format!(
                "a record at byte {offset} claims {length} bytes; reading stops"
            ));
            return Ok(());
        }
        data.resize(length, 0);
        if read_up_to(input, &mut data)? < length {
            stats.problem(format!("the file ends inside the record at byte {offset}"));
            return Ok(());
        }
        let time = UNIX_EPOCH
            + Duration::from_secs(seconds)
            + if nanos {
                Duration::from_nanos(fraction)
            } else {
                Duration::from_micros(fraction)
            };
        sink(
            Frame {
                link,
                time,
                data: &data,
                offset,
            },
            stats,
        );
        offset += 16 + length as u64;
    }
}

/// pcapng: blocks, each section with its own byte order and interfaces.
fn next_gen(
    input: &mut impl Read,
    stats: &mut CaptureStats,
    sink: &mut impl FnMut(Frame<'_>, &mut CaptureStats),
) -> Result<(), PcapError> {
    // (link type, ticks per second) of each interface of the current section.
    let mut interfaces: Vec<(u32, u64)> = Vec::new();
    let mut endian = Endian::Little;
    let mut offset = 0u64;
    let mut head = [0u8; 8];
    let mut body = Vec::new();
    let mut first = true;
    loop {
        let start = if first { 4 } else { 0 };
        if first {
            head[..4].copy_from_slice(&[0x0A, 0x0D, 0x0D, 0x0A]);
        }
        match read_up_to(input, &mut head[start..])? {
            0 if !first => return Ok(()),
            n if n < 8 - start => {
                stats.problem(format!(
                    "the file ends inside a block header at byte {offset}"
                ));
                return Ok(());
            }
            _ => {}
        }
        let kind = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if kind == 0x0A0D_0D0A {
            // The byte-order magic follows the length; read it to know how to read the length.
            let mut magic = [0u8; 4];
            if read_up_to(input, &mut magic)? < 4 {
                stats.problem(format!(
                    "the file ends inside a section header at byte {offset}"
                ));
                return Ok(());
            }
            endian = match magic {
                [0x4D, 0x3C, 0x2B, 0x1A] => Endian::Little,
                [0x1A, 0x2B, 0x3C, 0x4D] => Endian::Big,
                _ => {
                    stats.problem(format!(
                        "a section header at byte {offset} has no byte-order magic"
                    ));
                    return Ok(());
                }
            };
            interfaces.clear();
            let length = endian.u32(&head[4..8]) as usize;
            if !(28..=MAX_RECORD).contains(&length) || length % 4 != 0 {
                stats.problem(format!(
                    "a section header at byte {offset} has length {length}"
                ));
                return Ok(());
            }
            if !skip(input, length - 12)? {
                stats.problem(format!(
                    "the file ends inside the section header at byte {offset}"
                ));
                return Ok(());
            }
            offset += length as u64;
            first = false;
            continue;
        }
        first = false;
        let kind = endian.u32(&head[0..4]);
        let length = endian.u32(&head[4..8]) as usize;
        if !(12..=MAX_RECORD).contains(&length) || length % 4 != 0 {
            stats.problem(format!(
                "a block at byte {offset} has length {length}; reading stops"
            ));
            return Ok(());
        }
        body.resize(length - 8, 0);
        if read_up_to(input, &mut body)? < length - 8 {
            stats.problem(format!("the file ends inside the block at byte {offset}"));
            return Ok(());
        }
        let body = &body[..length - 12];
        match kind {
            1 if body.len() >= 8 => {
                let link = u32::from(endian.u16(&body[0..2]));
                interfaces.push((link, resolution(endian, &body[8..])));
            }
            // Enhanced packet block (6) and the obsolete packet block (2) share the layout.
            2 | 6 if body.len() >= 20 => {
                let interface = if kind == 6 {
                    endian.u32(&body[0..4]) as usize
                } else {
                    usize::from(endian.u16(&body[0..2]))
                };
                let ticks = (u64::from(endian.u32(&body[4..8])) << 32)
                    | u64::from(endian.u32(&body[8..12]));
                let captured = endian.u32(&body[12..16]) as usize;
                match (interfaces.get(interface), body.get(20..20 + captured)) {
                    (Some(&(link, per_second)), Some(data)) => {
                        let time = UNIX_EPOCH + ticks_to(ticks, per_second);
                        sink(
                            Frame {
                                link,
                                time,
                                data,
                                offset,
                            },
                            stats,
                        );
                    }
                    _ => stats.problem(format!("the packet block at byte {offset} does not fit")),
                }
            }
            // Simple packet block: no timestamp, interface 0.
            3 if body.len() >= 4 => match interfaces.first() {
                Some(&(link, _)) => {
                    let data = &body[4..];
                    sink(
                        Frame {
                            link,
                            time: UNIX_EPOCH,
                            data,
                            offset,
                        },
                        stats,
                    );
                }
                None => stats.problem(format!(
                    "the packet block at byte {offset} has no interface"
                )),
            },
            _ => {}
        }
        offset += length as u64;
    }
}

/// Ticks per second from an interface's `if_tsresol` option (microseconds when absent).
fn resolution(endian: Endian, mut options: &[u8]) -> u64 {
    while options.len() >= 4 {
        let code = endian.u16(&options[0..2]);
        let len = usize::from(endian.u16(&options[2..4]));
        let Some(value) = options.get(4..4 + len) else {
            break;
        };
        if code == 9 && len == 1 {
            let v = value[0];
            let exponent = u32::from(v & 0x7F);
            return if v & 0x80 == 0 {
                10u64.checked_pow(exponent).unwrap_or(1_000_000)
            } else {
                2u64.checked_pow(exponent).unwrap_or(1_000_000)
            };
        }
        if code == 0 {
            break;
        }
        options = options.get(4 + len.div_ceil(4) * 4..).unwrap_or(&[]);
    }
    1_000_000
}

fn ticks_to(ticks: u64, per_second: u64) -> Duration {
    let per_second = per_second.max(1);
    let seconds = ticks / per_second;
    let rest = ticks % per_second;
    Duration::from_secs(seconds)
        + Duration::from_nanos((u128::from(rest) * 1_000_000_000 / u128::from(per_second)) as u64)
}

fn skip(input: &mut impl Read, n: usize) -> io::Result<bool> {
    let copied = io::copy(&mut input.take(n as u64), &mut io::sink())?;
    Ok(copied == n as u64)
}

/// A TCP segment out of a frame.
struct Tcp<'a> {
    from: SocketAddr,
    to: SocketAddr,
    seq: u32,
    flags: u8,
    payload: &'a [u8],
}

/// The TCP segment a frame carries, if any.
fn tcp_of(link: u32, data: &[u8]) -> Option<Tcp<'_>> {
    let (ether_type, ip) = match link {
        1 => {
            let mut at = 12;
            let mut ether_type = u16::from_be_bytes([*data.get(12)?, *data.get(13)?]);
            while ether_type == 0x8100 || ether_type == 0x88A8 {
                at += 4;
                ether_type = u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]);
            }
            (ether_type, data.get(at + 2..)?)
        }
        // BSD loopback (host byte order) and OpenBSD loopback (network byte order).
        0 | 108 => {
            let family = u32::from_le_bytes(data.get(0..4)?.try_into().ok()?);
            let family = if family > 0xFFFF {
                family.swap_bytes()
            } else {
                family
            };
            (if family == 2 { 0x0800 } else { 0x86DD }, data.get(4..)?)
        }
        101 | 12 | 14 => (
            if data.first()? >> 4 == 6 {
                0x86DD
            } else {
                0x0800
            },
            data,
        ),
        113 => (
            u16::from_be_bytes([*data.get(14)?, *data.get(15)?]),
            data.get(16..)?,
        ),
        276 => (
            u16::from_be_bytes([*data.first()?, *data.get(1)?]),
            data.get(20..)?,
        ),
        _ => return None,
    };
    let (src, dst, segment): (IpAddr, IpAddr, &[u8]) = match ether_type {
        0x0800 => {
            let header = usize::from(ip.first()? & 0x0F) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let fragment = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]);
            if *ip.get(9)? != 6 || fragment & 0x3FFF != 0 || header < 20 {
                return None;
            }
            let end = if total >= header {
                total.min(ip.len())
            } else {
                ip.len()
            };
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (
                Ipv4Addr::from(src).into(),
                Ipv4Addr::from(dst).into(),
                ip.get(header..end)?,
            )
        }
        0x86DD => {
            if *ip.get(6)? != 6 {
                return None;
            }
            let length = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + length).min(ip.len());
            (
                Ipv6Addr::from(src).into(),
                Ipv6Addr::from(dst).into(),
                ip.get(40..end)?,
            )
        }
        _ => return None,
    };
    let offset = usize::from(segment.get(12)? >> 4) * 4;
    if offset < 20 {
        return None;
    }
    Some(Tcp {
        from: SocketAddr::new(src, u16::from_be_bytes([segment[0], segment[1]])),
        to: SocketAddr::new(dst, u16::from_be_bytes([segment[2], segment[3]])),
        seq: u32::from_be_bytes(segment.get(4..8)?.try_into().ok()?),
        flags: *segment.get(13)?,
        payload: segment.get(offset..)?,
    })
}

mod streams;
use streams::Streams;

#[cfg(test)]
mod tests;
