"""How a rate-limited client is shown: an address, or a header value that may be a credential.

An API key or session id must never appear whole on screen, in a screenshot or in a log, so such
values are shown as a short prefix and a hash: the operator can still tell clients apart and match
one against a key they hold (by hashing it the same way), but cannot read the key off the screen.
"""

from __future__ import annotations

import hashlib
import re

SOURCE = "source"
"""Group by the client's address (Envoy's downstream remote address, without the port)."""

# Header names whose values are credentials or identify a session.
_SECRET_NAME = re.compile(r"(key|token|auth|secret|session|cookie|credential|password|signature)", re.I)
# Values that look like credentials whatever the header is called: JWTs, long random strings.
_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.")
_RANDOMISH = re.compile(r"^[A-Za-z0-9_\-+/=.]{24,}$")
# Well-known API key shapes, however short: Stripe-like sk_/pk_/rk_, GitHub, Slack, AWS, GitLab.
_KEY_PREFIX = re.compile(
    r"^(?:(?:sk|pk|rk)_[A-Za-z0-9_]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|github_pat_\w{16,}"
    r"|xox[abposr]-[A-Za-z0-9-]{8,}|(?:AKIA|ASIA)[0-9A-Z]{12,}|glpat-[\w-]{16,})"
)
MAX_PLAIN = 40


def fingerprint(value: str) -> str:
    """The short hash shown in place of a secret: 8 hex digits of its SHA-256."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def looks_like_key(value: str) -> bool:
    """A value that may be a credential whatever it is called: a known key prefix, a JWT, a long
    random-looking token."""
    return bool(_KEY_PREFIX.match(value) or _JWT.match(value) or _RANDOMISH.match(value))


def is_secret(header: str, value: str) -> bool:
    return bool(_SECRET_NAME.search(header) or looks_like_key(value))


def client_label(by: str, value: str) -> str:
    """What the triage table shows for a client grouped ``by`` "source" or a header name."""
    if by == SOURCE:
        return strip_port(value)
    if is_secret(by, value):
        return f"{value[:4]}…#{fingerprint(value)}"
    return value if len(value) <= MAX_PLAIN else value[: MAX_PLAIN - 1] + "…"


def strip_port(address: str) -> str:
    """``10.0.0.7:51234`` → ``10.0.0.7``; ``[::1]:51234`` → ``::1``; anything else unchanged."""
    if address.startswith("["):
        end = address.find("]")
        return address[1:end] if end > 0 else address
    host, sep, port = address.rpartition(":")
    if sep and port.isdigit() and host and ":" not in host:
        return host
    return address
