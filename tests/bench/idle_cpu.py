#!/usr/bin/env python3
"""What the app costs when nothing happens: CPU and memory of all its processes, idle.

Starts the app (the backend and, under it, WebKit's web and network processes) with a fresh
config folder, lets it settle, then reads each process's CPU time from /proc at the start and at
the end of a window (60 s by default) and reports the share of one core each used, and their
resident and proportional memory. Nothing is connected and nothing arrives: the broker runs with
no clients, no session is open. Run under a display (`make bench-idle` uses Xvfb).

    python3 tests/bench/idle_cpu.py target/debug/mqtt-workbench [--seconds 60] [--settle 15]
           [--traffic] [--json out.json]

--traffic additionally runs a second window in which one mosquitto_pub client publishes ten
messages a second to the embedded broker, to show what the same processes cost while something is shown.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def children_of(pid):
    """Every process under `pid`, itself included (from /proc/*/stat parent links)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(parents.get(p, []))
    return found


def sample(pid):
    """(name, cpu seconds, rss bytes, pss bytes) of one process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        rss = int(fields[21]) * PAGE
        pss = 0
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss = int(line.split()[1]) * 1024
        except OSError:
            pss = rss
        return name, cpu, rss, pss
    except (OSError, ValueError, IndexError):
        return None


def measure(root, seconds):
    before = {p: sample(p) for p in children_of(root)}
    started = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    rows = []
    for p in children_of(root):
        now = sample(p)
        if now is None:
            continue
        name, cpu, rss, pss = now
        start_cpu = before.get(p)[1] if before.get(p) else 0.0
        rows.append({
            "pid": p,
            "process": name,
            "cpu_percent_of_one_core": round(100.0 * (cpu - start_cpu) / elapsed, 2),
            "rss_mb": round(rss / 1e6, 1),
            "pss_mb": round(pss / 1e6, 1),
        })
    total = {
        "cpu_percent_of_one_core": round(sum(r["cpu_percent_of_one_core"] for r in rows), 2),
        "rss_mb": round(sum(r["rss_mb"] for r in rows), 1),
        "pss_mb": round(sum(r["pss_mb"] for r in rows), 1),
    }
    return {"seconds": round(elapsed, 1), "processes": rows, "total": total}


def print_report(title, report):
    print(f"\n{title} ({report['seconds']} s)")
    print(f"  {'process':<24}{'CPU % of a core':>16}{'RSS MB':>10}{'PSS MB':>10}")
    for r in sorted(report["processes"], key=lambda r: -r["cpu_percent_of_one_core"]):
        print(f"  {r['process']:<24}{r['cpu_percent_of_one_core']:>16}{r['rss_mb']:>10}{r['pss_mb']:>10}")
    t = report["total"]
    print(f"  {'total':<24}{t['cpu_percent_of_one_core']:>16}{t['rss_mb']:>10}{t['pss_mb']:>10}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("app")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--settle", type=float, default=15)
    parser.add_argument("--traffic", action="store_true")
    parser.add_argument("--port", type=int, default=0,
                        help="the embedded broker's port (default: a free one)")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        sys.exit("idle_cpu: needs a display; run it under xvfb-run -a (make bench-idle does)")

    with tempfile.TemporaryDirectory() as config, tempfile.TemporaryDirectory() as data:
        port = args.port
        # Always a free port: with the default 1883 taken by another program, the broker would
        # not listen and the app's own session would not connect, a lighter and wrong idle.
        if not port:
            import socket
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
        if port:
            with open(os.path.join(config, "broker.json"), "w") as f:
                # The app's broker.json (src-tauri/crates/core/src/broker/saved.rs).
                json.dump({"format": 1, "bind": "127.0.0.1", "port": port,
                           "websocketPort": None, "tls": None,
                           "maxPacketSize": 16 * 1024 * 1024, "users": []}, f)
        env = dict(os.environ,
                   MQTT_WORKBENCH_CONFIG_DIR=config,
                   MQTT_WORKBENCH_KEYCHAIN="off",
                   XDG_DATA_HOME=data)
        app = subprocess.Popen([args.app], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            time.sleep(args.settle)
            if app.poll() is not None:
                sys.exit(f"idle_cpu: the app exited during start-up (status {app.returncode})")
            results = {"app": args.app, "idle": measure(app.pid, args.seconds)}
            print_report("Idle: nothing connected, nothing arriving", results["idle"])
            if args.traffic:
                pub = subprocess.Popen(
                    ["sh", "-c",
                     # One client publishing a line every tenth of a second, as a device would.
                     f"while true; do echo 21.5; sleep 0.1; done | "
                     f"mosquitto_pub -p {port} -t bench/idle -l -q 0"],
                    start_new_session=True)
                try:
                    results["traffic"] = measure(app.pid, args.seconds)
                finally:
                    os.killpg(pub.pid, signal.SIGTERM)
                print_report("Ten messages a second (mosquitto_pub)", results["traffic"])
        finally:
            os.killpg(app.pid, signal.SIGTERM)
            try:
                app.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(app.pid, signal.SIGKILL)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
