"""Profiling experiments behind the suggestions in ``benchmarks/PROFILING.md``.

    .venv/bin/python benchmarks/experiments.py

1. ``parse_yaml`` (``strictyaml.dirty_load`` with the ``Any()`` schema) against
   strictyaml's own loader alone (``strictyaml.ruamel.load`` with a
   ``StrictYAMLLoader`` subclass, no schema pass), converted with the same
   ``_convert``: time, whether the trees are equal, and whether duplicate keys,
   anchors and tags are still refused.
2. Validation cost per cluster (``parse_clusters_mapping`` on pre-parsed trees
   of the large layout's cluster files), i.e. the part of the pure stages that
   grows with the number of clusters.

Nothing here changes seamless_config; it only measures.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import layouts  # noqa: E402


def median_time(fn, reps: int = 5) -> float:
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def loader_only_parse():
    from strictyaml import ruamel
    from strictyaml.parser import StrictYAMLLoader

    from seamless_config.core.yamltree import _convert

    loader = type("BenchLoader", (StrictYAMLLoader,), {"label": "bench.yaml", "allow_flow_style": True})

    def parse(text: str):
        return _convert(ruamel.load(text, Loader=loader), 1)

    return parse, ruamel, loader


def experiment_parse() -> None:
    from seamless_config.core.yamltree import parse_yaml

    fast, ruamel, loader = loader_only_parse()
    texts = {f"{n} lines": layouts.yaml_of_lines(n) for n in (36, 106, 351, 1050)}
    texts["typical clusters.yaml"] = layouts.TYPICAL_CLUSTERS
    texts["large-layout cluster file"] = layouts.cluster_file(1)
    parse_yaml("w", texts["36 lines"])
    print("1. parse_yaml (dirty_load + Any()) vs strictyaml loader only (same _convert)")
    for name, text in texts.items():
        slow_t = median_time(lambda text=text: parse_yaml("x", text))
        fast_t = median_time(lambda text=text: fast(text))
        same = parse_yaml("x", text).unwrap() == fast(text)
        print(f"   {name:28s} {1000 * slow_t:8.1f} ms -> {1000 * fast_t:8.1f} ms "
              f"({slow_t / fast_t:.1f}x), same tree: {same}")
    for bad in ("a: 1\na: 2\n", "a: &x 1\nb: *x\n", "a: !!str 1\n"):
        try:
            ruamel.load(bad, Loader=loader)
            print(f"   loader alone ACCEPTS {bad!r}")
        except Exception as exc:  # noqa: BLE001
            print(f"   loader alone refuses {bad!r}: {type(exc).__name__}")


def experiment_clusters(n: int = 200) -> None:
    from seamless_config.core.clusters import parse_clusters_mapping
    from seamless_config.core.convert import Problems
    from seamless_config.core.errors import Origin

    fast, _, _ = loader_only_parse()
    with tempfile.TemporaryDirectory():
        nodes = [fast(layouts.cluster_file(i)) for i in range(n)]

    def run() -> None:
        for node in nodes:
            parse_clusters_mapping(node, Problems("c.yaml"), origin=Origin("c.yaml", 1))

    t = median_time(run, 5)
    print(f"2. cluster validation: {1000 * t / n:.3f} ms per cluster of 10 queues "
          f"(x1000 clusters = {t / n * 1000:.2f} s; budget for the 0.2 s target: 0.2 ms)")


if __name__ == "__main__":
    experiment_parse()
    experiment_clusters()
