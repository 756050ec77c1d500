"""What controllers report in an object's status, and whether they have seen its current generation.

Three shapes are understood:

* Gateway API routes: ``status.parents[]{parentRef, conditions[]}`` (one report per parent Gateway);
* policy attachment (Envoy Gateway policies): ``status.ancestors[]{ancestorRef, conditions[]}``;
* plain ``status.conditions[]`` (Gateways, and Istio objects, whose ``status.observedGeneration``
  and ``validationMessages`` come from istiod's status reporting and analysis).

A report is *current* when its observed generation is at least the object's ``metadata.generation``:
only then does it say anything about the change just written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .resources import JsonDict

# Condition types whose False means the object (or the edit) is not in effect.
BLOCKING = frozenset({"Accepted", "ResolvedRefs", "Programmed"})


def _int(value: Any) -> int | None:
    """Istio writes generations as int-or-string."""
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Report:
    """One controller's word on an object: where it comes from, the generation it describes (None
    when the controller does not say), its conditions and Istio's analysis messages."""

    where: str
    generation: int | None
    conditions: tuple[JsonDict, ...]
    messages: tuple[JsonDict, ...] = ()

    def current(self, generation: int | None) -> bool:
        return generation is None or self.generation is None or self.generation >= generation

    def failures(self) -> list[str]:
        out = [
            f"{c.get('type')}=False ({c.get('reason') or 'no reason'}): {c.get('message') or 'no message'}"
            for c in self.conditions
            if c.get("type") in BLOCKING and str(c.get("status")) == "False"
        ]
        out += [f"Istio analysis {_message_text(m)}" for m in self.messages if m.get("level") == "ERROR"]
        return out

    def summary(self) -> str:
        """``Accepted=True (Accepted), ResolvedRefs=True (ResolvedRefs)``; a False condition carries
        the controller's message, which says what to fix."""
        parts = []
        for c in self.conditions:
            text = f"{c.get('type', '?')}={c.get('status', '?')}"
            if c.get("reason"):
                text += f" ({c['reason']})"
            if str(c.get("status")) == "False" and c.get("message"):
                text += f": {c['message']}"
            parts.append(text)
        parts += [_message_text(m) for m in self.messages]
        return ", ".join(parts) or "no conditions"

    def origin(self) -> str:
        generation = f"generation {self.generation}" if self.generation is not None else ""
        return ", ".join(p for p in (self.where, generation) if p)


def _message_text(m: JsonDict) -> str:
    kind = m.get("type") or {}
    code = " ".join(str(p) for p in (kind.get("code"), kind.get("name")) if p)
    text = f"{m.get('level', 'INFO')} {code}".strip()
    return text + (f" ({m['documentationUrl']})" if m.get("documentationUrl") else "")


def _conditions(raw: Any) -> tuple[JsonDict, ...]:
    return tuple(c for c in raw or [] if isinstance(c, dict))


def _observed(conds: tuple[JsonDict, ...]) -> int | None:
    """The oldest generation the conditions describe (all of them must have seen the change)."""
    seen = [g for g in (_int(c.get("observedGeneration")) for c in conds) if g is not None]
    return min(seen) if seen else None


def _ref(ref: Any, default_kind: str) -> str:
    ref = ref if isinstance(ref, dict) else {}
    name = str(ref.get("name", "?"))
    if ref.get("namespace"):
        name = f"{ref['namespace']}/{name}"
    if ref.get("sectionName"):
        name += f"/{ref['sectionName']}"
    return f"{ref.get('kind') or default_kind} {name}"


def generation(obj: JsonDict) -> int | None:
    return _int((obj.get("metadata") or {}).get("generation"))


def reports(obj: JsonDict) -> list[Report]:
    status = obj.get("status")
    if not isinstance(status, dict):
        return []
    out = []
    for parent in status.get("parents") or []:
        if isinstance(parent, dict):
            conds = _conditions(parent.get("conditions"))
            out.append(Report(f"parent {_ref(parent.get('parentRef'), 'Gateway')}", _observed(conds), conds))
    for ancestor in status.get("ancestors") or []:
        if isinstance(ancestor, dict):
            conds = _conditions(ancestor.get("conditions"))
            out.append(
                Report(f"ancestor {_ref(ancestor.get('ancestorRef'), 'Gateway')}", _observed(conds), conds)
            )
    conds = _conditions(status.get("conditions"))
    messages = tuple(m for m in status.get("validationMessages") or [] if isinstance(m, dict))
    whole = _int(status.get("observedGeneration"))
    if conds or messages or whole is not None:
        out.append(Report("", whole if whole is not None else _observed(conds), conds, messages))
    return out


def has_reports(obj: JsonDict | None) -> bool:
    return bool(obj) and bool(reports(obj or {}))


def settled(obj: JsonDict) -> bool:
    """Every controller that reports on ``obj`` has seen its current generation (and one has)."""
    found = reports(obj)
    gen = generation(obj)
    return bool(found) and all(r.current(gen) for r in found)
