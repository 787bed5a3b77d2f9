"""Services on other machines, over SSH (comes with remote-frontend support)."""

from __future__ import annotations

from .hosts import LaunchError


def host_for_ssh(destination: str):
    raise LaunchError(
        f"the service runs on {destination!r}, reached over SSH, which this version cannot launch yet "
        "(use a frontend with 'hostname: localhost' and no 'ssh_hostname', or start the service there by hand)"
    )
