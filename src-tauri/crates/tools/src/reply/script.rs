//! Sandboxed scripts for auto-replies, in [Rhai](https://rhai.rs): for the logic a declarative
//! rule cannot say (a thermostat that answers with a setpoint clamped to its range, a lock that
//! refuses a wrong code). A script sees the request and the device, may change the device's
//! state, and returns its reply.
//!
//! In scope: `topic` (string), `payload` (string), `json` (the payload as a map or array, or `()`
//! when it is not JSON), `captures` (the `+` and `#` levels of the filter, an array of strings),
//! `device` (a map: `id`, `n`, `i`, `client_id` and the file's `vars`) and `state` (the device's
//! state as a map; what the script changes is kept). It returns `()` (no reply), a string (the
//! reply's payload), a map `#{ topic, payload, qos, retain, delay_ms }` (each optional; a map or
//! array payload is sent as JSON), or an array of such maps.
//!
//! The sandbox: no modules or `import` (the crate is built without them), no `eval`, no file,
//! network, process or clock beyond `timestamp()`; at most [`MAX_OPERATIONS`] operations and
//! [`TIME_LIMIT`] of time per call, strings of at most [`MAX_STRING`] bytes, arrays and maps of
//! at most [`MAX_ITEMS`] entries, 32 nested calls. `print` and `debug` go to the simulator's log.

use rhai::{Dynamic, Engine, Scope, AST};
use serde_json::Value;
use std::cell::Cell;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Operations one call may run (a loop iteration, a call, an operator: about one each).
pub const MAX_OPERATIONS: u64 = 200_000;
/// Time one call may take.
pub const TIME_LIMIT: Duration = Duration::from_millis(50);
/// The longest string a script may build, in bytes.
pub const MAX_STRING: usize = 256 * 1024;
/// The most entries of an array or a map.
pub const MAX_ITEMS: usize = 10_000;

thread_local! {
    /// When the call running on this thread must end (a call never moves between threads).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// A script that did not compile: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The line within the script (from 1), when known.
    pub line: Option<usize>,
    pub message: String,
}

/// What one call gives back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScriptReply {
    pub topic: Option<String>,
    pub payload: Option<Vec<u8>>,
    pub qos: Option<u8>,
    pub retain: Option<bool>,
    pub delay: Option<Duration>,
}

/// What a script sees.
pub struct ScriptInput<'a> {
    pub topic: &'a str,
    pub payload: &'a str,
    pub json: Option<&'a Value>,
    pub captures: &'a [String],
    pub device: &'a serde_json::Map<String, Value>,
}

/// The engine and the compiled scripts of one simulator.
pub struct Sandbox {
    engine: Engine,
    scripts: Vec<AST>,
    /// What scripts printed, newest last (the simulator moves it into its log).
    printed: Arc<Mutex<Vec<String>>>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let mut engine = Engine::new();
        engine
            .set_max_operations(MAX_OPERATIONS)
            .set_max_string_size(MAX_STRING)
            .set_max_array_size(MAX_ITEMS)
            .set_max_map_size(MAX_ITEMS)
            .set_max_call_levels(32)
            .set_max_expr_depths(64, 32)
            .set_max_variables(1_000)
            .set_max_functions(200)
            .set_strict_variables(true);
        engine.disable_symbol("eval");
        engine.on_progress(|operations| {
            if operations % 128 != 0 {
                return None;
            }
            let late = DEADLINE
                .with(|d| d.get())
                .is_some_and(|d| Instant::now() > d);
            late.then(|| Dynamic::from("time limit"))
        });
        let printed = Arc::new(Mutex::new(Vec::new()));
        let sink = printed.clone();
        let keep = move |text: &str| {
            let mut lines = sink.lock().unwrap_or_else(|p| p.into_inner());
            if lines.len() < 100 {
                lines.push(text.chars().take(500).collect());
            }
        };
        let keep_debug = keep.clone();
        engine.on_print(keep);
        engine.on_debug(move |text, _, _| keep_debug(text));
        Sandbox {
            engine,
            scripts: Vec::new(),
            printed,
        }
    }

    /// Compiles a script; returns its index for [`Sandbox::run`].
    pub fn compile(&mut self, source: &str) -> Result<usize, CompileError> {
        // The scope's names are declared for the compiler (strict variables).
        let scope = Self::declared();
        let ast = self
            .engine
            .compile_with_scope(&scope, source)
            .map_err(|e| CompileError {
                line: e.1.line(),
                message: e.0.to_string(),
            })?;
        self.scripts.push(ast);
        Ok(self.scripts.len() - 1)
    }

    fn declared() -> Scope<'static> {
        let mut scope = Scope::new();
        for name in ["topic", "payload", "json", "captures", "device", "state"] {
            scope.push(name, Dynamic::UNIT);
        }
        scope
    }

    /// Lines the scripts printed since the last call.
    pub fn take_printed(&self) -> Vec<String> {
        std::mem::take(&mut *self.printed.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs script `index` on a request; `state` is the device's state, changed in place.
    pub fn run(
        &self,
        index: usize,
        input: &ScriptInput<'_>,
        state: &mut serde_json::Map<String, Value>,
    ) -> Result<Vec<ScriptReply>, String> {
        let ast = self.scripts.get(index).ok_or("no such script")?;
        let dynamic = |v: &Value| rhai::serde::to_dynamic(v).unwrap_or(Dynamic::UNIT);
        let mut scope = Scope::new();
        scope.push("topic", input.topic.to_string());
        scope.push("payload", input.payload.to_string());
        scope.push("json", input.json.map_or(Dynamic::UNIT, dynamic));
        scope.push(
            "captures",
            input
                .captures
                .iter()
                .map(|c| Dynamic::from(c.clone()))
                .collect::<rhai::Array>(),
        );
        scope.push("device", dynamic(&Value::Object(input.device.clone())));
        scope.push("state", dynamic(&Value::Object(state.clone())));
        DEADLINE.with(|d| d.set(Some(Instant::now() + TIME_LIMIT)));
        let result = self.engine.eval_ast_with_scope::<Dynamic>(&mut scope, ast);
        DEADLINE.with(|d| d.set(None));
        let result = result.map_err(|e| explain(&e))?;
        if let Some(new_state) = scope.get_value::<Dynamic>("state") {
            if let Ok(Value::Object(map)) = rhai::serde::from_dynamic::<Value>(&new_state) {
                *state = map;
            }
        }
        replies(result)
    }
}

/// A script's failure in words.
fn explain(error: &rhai::EvalAltResult) -> String {
    use rhai::EvalAltResult as E;
    let line = error
        .position()
        .line()
        .map_or(String::new(), |l| format!(" (script line {l})"));
    match error {
        E::ErrorTooManyOperations(_) => {
            format!("the script ran more than {MAX_OPERATIONS} operations and was stopped{line}")
        }
        E::ErrorTerminated(..) => format!(
            "the script ran longer than {} ms and was stopped{line}",
            TIME_LIMIT.as_millis()
        ),
        E::ErrorDataTooLarge(what, _) => format!("the script built a {what} too large{line}"),
        other => format!("script error: {other}"),
    }
}

fn replies(result: Dynamic) -> Result<Vec<ScriptReply>, String> {
    if result.is_unit() {
        return Ok(Vec::new());
    }
    if result.is_array() {
        let items = result.into_array().unwrap_or_default();
        return items.into_iter().map(one_reply).collect();
    }
    one_reply(result).map(|r| vec![r])
}

fn payload_bytes(value: Dynamic) -> Vec<u8> {
    if value.is_string() {
        return value.into_string().unwrap_or_default().into_bytes();
    }
    if value.is_map() || value.is_array() {
        if let Ok(json) = rhai::serde::from_dynamic::<Value>(&value) {
            return json.to_string().into_bytes();
        }
    }
    value.to_string().into_bytes()
}

fn one_reply(value: Dynamic) -> Result<ScriptReply, String> {
    if !value.is_map() {
        return Ok(ScriptReply {
            payload: Some(payload_bytes(value)),
            ..ScriptReply::default()
        });
    }
    let map = value.cast::<rhai::Map>();
    let mut reply = ScriptReply::default();
    for (key, value) in map {
        match key.as_str() {
            "topic" => reply.topic = Some(value.to_string()),
            "payload" => reply.payload = Some(payload_bytes(value)),
            "qos" => match value.as_int() {
                Ok(q @ 0..=2) => reply.qos = Some(q as u8),
                _ => return Err("the reply's qos must be 0, 1 or 2".into()),
            },
            "retain" => {
                reply.retain = Some(
                    value
                        .as_bool()
                        .map_err(|_| "the reply's retain must be true or false")?,
                )
            }
            "delay_ms" => match value.as_int() {
                Ok(ms @ 0..=600_000) => reply.delay = Some(Duration::from_millis(ms as u64)),
                _ => return Err("the reply's delay_ms must be 0 to 600000".into()),
            },
            other => {
                return Err(format!(
                "the reply has an unknown field '{other}' (topic, payload, qos, retain, delay_ms)"
            ))
            }
        }
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(source: &str, payload: &str) -> (Result<Vec<ScriptReply>, String>, Value) {
        let mut sandbox = Sandbox::new();
        let index = sandbox.compile(source).expect("compiles");
        let json: Option<Value> = serde_json::from_str(payload).ok();
        let device = json!({"id": "lock-1", "n": 1})
            .as_object()
            .cloned()
            .unwrap();
        let mut state = json!({"code": "1234", "open": false})
            .as_object()
            .cloned()
            .unwrap();
        let input = ScriptInput {
            topic: "locks/lock-1/open",
            payload,
            json: json.as_ref(),
            captures: &["lock-1".to_string()],
            device: &device,
        };
        let result = sandbox.run(index, &input, &mut state);
        (result, Value::Object(state))
    }

    #[test]
    fn scripts_answer_and_keep_state() {
        let source = r#"
            if json.code == state.code {
                state.open = true;
                #{ payload: #{ open: true, by: device.id }, qos: 1 }
            } else {
                #{ topic: `locks/${captures[0]}/alarm`, payload: "wrong code" }
            }
        "#;
        let (replies, state) = run(source, r#"{"code": "1234"}"#);
        let replies = replies.unwrap();
        assert_eq!(state["open"], json!(true));
        let body: Value = serde_json::from_slice(replies[0].payload.as_ref().unwrap()).unwrap();
        assert_eq!(body, json!({"open": true, "by": "lock-1"}));
        assert_eq!(replies[0].qos, Some(1));
        let (replies, state) = run(source, r#"{"code": "0000"}"#);
        assert_eq!(state["open"], json!(false));
        assert_eq!(
            replies.unwrap()[0].topic.as_deref(),
            Some("locks/lock-1/alarm")
        );
        assert_eq!(run("()", "x").0, Ok(vec![]));
        assert_eq!(
            run(r#""pong""#, "x").0.unwrap()[0].payload.as_deref(),
            Some(&b"pong"[..])
        );
    }

    #[test]
    fn runaway_scripts_are_stopped() {
        let (result, _) = run("loop { }", "x");
        assert!(
            result.unwrap_err().contains("operations"),
            "an endless loop ends"
        );
        let (result, _) = run(r#"let s = "x"; loop { s += s; }"#, "x");
        assert!(
            result.unwrap_err().contains("too large"),
            "a string cannot grow without bound"
        );
        let (result, _) = run("fn f(x) { f(x + 1) } f(0)", "x");
        assert!(result.is_err(), "unbounded recursion ends");
    }

    #[test]
    fn the_sandbox_has_no_way_out() {
        let mut sandbox = Sandbox::new();
        for escape in [
            r#"import "os" as os;"#,
            r#"eval("1")"#,
            "undeclared_variable + 1",
        ] {
            assert!(
                sandbox.compile(escape).is_err(),
                "{escape} must not compile"
            );
        }
        let error = sandbox.compile("let x = ;\nlet y = 2;").unwrap_err();
        assert_eq!(error.line, Some(1));
    }
}
