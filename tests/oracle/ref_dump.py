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


def install_recorders(side: dump_common.Side) -> None:
    """Replace what 0.3.2's ``change_stage()`` launches by recorders (nothing is started).

    ``change_stage`` activates seamless-remote's buffer / database / jobserver /
    daskserver clients, or the pure-Dask server, and for ``execution: spawn`` calls
    ``seamless.transformer.spawn(workers of the local cluster)``. Each recorder does
    what the real ``activate()`` does before it launches anything (seamless-remote
    0.4.0: the selection it reads, the ``configure_*`` call of the launched client,
    so that their refusals surface as they would), then records the service in
    ``side.events``. seamless-remote's jobserver module cannot even be imported in
    the oracle venv (it needs seamless-transformer): a stand-in module takes its
    place. The recorders stand for a machine where the whole runtime is installed.
    """
    import types

    import seamless.transformer
    import seamless_config.pure_daskserver as pure
    import seamless_remote
    import seamless_remote.buffer_remote
    import seamless_remote.daskserver_remote
    import seamless_remote.database_remote

    import seamless_config as sc
    from seamless_config import tools
    from seamless_config.extern_clients import collect_remote_clients
    from seamless_config.select import get_current, get_selected_cluster

    def storage(service, configure):
        def activate(*, readonly=False, extra_launched_clients=(), extern_clients=(), no_main=False):
            if not no_main:
                cluster, project, subproject, stage, _ = get_current()
                assert cluster is not None and project is not None
                configure("ro" if readonly else "rw", cluster=cluster, project=project, subproject=subproject, stage=stage)
            side.events.append(service)

        return activate

    def jobserver_activate(*, extra_launched_clients=None, extern_clients=None, no_main=False):
        if not no_main:
            cluster, project, subproject, stage, substage = get_current()
            tools.configure_jobserver(cluster=cluster, project=project, subproject=subproject, stage=stage, substage=substage)
        side.events.append("jobserver")

    def daskserver_activate(*, no_main=False):
        if no_main:
            return
        cluster, project, subproject, stage, substage = get_current()
        tools.configure_daskserver(cluster=cluster, project=project, subproject=subproject, stage=stage, substage=substage)
        collect_remote_clients(cluster)
        side.events.append("daskserver")

    def pure_activate(*, no_main=False, queue=None):
        if no_main:
            return
        cluster = get_selected_cluster()
        if cluster is None:
            raise sc.ConfigurationError("No cluster defined")
        tools.configure_pure_daskserver(cluster=cluster, queue=queue, frontend_name=None)
        side.events.append("pure-daskserver")

    def nothing(*args, **kwargs):
        return None

    jobserver_remote = types.ModuleType("seamless_remote.jobserver_remote")
    jobserver_remote.activate = jobserver_activate
    jobserver_remote.deactivate = nothing
    sys.modules["seamless_remote.jobserver_remote"] = jobserver_remote
    seamless_remote.jobserver_remote = jobserver_remote
    seamless_remote.buffer_remote.activate = storage("hashserver", tools.configure_hashserver)
    seamless_remote.database_remote.activate = storage("database", tools.configure_database)
    seamless_remote.daskserver_remote.activate = daskserver_activate
    seamless_remote.daskserver_remote.deactivate = nothing
    pure.activate = pure_activate
    pure.deactivate = nothing

    def spawn(n):
        side.events.append(("spawn", n))

    seamless.transformer.spawn = spawn
    original_change_stage = sc.change_stage

    def change_stage():
        side.events.append("ran")
        return original_change_stage()

    sc.change_stage = change_stage

    # which phase of init/set_stage refused: reading the files, or activating
    import seamless_config.config_files as config_files

    original_load = config_files.load_config_files

    def load_config_files():
        try:
            return original_load()
        except BaseException:
            side.events.append("read_failed")
            raise

    config_files.load_config_files = load_config_files


def activation(side: dump_common.Side, ok: bool):
    """What the last init/set_stage activated; None when 0.3.2 did not re-activate (same stage)."""
    if "ran" not in side.events:
        return None
    spawn = [e[1] for e in side.events if isinstance(e, tuple)]
    services = sorted({e for e in side.events if isinstance(e, str) and e != "ran"})
    return {"services": services, "spawn": spawn[-1] if spawn else None}


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
    s = dump_common.Side(
        name="reference",
        sc=sc,
        select=select,
        config_files=config_files,
        tools=tools,
        cluster=cluster,
        rhl=rhl,
        resolve_main=ep.load(),
        activation=activation,
        probe_cluster=True,  # a dictionary lookup in 0.3.2 (ours would load the files to answer)
    )
    install_recorders(s)
    import seamless_config.service.resolve  # noqa: F401 - imported once here, not in every child

    return s


if __name__ == "__main__":
    dump_common.main(side)
