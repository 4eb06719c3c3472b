#![allow(dead_code)] // each test file uses its part
//! The harness the proxy's tests share: a proxy on its own runtime, everything it reported.

use std::sync::{Arc, Mutex};
use workbench_broker::BrokerEvent;
use workbench_proxy::{Proxy, ProxySettings};
use workbench_testkit::mosquitto::Mosquitto;
use workbench_wire::{Direction, PacketEvent, PacketKind};

/// What the proxy reported, in order.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug
pub enum Reported {
    Packet(PacketEvent),
    Notice(BrokerEvent),
}

pub struct Running {
    runtime: tokio::runtime::Runtime,
    proxy: Option<Proxy>,
    reported: Arc<Mutex<Vec<Reported>>>,
}

impl Running {
    pub fn start(settings: ProxySettings) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
        let proxy = runtime
            .block_on(Proxy::start(settings, Some(tx), None))
            .expect("the proxy starts");
        let reported = Arc::new(Mutex::new(Vec::new()));
        let sink = reported.clone();
        runtime.spawn(async move {
            while let Some(event) = rx.recv().await {
                let mut sink = sink.lock().expect("lock");
                match event {
                    BrokerEvent::Packets(batch) => {
                        sink.extend(batch.into_events().into_iter().map(Reported::Packet))
                    }
                    other => sink.push(Reported::Notice(other)),
                }
            }
        });
        Running {
            runtime,
            proxy: Some(proxy),
            reported,
        }
    }

    pub fn proxy(&self) -> &Proxy {
        self.proxy.as_ref().expect("running")
    }

    pub fn port(&self) -> String {
        self.proxy().local_addr().port().to_string()
    }

    /// The packets of `client_id`, as (direction, kind, packet id, size).
    pub fn packets_of(&self, client_id: &str) -> Vec<(Direction, PacketKind, Option<u16>, usize)> {
        self.reported
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|r| match r {
                Reported::Packet(p) if &*p.client_id == client_id => Some((
                    p.direction,
                    p.summary.kind,
                    p.summary.packet_id,
                    p.summary.size,
                )),
                _ => None,
            })
            .collect()
    }

    /// The whole events of `client_id`'s packets.
    pub fn events_of(&self, client_id: &str) -> Vec<PacketEvent> {
        self.reported
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|r| match r {
                Reported::Packet(p) if &*p.client_id == client_id => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn everything(&self) -> String {
        format!("{:?}", self.reported.lock().expect("lock"))
    }

    pub fn row(&self, client_id: &str) -> Option<workbench_proxy::ProxyClient> {
        self.proxy()
            .clients()
            .into_iter()
            .find(|c| c.client_id == client_id)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            self.runtime.block_on(proxy.stop());
        }
    }
}

pub fn upstream_of(mosquitto: &Mosquitto) -> String {
    format!("mqtt://127.0.0.1:{}", mosquitto.port)
}
