#!/usr/bin/python3
"""The floor under the app's memory: a bare WebKitGTK window, with nothing of the app in it.

Opens one 1280x800 GTK window holding a WebKitWebView (the same WebKitGTK 4.1 the app links,
with the app's default WEBKIT_DISABLE_DMABUF_RENDERER=1) showing an empty page, or the page at a
URL, lets it settle and reports the resident (RSS), proportional (PSS) and anonymous memory of
the host process and WebKit's web and network processes, with the mappings that weigh most in
each. The host here is Python: its interpreter adds about 8 MB that the app's backend does
not have. Compare with `idle_cpu.py`, which measures the app itself.

Needs Debian's python3-gi and gir1.2-webkit2-4.1 (`apt-get install python3-gi
gir1.2-webkit2-4.1`) and a display; it runs with the system's Python:

    xvfb-run -a -s "-screen 0 1280x800x24" /usr/bin/python3 tests/bench/webkit_floor.py
    # the app's own page, served from ui/dist (its calls to the backend fail; the page still
    # loads, mounts and draws):
    (cd ui/dist && python3 -m http.server 8765 --bind 127.0.0.1 &)
    xvfb-run -a /usr/bin/python3 tests/bench/webkit_floor.py --url http://127.0.0.1:8765/
"""

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idle_cpu import children_of  # noqa: E402


def memory(pid):
    """(rollup kB by field, RSS kB by mapped file) of one process."""
    rollup = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                rollup[parts[0].rstrip(":")] = int(parts[1])
    by_file, current = collections.Counter(), None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if parts and "-" in parts[0] and not parts[0].endswith(":"):
                current = parts[5].rsplit("/", 1)[-1] if len(parts) > 5 else "[anon]"
            elif parts and parts[0] == "Rss:":
                by_file[current] += int(parts[1])
    return rollup, by_file


def report():
    total = collections.Counter()
    print(f"  {'process':<18}{'RSS MB':>8}{'PSS MB':>8}{'anon MB':>9}  heaviest mappings (RSS MB)")
    for pid in children_of(os.getpid()):
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
            rollup, by_file = memory(pid)
        except OSError:
            continue
        if name != "python3" and not name.startswith("WebKit"):
            continue
        if name == "python3" and pid != os.getpid():
            continue  # the report's own helpers, if any
        rss, pss, anon = (rollup.get(k, 0) / 1024 for k in ("Rss", "Pss", "Anonymous"))
        total.update({"rss": rss, "pss": pss, "anon": anon})
        heavy = ", ".join(f"{k} {v / 1024:.0f}" for k, v in by_file.most_common(4))
        print(f"  {name:<18}{rss:>8.0f}{pss:>8.0f}{anon:>9.0f}  {heavy}")
    print(f"  {'total':<18}{total['rss']:>8.0f}{total['pss']:>8.0f}{total['anon']:>9.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a page to show instead of an empty one")
    parser.add_argument("--settle", type=float, default=25)
    args = parser.parse_args()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        sys.exit("webkit_floor: needs a display; run it under xvfb-run -a")
    os.environ.setdefault("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
    try:
        import gi
        gi.require_version("Gtk", "3.0")
        gi.require_version("WebKit2", "4.1")
        from gi.repository import GLib, Gtk, WebKit2
    except (ImportError, ValueError) as error:
        sys.exit(f"webkit_floor: {error}; install python3-gi and gir1.2-webkit2-4.1 and run it "
                 "with /usr/bin/python3")
    view = WebKit2.WebView()
    window = Gtk.Window()
    window.set_default_size(1280, 800)
    window.add(view)
    window.show_all()
    if args.url:
        view.load_uri(args.url)
    else:
        view.load_html("<!doctype html><html><body><p>An empty page.</p></body></html>", None)

    def done():
        print(f"A bare WebKitGTK window ({args.url or 'an empty page'}), after {args.settle:.0f} s")
        report()
        Gtk.main_quit()
        return False

    GLib.timeout_add(int(args.settle * 1000), done)
    Gtk.main()


if __name__ == "__main__":
    main()
