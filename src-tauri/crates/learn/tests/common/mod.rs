//! What the lesson tests share: the embedded broker behind the app's traffic hub, the runner on
//! it, and waits with generous deadlines (each ends as soon as its condition holds).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use workbench_core::broker::service::BrokerService;
use workbench_core::changes::Changes;
use workbench_core::hub::TrafficHub;
use workbench_learn::actor::Link;
use workbench_learn::format::{ActionKind, MessageSpec};
use workbench_learn::view::LessonState;
use workbench_learn::Learn;
use workbench_wire::{Direction, PacketKind, SourceId};

pub struct Class {
    pub learn: Learn,
    pub hub: Arc<TrafficHub>,
    pub broker: Arc<BrokerService>,
}

pub async fn class(dir: &std::path::Path) -> Class {
    let hub = TrafficHub::new(Default::default());
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let settings = workbench_broker::BrokerSettings {
        port: 0,
        ..Default::default()
    };
    let broker = Arc::new(BrokerService::new(
        settings,
        Some(tx),
        Arc::new(Changes::default()),
    ));
    tokio::spawn(hub.clone().ingest_broker(rx));
    broker.start(None).await.expect("the broker starts");
    Class {
        learn: Learn::new(Some(dir.to_path_buf()), hub.clone(), broker.clone()),
        hub,
        broker,
    }
}

/// Waits (generously) until the open lesson's state satisfies `what`.
pub async fn until(learn: &Learn, what: &str, ok: impl Fn(&LessonState) -> bool) -> LessonState {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(state) = learn.state("en").await {
            if ok(&state) {
                return state;
            }
            if Instant::now() > deadline {
                panic!("never {what}: {state:#?}");
            }
        } else if Instant::now() > deadline {
            panic!("never {what}: no lesson open");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the broker's log shows `count` packets of `kind` between the broker and `client`.
pub async fn seen(
    hub: &TrafficHub,
    kind: PacketKind,
    direction: Direction,
    client: &str,
    count: usize,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = hub.read_source(&SourceId::Broker, |m| {
            m.packets()
                .filter(|e| {
                    e.summary.kind == kind && e.direction == direction && &*e.client_id == client
                })
                .count()
        });
        if n >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {kind:?} with {client}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn online(state: &LessonState, ids: &[&str]) -> bool {
    ids.iter().all(|id| {
        state
            .actors
            .iter()
            .any(|a| a.status.id == *id && a.status.link == Link::Online)
    })
}

pub fn message(topic: &str, qos: u8) -> MessageSpec {
    MessageSpec {
        topic: topic.into(),
        payload: "22.0".into(),
        qos,
        ..MessageSpec::default()
    }
}

pub async fn open(c: &Class, id: &str, actors: &[&str]) {
    c.learn.open(id).await.expect("open");
    until(&c.learn, "online", |s| online(s, actors)).await;
}

pub async fn act(c: &Class, actor: &str, kind: ActionKind, filter: Option<&str>, qos: u8) {
    c.learn
        .act(actor, kind, filter.map(str::to_string), qos, None)
        .await
        .expect("act");
}

pub async fn done(c: &Class, step: u32) -> LessonState {
    until(&c.learn, "the step done", |s| s.step == step && s.done).await
}
