//! Property tests of the broker's own logic, without sockets: the door fed any bytes in any
//! pieces never panics (it answers or closes), and the subscription tree routes a topic to
//! exactly the filters that match it by the specification's rules.

use bytes::BytesMut;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use workbench_broker::door::{ConnectStep, Door, DoorConfig, Output, Users};
use workbench_broker::router::registry::Attach;
use workbench_broker::router::session::SessionCell;
use workbench_broker::router::subscriptions::{
    FilterName, Subscriber, SubscriptionOptions, SubscriptionTree,
};
use workbench_broker::router::Router;
use workbench_broker::Limits;
use workbench_wire::codec::{Connect, Level};

fn door(router: &Arc<Router>) -> Door {
    let config = Arc::new(DoorConfig {
        limits: Limits::default(),
        users: Users::default(),
        tap: true,
        sys: None,
    });
    Door::new(
        config,
        router.clone(),
        1,
        "127.0.0.1:1".parse().expect("address"),
        Instant::now(),
    )
}

/// Feeds `chunks` to a fresh door after a valid CONNECT, as a connection would.
fn feed(level: Level, chunks: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let router = Arc::new(Router::new(Limits::default().router_limits()));
    let mut door = door(&router);
    let mut connect = Vec::new();
    Connect::new(level, "prop", 30).encode(&mut connect);
    let mut buf = BytesMut::from(&connect[..]);
    let mut out = Output::default();
    let now = Instant::now();
    let Some(ConnectStep::Attach {
        client_id,
        clean_start,
        expiry,
    }) = door.on_connect(&mut buf, now, &mut out)
    else {
        return Err(TestCaseError::fail("a valid CONNECT is accepted"));
    };
    let (tx, _rx) = tokio::sync::mpsc::channel(4);
    let Attach::Ready(attached) = router.attach(&client_id, clean_start, expiry, 1, tx, false, now)
    else {
        return Err(TestCaseError::fail("a new session attaches at once"));
    };
    door.accept(attached, now, &mut out);
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        door.on_bytes(&mut buf, now, &mut out);
        door.congested = None;
        while door.pull(now, &mut out) {}
        if out.close.is_some() {
            break;
        }
    }
    Ok(())
}

/// Bytes that look like MQTT often enough to reach deep into the door: a valid packet start
/// followed by anything.
fn chunk() -> impl Strategy<Value = Vec<u8>> {
    let starts: Vec<Vec<u8>> = vec![
        vec![0x30, 0x05, 0x00, 0x01, b'a'],
        vec![0x32, 0x07, 0x00, 0x01, b'a', 0x00, 0x01],
        vec![0x34, 0x07, 0x00, 0x01, b'a', 0x00, 0x02],
        vec![0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'#', 0x01],
        vec![0xA2, 0x05, 0x00, 0x01, 0x00, 0x01, b'#'],
        vec![0x40, 0x02, 0x00, 0x01],
        vec![0x50, 0x02, 0x00, 0x01],
        vec![0x62, 0x02, 0x00, 0x01],
        vec![0x70, 0x02, 0x00, 0x01],
        vec![0xC0, 0x00],
        vec![0xE0, 0x00],
    ];
    (
        prop::sample::select(starts),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(mut start, tail)| {
            start.extend(tail);
            start
        })
}

fn level_strategy() -> impl Strategy<Value = Level> {
    prop::sample::select(vec![Level::V3_1_1, Level::V5])
}

fn spec_matches(filter: &str, topic: &str) -> bool {
    workbench_wire::topic::matches(filter, topic)
}

fn level_text() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "", "$x", "c"]).prop_map(str::to_string)
}

fn topic_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(level_text(), 1..5).prop_map(|levels| levels.join("/"))
}

fn filter_strategy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "", "+", "$x"]).prop_map(str::to_string),
            1..5,
        ),
        any::<bool>(),
    )
        .prop_map(|(mut levels, hash)| {
            if hash {
                levels.push("#".into());
            }
            levels.join("/")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_door_never_panics_on_any_bytes(
        level in level_strategy(),
        chunks in prop::collection::vec(chunk(), 1..8),
    ) {
        feed(level, &chunks)?;
    }

    #[test]
    fn the_door_never_panics_on_raw_bytes(
        level in level_strategy(),
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..6),
    ) {
        feed(level, &chunks)?;
    }

    #[test]
    fn routing_agrees_with_the_specification(
        filters in prop::collection::vec(filter_strategy(), 1..12),
        topic in topic_strategy(),
    ) {
        let mut tree = SubscriptionTree::default();
        for (index, filter) in filters.iter().enumerate() {
            let cell = Arc::new(SessionCell::new(index as u64 + 1, Arc::from("c")));
            let name = FilterName::parse(filter).ok_or_else(|| TestCaseError::fail("parses"))?;
            tree.insert(name, Subscriber { session: cell, options: SubscriptionOptions::default() });
        }
        let mut out = Vec::new();
        tree.route(&topic, 0, &mut out);
        let routed: BTreeSet<u64> = out.iter().map(|t| t.session.id).collect();
        let expected: BTreeSet<u64> = filters
            .iter()
            .enumerate()
            .filter(|(_, f)| spec_matches(f, &topic))
            .map(|(i, _)| i as u64 + 1)
            .collect();
        prop_assert_eq!(routed, expected, "topic {:?}, filters {:?}", topic, filters);
    }
}
