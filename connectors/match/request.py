"""A request to explain: method, host, path, headers and the client's address, from command-line
pieces, a URL or a pasted curl command. Anything malformed is one ``ValidationError`` naming the
field, before anything is matched or sent."""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from ..errors import Problem, ValidationError
from ..redact import redact_text
from .paths import remove_dot_segments

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HOST = re.compile(r"^[A-Za-z0-9.*_-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE")


@dataclass(frozen=True)
class Request:
    """What the gateway would see. Header names are lower-case; ``host`` has no port."""

    method: str
    host: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    client_ip: str = "127.0.0.1"
    port: int | None = None  # the port a URL or curl command named (which listener), if any
    scheme: str = "http"
    raw_host: str = field(default="", compare=False)  # as given, with any port
    notes: tuple[str, ...] = field(default=(), compare=False)  # e.g. how curl changes the path

    def header(self, name: str) -> str | None:
        """The value of ``name`` (several values joined by ``,``, as Envoy matches them)."""
        values = [v for k, v in self.headers if k == name.lower()]
        return ",".join(values) if values else None

    @property
    def path_only(self) -> str:
        return self.path.split("?", 1)[0]

    @property
    def is_preflight(self) -> bool:
        return (
            self.method == "OPTIONS"
            and self.header("origin") is not None
            and self.header("access-control-request-method") is not None
        )


def parse_header(text: str) -> tuple[str, str]:
    """``'k: v'`` as (lower-case name, value); a ValidationError for anything else."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep:
        # Only the first word is echoed: the rest may be a secret ("Authorization Bearer ...").
        shown = (text.split()[0] if text.split() else text)[:40]
        raise ValidationError([Problem("header", f"{shown!r}... has no ':' (a header is 'name: value')")])
    if not _TOKEN.match(name):
        raise ValidationError([Problem("header", f"invalid header name {redact_text(name[:60])!r}")])
    if any(c in value for c in "\r\n\0"):
        raise ValidationError([Problem("header", f"the value of {name!r} has a line break")])
    return name.lower(), value.strip()


def build(
    *,
    host: str | None,
    path: str,
    method: str = "GET",
    headers: Sequence[str] = (),
    client_ip: str = "127.0.0.1",
    port: int | None = None,
    scheme: str = "http",
) -> Request:
    """A Request from command-line pieces; every problem at once, each naming its field."""
    problems: list[Problem] = []
    pairs: list[tuple[str, str]] = []
    for text in headers:
        try:
            pairs.append(parse_header(text))
        except ValidationError as exc:
            problems += exc.problems
    given_host = dict(pairs).get("host")
    raw = host if host is not None else given_host
    if not raw:
        problems.append(Problem("host", "give the request's host (--host, a Host header or a URL)"))
        raw = ""
    elif not _HOST.match(raw):
        problems.append(Problem("host", f"{raw!r} is not a host name"))
    if not path.startswith("/") or any(c in path for c in " \r\n\0#"):
        problems.append(Problem("path", f"{path!r} is not a request path (it starts with /, no spaces)"))
    elif not path.isascii() or not path.isprintable():
        problems.append(
            Problem("path", f"{path!r} has characters a request line cannot carry: percent-encode them")
        )
    method = method.upper()
    if method not in METHODS:
        problems.append(Problem("method", f"unknown HTTP method {method!r}"))
    try:
        ipaddress.ip_address(client_ip)
    except ValueError:
        problems.append(Problem("client_ip", f"{client_ip!r} is not an IP address"))
    if problems:
        raise ValidationError(problems)
    pairs = [(k, v) for k, v in pairs if k != "host"]
    return Request(
        method=method,
        host=_bare_host(raw),
        path=path,
        headers=tuple(pairs),
        client_ip=client_ip,
        port=port,
        scheme=scheme,
        raw_host=raw,
    )


def _bare_host(host: str) -> str:
    """Envoy strips any port before choosing a virtual host (``strip_any_host_port``)."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].lower() if ":" in host else host.lower()


def from_url(
    url: str, *, method: str = "GET", headers: Sequence[str] = (), client_ip: str = "127.0.0.1"
) -> Request:
    """A Request for ``url`` (a Host header among ``headers`` wins over the URL's host)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError([Problem("url", f"{url!r} is not a URL: {exc}")]) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError([Problem("url", f"{url!r} is not an http(s) URL with a host")])
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    has_host = any(parse_header(h)[0] == "host" for h in headers if ":" in h)
    return build(
        host=None if has_host else parts.netloc.rsplit("@", 1)[-1],
        path=path,
        method=method,
        headers=headers,
        client_ip=client_ip,
        port=port,
        scheme=parts.scheme,
    )


_CURL_VALUE = {"-X", "--request", "-H", "--header", "-d", "--data", "--data-raw", "--data-binary", "-u"}
_CURL_AS_HEADER = {"-A": "user-agent", "--user-agent": "user-agent", "-e": "referer", "--referer": "referer"}
_CURL_AS_HEADER |= {"-b": "cookie", "--cookie": "cookie"}
_CURL_IGNORED_VALUE = {"-o", "--output", "-m", "--max-time", "--connect-timeout", "-w", "--write-out"}
_CURL_IGNORED_VALUE |= {"--retry", "-x", "--proxy", "--cacert", "-E", "--cert", "--key", "--resolve"}


@dataclass
class _Curl:
    method: str | None = None
    headers: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    has_data: bool = False
    path_as_is: bool = False

    def take(self, flag: str, value: str) -> None:
        if flag in ("-X", "--request"):
            self.method = value
        elif flag in ("-H", "--header"):
            self.headers.append(value)
        elif flag == "-u":
            self.headers.append("authorization: Basic <from -u>")
        elif flag in _CURL_AS_HEADER:
            self.headers.append(f"{_CURL_AS_HEADER[flag]}: {value}")
        elif flag not in _CURL_IGNORED_VALUE:
            self.has_data = True


def _read_curl(words: list[str]) -> _Curl:
    curl = _Curl()
    i = 0
    while i < len(words):
        word = words[i]
        if word in _CURL_VALUE or word in _CURL_AS_HEADER or word in _CURL_IGNORED_VALUE:
            if i + 1 >= len(words):
                raise ValidationError([Problem("curl", f"{word} needs a value")])
            curl.take(word, words[i + 1])
            i += 2
            continue
        if word[:2] in ("-X", "-H") and len(word) > 2:  # -XPOST, -H'k: v'
            curl.take(word[:2], word[2:])
        elif word in ("-I", "--head"):
            curl.method = curl.method or "HEAD"
        elif word == "--path-as-is":
            curl.path_as_is = True
        elif not word.startswith("-"):
            curl.urls.append(word)
        i += 1
    return curl


def from_curl(command: str, *, client_ip: str = "127.0.0.1") -> Request:
    """A Request from a pasted ``curl ...`` command: -X, -H, -d (POST), -I (HEAD), -A/-e/-b and the
    URL, whose path curl cleans of dot segments unless ``--path-as-is``; other flags are ignored."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise ValidationError([Problem("curl", f"cannot read the command: {exc}")]) from None
    if words and words[0] == "curl":
        words = words[1:]
    curl = _read_curl(words)
    if len(curl.urls) != 1:
        raise ValidationError([Problem("curl", "the curl command needs exactly one URL")])
    url = curl.urls[0] if "://" in curl.urls[0] else f"http://{curl.urls[0]}"  # curl's default
    chosen = curl.method or ("POST" if curl.has_data else "GET")
    request = from_url(url, method=chosen, headers=curl.headers, client_ip=client_ip)
    cleaned = remove_dot_segments(request.path)
    if curl.path_as_is or cleaned == request.path:
        return request
    note = f"curl sends {cleaned}, not {request.path}: it removes dot segments (--path-as-is keeps them)"
    return replace(request, path=cleaned, notes=(*request.notes, note))


def headers_dict(request: Request) -> Mapping[str, str]:
    """The request's headers as one value per name (for sending)."""
    out: dict[str, str] = {}
    for k, v in request.headers:
        out[k] = f"{out[k]},{v}" if k in out else v
    return out
