//! Workloads more than one benchmark runs.

use super::client::{self, publish_many, receive, Client, End};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use workbench_wire::codec::QoS;

/// How long a replay may go quiet before it is over.
pub const REPLAY_QUIET: Duration = Duration::from_secs(3);

/// Publishes `n` retained messages (QoS 1, 200 unacknowledged at most, 100-byte payloads) on
/// the distinct topics `ret/{i%100}/{i}`; returns once every PUBACK arrived.
pub async fn store_retained(address: SocketAddr, n: usize, tag: &str) -> Result<Duration, String> {
    let mut publisher = Client::connect(address, &format!("ret-{tag}-pub")).await?;
    let payload = client::payload();
    let started = Instant::now();
    publish_many(
        &mut publisher,
        n,
        QoS::AtLeastOnce,
        true,
        200,
        &payload,
        |i, t| {
            t.push_str("ret/");
            t.push_str(&(i % 100).to_string());
            t.push('/');
            t.push_str(&i.to_string());
        },
    )
    .await?;
    let stored = started.elapsed();
    publisher.disconnect().await;
    Ok(stored)
}

/// What a new subscriber got of the retained messages.
pub struct Replay {
    pub count: usize,
    /// From the SUBSCRIBE to the first and to the last message.
    pub first: Option<Duration>,
    pub last: Option<Duration>,
    pub end: End,
}

impl Replay {
    /// "N of M" (and why it ended short).
    pub fn arrived(&self, expected: usize) -> String {
        match self.end {
            End::All => format!("{} of {expected}", self.count),
            End::Quiet => format!("{} of {expected} (then quiet)", self.count),
            End::Closed => format!("{} of {expected} (connection closed)", self.count),
        }
    }
}

/// A new client subscribes to `filter` at `qos` and counts the retained messages it gets (up to
/// `expected`, or until [`REPLAY_QUIET`] passes without one), acknowledging QoS 1.
pub async fn replay(
    address: SocketAddr,
    expected: usize,
    filter: &str,
    qos: QoS,
    client_id: &str,
) -> Result<Replay, String> {
    let mut subscriber = Client::connect(address, client_id).await?;
    let subscribed = Instant::now();
    subscriber
        .send(&client::subscribe_packet(1, &[filter.to_string()], qos))
        .await?;
    let got = receive(&mut subscriber, expected, REPLAY_QUIET, |_, _| {}).await;
    subscriber.disconnect().await;
    Ok(Replay {
        count: got.count,
        first: got.first.map(|t| t.duration_since(subscribed)),
        last: got.last.map(|t| t.duration_since(subscribed)),
        end: got.end,
    })
}
