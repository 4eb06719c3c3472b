//! Value generators: what a simulated device measures. Each stream names its values
//! (`[stream.values]`), each value has a `kind`, and each device keeps its own state of each, so
//! a thousand devices give a thousand different curves from one file.
//!
//! Kinds: `counter`, `walk` (a random walk between bounds), `sine`, `random`, `choice` (random
//! pick, optionally weighted), `sequence` (in turn), `timestamp`, `gps` (a track moving at a
//! speed, turning a little at each step, optionally kept within a radius).

use crate::duration::Dur;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

fn one() -> f64 {
    1.0
}
fn speed() -> f64 {
    30.0
}
fn turn() -> f64 {
    20.0
}

/// How a `timestamp` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// ISO 8601 in UTC (`2026-12-01T10:00:00.000Z`).
    #[default]
    Iso,
    /// Epoch milliseconds.
    Ms,
    /// Epoch seconds.
    S,
}

/// One value as a file describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ValueSpec {
    Counter {
        #[serde(default)]
        start: f64,
        #[serde(default = "one")]
        step: f64,
        /// Past this, the counter starts again from `start`.
        #[serde(default)]
        max: Option<f64>,
        #[serde(default)]
        decimals: Option<u32>,
    },
    Walk {
        /// Where each device starts (default: somewhere between the bounds).
        #[serde(default)]
        start: Option<f64>,
        min: f64,
        max: f64,
        /// The largest change from one message to the next.
        #[serde(default = "one")]
        step: f64,
        #[serde(default)]
        decimals: Option<u32>,
    },
    Sine {
        min: f64,
        max: f64,
        period: Dur,
        /// Where in the period each device starts, 0 to 1 (default: a different place each).
        #[serde(default)]
        phase: Option<f64>,
        /// Random noise added, as a share of the amplitude (0 to 1).
        #[serde(default)]
        noise: f64,
        #[serde(default)]
        decimals: Option<u32>,
    },
    Random {
        min: f64,
        max: f64,
        #[serde(default)]
        decimals: Option<u32>,
    },
    Choice {
        values: Vec<toml::Value>,
        #[serde(default)]
        weights: Option<Vec<f64>>,
    },
    Sequence {
        values: Vec<toml::Value>,
    },
    Timestamp {
        #[serde(default)]
        format: TimeFormat,
    },
    Gps {
        lat: f64,
        lon: f64,
        #[serde(default = "speed")]
        speed_kmh: f64,
        /// The most the heading changes per message, in degrees.
        #[serde(default = "turn")]
        turn: f64,
        /// Keep within this distance of the start (turning back toward it).
        #[serde(default)]
        radius_km: Option<f64>,
    },
}

impl ValueSpec {
    /// What is wrong with the parameters, if anything.
    pub fn problem(&self) -> Option<String> {
        let bad_bounds =
            |min: f64, max: f64| (min > max).then(|| format!("min {min} is above max {max}"));
        match self {
            ValueSpec::Counter { step, .. } if !step.is_finite() => {
                Some("step is not a number".into())
            }
            ValueSpec::Walk {
                min,
                max,
                step,
                start,
                ..
            } => bad_bounds(*min, *max)
                .or_else(|| (*step < 0.0).then(|| "step cannot be negative".into()))
                .or_else(|| {
                    start
                        .filter(|s| s < min || s > max)
                        .map(|s| format!("start {s} is outside {min} to {max}"))
                }),
            ValueSpec::Sine {
                min,
                max,
                period,
                noise,
                phase,
                ..
            } => bad_bounds(*min, *max)
                .or_else(|| {
                    (period.0 < Duration::from_millis(1))
                        .then(|| "period must be at least 1ms".into())
                })
                .or_else(|| {
                    (!(0.0..=1.0).contains(noise)).then(|| "noise is a share from 0 to 1".into())
                })
                .or_else(|| {
                    phase
                        .filter(|p| !(0.0..=1.0).contains(p))
                        .map(|_| "phase is a share of the period from 0 to 1".into())
                }),
            ValueSpec::Random { min, max, .. } => bad_bounds(*min, *max),
            ValueSpec::Choice { values, weights } => {
                if values.is_empty() {
                    return Some("values is empty".into());
                }
                match weights {
                    Some(w) if w.len() != values.len() => {
                        Some(format!("{} weights for {} values", w.len(), values.len()))
                    }
                    Some(w)
                        if w.iter().any(|x| !x.is_finite() || *x < 0.0)
                            || w.iter().sum::<f64>() <= 0.0 =>
                    {
                        Some("weights must be positive numbers".into())
                    }
                    _ => None,
                }
            }
            ValueSpec::Sequence { values } if values.is_empty() => Some("values is empty".into()),
            ValueSpec::Gps {
                lat,
                lon,
                speed_kmh,
                ..
            } => {
                if !(-90.0..=90.0).contains(lat) || !(-180.0..=180.0).contains(lon) {
                    Some("lat is -90 to 90 and lon -180 to 180".into())
                } else if *speed_kmh < 0.0 {
                    Some("speed_kmh cannot be negative".into())
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

/// One device's state of one value.
#[derive(Debug, Clone)]
pub struct ValueState {
    number: f64,
    index: usize,
    lat: f64,
    lon: f64,
    heading: f64,
    last: Option<Duration>,
}

/// A number rounded to `decimals` (0: a whole number), as JSON.
fn rounded(value: f64, decimals: Option<u32>) -> Value {
    match decimals {
        Some(0) => json!(value.round() as i64),
        Some(d) => {
            let scale = 10f64.powi(d.min(12) as i32);
            serde_json::Number::from_f64((value * scale).round() / scale)
                .map_or(Value::Null, Value::Number)
        }
        None => serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number),
    }
}

/// A TOML value as JSON (dates become their text).
pub fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

fn whole(x: f64) -> bool {
    x.fract() == 0.0 && x.abs() < 9e15
}

impl ValueSpec {
    /// A device's starting state.
    pub fn start(&self, rng: &mut fastrand::Rng) -> ValueState {
        let mut state = ValueState {
            number: 0.0,
            index: 0,
            lat: 0.0,
            lon: 0.0,
            heading: rng.f64() * 360.0,
            last: None,
        };
        match self {
            ValueSpec::Counter { start, .. } => state.number = *start,
            ValueSpec::Walk {
                start, min, max, ..
            } => {
                state.number = start.unwrap_or_else(|| min + (max - min) * (0.25 + 0.5 * rng.f64()))
            }
            ValueSpec::Sine { phase, .. } => state.number = phase.unwrap_or_else(|| rng.f64()),
            ValueSpec::Gps { lat, lon, .. } => {
                state.lat = *lat;
                state.lon = *lon;
            }
            _ => {}
        }
        state
    }

    /// The next value, at `elapsed` since the simulator started.
    pub fn next(
        &self,
        state: &mut ValueState,
        rng: &mut fastrand::Rng,
        elapsed: Duration,
    ) -> Value {
        match self {
            ValueSpec::Counter {
                start,
                step,
                max,
                decimals,
            } => {
                if max.is_some_and(|m| state.number > m) {
                    state.number = *start;
                }
                let value = state.number;
                state.number += step;
                let decimals = decimals.or((whole(*start) && whole(*step)).then_some(0));
                rounded(value, decimals)
            }
            ValueSpec::Walk {
                min,
                max,
                step,
                decimals,
                ..
            } => {
                state.number = (state.number + (rng.f64() * 2.0 - 1.0) * step).clamp(*min, *max);
                rounded(state.number, decimals.or(Some(2)))
            }
            ValueSpec::Sine {
                min,
                max,
                period,
                noise,
                decimals,
                ..
            } => {
                let turns = elapsed.as_secs_f64() / period.0.as_secs_f64() + state.number;
                let mid = (min + max) / 2.0;
                let amplitude = (max - min) / 2.0;
                let jitter = (rng.f64() * 2.0 - 1.0) * noise * amplitude;
                let value = (mid + amplitude * (turns * std::f64::consts::TAU).sin() + jitter)
                    .clamp(*min, *max);
                rounded(value, decimals.or(Some(2)))
            }
            ValueSpec::Random { min, max, decimals } => {
                rounded(min + (max - min) * rng.f64(), decimals.or(Some(2)))
            }
            ValueSpec::Choice { values, weights } => {
                let index = match weights {
                    None => rng.usize(..values.len()),
                    Some(weights) => {
                        let total: f64 = weights.iter().sum();
                        let mut pick = rng.f64() * total;
                        weights
                            .iter()
                            .position(|w| {
                                pick -= w;
                                pick < 0.0
                            })
                            .unwrap_or(values.len() - 1)
                    }
                };
                toml_to_json(&values[index])
            }
            ValueSpec::Sequence { values } => {
                let value = toml_to_json(&values[state.index % values.len()]);
                state.index = (state.index + 1) % values.len();
                value
            }
            ValueSpec::Timestamp { format } => {
                let ms = workbench_wire::now_ms();
                match format {
                    TimeFormat::Iso => Value::String(crate::time::iso8601(ms)),
                    TimeFormat::Ms => json!(ms),
                    TimeFormat::S => json!(ms / 1000),
                }
            }
            ValueSpec::Gps {
                lat,
                lon,
                speed_kmh,
                turn,
                radius_km,
            } => {
                let hours = state.last.map_or(0.0, |last| {
                    elapsed.saturating_sub(last).as_secs_f64() / 3600.0
                });
                state.last = Some(elapsed);
                state.heading = (state.heading + (rng.f64() * 2.0 - 1.0) * turn).rem_euclid(360.0);
                if let Some(radius) = radius_km {
                    let (dy, dx) = (
                        (state.lat - lat) * 111.32,
                        (state.lon - lon) * 111.32 * lat.to_radians().cos(),
                    );
                    if (dx * dx + dy * dy).sqrt() > *radius {
                        // Head back toward the start.
                        state.heading = (-dx).atan2(-dy).to_degrees().rem_euclid(360.0);
                    }
                }
                let km = speed_kmh * hours;
                let h = state.heading.to_radians();
                state.lat = (state.lat + km * h.cos() / 111.32).clamp(-90.0, 90.0);
                let scale = (111.32 * state.lat.to_radians().cos()).max(1e-6);
                state.lon = ((state.lon + km * h.sin() / scale + 180.0).rem_euclid(360.0)) - 180.0;
                json!({
                    "lat": rounded(state.lat, Some(6)),
                    "lon": rounded(state.lon, Some(6)),
                    "heading": rounded(state.heading, Some(0)),
                    "speed": rounded(*speed_kmh, Some(1)),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(spec: &ValueSpec, n: usize) -> Vec<Value> {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut state = spec.start(&mut rng);
        (0..n)
            .map(|i| spec.next(&mut state, &mut rng, Duration::from_secs(i as u64)))
            .collect()
    }

    #[test]
    fn counters_count_and_wrap() {
        let spec = ValueSpec::Counter {
            start: 1.0,
            step: 1.0,
            max: Some(3.0),
            decimals: None,
        };
        assert_eq!(
            run(&spec, 5),
            [json!(1), json!(2), json!(3), json!(1), json!(2)]
        );
    }

    #[test]
    fn walks_stay_within_bounds() {
        let spec = ValueSpec::Walk {
            start: Some(20.0),
            min: 15.0,
            max: 25.0,
            step: 3.0,
            decimals: Some(1),
        };
        for value in run(&spec, 1000) {
            let v = value.as_f64().expect("a number");
            assert!((15.0..=25.0).contains(&v), "{v}");
        }
    }

    #[test]
    fn sines_follow_their_period_and_choices_their_weights() {
        let spec = ValueSpec::Sine {
            min: 0.0,
            max: 10.0,
            period: Dur::secs(4),
            phase: Some(0.0),
            noise: 0.0,
            decimals: Some(1),
        };
        assert_eq!(
            run(&spec, 4),
            [json!(5.0), json!(10.0), json!(5.0), json!(0.0)]
        );
        let spec = ValueSpec::Choice {
            values: vec![toml::Value::from("on"), toml::Value::from("off")],
            weights: Some(vec![1.0, 0.0]),
        };
        assert!(run(&spec, 50).iter().all(|v| v == "on"));
    }

    #[test]
    fn gps_tracks_move_at_their_speed_and_stay_near_home() {
        let spec = ValueSpec::Gps {
            lat: 52.52,
            lon: 13.40,
            speed_kmh: 36.0,
            turn: 10.0,
            radius_km: Some(1.0),
        };
        let points = run(&spec, 3600);
        let last = &points[3599];
        let (lat, lon) = (last["lat"].as_f64().unwrap(), last["lon"].as_f64().unwrap());
        let km =
            (((lat - 52.52) * 111.32).powi(2) + ((lon - 13.40) * 111.32 * 0.608).powi(2)).sqrt();
        assert!(km < 1.2, "{km} km from home after an hour");
        let first = &points[1];
        let moved = (((first["lat"].as_f64().unwrap() - 52.52) * 111.32).powi(2)
            + ((first["lon"].as_f64().unwrap() - 13.40) * 111.32 * 0.608).powi(2))
        .sqrt();
        assert!(
            (moved - 0.01).abs() < 0.002,
            "36 km/h is 10 m a second, moved {moved} km"
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let spec = ValueSpec::Walk {
            start: Some(40.0),
            min: 15.0,
            max: 25.0,
            step: 1.0,
            decimals: None,
        };
        assert!(spec.problem().unwrap().contains("outside"));
        let spec = ValueSpec::Choice {
            values: vec![],
            weights: None,
        };
        assert_eq!(spec.problem().as_deref(), Some("values is empty"));
    }
}
