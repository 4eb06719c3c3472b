# MQTT Workbench: `make run` starts the app, `make test` runs every test.
# Both install what is missing first (Debian/Ubuntu packages via apt-get, tauri-driver via cargo,
# frontend packages via npm ci), so they work on a fresh machine with only Rust, Node.js and npm.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The binary embeds the built frontend (ui/dist) instead of loading the Vite dev server.
FEATURES := --features tauri/custom-protocol
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin

# Tauri's Linux build and runtime needs, the virtual display and WebDriver for end-to-end tests,
# and mosquitto as the independent broker and clients the tests compare against.
APT_PACKAGES := build-essential pkg-config curl file libwebkit2gtk-4.1-dev libxdo-dev libssl-dev \
	libayatana-appindicator3-dev librsvg2-dev xvfb xauth webkit2gtk-driver \
	libdbus-1-dev mosquitto mosquitto-clients python3-pip openssl

.PHONY: help run test test-rust test-ui test-e2e lint deps deps-system deps-tools deps-ui deps-python ui \
	bindings package clean bench-broker bench-traffic bench-session

help:
	@echo "make run      build and start MQTT Workbench (needs a display)"
	@echo "make test     every check: format, clippy, Rust tests, UI checks and tests, end-to-end"
	@echo "make bindings regenerate ui/src/lib/platform/bindings.ts from src-tauri/ipc"
	@echo "make package  build a release .deb and .rpm (target/release/bundle/)"
	@echo "make bench-broker  embedded broker vs mosquitto throughput (release build)"
	@echo "make bench-traffic traffic model: ingest rate, memory, view frames, soak"
	@echo "make bench-session  a session (rumqttc + packet tap + model) vs bare rumqttc, to mosquitto"

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

# Eclipse Paho, the independent Python client the broker tests use.
deps-python:
	@python3 -c "import paho.mqtt" 2>/dev/null || \
	  python3 -m pip install --quiet --disable-pip-version-check 'paho-mqtt>=2,<3' 2>/dev/null || \
	  python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages 'paho-mqtt>=2,<3'

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

test: deps ui lint test-rust test-ui test-e2e
	@echo "make test: all checks passed"

lint: deps-ui ui
	cargo fmt --all -- --check
	cargo clippy --all-targets $(FEATURES) -- -D warnings
	cd ui && npm run check && npm run lint

# Time limits turn a hung test into a failure long before CI's own limit (the builds are inside).
test-rust: ui deps-python
	timeout 2400 cargo test $(FEATURES)

test-ui: deps-ui
	cd ui && timeout 900 npm test

# The real window under a virtual display, driven through tauri-driver and WebKitWebDriver.
# Screenshots land in target/e2e-screenshots/.
test-e2e: ui deps-tools
	PATH="$(CARGO_BIN):$$PATH" timeout 2400 xvfb-run -a -s "-screen 0 1280x800x24" \
	  cargo test $(FEATURES) --test e2e_window -- --ignored --test-threads=1

# Throughput of the embedded broker against mosquitto, side by side (release build).
bench-broker: deps-system
	cargo bench --bench broker_throughput

# The traffic model: ingest rate, memory per topic and message, view frames, a 10-minute soak.
bench-traffic:
	cargo bench --bench traffic_model

bench-session: deps-system
	cargo bench --bench session_throughput

bindings:
	UPDATE_BINDINGS=1 cargo test $(FEATURES) --test ipc_contract

## Packaging ---------------------------------------------------------------------------------

package: deps-system deps-ui
	# The Tauri CLI runs beforeBuildCommand in the frontend folder (ui/).
	TAURI_FRONTEND_PATH=ui TAURI_APP_PATH=. ui/node_modules/.bin/tauri build --bundles deb,rpm

clean:
	cargo clean
	rm -rf ui/dist ui/node_modules
