"""Which API groups and resources the cluster serves: the basis for picking a connector.

One request for ``/apis``, then one per group-version the connectors need, so a missing CRD can
be named exactly (``envoyfilters.networking.istio.io``) rather than failing later with a 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import NotFound
from .resources import FALLBACK_VERSIONS, Resource


@dataclass
class Catalog:
    """The served groups (versions, preferred first) and, fetched on demand, each version's resources."""

    groups: dict[str, tuple[str, ...]]
    client: Any = None
    _resources: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def has_group(self, group: str) -> bool:
        return group in self.groups

    def _plurals(self, group: str, version: str) -> frozenset[str]:
        key = (group, version)
        if key not in self._resources:
            try:
                data = self.client.raw("GET", f"/apis/{group}/{version}", verb="get") if self.client else {}
            except NotFound:
                data = {}
            names = {r.get("name", "") for r in data.get("resources") or [] if isinstance(r, dict)}
            self._resources[key] = frozenset(n for n in names if n and "/" not in n)
        return self._resources[key]

    def resolve(self, wanted: Resource) -> Resource | None:
        """``wanted`` at the best version the cluster serves it in, or None when it is not served."""
        served = self.groups.get(wanted.group, ())
        order = (wanted.version, *FALLBACK_VERSIONS.get(wanted.group, ()))
        for version in dict.fromkeys(order):
            if version in served and wanted.plural in self._plurals(wanted.group, version):
                return wanted.at(version)
        return None


def discover(client: Any) -> Catalog:
    data = client.raw("GET", "/apis", verb="get")
    groups: dict[str, tuple[str, ...]] = {}
    for group in data.get("groups") or []:
        if not isinstance(group, dict) or not group.get("name"):
            continue
        versions = [v.get("version") for v in group.get("versions") or [] if isinstance(v, dict)]
        preferred = (group.get("preferredVersion") or {}).get("version")
        ordered: list[str] = [str(preferred)] if preferred in versions else []
        ordered += [str(v) for v in versions if v and v != preferred]
        groups[str(group["name"])] = tuple(ordered)
    return Catalog(groups=groups, client=client)
