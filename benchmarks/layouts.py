"""Project layouts for the benchmarks (written to a directory given by the caller).

* :func:`typical_layout` -- a typical project: ``~/.seamless/clusters.yaml``,
  ``seamless.yaml`` and ``seamless.profile.yaml``, under 200 lines in all
  (a slurm cluster with two frontends and four queues using ``TEMPLATE``, a
  small local cluster, ``stage`` blocks).
* :func:`large_layout` -- N clusters of 10 queues each, one cluster per file in
  ``~/.seamless/clusters/*.yaml`` (our parser refuses files over 256 KiB), plus
  an inheritance chain of D directories, each with a ``seamless.yaml`` holding
  ``inherit_from_parent`` and a couple of commands.
* :func:`yaml_of_lines` -- one YAML text of exactly N lines (cluster-file
  style), for the strictyaml scaling measurement.

Every generator is deterministic; run ``python benchmarks/layouts.py DIR`` to
write all of them under DIR for inspection.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# --------------------------------------------------------------------------
# (a) a typical project

TYPICAL_CLUSTERS = """\
# Clusters this user can reach (one slurm cluster, one workstation).
hpc:
  type: slurm
  tunnel: true
  workers: 16
  frontends:
    - hostname: login1.hpc.example.org
      ssh_hostname: hpc-login1
      hashserver:
        bufferdir: /scratch/seamless/buffers
        conda: seamless-hashserver
        network_interface: login1.hpc.example.org
        port_start: 5100
        port_end: 5199
      database:
        database_dir: /scratch/seamless/database
        conda: seamless-hashserver
        network_interface: login1.hpc.example.org
        port_start: 5200
        port_end: 5299
      jobserver:
        conda: seamless-dask
        network_interface: login1.hpc.example.org
        port_start: 5300
        port_end: 5399
      daskserver:
        network_interface: login1.hpc.example.org
        port_start: 5400
        port_end: 5499
    - hostname: login2.hpc.example.org
      ssh_hostname: hpc-login2
      hashserver:
        bufferdir: /scratch2/seamless/buffers
        conda: seamless-hashserver
        network_interface: login2.hpc.example.org
        port_start: 6100
        port_end: 6199
      database:
        database_dir: /scratch2/seamless/database
        conda: seamless-hashserver
        network_interface: login2.hpc.example.org
        port_start: 6200
        port_end: 6299
      daskserver:
        network_interface: login2.hpc.example.org
        port_start: 6400
        port_end: 6499
  queues:
    base:
      conda: seamless-dask
      walltime: "01:00:00"
      cores: 8
      memory: 32GB
      partition: standard
      job_extra_directives:
        - "--account=proj123"
      worker_threads: 4
      processes: 2
      maximum_jobs: 20
    long:
      TEMPLATE: base
      walltime: "24:00:00"
      partition: long
      maximum_jobs: 4
    bigmem:
      TEMPLATE: base
      cores: 16
      memory: 512GB
      partition: bigmem
    gpu:
      TEMPLATE: base
      partition: gpu
      dask_resources: {GPU: 1}
      job_extra_directives: ["--account=proj123", "--gres=gpu:1"]
  default_queue: base

workstation:
  type: local
  frontends:
    - hostname: localhost
      hashserver:
        bufferdir: /data/seamless/buffers
        conda: seamless-hashserver
        network_interface: 127.0.0.1
        port_start: 5100
        port_end: 5199
      database:
        database_dir: /data/seamless/database
        conda: seamless-hashserver
        network_interface: 127.0.0.1
        port_start: 5200
        port_end: 5299
  queues:
    local:
      cores: 4
      memory: 16GB
      processes: 1
"""

TYPICAL_PROJECT = """\
# Project-wide settings, committed with the code.
- project: protein-design
- subproject: folding
- persistent: true
- nparallel: 8
- stage prep:
    - subproject: folding/prep
    - execution: process
- stage production:
    - subproject: folding/production
    - stage gpu:
        - queue: gpu
"""

TYPICAL_PROFILE = """\
# Where this user runs the project.
- cluster: hpc
- queue: base
- remote: daskserver
- stage production:
    - queue: long
    - nparallel: 64
- stage bigmem:
    - queue: bigmem
- stage local:
    - cluster: workstation
    - execution: process
"""


def typical_layout(root: str | os.PathLike[str]) -> dict[str, str]:
    """Write the typical project under ``root``; returns ``home`` and ``workdir``."""
    root = Path(root)
    home = root / "home"
    work = root / "project"
    (home / ".seamless").mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (home / ".seamless" / "clusters.yaml").write_text(TYPICAL_CLUSTERS)
    (work / "seamless.yaml").write_text(TYPICAL_PROJECT)
    (work / "seamless.profile.yaml").write_text(TYPICAL_PROFILE)
    return {"home": str(home), "workdir": str(work)}


def typical_line_count() -> int:
    return sum(t.count("\n") for t in (TYPICAL_CLUSTERS, TYPICAL_PROJECT, TYPICAL_PROFILE))


# --------------------------------------------------------------------------
# (b) the large layout


def cluster_file(i: int, nqueues: int = 10) -> str:
    """One cluster ``cNNNN`` (slurm, one frontend, ``nqueues`` queues, TEMPLATE chains)."""
    name = f"c{i:04d}"
    host = f"login.{name}.example.org"
    lines = [
        f"{name}:",
        "  type: slurm",
        "  frontends:",
        f"    - hostname: {host}",
        f"      ssh_hostname: {name}-login",
        "      hashserver:",
        f"        bufferdir: /scratch/{name}/buffers",
        "        network_interface: 0.0.0.0",
        "        port_start: 5100",
        "        port_end: 5199",
        "      database:",
        f"        database_dir: /scratch/{name}/database",
        "        network_interface: 0.0.0.0",
        "        port_start: 5200",
        "        port_end: 5299",
        "      daskserver:",
        f"        network_interface: {host}",
        "        port_start: 5400",
        "        port_end: 5499",
        "  queues:",
        "    q0:",
        "      conda: seamless-dask",
        '      walltime: "01:00:00"',
        "      cores: 8",
        "      memory: 32GB",
        "      partition: standard",
        "      processes: 2",
    ]
    for q in range(1, nqueues):
        # each queue derives from the previous one and overrides two fields
        lines += [
            f"    q{q}:",
            f"      TEMPLATE: q{q - 1}",
            f'      walltime: "{(q + 1):02d}:00:00"',
            f"      cores: {8 * (1 + q % 4)}",
        ]
    lines.append("  default_queue: q0")
    return "\n".join(lines) + "\n"


def chain_file(level: int, depth: int) -> str:
    """``seamless.yaml`` of chain level ``level`` (1 = top)."""
    lines = ["- inherit_from_parent"]
    if level == 1:
        lines += ["- project: bigproject", "- cluster: c0000"]
    lines += [f"- subproject: level{level:02d}", f"- nparallel: {level}"]
    if level % 10 == 0:
        lines += [f"- stage s{level}:", f"    - queue: q{level % 10}"]
    return "\n".join(lines) + "\n"


def large_layout(root: str | os.PathLike[str], nclusters: int = 1000, depth: int = 50, nqueues: int = 10) -> dict[str, str]:
    """Write the large layout under ``root``; returns ``home`` and ``workdir`` (the deepest directory).

    The chain sits under ``root/tree`` (which has no configuration files, so
    inheritance stops there).
    """
    root = Path(root)
    home = root / "home"
    cdir = home / ".seamless" / "clusters"
    cdir.mkdir(parents=True, exist_ok=True)
    for i in range(nclusters):
        (cdir / f"c{i:04d}.yaml").write_text(cluster_file(i, nqueues))
    d = root / "tree"
    for level in range(1, depth + 1):
        d = d / f"d{level:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "seamless.yaml").write_text(chain_file(level, depth))
    return {"home": str(home), "workdir": str(d)}


# --------------------------------------------------------------------------
# (c) YAML files of N lines


def yaml_of_lines(n: int) -> str:
    """A cluster-file-style YAML text of exactly ``n`` lines (n >= 8)."""
    head = [
        "bench:",
        "  type: slurm",
        "  frontends:",
        "    - hostname: login.example.org",
        "      hashserver:",
        "        bufferdir: /scratch/buffers",
        "  queues:",
    ]
    lines = list(head)
    q = 0
    while len(lines) < n:
        block = [
            f"    q{q}:",
            "      cores: 8",
            '      walltime: "01:00:00"',
            "      memory: 32GB",
            "      partition: standard",
            "      conda: seamless-dask",
            "      job_extra_directives: [\"--account=proj123\"]",
        ]
        lines += block[: n - len(lines)]
        q += 1
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python benchmarks/layouts.py OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    print("typical:", typical_layout(out / "typical"), f"({typical_line_count()} lines)")
    print("large:", large_layout(out / "large"))
    for n in (36, 106, 351, 1050):
        (out / f"lines-{n}.yaml").write_text(yaml_of_lines(n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
