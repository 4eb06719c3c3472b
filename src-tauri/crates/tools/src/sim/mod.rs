//! Device simulators: a fleet of devices from one TOML file ([`spec`]), checked into a runnable
//! [`Plan`] by [`check`] (every problem named with its line and field), and run by
//! [`Simulator`] against any broker.
//!
//! Built-in examples ([`EXAMPLES`]): temperature sensors, smart plugs that answer commands, a
//! GPS tracker, a door contact. Each is a file a user can copy and change.

mod check;
pub mod device;
mod located;
pub mod payload;
pub mod plan;
pub mod run;
pub mod spec;
pub mod values;

pub use check::check;
pub use located::{FileError, FileErrors, MAX_FILE};
pub use plan::{Plan, Summary};
pub use run::{SimStats, Simulator};

/// A simulator file shipped with the app.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// Its short name (`mqttwb simulate --example NAME`).
    pub name: &'static str,
    pub text: &'static str,
}

/// The built-in examples.
pub const EXAMPLES: &[Example] = &[
    Example {
        name: "temperature-sensors",
        text: include_str!("../../examples/temperature-sensors.toml"),
    },
    Example {
        name: "smart-plugs",
        text: include_str!("../../examples/smart-plugs.toml"),
    },
    Example {
        name: "gps-tracker",
        text: include_str!("../../examples/gps-tracker.toml"),
    },
    Example {
        name: "door-contact",
        text: include_str!("../../examples/door-contact.toml"),
    },
];

/// The built-in example called `name`.
pub fn example(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}
