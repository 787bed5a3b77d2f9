"""Which names may reach a storage path, a service key or a command line.

Names end up in directory names (``<bufferdir>/<project>/STAGE-<stage>``) and
in service keys (``hashserver-<cluster>-rw-<project>--STAGE-<stage>``), which
remote-http-launcher turns into file names and passes on command lines. So only
a small alphabet is allowed, and the separators the key format uses (``--``,
``STAGE-``, ``SUBSTAGE-``) may not appear inside a name.
"""

from __future__ import annotations

import functools
import re

TYPE_CHECKING = False  # typing is not imported at run time: the warm seamless-init lane loads this module

if TYPE_CHECKING:  # (a valid name is checked with the standard library alone: seamless-init's warm lane)
    from .errors import ConfigError, Origin

#: the project and cluster of ``SEAMLESS_CACHE`` mode; ``SEAMLESS_CACHE`` is how the service commands
#: show (and accept) that project, as 0.3.2 does
PROJECT_TOPLEVEL = "__TOPLEVEL__"
SEAMLESS_CACHE_CLUSTER = "__SEAMLESS_CACHE__"
SEAMLESS_CACHE_PROJECT_ALIAS = "SEAMLESS_CACHE"

#: the service sections of a frontend, in launch order
SERVICE_SECTIONS = ("hashserver", "database", "jobserver", "daskserver")
#: what may be launched: the sections, and the daskserver of ``persistent: false`` (one per queue)
SERVICE_NAMES = SERVICE_SECTIONS + ("pure-daskserver",)

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_SUBPROJECT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*\Z")
# hostnames (RFC 1123 labels, as remote-http-launcher accepts them) for hostname / ssh_hostname / network_interface
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
# conda environment names as conda itself allows them, minus anything a shell or path would mind
_CONDA = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-+]*\Z")
# absolute POSIX paths without shell metacharacters, whitespace or '..' components; the
# characters are those remote-http-launcher allows in a workdir
_ABS_PATH = re.compile(r"/[A-Za-z0-9_.\-@/~]*\Z")


def _invalid(message: str, origin: Origin | None, hint: str) -> ConfigError:
    from .errors import INVALID_NAME

    return INVALID_NAME(message, origin, hint)


# names where '' means "none" (0.3.2 treats them so when it builds launch dicts); an empty
# project is refused instead, see docs/differences.md
BLANK_MEANS_NONE = ("subproject", "stage", "substage")


def check_name(kind: str, value: str, origin: Origin | None) -> ConfigError | None:
    """``None`` when ``value`` is usable as a ``kind`` name, else the error.

    >>> check_name("project", "my-project_1.2", None) is None
    True
    >>> print(check_name("project", "a b", None))
    invalid project name 'a b' (use letters, digits, '_', '.' and '-', starting with a letter, digit or '_')
    >>> print(check_name("stage", "x--y", None))
    invalid stage name 'x--y': '--' separates parts of service keys (use a single '-')
    """
    if value == "" and kind in BLANK_MEANS_NONE:
        return None
    pattern = _SUBPROJECT if kind == "subproject" else _NAME
    allowed = "letters, digits, '_', '.' and '-'"
    if kind == "subproject":
        allowed += ", with '/' between parts"
    if not isinstance(value, str) or not pattern.match(value) or value in (".", ".."):
        return _invalid(
            f"invalid {kind} name {value!r}",
            origin,
            f"use {allowed}, starting with a letter, digit or '_'",
        )
    if any(part in (".", "..") for part in value.split("/")):
        return _invalid(f"invalid {kind} name {value!r}: '.' and '..' are not allowed as path parts", origin, "")
    if "--" in value:
        return _invalid(
            f"invalid {kind} name {value!r}: '--' separates parts of service keys", origin, "use a single '-'"
        )
    if "STAGE-" in value:
        return _invalid(
            f"invalid {kind} name {value!r}: 'STAGE-' marks stages in storage paths and keys", origin, "choose another name"
        )
    if len(value) > 200:
        return _invalid(f"{kind} name is longer than 200 characters", origin, "use a shorter name")
    return None


def check_host(field: str, value: str, origin: Origin | None) -> ConfigError | None:
    """``None`` when ``value`` is a plausible hostname, SSH alias or IP address."""
    if not _is_host(value):
        return _invalid(f"invalid {field} {value!r}", origin, "use an IP address, or a hostname or ~/.ssh/config alias made of letters, digits, '-' and '.', as remote-http-launcher requires")
    return None


@functools.lru_cache(maxsize=4096)
def _is_host(value: str) -> bool:
    """(Cached: a layout repeats the same few interfaces in every cluster.)"""
    import ipaddress

    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    if not value or len(value) > 253:
        return False
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    return all(_LABEL.match(label) for label in labels)


def check_conda(value: str, origin: Origin | None) -> ConfigError | None:
    """``None`` for a valid conda environment name, or ``""`` (no environment; kept as written).

    >>> check_conda("", None) is None, check_conda("seamless-1.0", None) is None
    (True, True)
    >>> str(check_conda("a b", None))
    "invalid conda environment name 'a b' (use letters, digits, '_', '.', '-' and '+')"
    """
    if value and not _CONDA.match(value):
        return _invalid(f"invalid conda environment name {value!r}", origin, "use letters, digits, '_', '.', '-' and '+'")
    return None


#: an environment variable in a job's path (``$TMPDIR``, ``${USER}``), which the job's shell expands
_ENV_REF = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})")


def check_job_path(field: str, value: str, origin: Origin | None) -> ConfigError | None:
    """``None`` for a path that a batch job's shell may read unquoted: absolute (or ``~/...``), and
    free of spaces, quotes, ``..`` and shell characters, except ``$NAME`` and ``${NAME}``, which the
    job's own environment fills in (``$TMPDIR``; ``/scratch/$USER``).

    >>> [check_job_path("tmpdir", v, None) is None for v in ("/scratch/tmp", "$TMPDIR", "${TMPDIR}/dask", "~/t")]
    [True, True, True, True]
    >>> print(check_job_path("tmpdir", "/tmp/x;touch${IFS}/tmp/y", None))
    invalid tmpdir '/tmp/x;touch${IFS}/tmp/y' (use an absolute path (or one starting with '~/' or a variable such as $TMPDIR) without spaces, quotes, '..' or shell characters)
    >>> check_job_path("tmpdir", "scratch", None) is not None, check_job_path("tmpdir", "$(id)", None) is not None
    (True, True)
    """
    candidate = _ENV_REF.sub("v", value)
    if value.startswith("$") and candidate != value:
        candidate = "/" + candidate  # a variable first: it holds the absolute part
    if check_abs_path(field, candidate, origin) is None:
        return None
    return _invalid(f"invalid {field} {value!r}", origin, "use an absolute path (or one starting with '~/' or a "
                    "variable such as $TMPDIR) without spaces, quotes, '..' or shell characters")


def check_abs_path(field: str, value: str, origin: Origin | None) -> ConfigError | None:
    """``None`` for an absolute path without shell metacharacters or ``..``.

    ``~/`` at the start is allowed (the launcher expands it on the host).
    """
    candidate = value[1:] if value.startswith("~/") else value
    if not _ABS_PATH.match(candidate) or "/../" in candidate + "/" or candidate.endswith("/.."):
        return _invalid(
            f"invalid {field} {value!r}",
            origin,
            "use an absolute path (or one starting with '~/') without spaces, quotes, '..' or shell characters",
        )
    return None
