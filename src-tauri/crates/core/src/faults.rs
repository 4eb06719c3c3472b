//! Fault injection on the embedded broker, as the app and the command line drive it: arm a rule
//! against a client id (connected or not yet), list the armed rules, clear one, a client's, or
//! all. The rules live in the broker's router ([`workbench_broker::router::Router::faults`]), so
//! they outlive a broker restart like sessions do; arming through the router wakes the client's
//! connection so a cut or a pause acts at once.

use crate::broker::service::BrokerService;
use crate::error::{ErrorCode, IpcError};
use std::sync::Arc;
pub use workbench_faults::{mark_of, parse, ArmedRule, Fault, RuleError, Toward};

/// Every armed rule, by client id then in the order armed.
pub fn rules(service: &BrokerService) -> Vec<ArmedRule> {
    service.router().faults.rules()
}

/// Arms `fault` against `client_id`; returns every armed rule.
pub fn arm(
    service: &BrokerService,
    client_id: &str,
    fault: Fault,
) -> Result<Vec<ArmedRule>, IpcError> {
    service
        .router()
        .arm_fault(client_id, fault)
        .map_err(|e| IpcError::from_coded(&e))?;
    Ok(rules(service))
}

/// Arms the rules of a command-line text (`dev1:drop=puback:1`); returns their ids.
pub fn arm_text(service: &BrokerService, text: &str) -> Result<Vec<u32>, IpcError> {
    let (client_id, faults) =
        workbench_faults::parse(text).map_err(|e| IpcError::from_coded(&e))?;
    faults
        .into_iter()
        .map(|fault| {
            service
                .router()
                .arm_fault(&client_id, fault)
                .map_err(|e| IpcError::from_coded(&e))
        })
        .collect()
}

/// Clears rule `id`; returns every rule still armed.
pub fn clear(service: &BrokerService, id: u32) -> Result<Vec<ArmedRule>, IpcError> {
    if !service.router().clear_fault(id) {
        return Err(IpcError::new(
            ErrorCode::NotFound,
            format!("fault rule {id} is not armed (it may have been used up)"),
        ));
    }
    Ok(rules(service))
}

/// Clears every rule of `client_id`, or every rule of everyone; returns what is still armed.
pub fn clear_client(service: &BrokerService, client_id: Option<&str>) -> Vec<ArmedRule> {
    service.router().clear_faults(client_id);
    rules(service)
}

/// A signal raised whenever the rules change (armed, cleared, used up by a connection), for
/// pushing them to the views; it is raised on the thread that made the change.
pub fn watch(service: &BrokerService) -> Arc<tokio::sync::Notify> {
    let notify = Arc::new(tokio::sync::Notify::new());
    let raised = notify.clone();
    service
        .router()
        .faults
        .on_change(move |_| raised.notify_one());
    notify
}

#[cfg(test)]
mod tests {
    use super::*;
    use workbench_broker::BrokerSettings;
    use workbench_wire::PacketKind;

    #[test]
    fn rules_are_armed_from_text_listed_and_cleared() {
        let service = BrokerService::new(
            BrokerSettings::default(),
            None,
            Arc::new(crate::changes::Changes::default()),
        );
        let changed = watch(&service);
        let ids = arm_text(&service, "dev1:delay=100+10").unwrap();
        assert_eq!(ids.len(), 2, "both ways");
        let all = arm(
            &service,
            "dev2",
            Fault::Drop {
                kind: PacketKind::PubAck,
                toward: Toward::Client,
                count: 1,
            },
        )
        .unwrap();
        assert_eq!(all.len(), 3);
        let error = arm_text(&service, "dev1:drop=nothing").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput);
        assert_eq!(clear(&service, ids[0]).unwrap().len(), 2);
        assert_eq!(
            clear(&service, ids[0]).unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(clear_client(&service, Some("dev1")).len(), 1);
        assert!(clear_client(&service, None).is_empty());
        // A change was signalled (a permit is stored for the next waiter).
        let waited = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(5), changed.notified()).await
            });
        assert!(waited.is_ok());
    }
}
