//! The app's AMQP sessions (`workbench_core::amqp::AmqpService`) as the UI drives them. Without
//! a broker (run by `make test`, instant): profiles saved without their password, a URL's
//! password moved to the keychain, a broken profiles file kept aside, a refused connection in
//! words. Against a real RabbitMQ (Debian's rabbitmq-server, one node per test, ignored in `make
//! test`, run by `make test-rabbitmq`), with Python's pika as the independent peer: the study
//! note's Hello World both ways into the hub's topic tree, a nack with requeue redelivered through
//! `settle`, a lost connection and a wrong password in words.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use workbench_amqp::{AckMode, ConsumeSpec, PublishOutcome, QueueSpec};
use workbench_core::amqp::notices::AmqpNotice;
use workbench_core::amqp::profiles::AMQP_PROFILES_FILE;
use workbench_core::amqp::service::secret_key;
use workbench_core::amqp::{
    AmqpPending, AmqpProfile, AmqpPublish, AmqpService, AmqpSettle, AmqpState,
};
use workbench_core::error::ErrorCode;
use workbench_core::hub::TrafficHub;
use workbench_secrets::Secrets;
use workbench_traffic::SourceId;

/// Generous upper bound for what must happen at all.
const LIMIT: Duration = Duration::from_secs(30);

struct Rig {
    service: AmqpService,
    hub: Arc<TrafficHub>,
    secrets: Arc<Secrets>,
    config: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    /// Notices received and not yet looked for.
    seen: std::sync::Mutex<std::collections::VecDeque<AmqpNotice>>,
}

/// A service on its own hub (fed as the app feeds it), with a memory-only password store.
fn rig_in(config: tempfile::TempDir) -> Rig {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let hub = TrafficHub::new(Default::default());
    let (traffic, rx) = mpsc::channel(1024);
    runtime.spawn(hub.clone().ingest_sessions(rx));
    let secrets = Arc::new(Secrets::memory_only("test"));
    let service = AmqpService::new(Some(config.path()), secrets.clone(), traffic, hub.clone());
    Rig {
        service,
        hub,
        secrets,
        config,
        runtime,
        seen: Default::default(),
    }
}

fn rig() -> Rig {
    rig_in(tempfile::tempdir().expect("a config folder"))
}

fn profile(url: &str) -> AmqpProfile {
    AmqpProfile {
        id: String::new(),
        name: "rabbit".into(),
        url: url.into(),
        management_port: None,
        ca_file: None,
    }
}

/// Waits for a notice that `pick` accepts (earlier notices it does not accept are kept for
/// later calls).
async fn notice<T>(r: &Rig, mut pick: impl FnMut(AmqpNotice) -> Option<T>) -> T {
    let deadline = Instant::now() + LIMIT;
    loop {
        {
            let mut seen = r.seen.lock().expect("the notices");
            if let Some(i) = seen.iter().position(|n| pick(n.clone()).is_some()) {
                let n = seen.remove(i).expect("the notice found");
                return pick(n).expect("the notice picked");
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let notices = tokio::time::timeout(left, r.service.next_notices(Duration::from_millis(20)))
            .await
            .expect("the notice in time");
        r.seen.lock().expect("the notices").extend(notices);
    }
}

/// The next unsettled list of consumer `tag` that `want` accepts.
async fn unsettled(r: &Rig, tag: &str, want: impl Fn(&[AmqpPending]) -> bool) -> Vec<AmqpPending> {
    notice(r, |n| match n {
        AmqpNotice::Unsettled {
            consumer_tag,
            deliveries,
            ..
        } if consumer_tag == tag && want(&deliveries) => Some(deliveries),
        _ => None,
    })
    .await
}

#[test]
fn profiles_are_saved_without_their_password() {
    let r = rig();
    let view = r
        .service
        .save_profile(profile("amqp://alice:s3cr%40t@127.0.0.1:5672/dev"), None)
        .expect("saved");
    assert!(view.profile.id.starts_with("amqp-"), "{}", view.profile.id);
    assert_eq!(view.profile.url, "amqp://alice@127.0.0.1:5672/dev");
    assert!(view.has_password);
    assert_eq!(view.state, AmqpState::Disconnected);
    let key = secret_key(&view.profile.id);
    assert_eq!(r.secrets.get(&key).as_deref(), Some("s3cr@t"));
    let file = std::fs::read_to_string(r.config.path().join(AMQP_PROFILES_FILE)).unwrap();
    assert!(file.contains(&view.profile.id), "{file}");
    assert!(
        !file.contains("s3cr"),
        "the password is in the file: {file}"
    );
    // An explicit password replaces it; "" forgets it; null keeps it.
    let mut p = view.profile.clone();
    r.service
        .save_profile(p.clone(), Some("other".into()))
        .unwrap();
    assert_eq!(r.secrets.get(&key).as_deref(), Some("other"));
    p.name = "renamed".into();
    assert!(
        r.service
            .save_profile(p.clone(), None)
            .unwrap()
            .has_password
    );
    assert!(
        !r.service
            .save_profile(p, Some(String::new()))
            .unwrap()
            .has_password
    );
    // Read back by a new service from the same folder.
    let again = rig_in(r.config);
    let listed = again.service.profiles();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].profile.name, "renamed");
    assert_eq!(listed[0].profile.url, "amqp://alice@127.0.0.1:5672/dev");
    // Bad input is refused in words and saves nothing.
    let e = again
        .service
        .save_profile(profile("mqtt://h"), None)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(e.message.contains("amqp://"), "{}", e.message);
    assert_eq!(again.service.profiles().len(), 1);
}

#[test]
fn a_broken_profiles_file_is_kept_aside_and_said_so() {
    let config = tempfile::tempdir().unwrap();
    let path = config.path().join(AMQP_PROFILES_FILE);
    std::fs::write(&path, "{ not json").unwrap();
    let r = rig_in(config);
    let note = r.service.note().expect("a note");
    assert!(note.contains("kept as"), "{note}");
    let notes = r.service.notes();
    assert!(
        notes[0].contains("kept as") && notes[1].contains("until the app quits"),
        "{notes:?}"
    );
    assert!(r.service.profiles().is_empty());
    let aside: Vec<_> = std::fs::read_dir(r.config.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".broken-"))
        .collect();
    assert_eq!(aside.len(), 1);
    // Saving works again, and the broken file is left alone.
    r.service.save_profile(profile("amqp://h"), None).unwrap();
    assert!(path.exists());
}

#[test]
fn a_refused_connection_is_told_in_words_and_pushed() {
    let r = rig();
    // A port nothing listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let id = r
        .service
        .save_profile(profile(&format!("amqp://127.0.0.1:{port}")), None)
        .unwrap()
        .profile
        .id;
    r.runtime.block_on(async {
        let e = r.service.connect(&id).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Unreachable);
        assert!(e.message.contains("connection refused"), "{}", e.message);
        let state = notice(&r, |n| match n {
            AmqpNotice::SessionChanged { id: i, state } if i == id => Some(state),
            _ => None,
        })
        .await;
        assert_eq!(state, AmqpState::Disconnected);
        let e = r.service.declare_queue(&id, &QueueSpec::named("q")).await;
        assert_eq!(e.unwrap_err().code, ErrorCode::InvalidState);
        let e = r.service.hello_world("amqp-nope").await.unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
    });
    assert_eq!(r.service.view(&id).unwrap().state, AmqpState::Disconnected);
}

// ---- Against a real RabbitMQ -------------------------------------------------------------

#[path = "amqp/rabbitmq.rs"]
mod rabbitmq;
