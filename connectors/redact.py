"""Remove secrets before anything is written to a log, the audit log, a screenshot or a bundle.

The rules live in ``connectors.model.secrets`` (the model's diffs and YAML views use them too);
this module is where the rest of the connectors and the console take them from.
"""

from __future__ import annotations

from .model.secrets import MASK, Unrecoverable, redact, redact_text, unredact

__all__ = ["MASK", "Unrecoverable", "redact", "redact_text", "unredact"]
