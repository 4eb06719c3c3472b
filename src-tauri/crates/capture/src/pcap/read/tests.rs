use super::*;
use crate::pcap::{log_to_pcapng, LogSide};
use std::sync::Arc;
use workbench_wire::codec::{
    Ack, AckKind, Connect, Level, PublishOut, QoS, Subscribe, SubscribeFilter,
};
use workbench_wire::{Direction, PacketEvent, PacketKind};

fn event(bytes: &[u8], version: ProtocolVersion, direction: Direction, at_ms: u64) -> PacketEvent {
    let frame = workbench_wire::frame(bytes, usize::MAX).unwrap().unwrap();
    let mut summary = workbench_wire::summarize(bytes, &frame, version).unwrap();
    if summary.kind == PacketKind::Publish {
        summary.payload = Some(bytes::Bytes::copy_from_slice(
            &bytes[bytes.len() - summary.payload_len..],
        ));
    } else {
        summary.fields = workbench_wire::describe(bytes, &frame, version).unwrap();
    }
    PacketEvent {
        connection: 7,
        client_id: Arc::from("sensor-1"),
        remote: Some("192.168.1.20:51000".parse().unwrap()),
        direction,
        summary,
        time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + at_ms),
    }
}

fn read_all(bytes: &[u8]) -> (Vec<Captured>, CaptureStats) {
    let mut seen = Vec::new();
    let stats = read_capture(bytes, &ReadOptions::default(), |c| seen.push(c)).unwrap();
    (seen, stats)
}

/// A packet as the tests compare them: kind, from the client, topic, packet id, payload length.
type Seen = (PacketKind, bool, Option<String>, Option<u16>, usize);

fn packets(seen: &[Captured]) -> Vec<Seen> {
    seen.iter()
        .filter_map(|c| match c {
            Captured::Packet {
                summary,
                from_client,
                ..
            } => Some((
                summary.kind,
                *from_client,
                summary.topic.clone(),
                summary.packet_id,
                summary.payload_len,
            )),
            _ => None,
        })
        .collect()
}

fn qos2_exchange() -> Vec<PacketEvent> {
    let v5 = ProtocolVersion::V5;
    let mut list = Vec::new();
    let mut b = Vec::new();
    let mut connect = Connect::new(Level::V5, "sensor-1", 30);
    connect.password = Some(b"secret".to_vec());
    connect.username = Some("alice".into());
    connect.encode(&mut b);
    list.push(event(&b, v5, Direction::Inbound, 0));
    list.push(event(&[0x20, 3, 0, 0, 0], v5, Direction::Outbound, 1));
    b.clear();
    Subscribe {
        packet_id: 3,
        properties: Default::default(),
        filters: vec![SubscribeFilter::new("cmd/#", QoS::ExactlyOnce)],
    }
    .encode(Level::V5, &mut b);
    list.push(event(&b, v5, Direction::Inbound, 2));
    // A payload far larger than one segment.
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    b.clear();
    PublishOut {
        qos: QoS::ExactlyOnce,
        topic: "plant/line-1/temp",
        packet_id: Some(9),
        payload: &payload,
        ..Default::default()
    }
    .encode(Level::V5, &mut b);
    list.push(event(&b, v5, Direction::Inbound, 3));
    for (kind, direction, at) in [
        (AckKind::PubRec, Direction::Outbound, 4),
        (AckKind::PubRel, Direction::Inbound, 5),
        (AckKind::PubComp, Direction::Outbound, 6),
    ] {
        b.clear();
        Ack::new(kind, 9, 0).encode(Level::V5, &mut b);
        list.push(event(&b, v5, direction, at));
    }
    list.push(event(&[0xE0, 0], v5, Direction::Inbound, 7));
    list
}

#[test]
fn a_logged_exchange_written_as_pcapng_reads_back_packet_for_packet() {
    let mut log = qos2_exchange();
    // The broker's PUBREC, marked as a fault rule dropped it.
    log[4].summary.fields.insert(0, ("fault", "drop".into()));
    let server: SocketAddr = "192.168.1.5:1883".parse().unwrap();
    let (bytes, written) =
        log_to_pcapng(Vec::new(), LogSide::Server(server), &log, |_| None).unwrap();
    assert_eq!(written.packets, 8);
    let (seen, stats) = read_all(&bytes);
    assert_eq!(stats.problems, 0, "{:?}", stats.described);
    assert_eq!(stats.connections_seen(&seen), 1);
    assert_eq!(stats.connections, 1);
    let expected: Vec<_> = log
        .iter()
        .map(|e| {
            (
                e.summary.kind,
                e.direction == Direction::Inbound,
                e.summary.topic.clone(),
                e.summary.packet_id,
                e.summary.payload_len,
            )
        })
        .collect();
    assert_eq!(packets(&seen), expected);
    let Some(Captured::Packet {
        client,
        server: s,
        version,
        client_id,
        summary,
        ..
    }) = seen.iter().find(
        |c| matches!(c, Captured::Packet { summary, .. } if summary.kind == PacketKind::Publish),
    )
    else {
        panic!("no PUBLISH read back");
    };
    assert_eq!(
        (*client, *s),
        ("192.168.1.20:51000".parse().unwrap(), server)
    );
    assert_eq!(
        *version,
        ProtocolVersion::V5,
        "the version comes from the CONNECT"
    );
    assert_eq!(client_id, "sensor-1");
    assert_eq!(
        summary.payload, log[3].summary.payload,
        "200 kB reassembled from four segments"
    );
    // The password never reaches the file.
    assert!(!bytes.windows(6).any(|w| w == b"secret"));
    let has = |text: &[u8]| bytes.windows(text.len()).any(|w| w == text);
    assert!(has(b"password left out"), "the CONNECT's comment says so");
    assert!(
        has(b"fault injected by MQTT Workbench: drop"),
        "the dropped PUBREC's comment"
    );
}

impl CaptureStats {
    fn connections_seen(&self, seen: &[Captured]) -> usize {
        seen.iter()
            .filter(|c| matches!(c, Captured::Opened { .. }))
            .count()
    }
}

/// A classic pcap as the libpcap format documents it (big-endian, nanosecond magic), Linux
/// cooked v2 link layer, with TCP segments out of order, one retransmitted, and a packet split
/// inside its fixed header.
#[test]
fn classic_pcap_with_cooked_headers_and_disordered_segments_reads_in_order() {
    let client: [u8; 4] = [10, 0, 0, 2];
    let server: [u8; 4] = [10, 0, 0, 1];
    let mut connect = Vec::new();
    Connect::new(Level::V3_1_1, "plc-7", 10).encode(&mut connect);
    let mut publish = Vec::new();
    PublishOut {
        qos: QoS::AtLeastOnce,
        topic: "a/b",
        packet_id: Some(1),
        payload: b"hello",
        ..Default::default()
    }
    .encode(Level::V3_1_1, &mut publish);
    let stream: Vec<u8> = [connect.clone(), publish.clone(), vec![0xC0, 0]].concat();
    let cut1 = connect.len() + 1; // inside the PUBLISH's fixed header
    let cut2 = connect.len() + 6;
    let isn = 100u32;
    // (seq offset, bytes), in the order they were captured.
    let segments: Vec<(usize, &[u8])> = vec![
        (0, &stream[..cut1]),
        (cut2, &stream[cut2..]), // arrives early
        (0, &stream[..cut1]),    // retransmitted
        (cut1, &stream[cut1..cut2]),
    ];
    let mut file = Vec::new();
    file.extend_from_slice(&[0xA1, 0xB2, 0x3C, 0x4D, 0, 2, 0, 4]);
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&65535u32.to_be_bytes());
    file.extend_from_slice(&276u32.to_be_bytes()); // LINKTYPE_LINUX_SLL2
    let record =
        |file: &mut Vec<u8>, n: u32, seq: u32, flags: u8, payload: &[u8], from_client: bool| {
            let (src, dst, sport, dport) = if from_client {
                (client, server, 40001u16, 1883u16)
            } else {
                (server, client, 1883, 40001)
            };
            let mut frame = vec![
                0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ];
            let total = (40 + payload.len()) as u16;
            frame.extend_from_slice(&[
                0x45,
                0,
                (total >> 8) as u8,
                total as u8,
                0,
                0,
                0x40,
                0,
                64,
                6,
                0,
                0,
            ]);
            frame.extend_from_slice(&src);
            frame.extend_from_slice(&dst);
            frame.extend_from_slice(&sport.to_be_bytes());
            frame.extend_from_slice(&dport.to_be_bytes());
            frame.extend_from_slice(&seq.to_be_bytes());
            frame.extend_from_slice(&0u32.to_be_bytes());
            frame.extend_from_slice(&[0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
            frame.extend_from_slice(payload);
            file.extend_from_slice(&(1_700_000_000 + n).to_be_bytes());
            file.extend_from_slice(&500u32.to_be_bytes());
            file.extend_from_slice(&(frame.len() as u32).to_be_bytes());
            file.extend_from_slice(&(frame.len() as u32).to_be_bytes());
            file.extend_from_slice(&frame);
        };
    record(&mut file, 0, isn, 0x02, b"", true);
    record(&mut file, 0, 900, 0x12, b"", false);
    for (n, (offset, bytes)) in segments.iter().enumerate() {
        record(
            &mut file,
            n as u32 + 1,
            isn + 1 + *offset as u32,
            0x18,
            bytes,
            true,
        );
    }
    record(&mut file, 9, isn + 1 + stream.len() as u32, 0x11, b"", true);
    // A non-MQTT connection on another port is skipped.
    let (seen, stats) = read_all(&file);
    assert_eq!(stats.problems, 0, "{:?}", stats.described);
    assert_eq!(
        packets(&seen),
        vec![
            (PacketKind::Connect, true, None, None, 0),
            (PacketKind::Publish, true, Some("a/b".into()), Some(1), 5),
            (PacketKind::PingReq, true, None, None, 0),
        ]
    );
    let times: Vec<_> = seen
        .iter()
        .filter_map(|c| match c {
            Captured::Packet { time, .. } => Some(*time),
            _ => None,
        })
        .collect();
    assert_eq!(
        times[0],
        UNIX_EPOCH + Duration::from_secs(1_700_000_001) + Duration::from_nanos(500)
    );
    assert!(matches!(
        seen.last(),
        Some(Captured::Closed {
            by_client: true,
            reset: false,
            ..
        })
    ));
}

#[test]
fn what_is_not_a_capture_is_refused_and_a_cut_file_keeps_what_it_had() {
    let error =
        read_capture(&b"{\"topic\":\"a\"}"[..], &ReadOptions::default(), |_| {}).unwrap_err();
    assert_eq!(
        error.to_string(),
        "this is not a pcap or pcapng capture (it starts with 7b 22 74 6f)"
    );
    let error = read_capture(&b""[..], &ReadOptions::default(), |_| {}).unwrap_err();
    assert!(error.to_string().contains("the file is empty"), "{error}");

    let (bytes, _) = log_to_pcapng(
        Vec::new(),
        LogSide::Server("127.0.0.1:1883".parse().unwrap()),
        &qos2_exchange(),
        |_| None,
    )
    .unwrap();
    let cut = &bytes[..bytes.len() - 30];
    let (seen, stats) = read_all(cut);
    assert_eq!(stats.problems, 1, "{:?}", stats.described);
    assert!(
        stats.described[0].starts_with("the file ends inside the block at byte "),
        "{:?}",
        stats.described
    );
    assert_eq!(packets(&seen).len(), 7, "every packet before the cut");
}

#[test]
fn a_capture_reads_as_the_messages_its_clients_published() {
    use crate::formats::{open, Entry, Format, ImportOptions};
    let (bytes, _) = log_to_pcapng(
        Vec::new(),
        LogSide::Server("127.0.0.1:1883".parse().unwrap()),
        &qos2_exchange(),
        |_| None,
    )
    .unwrap();
    assert_eq!(Format::detect(&bytes[..64]), Some(Format::Pcap));
    let entries: Vec<Entry> = open(
        Format::Pcap,
        Box::new(std::io::Cursor::new(bytes)),
        &ImportOptions::default(),
    )
    .collect();
    let [Entry::Message(message)] = entries.as_slice() else {
        panic!("one message, not {}", entries.len());
    };
    assert_eq!(message.topic, "plant/line-1/temp");
    assert_eq!(message.payload.len(), 200_000);
    assert_eq!(
        (message.qos, message.client_id.as_deref()),
        (2, Some("sensor-1"))
    );
    assert_eq!(message.time_ms, Some(1_700_000_000_003));
}

/// Captures damaged anywhere (every byte of a real one, in turn, and random runs of bytes) are
/// read without a panic, and what is read is counted.
#[test]
fn damaged_captures_never_panic() {
    let (bytes, _) = log_to_pcapng(
        Vec::new(),
        LogSide::Server("127.0.0.1:1883".parse().unwrap()),
        &qos2_exchange(),
        |_| None,
    )
    .unwrap();
    // Small enough to flip every byte: the exchange without its 200 kB payload.
    let small: Vec<PacketEvent> = qos2_exchange()
        .into_iter()
        .filter(|e| e.summary.kind != PacketKind::Publish)
        .collect();
    let (small, _) = log_to_pcapng(
        Vec::new(),
        LogSide::Server("127.0.0.1:1883".parse().unwrap()),
        &small,
        |_| None,
    )
    .unwrap();
    for at in 0..small.len() {
        for value in [0x00, 0xFF, 0x10, 0x7F] {
            let mut damaged = small.clone();
            damaged[at] = value;
            let _ = read_capture(&damaged[..], &ReadOptions::default(), |_| {});
        }
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut damaged = bytes[..4096].to_vec();
        let start = 28 + (next() as usize % 4000);
        for b in damaged
            .iter_mut()
            .skip(start)
            .take(1 + next() as usize % 64)
        {
            *b = next() as u8;
        }
        let _ = read_capture(&damaged[..], &ReadOptions::default(), |_| {});
    }
}
