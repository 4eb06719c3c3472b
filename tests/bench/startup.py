#!/usr/bin/env python3
"""Cold start to the first rendered frame, and the size of the packages.

Starts the app N times (a fresh config folder each time, so nothing is restored) and times, on
this script's clock, the process's start to the moment its page has mounted and asked the
backend for its first data (the app prints a marker then when MQTT_WORKBENCH_STARTUP_PROBE is
set). Reports each run and the median. Run under a display (`make bench-startup` uses Xvfb).

    python3 tests/bench/startup.py target/release/mqtt-workbench [--runs 5]
           [--bundles target/release/bundle]
"""

import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

MARKER = "mqtt-workbench: first frame"


def one_start(binary, timeout):
    with tempfile.TemporaryDirectory() as config, tempfile.TemporaryDirectory() as data:
        env = dict(os.environ)
        env.update(
            MQTT_WORKBENCH_CONFIG_DIR=config,
            MQTT_WORKBENCH_STARTUP_PROBE="1",
            # The webview's own data (local storage, caches) fresh too.
            XDG_DATA_HOME=data,
            XDG_CACHE_HOME=data,
        )
        started = time.monotonic()
        app = subprocess.Popen(
            [binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = started + timeout
            for line in app.stderr:
                if MARKER in line:
                    return time.monotonic() - started
                if time.monotonic() > deadline:
                    break
            raise SystemExit(f"no first frame within {timeout} s (exit {app.poll()})")
        finally:
            app.terminate()
            try:
                app.wait(10)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--bundles", help="a bundle folder whose packages' sizes are reported")
    args = parser.parse_args()
    times = []
    for run in range(args.runs):
        seconds = one_start(args.binary, args.timeout)
        times.append(seconds)
        print(f"start {run + 1}: first frame after {seconds * 1000:.0f} ms", flush=True)
    print(
        f"cold start to first frame: median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {len(times)} starts"
    )
    print(f"binary: {os.path.getsize(args.binary) / 1e6:.1f} MB ({args.binary})")
    if args.bundles:
        for path in sorted(glob.glob(os.path.join(args.bundles, "**", "*"), recursive=True)):
            if path.endswith((".deb", ".rpm", ".AppImage", ".msi", ".exe", ".dmg")):
                print(f"package: {os.path.getsize(path) / 1e6:.1f} MB ({path})")


if __name__ == "__main__":
    sys.exit(main())
