"""Gateways the operator can reach, and opening a connector for one: the connector registry.

Connector packages declare a ``ConnectorFactory`` (``connectors.factory``) in the entry-point group
``gatewayctl_tui.connectors`` of their ``pyproject.toml``, as Harlequin finds its adapters::

    [project.entry-points."gatewayctl_tui.connectors"]
    native = "connectors.native.factory:NativeFactory"
    kube = "connectors.kube.factory:KubeFactory"

The console's Connect screen and the command line use only this module (never a concrete connector):

    factories()                         every factory, in listing order
    factory(kind)                       the factory of targets of ``kind``
    discover_targets()                  every target, factory by factory (cheap, no network)
    grouped(targets)                    targets by the factory that found them (Connect's sections)
    resolve(spec)                       what an operator typed: a gateway's name, a state directory,
                                        ``ctx:<context>[/<namespace>]``
    open_target(target, readonly=)     the connector, its metrics wired
    cli_options()                       the global options that choose a target
    lifecycle() / lifecycle_for(target) up / down / status of the gateways this tool runs
    is_open(target, gateway_title)      whether ``target`` is the gateway the console shows

Nothing else compares connector kinds.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from .errors import NotFound
from .factory import CliOption, ConnectorFactory, GatewayStatus, Lifecycle, StartedGateway, Target

if TYPE_CHECKING:
    from .base import Connector

ENTRY_POINT_GROUP = "gatewayctl_tui.connectors"

__all__ = [
    "ENTRY_POINT_GROUP",
    "CliOption",
    "ConnectorFactory",
    "GatewayStatus",
    "Lifecycle",
    "StartedGateway",
    "Target",
    "cli_options",
    "discover_targets",
    "factories",
    "factory",
    "grouped",
    "is_open",
    "lifecycle",
    "lifecycle_for",
    "open_target",
    "resolve",
]


@functools.cache
def factories() -> tuple[ConnectorFactory, ...]:
    """Every installed connector factory, in listing order. Raises NotFound when none is installed
    (the package's entry points are missing: reinstall it)."""
    found: dict[str, ConnectorFactory] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        made = point.load()()
        if not isinstance(made, ConnectorFactory):
            raise TypeError(f"entry point {point.name} = {point.value} is not a ConnectorFactory")
        found.setdefault(made.kind, made)
    if not found:
        raise NotFound(
            f"no connectors are installed (entry points {ENTRY_POINT_GROUP!r}): reinstall the tool"
        )
    return tuple(sorted(found.values(), key=lambda f: (f.order, f.kind)))


def factory(kind: str) -> ConnectorFactory:
    """The factory of targets of ``kind``. Raises NotFound for a kind no installed factory has."""
    for candidate in factories():
        if candidate.kind == kind:
            return candidate
    known = ", ".join(f.kind for f in factories())
    raise NotFound(f"no connector for targets of kind {kind!r} (installed: {known})")


def discover_targets() -> list[Target]:
    return [target for f in factories() for target in f.discover()]


def grouped(targets: list[Target]) -> list[tuple[ConnectorFactory, list[Target]]]:
    """``targets`` by the factory that found them, in listing order (every factory, even without one)."""
    return [(f, [t for t in targets if t.kind == f.kind]) for f in factories()]


def resolve(spec: str) -> Target:
    """A target from what an operator types: a native gateway's name or state directory path,
    or ``ctx:<context>[/<namespace>]``. Raises NotFound saying where it looked."""
    for candidate in factories():
        target = candidate.resolve(spec)
        if target is not None:
            return target
    hints = "".join(f" ({hint})" for hint in (f.not_found_hint() for f in factories()) if hint)
    shown = spec if len(spec) <= 60 else spec[:57] + "..."  # never echo a 5,000-character name
    raise NotFound(f"no gateway named {shown!r}{hints}")


def open_target(target: Target, *, readonly: bool = False, **options: Any) -> Connector:
    """The connector for ``target``, its metrics source wired; ``options`` go to the factory."""
    return factory(target.kind).open(target, readonly=readonly, **options)


def cli_options() -> list[CliOption]:
    """The global command-line options of every factory (``--gateway``, ``--context``, ``-n``)."""
    return [option for f in factories() for option in f.cli_options()]


def lifecycle() -> Lifecycle:
    """Up, down and status of the gateways this tool runs (the native ones). Raises NotFound when no
    installed connector runs gateways."""
    for candidate in factories():
        found = candidate.lifecycle()
        if found is not None:
            return found
    raise NotFound("no installed connector starts gateways")


def lifecycle_for(target: Target) -> Lifecycle | None:
    """The lifecycle of ``target``'s kind; None when this tool does not run such gateways."""
    return factory(target.kind).lifecycle()


def is_open(target: Target, gateway_title: str) -> bool:
    """Whether ``target`` is the gateway whose ``GatewayInfo.title`` is ``gateway_title``."""
    return factory(target.kind).is_open(target, gateway_title)
