"""The first step of bringing a service up, with its I/O: is it up already?

A service is reused as it is when its client connection file is there, is
usable (:func:`seamless_config.core.clients.usable`), was written for the same
parameters, and the service answers its health check there. The launcher takes
this step inside :func:`seamless_config.core.bringup.protocol`; the warm lane
(:mod:`effects.warm`: a warm ``seamless-init`` or ``init()``) takes it alone, here.
"""

from __future__ import annotations

from seamless_config.core.clients import port_of, same_parameters, usable

TYPE_CHECKING = False  # typing is not imported at run time: the warm seamless-init lane loads this module
if TYPE_CHECKING:
    from typing import Any


def probe_target(existing: dict[str, Any] | None, wanted: dict[str, Any] | None, port_field: str,
                 check_path: str, workdir: str | None = None) -> tuple[str, int, str] | None:
    """Where to health-check a client file's service, when it may be reused (usable for ``workdir``
    and the parameters ``wanted``); ``None`` when it may not."""
    if existing is None or not usable(existing, workdir) or not same_parameters(existing, wanted):
        return None
    port, hostname = port_of(existing, port_field), existing.get("hostname")
    return (hostname, port, check_path) if isinstance(hostname, str) and port is not None else None
