//! The app's services as a front end runs them: started, used, and shut down. Shutdown is
//! designed in: quitting has every connected session say DISCONNECT (so no will fires), stops
//! the broker, ends every background task, within a deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};
use workbench_broker::{BrokerSettings, DEFAULT_PORT};
use workbench_core::app::{App, Folders};
use workbench_core::changes::Change;
use workbench_secrets::Secrets;
use workbench_session::profile::Will;
use workbench_session::{ConnectionState, MqttVersion, Profile};
use workbench_testkit::raw::{self, Connect, RawClient};

fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The app as a front end starts it, its broker on a free port (saved settings, as a user's
/// would be), and the broker's address.
fn started_app() -> (
    App,
    tokio::runtime::Runtime,
    std::net::SocketAddr,
    tempfile::TempDir,
) {
    let config = tempfile::tempdir().expect("config folder");
    let secrets = Arc::new(Secrets::memory_only("test"));
    // The app's broker on a free port (saved settings, as a user's would be).
    let settings = BrokerSettings {
        port: 0,
        port_fallback: false,
        ..BrokerSettings::default()
    };
    assert_ne!(settings.port, DEFAULT_PORT);
    workbench_core::broker::saved::save(
        &config
            .path()
            .join(workbench_core::broker::saved::BROKER_FILE),
        &settings,
        &secrets,
    )
    .expect("save the broker settings");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let app = App::new(
        Folders {
            config: Some(config.path().to_path_buf()),
        },
        secrets,
    );
    runtime.block_on(async { app.start() });
    let address = {
        let mut found = None;
        wait("the broker running", || {
            found = runtime.block_on(app.broker.status()).address;
            found.is_some()
        });
        found.expect("an address")
    };
    (app, runtime, address, config)
}

#[test]
fn quitting_says_goodbye_stops_the_broker_and_leaves_nothing_running() {
    let (app, runtime, address, _config) = started_app();
    // Someone watching for wills.
    let mut watcher = RawClient::connected(
        address,
        Connect {
            client_id: "watcher",
            ..Connect::default()
        },
    );
    watcher.send(&raw::subscribe(raw::V311, 1, &[("wills/#", 1)]));
    watcher.read_packet().expect("SUBACK");
    // A session of the app, on its own broker, with a will.
    let mut profile = Profile::new(
        "self",
        &address.ip().to_string(),
        address.port(),
        MqttVersion::V5,
    );
    profile.client_id = "quitter".into();
    profile.will = Some(Will {
        topic: "wills/quitter".into(),
        payload: "gone without a word".into(),
        qos: 1,
        retain: false,
        properties: Default::default(),
    });
    let (view, _) = app.sessions.save(profile, None).expect("save the session");
    let id = view.profile.id.clone();
    runtime
        .block_on(async { app.sessions.connect(&id) })
        .expect("connect");
    wait("the session connected", || {
        matches!(
            app.sessions.get(&id).map(|v| v.state),
            Ok(ConnectionState::Connected { .. })
        )
    });
    let started = Instant::now();
    let left = runtime.block_on(app.shutdown(Duration::from_secs(5)));
    assert_eq!(left, 0, "every session and task ended");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        !runtime.block_on(app.broker.status()).running,
        "the broker stopped"
    );
    // The watcher was closed by the broker's stop; the session's will never came (it said
    // DISCONNECT before the broker went away).
    let mut wills = 0;
    while let Some(packet) = watcher.read_packet() {
        if raw::parse_publish(&packet, raw::V311).is_some_and(|p| p.topic == "wills/quitter") {
            wills += 1;
        }
    }
    assert_eq!(
        wills, 0,
        "a will was published: the session did not say goodbye"
    );
}

#[test]
fn what_the_ui_shows_is_pushed_when_it_changes_and_nothing_while_idle() {
    let (app, runtime, address, _config) = started_app();
    let next = |changes: &workbench_core::changes::Changes, within: Duration| {
        runtime.block_on(async { tokio::time::timeout(within, changes.next(Duration::ZERO)).await })
    };
    // What the start changed (the broker, the app's own session connecting) is told once...
    wait("the app's own session connected", || {
        matches!(
            app.sessions
                .get(workbench_session::APP_SESSION_ID)
                .map(|v| v.state),
            Ok(ConnectionState::Connected { .. })
        )
    });
    while next(&app.changes, Duration::from_millis(300)).is_ok() {}
    while next(&app.counters, Duration::from_millis(300)).is_ok() {}
    // ...then nothing, while nothing happens.
    assert!(
        next(&app.changes, Duration::from_secs(1)).is_err(),
        "a change was pushed while idle"
    );
    assert!(
        next(&app.counters, Duration::from_secs(1)).is_err(),
        "counters were pushed while idle"
    );
    // A client arriving is a change of the clients and of the broker's status.
    let mut client = RawClient::connected(
        address,
        Connect {
            client_id: "arriving",
            ..Connect::default()
        },
    );
    let changed = next(&app.changes, Duration::from_secs(30)).expect("a client arriving is pushed");
    assert!(changed.contains(Change::Clients) && changed.contains(Change::Broker));
    // A retained message moves counters only (pushed at their own, slower pace).
    client.send(&raw::publish(raw::V311, "kept/here", b"x", 0, true, 0));
    let counted = next(&app.counters, Duration::from_secs(30)).expect("a message moves counters");
    assert!(
        counted.contains(Change::Broker),
        "the retained count is the broker's"
    );
    assert_eq!(runtime.block_on(app.shutdown(Duration::from_secs(5))), 0);
}

/// The app's own session: connected to the embedded broker as soon as it listens, so a first
/// publish needs no setup; it follows the broker to a new port, is never saved, and cannot be
/// deleted.
#[test]
fn the_apps_own_session_publishes_with_no_setup_and_follows_the_broker() {
    use workbench_session::payload::PayloadInput;
    use workbench_session::{PublishRequest, APP_CLIENT_ID, APP_SESSION_ID};
    let (app, runtime, address, config) = started_app();
    let connected = |port: u16| {
        matches!(
            app.sessions.get(APP_SESSION_ID),
            Ok(v) if v.profile.port == port && matches!(v.state, ConnectionState::Connected { .. })
        )
    };
    wait("the app's session connected", || connected(address.port()));
    let view = app.sessions.get(APP_SESSION_ID).expect("the app's session");
    assert!(view.app_session);
    assert_eq!(view.client_id.as_deref(), Some(APP_CLIENT_ID));
    // The broker lists it as a client like any other.
    wait("the broker lists the app's client", || {
        runtime
            .block_on(app.broker.clients())
            .iter()
            .any(|c| &*c.client_id == APP_CLIENT_ID)
    });
    // A publish from it reaches an independent subscriber.
    let port = address.port().to_string();
    let sub = workbench_testkit::peers::ReadySub::start(&port, "first/publish", 1, &["-v"]);
    let request = PublishRequest {
        topic: "first/publish".into(),
        payload: PayloadInput::Text("no setup".into()),
        qos: 1,
        retain: false,
        properties: Default::default(),
    };
    runtime
        .block_on(app.sessions.publish(APP_SESSION_ID, request))
        .expect("publish from the app's session");
    assert_eq!(sub.finish().trim(), "first/publish no setup");
    // Never saved, never deleted.
    let profiles =
        std::fs::read_to_string(config.path().join(workbench_session::store::PROFILES_FILE))
            .unwrap_or_default();
    assert!(!profiles.contains(APP_CLIENT_ID), "saved: {profiles}");
    assert!(app.sessions.delete(APP_SESSION_ID).is_err());
    // The broker moves to another port: the session follows.
    let settings = BrokerSettings {
        port: workbench_testkit::mosquitto::free_port(),
        port_fallback: false,
        ..BrokerSettings::default()
    };
    let moved = runtime
        .block_on(app.broker.start(Some(settings.clone())))
        .expect("restart on another port");
    let new_port = moved.address.expect("address").port();
    assert_ne!(new_port, address.port());
    wait("the app's session on the new port", || connected(new_port));
    // Restarted on the same port (the classroom does so): the new broker has it as a client.
    let again = runtime
        .block_on(app.broker.start(Some(settings.clone())))
        .expect("restart on the same port");
    assert_eq!(again.address.expect("address").port(), new_port);
    wait("the app's session back on the restarted broker", || {
        connected(new_port)
            && runtime
                .block_on(app.broker.clients())
                .iter()
                .any(|c| &*c.client_id == APP_CLIENT_ID)
    });
    // A broker that requires passwords still admits the app's own session (with a login made
    // for this run), and refuses a client without one.
    let mut locked = settings.clone();
    locked.users.insert("alice".into(), "wonderland".into());
    runtime
        .block_on(app.broker.start(Some(locked)))
        .expect("restart with users");
    wait("the app's session admitted by a broker with users", || {
        connected(new_port)
            && runtime
                .block_on(app.broker.clients())
                .iter()
                .any(|c| &*c.client_id == APP_CLIENT_ID)
    });
    let refused = std::process::Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &new_port.to_string(),
            "-t",
            "x",
            "-m",
            "y",
        ])
        .output()
        .expect("mosquitto_pub");
    assert!(!refused.status.success(), "anonymous clients are refused");
    // The broker stops: the session is no longer connected.
    runtime.block_on(app.broker.stop());
    wait("the app's session stopped", || {
        !matches!(
            app.sessions.get(APP_SESSION_ID).map(|v| v.state),
            Ok(ConnectionState::Connected { .. })
        )
    });
    assert_eq!(runtime.block_on(app.shutdown(Duration::from_secs(5))), 0);
}

/// Subscribing from the topic tree on the broker's source: the app's own session subscribes
/// (the call the UI makes, `session_subscribe` on the app session's id), the broker grants it,
/// what a device then publishes arrives in that session's source, and unsubscribing stops it.
#[test]
fn the_apps_own_session_subscribes_from_the_tree_and_its_messages_arrive_in_its_source() {
    use workbench_session::{
        source_id, SessionSubscription, Subscription, SubscriptionStatus, APP_SESSION_ID,
    };
    let (app, runtime, address, _config) = started_app();
    wait("the app's session connected", || {
        matches!(
            app.sessions.get(APP_SESSION_ID).map(|v| v.state),
            Ok(ConnectionState::Connected { .. })
        )
    });
    let port = address.port().to_string();
    let status_of = |filter: &str| {
        app.sessions
            .get(APP_SESSION_ID)
            .expect("the app's session")
            .subscriptions
            .into_iter()
            .find(|s| s.subscription.filter == filter)
            .map(|s: SessionSubscription| s.status)
    };
    let subscribe = |filter: &str, qos: u8| {
        let subscription = Subscription {
            filter: filter.into(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: Default::default(),
            identifier: None,
        };
        runtime
            .block_on(app.sessions.subscribe(APP_SESSION_ID, subscription))
            .expect("subscribe from the tree")
    };
    // What the tree offers on `plant/line1`: the subtree, at QoS 1; and a second filter, the
    // marker that proves later deliveries have been routed.
    let view = subscribe("plant/line1/#", 1);
    assert!(view.app_session);
    assert!(view
        .subscriptions
        .iter()
        .any(|s| s.subscription.filter == "plant/line1/#"));
    subscribe("marker", 0);
    wait("the SUBACK granted QoS 1", || {
        status_of("plant/line1/#") == Some(SubscriptionStatus::Granted { qos: 1 })
            && status_of("marker") == Some(SubscriptionStatus::Granted { qos: 0 })
    });
    let source = source_id(APP_SESSION_ID);
    let count = |topic: &str| {
        app.hub.read_source(&source, |model| {
            model
                .tree
                .find(topic)
                .and_then(|id| model.tree.node(id))
                .map_or(0, |node| node.own_count)
        })
    };
    let publish = |topic: &str, payload: &str| {
        let out = workbench_testkit::peers::mosquitto_pub(
            &port,
            &["-q", "1", "-t", topic, "-m", payload],
        );
        assert!(out.status.success(), "mosquitto_pub: {out:?}");
    };
    publish("plant/line1/temp", "21.5");
    wait("the message in the app's source", || {
        count("plant/line1/temp") == 1
    });
    // Unsubscribed the same way: what follows no longer arrives (the marker, published after,
    // does: by then the broker has routed the first).
    let view = runtime
        .block_on(app.sessions.unsubscribe(APP_SESSION_ID, "plant/line1/#"))
        .expect("unsubscribe from the tree");
    assert!(view
        .subscriptions
        .iter()
        .all(|s| s.subscription.filter != "plant/line1/#"));
    // The UNSUBACK is not waited for by the call; the broker's own view is.
    wait("the broker dropped the subscription", || {
        runtime.block_on(app.broker.clients()).iter().any(|c| {
            c.client_id == workbench_session::APP_CLIENT_ID
                && !c.subscriptions.contains_key("plant/line1/#")
        })
    });
    publish("plant/line1/temp", "22.0");
    publish("marker", "after");
    wait("the marker in the app's source", || count("marker") == 1);
    assert_eq!(
        count("plant/line1/temp"),
        1,
        "delivered after unsubscribing"
    );
    assert_eq!(runtime.block_on(app.shutdown(Duration::from_secs(5))), 0);
}
