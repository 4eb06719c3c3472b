//! AMQP failures in words a learner understands, each with a stable code a front end can act on
//! (`AccessRefused`, `VhostNotFound`, `PreconditionFailed`...). lapin's errors never reach a
//! front end raw: [`AmqpError::from_lapin`] reads the broker's reply code and text.

use lapin::ErrorKind;

/// What went wrong, specifically.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmqpError {
    #[error("not an AMQP URL: {0}")]
    BadUrl(String),
    #[error("{0}")]
    BadInput(String),
    #[error("nothing accepts connections at {target} (connection refused): is RabbitMQ running there, and is that its AMQP port?")]
    ConnectionRefused { target: String },
    #[error("cannot reach {target}: {why}")]
    Unreachable { target: String, why: String },
    #[error("the TLS handshake with {target} failed: {why}")]
    Tls { target: String, why: String },
    #[error("access refused: RabbitMQ did not accept user \"{user}\" with that password (or the user may not log in from here). The broker said: {said}")]
    AccessRefused { user: String, said: String },
    #[error("the virtual host \"{vhost}\" does not exist on this broker, or user \"{user}\" has no permission on it (create it, or grant access, with rabbitmqctl)")]
    VhostNotFound { vhost: String, user: String },
    #[error("RabbitMQ refused: {said} (for a queue, that usually means it exists already with other settings or arguments: declare it with the same ones, or delete it first)")]
    PreconditionFailed { said: String },
    #[error("not found: {said}")]
    NotFound { said: String },
    #[error("in use by another connection: {said} (an exclusive queue belongs to the connection that declared it)")]
    ResourceLocked { said: String },
    #[error("permission refused: {said}")]
    PermissionRefused { said: String },
    #[error("the broker closed the connection: {said}")]
    ConnectionClosed { said: String },
    #[error("AMQP error {code}: {said}")]
    Protocol { code: u16, said: String },
    #[error("the connection to the broker failed: {0}")]
    Io(String),
    #[error("{what} took longer than {seconds} s")]
    Timeout { what: String, seconds: u64 },
}

impl AmqpError {
    /// A stable name for the kind of failure, for front ends to act on.
    pub fn code(&self) -> &'static str {
        match self {
            AmqpError::BadUrl(_) => "BadUrl",
            AmqpError::BadInput(_) => "BadInput",
            AmqpError::ConnectionRefused { .. } => "ConnectionRefused",
            AmqpError::Unreachable { .. } => "Unreachable",
            AmqpError::Tls { .. } => "Tls",
            AmqpError::AccessRefused { .. } => "AccessRefused",
            AmqpError::VhostNotFound { .. } => "VhostNotFound",
            AmqpError::PreconditionFailed { .. } => "PreconditionFailed",
            AmqpError::NotFound { .. } => "NotFound",
            AmqpError::ResourceLocked { .. } => "ResourceLocked",
            AmqpError::PermissionRefused { .. } => "PermissionRefused",
            AmqpError::ConnectionClosed { .. } => "ConnectionClosed",
            AmqpError::Protocol { .. } => "Protocol",
            AmqpError::Io(_) => "Io",
            AmqpError::Timeout { .. } => "Timeout",
        }
    }

    /// Explains a lapin error. `who` says where the session was connecting, as whom, to which
    /// vhost; `connecting` is true while the connection is being opened (a refusal then is about
    /// the login or the vhost).
    pub fn from_lapin(error: &lapin::Error, who: &Who, connecting: bool) -> AmqpError {
        match error.kind() {
            ErrorKind::ProtocolError(amqp) => {
                let said = amqp.get_message().to_string();
                let code = amqp.get_id();
                let lower = said.to_ascii_lowercase();
                match code {
                    403 if connecting || lower.contains("login was refused") => {
                        AmqpError::AccessRefused {
                            user: who.user.clone(),
                            said,
                        }
                    }
                    403 => AmqpError::PermissionRefused { said },
                    530 if lower.contains("vhost") => AmqpError::VhostNotFound {
                        vhost: who.vhost.clone(),
                        user: who.user.clone(),
                    },
                    404 => AmqpError::NotFound { said },
                    405 => AmqpError::ResourceLocked { said },
                    406 => AmqpError::PreconditionFailed { said },
                    320 => AmqpError::ConnectionClosed { said },
                    _ => AmqpError::Protocol { code, said },
                }
            }
            ErrorKind::IOError(io) => Self::from_io(io, who, connecting),
            ErrorKind::InvalidConnectionState(state) => AmqpError::ConnectionClosed {
                said: format!("the connection is {state:?}"),
            },
            ErrorKind::InvalidChannelState(state, _) => AmqpError::ConnectionClosed {
                said: format!("the channel is {state:?}"),
            },
            ErrorKind::ChannelsLimitReached => {
                AmqpError::BadInput("this session has as many channels open as it may".into())
            }
            _ => AmqpError::Io(error.to_string()),
        }
    }

    fn from_io(io: &std::io::Error, who: &Who, connecting: bool) -> AmqpError {
        use std::io::ErrorKind as K;
        let target = who.target.clone();
        let why = io.to_string();
        let lower = why.to_ascii_lowercase();
        let tls_words = ["certificate", "tls", "handshake", "alert", "unknownissuer"];
        match io.kind() {
            K::ConnectionRefused => AmqpError::ConnectionRefused { target },
            // rustls reports through io errors of kind InvalidData ("received corrupt message"
            // when the port does not speak TLS at all).
            K::InvalidData if who.tls => AmqpError::Tls {
                target,
                why: format!("{why} (does that port speak TLS? RabbitMQ's amqps port is usually 5671)"),
            },
            _ if who.tls && tls_words.iter().any(|w| lower.contains(w)) => {
                AmqpError::Tls { target, why }
            }
            K::TimedOut => AmqpError::Unreachable { target, why },
            _ if connecting && lower.contains("lookup") => AmqpError::Unreachable { target, why },
            // RabbitMQ closes the socket without a word when the login fails and the client did
            // not announce that it can read the reason.
            K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted if connecting => {
                AmqpError::ConnectionClosed {
                    said: format!(
                        "{why} while logging in as \"{}\" to vhost \"{}\" (a wrong password or a non-AMQP port look like this)",
                        who.user, who.vhost
                    ),
                }
            }
            _ => AmqpError::Io(why),
        }
    }
}

/// Who a session is, for explaining its errors.
#[derive(Debug, Clone, Default)]
pub struct Who {
    /// The URL without its password.
    pub target: String,
    pub user: String,
    pub vhost: String,
    pub tls: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_socket_is_told_as_such() {
        let who = Who {
            target: "amqp://guest@127.0.0.1:1/%2F".into(),
            ..Who::default()
        };
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = AmqpError::from_io(&io, &who, true);
        assert_eq!(e.code(), "ConnectionRefused");
        assert!(e.to_string().contains("connection refused"), "{e}");
    }
}
