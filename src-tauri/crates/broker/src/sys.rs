//! `$SYS`: the broker's statistics, published as retained messages under `$SYS/broker/` every
//! ten seconds (mosquitto's interval and layout), only the values that changed. A new `$SYS`
//! subscription gets the current values at once, from the retained store, like any other
//! subscription; nothing about `$SYS` is special in routing.

use crate::router::message::Message;
use crate::router::Router;
use crate::stats::Stats;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wire::codec::QoS;

/// How often `$SYS` values are published.
pub const SYS_INTERVAL: Duration = Duration::from_secs(10);

/// Publishes the broker's statistics under `$SYS`.
#[derive(Debug)]
pub struct SysPublisher {
    router: Arc<Router>,
    stats: Arc<Stats>,
    /// The values last published, by topic.
    last: Mutex<HashMap<String, String>>,
}

impl SysPublisher {
    pub fn new(router: Arc<Router>, stats: Arc<Stats>) -> SysPublisher {
        SysPublisher {
            router,
            stats,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes the values that changed since the last time; returns how many. Called every
    /// [`SYS_INTERVAL`], and when a client subscribes to `$SYS` (so it starts with current
    /// values, not ones up to ten seconds old).
    pub fn publish_changes(&self) -> usize {
        let values = self.stats.sys_values(&self.router);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let mut scratch = Vec::new();
        let mut congested = None;
        let mut published = 0;
        // Values gone since last time (a client that dropped messages has left): an empty
        // retained message removes each.
        let current: std::collections::HashSet<&str> =
            values.iter().map(|(topic, _)| topic.as_str()).collect();
        let gone: Vec<String> = last
            .keys()
            .filter(|topic| !current.contains(topic.as_str()))
            .cloned()
            .collect();
        for topic in gone {
            let message = Message::new(&topic, Vec::new(), QoS::AtMostOnce, true);
            self.router
                .publish(Arc::new(message), &mut scratch, &mut congested);
            last.remove(&topic);
            published += 1;
        }
        for (topic, value) in values {
            if last.get(&topic) == Some(&value) {
                continue;
            }
            let message = Message::new(&topic, value.clone().into_bytes(), QoS::AtMostOnce, true);
            self.router
                .publish(Arc::new(message), &mut scratch, &mut congested);
            last.insert(topic, value);
            published += 1;
        }
        published
    }
}

/// Publishes `$SYS` values until `stop` resolves, and removes expired retained messages.
pub async fn run(sys: Arc<SysPublisher>, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(SYS_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tick.tick() => {
                sys.router.purge_expired(Instant::now());
                sys.publish_changes();
            }
        }
    }
}
