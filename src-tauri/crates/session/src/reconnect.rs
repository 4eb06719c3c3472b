//! When a session tries again, as a state machine without I/O or clocks: each connection attempt
//! and each ending goes in (with the time), the state to show and what to do next come out. The
//! session's task only carries the decisions out (dials, sleeps), so the policy is tested on a
//! virtual clock.
//!
//! The policy: an exponential backoff of 1, 2, 4 ... up to 30 s between attempts; it starts over
//! after any connection that got as far as CONNACK; an ending that retrying cannot fix (bad
//! credentials, an untrusted certificate, a protocol error) or a profile without auto-reconnect
//! ends the session as failed.

use crate::{BrokerAnswer, ConnectionState, SessionError};
use std::time::Duration;
use workbench_wire::ErrorCode;

/// The pause before the second attempt.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest pause between attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How one connection ended (when the user did not stop it).
#[derive(Debug)]
pub struct Ending {
    pub error: SessionError,
    /// The broker's reason code behind the error, if it gave one.
    pub answer: Option<BrokerAnswer>,
    /// Whether trying again can help.
    pub retry: bool,
    /// Whether it got as far as CONNACK (the backoff starts over then).
    pub was_connected: bool,
}

/// What to do after a connection ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Show `state` and try again after `pause`.
    Retry {
        pause: Duration,
        state: ConnectionState,
    },
    /// Show `state` (failed) and stop.
    Stop { state: ConnectionState },
}

/// A session's connection attempts.
#[derive(Debug, Clone)]
pub struct Reconnect {
    auto_reconnect: bool,
    /// Attempts since the last connection that reached CONNACK.
    attempt: u32,
}

impl Reconnect {
    pub fn new(auto_reconnect: bool) -> Reconnect {
        Reconnect {
            auto_reconnect,
            attempt: 0,
        }
    }

    /// A connection attempt starts: the state to show.
    pub fn attempt(&mut self) -> ConnectionState {
        self.attempt += 1;
        ConnectionState::Connecting {
            attempt: self.attempt,
        }
    }

    /// The pause before attempt `attempt + 1`: 1 s, 2 s, 4 s ... up to 30 s.
    pub fn backoff(attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(5);
        (BACKOFF_FIRST * factor).min(BACKOFF_MAX)
    }

    /// A connection ended at `now_ms` (ms since the Unix epoch): what to show and do next.
    pub fn ended(&mut self, ending: Ending, now_ms: f64) -> Next {
        if ending.was_connected {
            self.attempt = 1;
        }
        let code = workbench_wire::Coded::code(&ending.error);
        if !(ending.retry && self.auto_reconnect) {
            return Next::Stop {
                state: ConnectionState::Failed {
                    code,
                    reason: ending.error.to_string(),
                    answer: ending.answer,
                },
            };
        }
        let pause = Self::backoff(self.attempt);
        Next::Retry {
            pause,
            state: ConnectionState::Reconnecting {
                at: now_ms + pause.as_millis() as f64,
                attempt: self.attempt + 1,
                code,
                reason: ending.error.to_string(),
                answer: ending.answer,
            },
        }
    }
}

/// The error code a state carries (for tests and logs).
pub fn code_of(state: &ConnectionState) -> Option<ErrorCode> {
    match state {
        ConnectionState::Reconnecting { code, .. } | ConnectionState::Failed { code, .. } => {
            Some(*code)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost(retry: bool, was_connected: bool) -> Ending {
        Ending {
            error: SessionError::Unreachable("the port refused".into()),
            answer: None,
            retry,
            was_connected,
        }
    }

    /// Runs attempts that all fail on a virtual clock; returns the pauses chosen.
    fn pauses(policy: &mut Reconnect, failures: usize, clock: &mut f64) -> Vec<u64> {
        let mut out = Vec::new();
        for _ in 0..failures {
            policy.attempt();
            match policy.ended(lost(true, false), *clock) {
                Next::Retry { pause, state } => {
                    let ConnectionState::Reconnecting { at, .. } = state else {
                        panic!("reconnecting");
                    };
                    assert_eq!(at, *clock + pause.as_millis() as f64, "retry time shown");
                    *clock += pause.as_millis() as f64;
                    out.push(pause.as_secs());
                }
                Next::Stop { .. } => panic!("a retryable failure stops"),
            }
        }
        out
    }

    #[test]
    fn pauses_double_up_to_thirty_seconds_and_start_over_after_a_connection() {
        let mut clock = 1_000_000.0;
        let mut policy = Reconnect::new(true);
        assert_eq!(
            pauses(&mut policy, 8, &mut clock),
            vec![1, 2, 4, 8, 16, 30, 30, 30]
        );
        assert_eq!(
            clock,
            1_000_000.0 + 121_000.0,
            "two minutes of trying, virtually"
        );
        // A connection that reached CONNACK, then was lost: the next pause is short again.
        assert_eq!(policy.attempt(), ConnectionState::Connecting { attempt: 9 });
        match policy.ended(lost(true, true), clock) {
            Next::Retry { pause, state } => {
                assert_eq!(pause, Duration::from_secs(1));
                assert!(matches!(
                    state,
                    ConnectionState::Reconnecting { attempt: 2, .. }
                ));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_retrying_cannot_fix_and_profiles_without_auto_reconnect_stop() {
        let mut policy = Reconnect::new(true);
        policy.attempt();
        let next = policy.ended(
            Ending {
                error: SessionError::AuthFailed("bad user name or password".into()),
                answer: Some(BrokerAnswer::new(crate::AnswerPacket::Connack, 0x86)),
                retry: false,
                was_connected: false,
            },
            0.0,
        );
        let Next::Stop { state } = next else {
            panic!("stops");
        };
        assert_eq!(code_of(&state), Some(ErrorCode::AuthFailed));
        assert!(matches!(
            state,
            ConnectionState::Failed {
                answer: Some(BrokerAnswer { code: 0x86, .. }),
                ..
            }
        ));
        let mut manual = Reconnect::new(false);
        manual.attempt();
        assert!(matches!(
            manual.ended(lost(true, true), 0.0),
            Next::Stop { .. }
        ));
    }
}
