"""Which Envoy Gateway policies apply to an HTTPRoute rule, and which hosts the rule answers.

A policy attaches by ``targetRefs`` (or the older ``targetRef``, or ``targetSelectors``) to objects
of its own namespace: an HTTPRoute (``sectionName`` = a rule's name) or a Gateway (``sectionName`` =
a listener's name). A Gateway policy so reaches routes of other namespaces attached to that Gateway,
and one naming a listener only routes attached through it (a parentRef with that ``sectionName``,
or none). The policy naming the rule beats one naming the route, which beats one naming its Gateway;
at one level the oldest wins, as Envoy Gateway decides.

A route's hostnames are intersected with the hostname of each listener it attaches to (the one its
parentRef's ``sectionName`` names, else every listener of the Gateway), as the Gateway API says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..hosts import intersect_host
from ..resources import JsonDict, ObjKey, Resource
from ..store import Store

GATEWAY_GROUP = "gateway.networking.k8s.io"
Level = Literal["section", "route", "gateway"]
_LEVEL_RANK = {"section": 0, "route": 1, "gateway": 2}


@dataclass(frozen=True)
class PolicyRef:
    """The policy governing a rule, how specifically it targets it, and whether it targets only it."""

    key: ObjKey
    level: Level
    exclusive: bool
    # Of a route's several parents: those whose requests it governs, and those whose it does not.
    through: tuple[str, ...] = ()
    not_through: tuple[str, ...] = ()


def policy_targets(policy: JsonDict) -> list[JsonDict]:
    spec = policy.get("spec") or {}
    refs = [r for r in spec.get("targetRefs") or [] if isinstance(r, dict)]
    if isinstance(spec.get("targetRef"), dict):
        refs.append(spec["targetRef"])
    return refs


Parent = tuple[str, str, str | None]  # a parentRef: Gateway namespace, name, sectionName


def parent_label(parent: Parent) -> str:
    gw_ns, gw_name, section = parent
    return f"Gateway {gw_ns}/{gw_name}" + (f" listener {section}" if section else "")


def parents(route: JsonDict) -> list[Parent]:
    """(namespace, name, sectionName) of each Gateway the route attaches to."""
    ns = (route.get("metadata") or {}).get("namespace") or ""
    return [
        (str(p.get("namespace") or ns), str(p.get("name")), p.get("sectionName"))
        for p in (route.get("spec") or {}).get("parentRefs") or []
        if isinstance(p, dict) and (p.get("kind") or "Gateway") == "Gateway"
    ]


_Entry = tuple[JsonDict, str | None, int]


class PolicyIndex:
    """Policies of one kind (every namespace read) by what they target, so 2,000 routes do not scan
    every policy each."""

    def __init__(self, store: Store, kind: Resource | None) -> None:
        self.kind = kind
        self.by_route: dict[tuple[str, str], list[_Entry]] = {}
        self.by_gateway: dict[tuple[str, str], list[_Entry]] = {}
        self.selectors: list[tuple[JsonDict, str, dict[str, str]]] = []
        for policy in store.of(kind):
            ns = (policy.get("metadata") or {}).get("namespace") or ""
            refs = policy_targets(policy)
            selectors = [
                s for s in (policy.get("spec") or {}).get("targetSelectors") or [] if isinstance(s, dict)
            ]
            count = len(refs) + len(selectors)
            for ref in refs:
                if (ref.get("group") or GATEWAY_GROUP) != GATEWAY_GROUP:
                    continue
                index = {"HTTPRoute": self.by_route, "Gateway": self.by_gateway}.get(str(ref.get("kind")))
                if index is not None:
                    index.setdefault((ns, str(ref.get("name"))), []).append(
                        (policy, ref.get("sectionName"), count)
                    )
            for sel in selectors:
                if sel.get("kind", "HTTPRoute") == "HTTPRoute":
                    labels = {str(k): str(v) for k, v in (sel.get("matchLabels") or {}).items()}
                    self.selectors.append((policy, ns, labels))

    def applying(
        self, route: JsonDict, rule_name: str | None, parent: Parent | None = None
    ) -> list[tuple[JsonDict, PolicyRef]]:
        """Every policy that applies to the rule (for requests through ``parent`` only, if given),
        the governing one first."""
        if self.kind is None:
            return []
        meta = route.get("metadata") or {}
        ns, name = meta.get("namespace") or "", str(meta.get("name"))
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        found: list[tuple[int, str, str, JsonDict, Level, bool]] = []

        def add(policy: JsonDict, level: Level, exclusive: bool) -> None:
            pmeta = policy.get("metadata") or {}
            rank = (_LEVEL_RANK[level], str(pmeta.get("creationTimestamp") or ""), str(pmeta.get("name")))
            found.append((*rank, policy, level, exclusive))

        for policy, section, count in self.by_route.get((ns, name), []):
            if section is None:
                add(policy, "route", count == 1)
            elif section == rule_name:
                add(policy, "section", count == 1)
        for policy, pns, sel in self.selectors:
            if pns == ns and sel.items() <= labels.items():
                add(policy, "route", False)
        for gw_ns, gw_name, listener in parents(route) if parent is None else [parent]:
            for policy, section, _ in self.by_gateway.get((gw_ns, gw_name), []):
                if section is None or listener is None or section == listener:
                    add(policy, "gateway", False)
        found.sort(key=lambda f: f[:3])
        out: list[tuple[JsonDict, PolicyRef]] = []
        for *_, policy, level, exclusive in found:
            if all(policy is not p for p, _ in out):  # a policy reached twice counts once
                out.append((policy, PolicyRef(ObjKey.for_object(self.kind, policy), level, exclusive)))
        return out

    def governing(
        self, route: JsonDict, rule_name: str | None, parent: Parent | None = None
    ) -> tuple[JsonDict, PolicyRef] | None:
        found = self.applying(route, rule_name, parent)
        return found[0] if found else None

    def reach(self, route: JsonDict, rule_name: str | None, key: ObjKey) -> tuple[list[str], list[str]]:
        """(parents through which the policy ``key`` governs the rule, parents through which it does
        not), each as ``Gateway ns/name[ listener L]``; ([], []) for a route with one parent."""
        through: list[str] = []
        not_through: list[str] = []
        all_parents = parents(route)
        if len(all_parents) < 2:
            return through, not_through
        for parent in all_parents:
            found = self.governing(route, rule_name, parent)
            (through if found and found[1].key == key else not_through).append(parent_label(parent))
        return through, not_through


def route_hosts(route: JsonDict, store: Store, gateway: Resource | None) -> tuple[str, ...]:
    """The hostnames a route answers: its own, narrowed by each parent listener's hostname."""
    own = tuple(str(h) for h in (route.get("spec") or {}).get("hostnames") or ()) or ("*",)
    out: list[str] = []
    for gw_ns, gw_name, section in parents(route):
        gw = store.get(ObjKey.of(gateway, gw_ns, gw_name)) if gateway is not None else None
        if gw is None:
            out += own  # not read: the route's own hostnames are all that is known
            continue
        listeners = [
            x
            for x in (gw.get("spec") or {}).get("listeners") or []
            if isinstance(x, dict) and (section is None or x.get("name") == section)
        ]
        for listener in listeners:
            lh = listener.get("hostname")
            out += [h for h in (intersect_host(r, str(lh) if lh else None) for r in own) if h is not None]
    return tuple(dict.fromkeys(out)) or own
