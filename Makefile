# MQTT Workbench: `make run` starts the app, `make test` runs every test.
# Both install what is missing first (Debian/Ubuntu packages via apt-get, tauri-driver via cargo,
# frontend packages via npm ci), so they work on a fresh machine with only Rust, Node.js and npm.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The binary embeds the built frontend (ui/dist) instead of loading the Vite dev server. With
# --workspace the flag still applies to the app package only (the one crate that has tauri).
FEATURES := --features tauri/custom-protocol
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)

# The workspace's crates under the Tauri shell (src-tauri/crates/): none may ever depend on a
# window toolkit, and mqttwb, built from them alone, must not link one.
CORE_CRATES := workbench-wire workbench-broker workbench-traffic workbench-session workbench-charts workbench-decode \
	workbench-secrets workbench-core workbench-cli workbench-capture workbench-tools workbench-classroom \
	workbench-faults workbench-learn workbench-amqp workbench-proxy
GUI_PACKAGES := tauri|wry|webkit2gtk|javascriptcore|gtk|tao
GUI_LIBRARIES := libwebkit2gtk|libjavascriptcoregtk|libgtk
# The longest a Rust file under src-tauri/ may be; to be lowered to 600.
MAX_LINES := 600
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin

# Tauri's Linux build and runtime needs, the virtual display and WebDriver for end-to-end tests,
# mosquitto as the independent broker and clients the tests compare against, and tshark (with
# editcap) to read the pcapng files the workbench writes as Wireshark does.
APT_PACKAGES := build-essential pkg-config curl file libwebkit2gtk-4.1-dev libxdo-dev libssl-dev \
	libayatana-appindicator3-dev librsvg2-dev xvfb xauth webkit2gtk-driver \
	libdbus-1-dev mosquitto mosquitto-clients python3-pip openssl tshark

.PHONY: help run test test-rust test-ui test-e2e lint check-layers check-cli-links check-size deps \
	deps-system deps-tools deps-ui deps-python ui bindings package install-cli clean bench-broker \
	bench-scale bench-hostile bench-traffic bench-session bench-idle bench-search bench-startup bench-teach-map bench-replay \
	bench-load test-classroom bench-proxy bench-faults test-rabbitmq test-rabbitmq-ui deps-rabbitmq

help:
	@echo "make run      build and start MQTT Workbench (needs a display)"
	@echo "make test     every check: format, clippy, layers, Rust tests, UI checks and tests, end-to-end"
	@echo "make check-layers  fail if a core crate depends on tauri or WebKit (also in make test)"
	@echo "make bindings regenerate ui/src/lib/platform/bindings.ts from src-tauri/ipc"
	@echo "make package  build a release .deb and .rpm (target/release/bundle/)"
	@echo "make install-cli  install mqttwb, the command line (headless broker), into ~/.cargo/bin"
	@echo "make test-rabbitmq  AMQP sessions and mqttwb amqp against a real RabbitMQ, with pika (~2 min)"
	@echo "make test-rabbitmq-ui  an AMQP session in the real window against RabbitMQ (Hello World, nack), Xvfb"
	@echo "make test-classroom  the classroom with a real browser (chromium + chromedriver, installed if missing)"
	@echo "make bench-broker  broker throughput, 1 pub -> 1 sub: workbench vs bare rumqttd vs mosquitto"
	@echo "make bench-scale   broker at scale: memory per connection, connection rate, fan-out, fan-in, many topics, retained, latency (~10 min)"
	@echo "make bench-hostile broker vs hostile clients (subscription flood, big retained replay, churn): workbench vs mosquitto"
	@echo "make bench-traffic traffic model: ingest rate, memory, view frames, soak"
	@echo "make bench-idle  CPU and memory of the whole app, idle and at 10 msg/s, over 60 s each"
	@echo "make bench-startup  cold start to the first rendered frame, and the packages' sizes"
	@echo "make bench-teach-map  the live map: frame time at 50 clients x 5,000 msg/s, and idle"
	@echo "make bench-search  the filter box's payload search on 100,000 topics, next to topic filters"
	@echo "make bench-proxy    the inspecting proxy vs a direct connection to mosquitto: throughput and added latency"
	@echo "make bench-session  a session (rumqttc + packet tap + model) vs bare rumqttc, to mosquitto"
	@echo "make bench-load   mqttwb bench's publish rate vs the raw-socket generator and a rumqttc loop, on mosquitto and the workbench broker"
	@echo "make bench-replay  replay as fast as possible into the embedded broker vs mosquitto"

## Installing what is missing ---------------------------------------------------------------

deps: deps-system deps-tools deps-ui deps-python

deps-system:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

deps-tools:
	@if ! command -v tauri-driver >/dev/null && [ ! -x "$(CARGO_BIN)/tauri-driver" ]; then \
	  echo "Installing tauri-driver"; \
	  cargo install tauri-driver --locked; \
	fi

# Eclipse Paho, the independent Python client the broker tests use; pysparkplug, grpcio-tools
# and protobuf, the independent encoders the Sparkplug B and Protobuf decoder tests use.
PYTHON_PACKAGES := 'paho-mqtt>=2,<3' grpcio-tools protobuf pika
# pysparkplug (the tests' independent Sparkplug encoder) pins paho-mqtt<2; only its payload
# encoding is used, so it is installed without its dependencies and paho stays at 2.
PYTHON_NO_DEPS := pysparkplug
PIP := python3 -m pip install --quiet --disable-pip-version-check
deps-python:
	@python3 -c "import paho.mqtt.client as c; c.CallbackAPIVersion; import pysparkplug, grpc_tools, google.protobuf, pika" 2>/dev/null || \
	  { $(PIP) $(PYTHON_PACKAGES) 2>/dev/null || $(PIP) --user --break-system-packages $(PYTHON_PACKAGES); } && \
	  { $(PIP) --no-deps $(PYTHON_NO_DEPS) 2>/dev/null || $(PIP) --no-deps --user --break-system-packages $(PYTHON_NO_DEPS); }

deps-ui: ui/node_modules/.installed

ui/node_modules/.installed: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	touch $@

ui: deps-ui
	cd ui && npm run build

## Running -----------------------------------------------------------------------------------

run:
	@if [ "$$(uname)" = Linux ] && [ -z "$${DISPLAY:-}" ] && [ -z "$${WAYLAND_DISPLAY:-}" ]; then \
	  echo "make run starts a desktop window, but no display was found (DISPLAY and WAYLAND_DISPLAY are unset)."; \
	  echo "On a machine without a screen, run it under a virtual X server:"; \
	  echo "    xvfb-run -a make run"; \
	  exit 2; \
	fi
	$(MAKE) deps-system deps-ui ui
	cargo run $(FEATURES)

## Testing -----------------------------------------------------------------------------------

test: deps ui lint check-layers check-cli-links check-size test-rust test-ui test-e2e
	@echo "make test: all checks passed"

lint: deps-ui ui
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets $(FEATURES) -- -D warnings
	cd ui && npm run check && npm run lint

# No core crate may depend on tauri or WebKit, directly or through anything else; on failure,
# the inverted tree shows which dependency pulled the first offender in.
check-layers:
	@failed=""; \
	for crate in $(CORE_CRATES); do \
	  tree=$$(cargo tree -p "$$crate" -e normal,build --prefix none); \
	  if bad=$$(grep -E '^($(GUI_PACKAGES))' <<<"$$tree" | cut -d' ' -f1,2 | sort -u); then \
	    echo "check-layers: $$crate depends on" $$(cut -d' ' -f1 <<<"$$bad") "(a core crate must never depend on tauri or WebKit)"; \
	    for name in $(subst |, ,$(GUI_PACKAGES)); do \
	      first=$$(grep -m 1 "^$$name " <<<"$$bad") && break; \
	    done; \
	    [ -n "$$first" ] || first=$$(head -n 1 <<<"$$bad"); \
	    echo "  what pulled $${first% *} in:"; \
	    cargo tree -p "$$crate" -e normal,build -i "$${first% v*}@$${first#* v}" | sed 's/^/    /'; \
	    failed="$$failed $$crate"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "check-layers: failed for$$failed"; exit 1; fi; \
	echo "check-layers: no core crate depends on tauri or WebKit"

# mqttwb, built as `cargo install` builds it (its own features only), links no GTK or WebKit.
# Built with the workspace's features (as the tests build it): a superset of mqttwb's own, so a
# pass here holds for `cargo install` too, and the build is shared with test-rust's.
check-cli-links:
	cargo build --workspace $(FEATURES) --bin mqttwb
	@binary="$(TARGET_DIR)/debug/mqttwb"; \
	libs=$$(ldd "$$binary"); \
	if bad=$$(grep -E '$(GUI_LIBRARIES)' <<<"$$libs"); then \
	  echo "check-cli-links: $$binary links libraries of a window toolkit:"; \
	  echo "$$bad"; \
	  exit 1; \
	fi; \
	echo "check-cli-links: mqttwb links no GTK or WebKit library"

# No source file (Rust under src-tauri/ and tests/, Svelte and TypeScript under ui/src/) longer
# than MAX_LINES: one concern per file. Generated files (marked "generated" in their first lines)
# are excepted.
check-size:
	@too_long=""; \
	while IFS= read -r -d '' file; do \
	  if head -n 5 "$$file" | grep -qi 'generated by\|@generated'; then continue; fi; \
	  lines=$$(wc -l < "$$file"); \
	  if [ "$$lines" -gt $(MAX_LINES) ]; then too_long="$$too_long"$$'\n'"  $$file: $$lines lines"; fi; \
	done < <( { find src-tauri tests -name '*.rs' -not -path '*/gen/*' -not -path '*/target/*' -print0; \
	            find ui/src \( -name '*.svelte' -o -name '*.ts' \) -print0; } | sort -z); \
	if [ -n "$$too_long" ]; then \
	  echo "check-size: these source files are longer than $(MAX_LINES) lines:$$too_long"; \
	  echo "Split each by concern (one concern per file) into modules of at most $(MAX_LINES) lines."; \
	  exit 1; \
	fi; \
	echo "check-size: every source file has at most $(MAX_LINES) lines"

# Time limits turn a hung test into a failure long before CI's own limit (the builds are inside).
test-rust: ui deps-python
	timeout 2400 cargo test --workspace $(FEATURES)

test-ui: deps-ui
	cd ui && timeout 900 npm test

# The real window under a virtual display, driven through tauri-driver and WebKitWebDriver.
# Screenshots land in target/e2e-screenshots/.
# --workspace: the features test-rust builds with, so the window tests reuse its build (without
# it cargo resolves the app's features alone and rebuilds about a hundred crates).
test-e2e: ui deps-tools
	PATH="$(CARGO_BIN):$$PATH" timeout 2400 xvfb-run -a -s "-screen 0 1280x800x24" \
	  cargo test --workspace $(FEATURES) --test e2e_window -- --ignored --test-threads=1 --skip with_chromium \
	  --skip with_rabbitmq

# The classroom with a real browser: the app's window turns the classroom on, Debian's chromium
# (driven by chromedriver) opens the student page, joins, publishes; the window shows the student.
CLASSROOM_APT := chromium chromium-driver
test-classroom: ui deps-tools deps-system
	@missing=""; for p in $(CLASSROOM_APT); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	PATH="$(CARGO_BIN):$$PATH" timeout 1200 xvfb-run -a -s "-screen 0 1280x800x24" \
	  cargo test --workspace $(FEATURES) --test e2e_window -- --ignored --test-threads=1 classroom::

# AMQP 0-9-1 against a real RabbitMQ (Debian's rabbitmq-server, one node per test on free ports
# with its own data folder; the Python pika client as the independent peer). Not in `make test`:
# each node takes 5 to 20 s to start. About 1 to 2 minutes on this machine, builds excluded.
RABBITMQ_APT := rabbitmq-server
deps-rabbitmq: deps-python
	@missing=""; for p in $(RABBITMQ_APT); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

test-rabbitmq: deps-rabbitmq
	timeout 1200 cargo test -p workbench-amqp -p workbench-cli -p workbench-core --test rabbitmq --test rabbitmq_failures \
	  --test rabbitmq_queues --test amqp -- \
	  --include-ignored --test-threads=2
	timeout 600 cargo test -p workbench-learn --test more_lessons -- --ignored rabbitmq_lesson::

# The AMQP session in the real window against RabbitMQ (the e2e tests named `with_rabbitmq`,
# which test-e2e skips): Hello World from the form, pika's message nacked and redelivered; the
# queue view's depths against rabbitmqctl list_queues.
test-rabbitmq-ui: ui deps-tools deps-rabbitmq
	PATH="$(CARGO_BIN):$$PATH" timeout 1200 xvfb-run -a -s "-screen 0 1280x800x24" \
	  cargo test --workspace $(FEATURES) --test e2e_window -- --ignored --test-threads=1 with_rabbitmq

# The load generator's own overhead: mqttwb bench's publish rate beside the broker benchmarks'
# raw-socket generator and a plain rumqttc loop, against mosquitto and the workbench broker.
bench-load: deps-system
	cargo build --release -p workbench-broker --examples
	cargo bench -p workbench-tools --bench tools_overhead

# The broker benchmarks run the workbench broker and bare rumqttd as processes of their own (this
# crate's examples, built in release first) next to mosquitto, in the same run.
# Throughput, 1 publisher -> 1 subscriber, driven by raw sockets and by rumqttc clients.
bench-broker: deps-system
	cargo build --release -p workbench-broker --examples
	cargo bench -p workbench-broker --bench broker_throughput

# What fault injection costs the broker: no rule, a rule for another client, a rule on both
# clients, side by side in one run.
bench-faults: deps-system
	cargo bench -p workbench-broker --bench fault_overhead

# Scale: memory per idle connection, connection rate, fan-out, fan-in, many topics, retained
# replay, latency at a fixed rate (about 10 minutes; sizes through BENCH_* variables).
bench-scale: deps-system
	cargo build --release -p workbench-broker --examples
	cargo bench -p workbench-broker --bench broker_scale

# Hostile clients: a subscription flood, 50,000 retained to a new # subscriber, churn.
bench-hostile: deps-system
	cargo build --release -p workbench-broker --examples
	cargo bench -p workbench-broker --bench broker_hostile

# The traffic model: ingest rate, memory per topic and message, view frames, a 10-minute soak.
bench-traffic:
	cargo bench -p workbench-traffic --bench traffic_model

# The topic filter box's payload search (`payload:`) on 100,000 topics, next to topic filters.
bench-search:
	cargo bench -p workbench-traffic --bench payload_search

bench-session: deps-system
	cargo bench -p workbench-session --bench session_throughput

# The inspecting proxy vs a direct connection to mosquitto: throughput (QoS 0 and 1) and the
# latency it adds, in one run.
bench-proxy: deps-system
	cargo bench -p workbench-proxy --bench proxy_throughput

# Replay as fast as possible into the embedded broker and mosquitto, QoS 0 and 1, same run.
bench-replay: deps-system
	cargo bench -p workbench-capture --bench replay_rate

# What the whole app (backend and WebKit) costs idle over 60 s, and at ten messages a second.
# Cold start to the first rendered frame (release build, 5 starts), and the packages' sizes
# when `make package` made them.
bench-startup: ui deps-system
	cargo build --release $(FEATURES)
	xvfb-run -a -s "-screen 0 1280x800x24" python3 tests/bench/startup.py \
	  target/release/mqtt-workbench --runs 5 --bundles target/release/bundle

bench-idle: ui deps-system
	cargo build $(FEATURES)
	xvfb-run -a -s "-screen 0 1280x800x24" python3 tests/bench/idle_cpu.py \
	  target/debug/mqtt-workbench --seconds 60 --traffic

# The live map in the real window: frame time at 50 clients x 5,000 msg/s, and its idle cost.
bench-teach-map: ui deps-system deps-tools
	PATH="$(CARGO_BIN):$$PATH" xvfb-run -a -s "-screen 0 1280x800x24" \
	  cargo test $(FEATURES) --test teach_map_bench -- --ignored --nocapture

bindings:
	UPDATE_BINDINGS=1 cargo test $(FEATURES) --test ipc_contract

## Packaging ---------------------------------------------------------------------------------

# The app's .deb and .rpm (the Tauri bundler), and beside them mqttwb's own .deb: the command line
# needs no desktop stack, so a headless machine installs it alone (dpkg-deb, no GTK dependency).
VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
package: deps-system deps-ui
	cargo build --release --locked -p workbench-cli
	# The Tauri CLI runs beforeBuildCommand in the frontend folder (ui/).
	TAURI_FRONTEND_PATH=ui TAURI_APP_PATH=. ui/node_modules/.bin/tauri build --bundles deb,rpm
	# Tauri packs the .deb's files with gzip; repacked with xz as Debian packs its own (about a
	# third smaller; every dpkg since 2010 reads it).
	for deb in $(TARGET_DIR)/release/bundle/deb/*.deb; do \
	  rm -rf $(TARGET_DIR)/deb-xz && dpkg-deb -R "$$deb" $(TARGET_DIR)/deb-xz && \
	  dpkg-deb --root-owner-group -Zxz -z9 --build $(TARGET_DIR)/deb-xz "$$deb" && rm -rf $(TARGET_DIR)/deb-xz; \
	done
	rm -rf $(TARGET_DIR)/cli-deb && mkdir -p $(TARGET_DIR)/cli-deb/DEBIAN $(TARGET_DIR)/cli-deb/usr/bin
	install -m 0755 $(TARGET_DIR)/release/mqttwb $(TARGET_DIR)/cli-deb/usr/bin/mqttwb
	printf 'Package: mqttwb\nVersion: %s\nArchitecture: %s\nMaintainer: MQTT Workbench <mqttworkbench@users.noreply.github.com>\nDepends: libc6\nSection: net\nPriority: optional\nDescription: MQTT Workbench on the command line\n broker, record, replay, convert, simulate and bench, without a window.\n' \
	  "$(VERSION)" "$(DEB_ARCH)" > $(TARGET_DIR)/cli-deb/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(TARGET_DIR)/cli-deb $(TARGET_DIR)/release/bundle/deb/mqttwb_$(VERSION)_$(DEB_ARCH).deb
	@ls -l $(TARGET_DIR)/release/bundle/deb/ $(TARGET_DIR)/release/bundle/rpm/

# mqttwb, the command line (the headless broker), next to the app: into ~/.cargo/bin.
install-cli:
	cargo install --locked --path src-tauri/crates/cli

clean:
	cargo clean
	rm -rf ui/dist ui/node_modules
