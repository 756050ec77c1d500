"""The change pipeline: one path from an edit to the gateway, the history and the audit log.

``Change(connector)`` plans (drift check, rebase onto the gateway now, connector ``plan``), applies
(read-only refusal, journal, connector write, verify, history + audit), exports and undoes. Its
plug-in points (drift check, crash-safety journal, time-boxed revert) are in ``hooks``.
"""

from __future__ import annotations

from .hooks import ChangeHooks, DriftCheck, Journal, RevertScheduler
from .pipeline import Change
from .rebase import EDIT_KINDS, FIELDS, LABELS, rebase

__all__ = [
    "EDIT_KINDS",
    "FIELDS",
    "LABELS",
    "Change",
    "ChangeHooks",
    "DriftCheck",
    "Journal",
    "RevertScheduler",
    "rebase",
]
