"""Deny rules of an Envoy Gateway route: SecurityPolicy ``authorization`` rules (``action: Deny``).

The rules sit in the SecurityPolicy that governs the HTTPRoute rule (one targeting it by
``sectionName``, created for the rule when the governing policy is shared, as CORS edits do). Each
denied client is one rule, named ``gatewayctl-deny <client>`` and put before anyone else's rules (the
first rule that matches decides):

    authorization:
      defaultAction: Allow          # written only when the policy had no authorization yet
      rules:
      - {name: gatewayctl-deny x-user-id=crawler-7, action: Deny,
         principal: {headers: [{name: x-user-id, values: [crawler-7]}]}}
      - {name: gatewayctl-deny ip=203.0.113.0/24, action: Deny,
         principal: {clientCIDRs: [203.0.113.0/24]}}

Envoy Gateway refuses with 403 only. Lifting the last client removes what the deny added: its rules,
then an ``authorization`` left with no rules allowing everyone, then a policy left with nothing.
"""

from __future__ import annotations

from ...errors import Problem
from ...model import Deny, DenyClient
from ..connector import Binding
from ..resources import JsonDict, Resource
from ..store import Workspace
from . import policies
from .policy_read import RULE_PREFIX, deny_from_policy, is_deny_rule
from .read import RuleInfo


def problems(deny: Deny | None, path: str) -> list[Problem]:
    if deny is not None and deny.status != 403:
        return [Problem(f"{path}.deny.status", "Envoy Gateway's authorization refuses with 403 only")]
    return []


def _rule(client: DenyClient) -> JsonDict:
    principal: JsonDict = (
        {"clientCIDRs": [client.value]}
        if client.kind == "ip"
        else {"headers": [{"name": client.name, "values": [client.value]}]}
    )
    return {"name": f"{RULE_PREFIX}{client}", "action": "Deny", "principal": principal}


def write(ws: Workspace, res: Resource, binding: Binding, deny: Deny | None) -> None:
    """Make the rule's SecurityPolicy deny exactly ``deny``'s clients, keeping everyone else's rules."""
    info: RuleInfo = binding.context
    governing = info.security_policy
    current = ((ws.get(governing.key) or {}).get("spec") or {}) if governing else {}
    if deny is None and deny_from_policy(current) is None:
        return
    policy = policies.policy_for(ws, res, binding, governing, "deny")
    spec = policy.setdefault("spec", {})
    auth = dict(spec.get("authorization") or {})
    old = [r for r in auth.get("rules") or [] if isinstance(r, dict)]
    theirs = [r for r in old if not is_deny_rule(r)]
    ours = [next((o for o in old if o == r), r) for r in map(_rule, deny.clients if deny else ())]
    if not auth:
        auth["defaultAction"] = "Allow"  # unset means Deny: a deny-list must let the others through
    rules = ours + theirs
    if not rules and auth.get("defaultAction") == "Allow":
        spec.pop("authorization", None)
        policies.drop_if_empty(ws, res, policy)
        return
    if rules or "rules" in auth:
        auth["rules"] = rules
    spec["authorization"] = auth
