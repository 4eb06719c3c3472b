//! The door's bounds on a proxied connection: a packet over the maximum packet size and a packet
//! that never finishes arriving each close the connection, with the reason in words on its row.

mod common;

use common::{upstream_of, Running};
use std::time::Duration;
use workbench_proxy::{ClientState, ProxySettings};
use workbench_testkit::mosquitto::Mosquitto;
use workbench_testkit::peers::wait_until;
use workbench_testkit::raw::{self, Connect, RawClient};

fn running(mosquitto: &Mosquitto, configure: impl FnOnce(&mut ProxySettings)) -> Running {
    let mut settings = ProxySettings::new(0, &upstream_of(mosquitto));
    configure(&mut settings);
    Running::start(settings)
}

fn connected(running: &Running, client_id: &str) -> RawClient {
    RawClient::connected(
        running.proxy().local_addr(),
        Connect {
            client_id,
            ..Connect::default()
        },
    )
}

#[test]
fn a_packet_over_the_maximum_size_closes_the_connection_in_words() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = running(&mosquitto, |s| s.limits.max_packet_size = 2048);
    let mut device = connected(&running, "too-big");
    device.send(&raw::publish(raw::V311, "big", &[7u8; 5000], 0, false, 0));
    assert_eq!(device.read_packet(), None, "closed");
    wait_until("the reason on the row", || {
        running.row("too-big").is_some_and(|r| {
            r.state == ClientState::Closed && r.detail.contains("exceeds the maximum packet size")
        })
    });
}

#[test]
fn a_packet_that_never_finishes_arriving_closes_the_connection() {
    let mosquitto = Mosquitto::start(&[], None);
    let running = running(&mosquitto, |s| {
        s.limits.packet_timeout = Duration::from_secs(1)
    });
    let mut device = connected(&running, "trickle");
    let publish = raw::publish(raw::V311, "slow", &[1u8; 100], 0, false, 0);
    device.send(&publish[..20]);
    assert_eq!(device.read_packet(), None, "closed");
    wait_until("the reason on the row", || {
        running
            .row("trickle")
            .is_some_and(|r| r.detail.contains("did not finish arriving within 1 s"))
    });
}
