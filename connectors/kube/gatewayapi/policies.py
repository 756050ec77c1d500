"""Edits of Envoy Gateway policies: local rate limits and fault injection (BackendTrafficPolicy) and
CORS (SecurityPolicy).

The policy that governs a rule is edited in place when it targets only that rule (by
``sectionName``, or the whole HTTPRoute when the route has one rule). Otherwise a new policy is
created for exactly that rule (naming the rule if needed), starting as a copy of the governing
policy's settings: Envoy Gateway lets the most specific policy win outright, so the copy keeps the
rule's retries, timeouts or JWT as they were while only the edited field changes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from ...errors import Problem, ValidationError
from ...model import Cors, Fault, RateLimit
from ...model.fault import grpc_code, plain_number
from ..connector import Binding
from ..durations import k8s_duration
from ..objects import MANAGED_BY_LABEL, MANAGER, is_ours
from ..resources import JsonDict, ObjKey, Resource
from ..store import Workspace
from . import write
from .policy_read import fault
from .read import GATEWAY_GROUP, UNIT_SECONDS, PolicyRef, RuleInfo, cors_from_policy, limit_from_policy

_UNIT_OF = {seconds: unit for unit, seconds in UNIT_SECONDS.items() if unit not in ("Month", "Year")}
_TARGETING = ("targetRef", "targetRefs", "targetSelectors")
_SUFFIX = {"cors": "cors", "faultInjection": "fault"}  # a rule's own policy is named for what it holds


SHADOW_WHY = (
    "Envoy Gateway cannot shadow a local rate limit: its BackendTrafficPolicy rules take "
    'shadowMode, but the CRD says it is "only supported for Global Rate Limits" (a rate-limit '
    "service), and this tool writes local limits"
)


def limit_problems(limit: RateLimit, path: str) -> list[Problem]:
    out = []
    if limit.shadow:
        out.append(Problem(f"{path}.rate_limit.shadow", SHADOW_WHY))
    elif not limit.enabled:
        # shadowMode, the only switch a rule has, works for Global limits only: a local rule with it
        # is still enforced, so "off" cannot be written honestly.
        out.append(
            Problem(
                f"{path}.rate_limit.enabled",
                "Envoy Gateway cannot switch a local rate limit off (its shadowMode works for Global "
                "limits only): remove the limit instead",
            )
        )
    if limit.interval not in _UNIT_OF:
        out.append(
            Problem(
                f"{path}.rate_limit.interval",
                "Envoy Gateway counts requests per Second, Minute, Hour, Day or Week; "
                f"{k8s_duration(limit.interval)} is none of them",
            )
        )
    if limit.burst is not None and limit.burst != limit.requests:
        out.append(
            Problem(
                f"{path}.rate_limit.burst",
                "a BackendTrafficPolicy local limit has no separate burst size (its bucket holds one "
                "interval's requests): leave the burst out or equal to the requests",
            )
        )
    return out


def policy_for(
    ws: Workspace, res: Resource, binding: Binding, governing: PolicyRef | None, suffix: str
) -> JsonDict:
    """The policy object to edit for this rule: the governing one, or a new rule-specific copy."""
    info: RuleInfo = binding.context
    if (
        governing is not None
        and governing.exclusive
        and (governing.level == "section" or (governing.level == "route" and info.rule_count == 1))
    ):
        return ws.edit(governing.key)
    target: JsonDict = {"group": GATEWAY_GROUP, "kind": "HTTPRoute", "name": info.http_route}
    parts = [info.http_route]
    if info.rule_count > 1:
        target["sectionName"] = write.section_name(ws, binding)
        parts.append(target["sectionName"])
    spec: JsonDict = {}
    if governing is not None:
        source = ws.get(governing.key) or {}
        spec = {k: copy.deepcopy(v) for k, v in (source.get("spec") or {}).items() if k not in _TARGETING}
    if governing is not None and governing.not_through:
        # The copy targets the route, so it reaches every parent; the policy it replaces did not.
        gone = ws.get(governing.key) or {}
        label = f"{gone.get('kind', 'policy')} {governing.key.namespace}/{governing.key.name}"
        ws.reaches.append(
            f"requests to route {binding.route} through {', '.join(governing.not_through)} ({label} applies "
            f"only through {', '.join(governing.through)}; the rule's own {res.kind} would apply through "
            "every parent)"
        )
    base = "-".join([*parts, suffix])[:240]
    name, n = base, 2
    while ws.get(ObjKey.of(res, info.namespace, name)) is not None:
        name, n = f"{base}-{n}", n + 1
    obj: JsonDict = {
        "apiVersion": res.api_version,
        "kind": res.kind,
        "metadata": {"name": name, "namespace": info.namespace, "labels": {MANAGED_BY_LABEL: MANAGER}},
        "spec": {"targetRefs": [target], **spec},
    }
    ws.create(res, obj)
    return obj


def drop_if_empty(ws: Workspace, res: Resource, obj: JsonDict) -> None:
    spec = obj.get("spec") or {}
    if is_ours(obj) and not any(k not in _TARGETING for k in spec):
        meta = obj["metadata"]
        ws.delete(ObjKey.of(res, meta.get("namespace") or "", meta["name"]))


def set_rate_limit(ws: Workspace, res: Resource, binding: Binding, limit: RateLimit | None) -> None:
    info: RuleInfo = binding.context
    governing = info.traffic_policy
    if governing is not None:
        rl = ((ws.get(governing.key) or {}).get("spec") or {}).get("rateLimit") or {}
        if rl.get("type") == "Global" or "global" in rl:
            raise ValidationError(
                [
                    Problem(
                        f"routes.{binding.route}.rate_limit",
                        f"BackendTrafficPolicy {governing.key.name} uses a global rate limit (a rate-limit "
                        "service); edit it there",
                    )
                ]
            )
    if limit is None and (
        governing is None or limit_from_policy((ws.get(governing.key) or {}).get("spec") or {}) is None
    ):
        return
    policy = policy_for(ws, res, binding, governing, "ratelimit")
    spec = policy.setdefault("spec", {})
    rl = dict(spec.get("rateLimit") or {})
    local = dict(rl.get("local") or {})
    rules = [r for r in local.get("rules") or []]
    index = next(
        (i for i, r in enumerate(rules) if isinstance(r, dict) and not r.get("clientSelectors")), None
    )
    if limit is None:
        if index is not None:
            del rules[index]
        if rules:
            spec["rateLimit"] = {**rl, "local": {**local, "rules": rules}}
        else:
            spec.pop("rateLimit", None)
            drop_if_empty(ws, res, policy)
        return
    entry = dict(rules[index]) if index is not None else {}
    new_limit = {"requests": limit.requests, "unit": _UNIT_OF[limit.interval]}
    if entry.get("limit") != new_limit:
        entry["limit"] = new_limit
    if index is None:
        rules.insert(0, entry)
    else:
        rules[index] = entry
    # ``type: Local`` is deprecated since v1.6 but required by v1.4-1.5: writing both works everywhere.
    spec["rateLimit"] = {**rl, "type": "Local", "local": {**local, "rules": rules}}


def _rule_field(
    ws: Workspace,
    res: Resource,
    binding: Binding,
    governing: PolicyRef | None,
    field: str,
    current: Callable[[JsonDict], object],
    wanted: object,
) -> tuple[JsonDict, JsonDict] | None:
    """Where ``wanted`` goes: the spec of the rule's own policy (``policy_for``) and what its
    ``field`` holds now. None when nothing is left to write: ``wanted`` is None and the field was
    removed (the policy with it when nothing else is left), or was not there (``current`` of the
    governing spec says None)."""
    current_spec = ((ws.get(governing.key) or {}).get("spec") or {}) if governing else {}
    if wanted is None and current(current_spec) is None:
        return None
    policy = policy_for(ws, res, binding, governing, _SUFFIX[field])
    spec = policy.setdefault("spec", {})
    if wanted is None:
        spec.pop(field, None)
        drop_if_empty(ws, res, policy)
        return None
    old = spec.get(field)
    return spec, old if isinstance(old, dict) else {}


def set_cors(ws: Workspace, res: Resource, binding: Binding, wanted: Cors | None) -> None:
    info: RuleInfo = binding.context
    found = _rule_field(
        ws, res, binding, info.security_policy, "cors", lambda s: cors_from_policy(s.get("cors")), wanted
    )
    if found is None or wanted is None:
        return
    spec, old = found
    max_age = k8s_duration(wanted.max_age) if wanted.max_age is not None else None
    spec["cors"] = write.cors_fields(old, cors_from_policy(old) or Cors(), wanted, max_age=max_age)


_EG_DURATION = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")


def fault_problems(wanted: Fault, path: str) -> list[Problem]:
    """What ``faultInjection`` cannot hold: a delay past 99,999 of its unit."""
    if wanted.delay is not None and not _EG_DURATION.match(k8s_duration(wanted.delay)):
        return [Problem(f"{path}.fault.delay", f"Envoy Gateway cannot write {k8s_duration(wanted.delay)}")]
    return []


def set_fault(ws: Workspace, res: Resource, binding: Binding, wanted: Fault | None) -> None:
    """``faultInjection`` of the rule's own BackendTrafficPolicy (created for the rule when the
    governing one is shared); only the parts whose meaning changes are rewritten."""
    info: RuleInfo = binding.context
    found = _rule_field(ws, res, binding, info.traffic_policy, "faultInjection", fault, wanted)
    if found is None or wanted is None:
        return
    spec, old = found
    now = fault({"faultInjection": old}) or Fault()
    new = copy.deepcopy(old)
    if wanted.delay is None:
        new.pop("delay", None)
    else:
        delay = new.setdefault("delay", {})
        if now.delay != wanted.delay:
            delay["fixedDelay"] = k8s_duration(wanted.delay)
        if now.delay is None or now.delay_percent != wanted.delay_percent:
            delay["percentage"] = plain_number(wanted.delay_percent)
    if wanted.abort_status is None and wanted.abort_grpc is None:
        new.pop("abort", None)
    else:
        abort = new.setdefault("abort", {})
        if (now.abort_status, now.abort_grpc) != (wanted.abort_status, wanted.abort_grpc):
            abort.pop("httpStatus", None)
            abort.pop("grpcStatus", None)
            if wanted.abort_status is not None:
                abort["httpStatus"] = wanted.abort_status
            else:
                abort["grpcStatus"] = grpc_code(wanted.abort_grpc or "")
        if (now.abort_status, now.abort_grpc) == (None, None) or now.abort_percent != wanted.abort_percent:
            abort["percentage"] = plain_number(wanted.abort_percent)
    spec["faultInjection"] = new
