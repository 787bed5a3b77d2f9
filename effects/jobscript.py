"""Render a daskserver's batch job script, as dask-jobqueue would submit it, without submitting it.

The mapping from the queue's ``file_parameters`` to dask-jobqueue settings is
seamless-dask-wrapper's own (``build_wrapper_configuration``), so the script
printed is the one the wrapper's SLURMCluster / OARCluster would submit; only
the scheduler address is dask-jobqueue's placeholder, since no scheduler runs.
Nothing is started: the wrapper's port probe is replaced by the first ports of
the range (they appear nowhere in the script), and dask's configuration is
changed only for the duration of the call.
"""

from __future__ import annotations

import contextlib
import copy
import os
import warnings
from collections.abc import Iterator
from typing import Any

from seamless_config.core.jobqueue import JobScriptRequest

from .outcomes import LaunchError, require

#: what dask-jobqueue's ``cluster.job_script()`` shows before its scheduler runs
SCHEDULER_PLACEHOLDER = "tcp://<insert-scheduler-address-here>:8786"


class JobScriptError(LaunchError):
    """seamless-dask-wrapper or dask-jobqueue refuses the queue's parameters."""


def _import(module: str) -> Any:
    return require(module, "job scripts are rendered by seamless-dask and dask-jobqueue, which are not installed",
                   "install them with: pip install 'seamless-config[dask]'", JobScriptError)


class _LogName:
    """Stands in for the wrapper's open log file: only its name reaches the script."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        # nothing is buffered: write() discards, only the name matters (see the class docstring)
        return None


@contextlib.contextmanager
def _as_launched(wrapper: Any, log_path: str | None) -> Iterator[None]:
    # The wrapper reads three things besides its parameters: its log file (the
    # job logs go beside it), CONDA_PREFIX (OAR jobs re-export the wrapper's
    # conda environment, unknown until it runs) and free ports (probed with
    # sockets; the scheduler's do not appear in the script).
    saved = (wrapper.log_handle, wrapper.pick_random_free_port)

    def first_ports(host: str, start: int, end: int, *, exclude: Any = ()) -> int:
        return next(p for p in range(start, end + 1) if p not in set(exclude))

    wrapper.log_handle = _LogName(log_path) if log_path else None
    wrapper.pick_random_free_port = first_ports
    conda_prefix = os.environ.pop("CONDA_PREFIX", None)
    try:
        yield
    finally:
        wrapper.log_handle, wrapper.pick_random_free_port = saved
        if conda_prefix is not None:
            os.environ["CONDA_PREFIX"] = conda_prefix


def jobqueue_settings(request: JobScriptRequest, log_path: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """seamless-dask-wrapper's dask-jobqueue settings for this request: ``(jobqueue section, dask config)``.

    The first is what the wrapper puts under ``jobqueue.<system>``; the second
    the rest of the dask configuration it sets before building the cluster.
    """
    cfg = _wrapper_configuration(request, log_path)
    return copy.deepcopy(cfg.jobqueue_config[request.system]), copy.deepcopy(cfg.dask_config)


def _wrapper_configuration(request: JobScriptRequest, log_path: str | None) -> Any:
    wrapper = _import("seamless_dask.wrapper")
    with _as_launched(wrapper, log_path):
        try:
            return wrapper.build_wrapper_configuration(
                host=request.host, port_range=request.port_range, parameters=request.parameters()
            )
        except RuntimeError as exc:
            raise JobScriptError(f"seamless-dask-wrapper refuses queue {request.queue!r}, so its daskserver "
                                 f"would not start: {exc}") from None


def wrapper_refusal(request: JobScriptRequest) -> str | None:
    """What seamless-dask-wrapper says when it refuses the request's queue at start-up, or ``None``: its
    own checks, run here on any type of cluster, nothing started."""
    try:
        _import("seamless_dask.wrapper")
    except JobScriptError:
        return None  # (not installed here: nothing to judge with)
    try:
        _wrapper_configuration(request, None)
    except JobScriptError as exc:
        return str(exc)
    return None


def render_job_script(request: JobScriptRequest, log_path: str | None = None) -> str:
    """The batch script one Dask worker job of this daskserver would be submitted with.

    ``log_path`` is the daskserver's log file: the wrapper sends the jobs'
    output beside it.
    """
    section, dask_config = jobqueue_settings(request, log_path)
    dask = _import("dask")
    module, _, symbol = request.cluster_string.partition("::")
    cluster_cls = getattr(_import(module), symbol)
    config = copy.deepcopy(dask.config.config)
    dask.config.update(config, {"jobqueue": {request.system: section}})
    dask.config.update(config, dask_config)
    with dask.config.set(config), warnings.catch_warnings():
        # the queue's 'project' reaches SLURM as -A, as intended; not worth dask-jobqueue's rename warning
        warnings.filterwarnings("ignore", "project has been renamed to account", FutureWarning)
        job_cls = cluster_cls.job_cls
        # the keywords JobQueueCluster gives its jobs when built from configuration alone
        try:
            job = job_cls(
                SCHEDULER_PLACEHOLDER,
                name="dummy-name",
                config_name=request.system,
                interface=dask.config.get(f"jobqueue.{request.system}.interface"),
                protocol=None,
                security=None,
            )
        except (TypeError, ValueError) as exc:
            raise JobScriptError(f"dask-jobqueue refuses queue {request.queue!r}: {exc}") from None
        script: str = job.job_script()
    return script
