"""Time and memory on hostile input, and seamless-service-ps with 500 services.

- A 1 MB and a 10 MB configuration file: refused (by size) or parsed, in under 2 s.
- The worst files just under the limits (size, lines and list items, nesting):
  each refused or parsed in under 2 s; the peak memory (tracemalloc).
- ``seamless-service-ps --json`` over 500 client files and server states, a new
  process each run (median of 5): the target is under 1 s.

Prints a table and records the figures in the reliability figures
(``scratch/reliability.json``, rendered by ``tests/reliability_report.py``).

    .venv/bin/python benchmarks/hostile_input.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import reliability  # noqa: E402

from seamless_config.core.layout import load_document  # noqa: E402
from seamless_config.core.sources import SourceBytes  # noqa: E402
from seamless_config.core.yamltree import MAX_FILE_BYTES  # noqa: E402


def _files() -> dict[str, bytes]:
    limit = MAX_FILE_BYTES - 64
    line = b"- nparallel: 1\n"
    return {
        "1 MB file": b"- project: p\n" * (1024 * 1024 // 13),
        "10 MB file": b"- project: p\n" + b"#" * (10 * 1024 * 1024),
        f"{limit // len(line)} lines, just under the size limit": line * (limit // len(line)),
        "4990 lines (just under the item limit)": line * 4990,
        "one flow list just under the size limit": b"- project: [" + b"a," * ((limit - 20) // 2) + b"a]\n",
        "one flow list of 4990 items": b"- job_extra: [" + b"a," * 4989 + b"a]\n",
        "deep flow nesting just under the size limit": b"- project: " + b"[" * (limit // 2 - 20) + b"]" * (limit // 2 - 20),
        "deep block nesting (300 levels)": b"- project:\n" + b"".join(b"  " * (i + 1) + b"k:\n" for i in range(300)),
        "block nesting 65 levels (2-space indent)": b"- project:\n" + b"".join(b"  " * (i + 1) + b"k:\n" for i in range(65)),
        "billion laughs": b"- a: &a [x, x, x, x, x, x, x, x, x]\n- b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
    }


def parse_figures() -> list[tuple[str, int, float, float, str]]:
    rows = []
    for name, data in _files().items():
        t0 = time.monotonic()
        r = load_document(SourceBytes("/b/seamless.yaml", data))
        seconds = time.monotonic() - t0
        tracemalloc.start()  # a second run for the memory: tracing slows the parse down several times
        load_document(SourceBytes("/b/seamless.yaml", data))
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        outcome = "parsed" if not hasattr(r, "failure") or type(r).__name__ == "Success" else "refused: " + \
            str(r.failure()).split(": ", 1)[-1][:70]
        rows.append((name, len(data), seconds, peak, outcome))
    return rows


def ps_figures(runs: int = 5) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        client, server = home / ".remote-http-launcher" / "client", home / ".remote-http-launcher" / "server"
        client.mkdir(parents=True)
        server.mkdir(parents=True)
        for i in range(500):
            key = f"hashserver-bench-rw-p{i}"
            (client / f"{key}.json").write_text(json.dumps({"hostname": "localhost", "port": 40000 + i}))
            (server / f"{key}.json").write_text(json.dumps({
                "status": "running", "pid": 2_000_000_000 + i, "port": 40000 + i, "workdir": f"/b/p{i}",
                "meta": {"service": "hashserver", "cluster": "bench", "mode": "rw", "project": f"p{i}"}}))
        env = {**os.environ, "HOME": str(home)}
        env.pop("REMOTE_HTTP_LAUNCHER_DIR", None)
        times, rows = [], 0
        for _ in range(runs):
            t0 = time.monotonic()
            cp = subprocess.run([str(REPO / ".venv" / "bin" / "seamless-service-ps"), "--json"], cwd=tmp, env=env,
                                capture_output=True, text=True, check=True)
            times.append(time.monotonic() - t0)
            rows = len(cp.stdout.splitlines())
        return statistics.median(times), rows


def main() -> int:
    print("| input | bytes | time | peak memory | outcome |\n| --- | --- | --- | --- | --- |")
    worst = 0.0
    for name, size, seconds, peak, outcome in parse_figures():
        print(f"| {name} | {size} | {seconds:.3f} s | {peak:.1f} MB | {outcome} |")
        reliability.record("Timings", f"parse: {name}", f"{seconds:.3f} s, {peak:.1f} MB peak, {outcome}")
        worst = max(worst, seconds)
        assert seconds < 2.0, f"{name}: {seconds:.2f} s"
    ps_time, ps_rows = ps_figures()
    print(f"\nseamless-service-ps --json, 500 services: {ps_time:.3f} s (median of 5, new process), {ps_rows} rows")
    reliability.record("Timings", "seamless-service-ps --json, 500 services (median of 5, new process)",
                       f"{ps_time:.3f} s, {ps_rows} rows (target < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
