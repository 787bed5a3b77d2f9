#!/usr/bin/env python
"""Dump the REFERENCE implementation (seamless-config 0.3.2) for layouts.

Run with the oracle venv's python (never with ours)::

    $SEAMLESS_ORACLE_PYTHON tests/oracle/ref_dump.py layouts.jsonl [out.jsonl]
    $SEAMLESS_ORACLE_PYTHON tests/oracle/ref_dump.py layout.json     # one layout

Black box: only the reference's public functions are called
(``seamless_config.{select,config_files,tools,cluster}``, ``set_workdir``, and
the ``seamless-service-resolve`` console script). Output format: see
``dump_common.py``; ``our_dump.py`` writes the same format for our implementation.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dump_common  # noqa: E402


def side() -> dump_common.Side:
    import importlib.metadata
    import importlib.metadata as md

    import remote_http_launcher as rhl

    import seamless_config as sc
    import seamless_config.cluster as cluster
    from seamless_config import config_files, select, tools

    version = md.version("seamless-config")
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if version != "0.3.2" or os.path.dirname(os.path.abspath(sc.__file__)) == os.path.join(here, "seamless_config"):
        raise SystemExit(f"ref_dump.py: expected the reference seamless-config 0.3.2, got {version} at {sc.__file__}")
    (ep,) = [e for e in importlib.metadata.entry_points(group="console_scripts") if e.name == "seamless-service-resolve"]
    return dump_common.Side(
        name="reference",
        sc=sc,
        select=select,
        config_files=config_files,
        tools=tools,
        cluster=cluster,
        rhl=rhl,
        resolve_main=ep.load(),
    )


if __name__ == "__main__":
    dump_common.main(side)
