"""Who holds a TCP port: when Envoy cannot bind a listener (another local process took the port in
the moment the supervisor restarted Envoy), the status names that process instead of calling it a
rejected config. From ``/proc``: the listening socket's inode, then the process with that socket
open (found only for this user's processes, or any as root; else just "another process")."""

from __future__ import annotations

import os
import pwd
from collections.abc import Sequence
from pathlib import Path

from ..errors import ProcessStartFailed
from ..model import Listener
from .process import port_problem

_LISTEN = "0A"


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def holder(port: int) -> tuple[int, str] | None:
    """(pid, user) of a process listening on ``port``, when ``/proc`` tells."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in wanted for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid), _user(os.stat(f"/proc/{pid}").st_uid)
        except OSError:
            continue  # gone, or another user's (its fds are not ours to read)
    return None


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def held_ports(listeners: dict[str, str], ours: int | None = None) -> list[str]:
    """A sentence for each listener (name -> ``address:port``) whose port another process holds
    (not ``ours``, the Envoy that may have bound some of them)."""
    out = []
    for address in listeners.values():
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        if not port.isdigit() or port_problem(host, int(port)) is None:
            continue
        found = holder(int(port))
        if found is not None and found[0] == ours:
            continue
        who = f" (pid {found[0]}, user {found[1]})" if found else ""
        out.append(f"listener port {address} is held by another process{who}")
    return out


def check_ports_free(listeners: Sequence[Listener]) -> None:
    problems = []
    for lst in listeners:
        reason = port_problem(lst.address, lst.port)
        if reason:
            found = holder(lst.port)
            who = f" by pid {found[0]} (user {found[1]})" if found else ""
            problems.append(
                f"port {lst.port} of listener {lst.name!r} ({lst.address}) is taken{who}: {reason}"
            )
    if problems:
        raise ProcessStartFailed("; ".join(problems))
