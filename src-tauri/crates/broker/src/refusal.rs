//! Connections over a limit (connections in all, or from one address) are told why before they
//! are closed: the broker reads just enough of the CONNECT to learn the protocol version and
//! answers with the CONNACK that version reads (MQTT 5: 0x97 Quota exceeded, with the reason in
//! words; 3.1.1: 3 Server unavailable). A few refusals run at a time, each for a moment at most;
//! beyond that, connections are closed without a word, so a flood costs next to nothing.

use crate::connection::BrokerContext;
use crate::BrokerEvent;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use wire::codec::{reason, ConnAck, Level};

/// Refusals answered at once.
pub const REFUSALS_AT_ONCE: usize = 64;
/// How long a refused connection has to show its CONNECT, and to take the answer.
const REFUSAL_WAIT: Duration = Duration::from_secs(2);
/// Enough of any CONNECT for its protocol level: fixed header (at most 5 bytes), protocol name
/// (2 + 4 bytes, or 2 + 6 for MQTT 3.1), level.
const HEAD: usize = 16;

/// What the first bytes of a connection say.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    More,
    Level(Level),
    NotMqtt,
}

fn read_head(bytes: &[u8]) -> Head {
    let Some(&first) = bytes.first() else {
        return Head::More;
    };
    if first != 0x10 {
        return Head::NotMqtt;
    }
    // The remaining length: one to four bytes, each with a continuation bit.
    let mut at = 1;
    loop {
        let Some(&byte) = bytes.get(at) else {
            return Head::More;
        };
        at += 1;
        if byte & 0x80 == 0 {
            break;
        }
        if at == 5 {
            return Head::NotMqtt;
        }
    }
    let (Some(&high), Some(&low)) = (bytes.get(at), bytes.get(at + 1)) else {
        return Head::More;
    };
    let name_length = usize::from(u16::from_be_bytes([high, low]));
    if name_length > 6 {
        return Head::NotMqtt;
    }
    match bytes.get(at + 2 + name_length) {
        None => Head::More,
        Some(&level) => Level::from_byte(level).map_or(Head::NotMqtt, Head::Level),
    }
}

/// Answers a connection turned away by admission, if a refusal slot is free; else closes it.
pub fn refuse(
    stream: TcpStream,
    remote: SocketAddr,
    why: &'static str,
    slots: &Arc<Semaphore>,
    ctx: &Arc<BrokerContext>,
) {
    ctx.stats.refused.fetch_add(1, Ordering::Relaxed);
    let Ok(slot) = slots.clone().try_acquire_owned() else {
        return;
    };
    let ctx = ctx.clone();
    tokio::spawn(async move {
        let _slot = slot;
        tracing::warn!(%remote, "connection refused: {why}");
        if answer(stream, why).await {
            ctx.report(BrokerEvent::Refused {
                client_id: String::new(),
                remote,
                reason: why.to_string(),
            });
        }
    });
}

/// Reads the head of the CONNECT and answers it; true when the client got its CONNACK.
async fn answer(mut stream: TcpStream, why: &str) -> bool {
    let mut head = [0u8; HEAD];
    let mut got = 0;
    let read = async {
        while got < HEAD {
            match stream.read(&mut head[got..]).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => got += n,
            }
            match read_head(&head[..got]) {
                Head::More => {}
                Head::Level(level) => return Some(level),
                Head::NotMqtt => return None,
            }
        }
        None
    };
    let Ok(Some(level)) = tokio::time::timeout(REFUSAL_WAIT, read).await else {
        return false;
    };
    let ack = if level.is_v5() {
        let mut ack = ConnAck::new(false, reason::QUOTA_EXCEEDED);
        ack.properties.reason_string = Some(why.to_string());
        ack
    } else {
        ConnAck::new(false, reason::v3::connack_for(reason::QUOTA_EXCEEDED))
    };
    let mut bytes = Vec::new();
    ack.encode(level, &mut bytes);
    let sent = async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    };
    matches!(tokio::time::timeout(REFUSAL_WAIT, sent).await, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_is_read_from_the_first_bytes_of_any_connect() {
        let v5 = [0x10, 0x10, 0, 4, b'M', b'Q', b'T', b'T', 5, 2];
        for end in 0..9 {
            assert_eq!(read_head(&v5[..end]), Head::More, "{end} bytes");
        }
        assert_eq!(read_head(&v5), Head::Level(Level::V5));
        let v31 = [
            0x10, 0x80, 0x01, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3,
        ];
        assert_eq!(read_head(&v31), Head::Level(Level::V3_1));
        assert_eq!(read_head(b"GET / HTTP/1.1"), Head::NotMqtt);
        assert_eq!(read_head(&[0x10, 0xff, 0xff, 0xff, 0xff]), Head::NotMqtt);
        assert_eq!(read_head(&[0x10, 2, 0, 40]), Head::NotMqtt);
        assert_eq!(
            read_head(&[0x10, 0x10, 0, 4, b'M', b'Q', b'T', b'T', 9]),
            Head::NotMqtt
        );
    }
}
