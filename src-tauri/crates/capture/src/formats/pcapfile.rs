//! A pcap or pcapng capture (tcpdump, Wireshark) read as messages: every PUBLISH a client sent
//! to its broker, with the client's id, in capture order. Deliveries from the broker (copies of
//! the same messages) are left out, as a recording of the broker leaves them out. The capture is
//! read on a thread of its own into a small bounded channel, so the importer is a plain stream.

use super::{Entry, Importer};
use crate::pcap::{read_capture, Captured, ReadOptions};
use crate::{Message, Problem};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// Counts the bytes read, for [`Importer::position`].
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub struct Reader {
    entries: Receiver<Entry>,
    read: Arc<AtomicU64>,
}

impl Reader {
    pub fn new(reader: Box<dyn std::io::BufRead + Send>) -> Reader {
        let (send, entries) = sync_channel(256);
        let read = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: reader,
            read: read.clone(),
        };
        std::thread::spawn(move || {
            let outcome = read_capture(counted, &ReadOptions::default(), |captured| {
                if let Captured::Packet {
                    from_client: true,
                    time,
                    client_id,
                    summary,
                    ..
                } = captured
                {
                    if summary.kind != workbench_wire::PacketKind::Publish {
                        return;
                    }
                    let Some(topic) = summary.topic.filter(|t| !t.is_empty()) else {
                        return;
                    };
                    let message = Message {
                        time_ms: time
                            .duration_since(std::time::UNIX_EPOCH)
                            .ok()
                            .map(|d| d.as_millis() as u64),
                        topic,
                        payload: summary.payload.unwrap_or_default(),
                        qos: summary.qos,
                        retain: summary.retain,
                        direction: Some(crate::Direction::In),
                        client_id: (!client_id.is_empty()).then_some(client_id),
                        ..Message::default()
                    };
                    // A reader that stopped listening ends the thread's work at the next send.
                    let _ = send.send(Entry::Message(message));
                }
            });
            let problems = match outcome {
                Ok(stats) => stats.described,
                Err(e) => vec![e.to_string()],
            };
            for reason in problems {
                let _ = send.send(Entry::Problem(Problem { line: 0, reason }));
            }
        });
        Reader { entries, read }
    }
}

impl Iterator for Reader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        self.entries.recv().ok()
    }
}

impl Importer for Reader {
    fn position(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}
