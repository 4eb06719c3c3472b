//! The users a lesson needs the broker to require (the security lesson): while such a lesson is
//! open the embedded broker runs with them added to its own, and it goes back to its settings as
//! they were when the lesson closes. Nothing is saved: a restart of the app forgets them too.
//! The broker's routing engine (retained messages, sessions) survives both restarts.

use crate::runner::LearnError;
use std::collections::BTreeMap;
use workbench_broker::BrokerSettings;
use workbench_core::broker::service::BrokerService;

/// Restarts the broker with `users` added; returns the settings to go back to (none when the
/// lesson needs no users).
pub async fn require(
    broker: &BrokerService,
    users: &BTreeMap<String, String>,
) -> Result<Option<BrokerSettings>, LearnError> {
    if users.is_empty() {
        return Ok(None);
    }
    let before = broker.status().await.settings;
    let mut during = before.clone();
    for (name, password) in users {
        during.users.insert(name.clone(), password.clone());
    }
    broker
        .start(Some(during))
        .await
        .map_err(|e| LearnError::Broker(e.to_string()))?;
    Ok(Some(before))
}

/// Puts the broker's settings back as they were before the lesson.
pub async fn restore(broker: &BrokerService, before: Option<BrokerSettings>) {
    if let Some(before) = before {
        if let Err(error) = broker.start(Some(before)).await {
            tracing::warn!(%error, "the broker did not restart after the lesson");
        }
    }
}
