"""Decode the protobuf request bodies kubectl sends for the built-ins its `create` commands build.

kubectl's typed clients (`kubectl create namespace|configmap|secret|serviceaccount`) POST
`application/vnd.kubernetes.protobuf`: the magic `k8s\\0`, then a `runtime.Unknown` envelope
(`typeMeta`, `raw`) whose `raw` is the object's message. The emulator stores JSON, so the messages of
those kinds (field numbers from `k8s.io/api/core/v1/generated.proto`) are decoded here into the JSON the
client would have sent. Go always writes non-pointer scalars, so zero values (`""`, `0`, `false`, empty
messages) are dropped as JSON's `omitempty` would; map entries keep theirs. Other kinds answer 415.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .status import ApiError, bad_request

JsonDict = dict[str, Any]
PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

# message -> field number -> (JSON name, type, repeated). A type is a scalar (`string`, `bytes`, `int`,
# `bool`), `map:string`/`map:bytes` (map<string, ...>), `time` (metav1.Time) or another message's name.
Field = tuple[str, str, bool]
_MESSAGES: dict[str, dict[int, Field]] = {
    "TypeMeta": {1: ("apiVersion", "string", False), 2: ("kind", "string", False)},
    "ObjectMeta": {
        1: ("name", "string", False),
        2: ("generateName", "string", False),
        3: ("namespace", "string", False),
        5: ("uid", "string", False),
        6: ("resourceVersion", "string", False),
        7: ("generation", "int", False),
        8: ("creationTimestamp", "time", False),
        11: ("labels", "map:string", False),
        12: ("annotations", "map:string", False),
        13: ("ownerReferences", "OwnerReference", True),
        14: ("finalizers", "string", True),
    },
    "OwnerReference": {
        1: ("kind", "string", False),
        3: ("name", "string", False),
        4: ("uid", "string", False),
        5: ("apiVersion", "string", False),
        6: ("controller", "bool", False),
        7: ("blockOwnerDeletion", "bool", False),
    },
    "Namespace": {
        1: ("metadata", "ObjectMeta", False),
        2: ("spec", "NamespaceSpec", False),
        3: ("status", "NamespaceStatus", False),
    },
    "NamespaceSpec": {1: ("finalizers", "string", True)},
    "NamespaceStatus": {1: ("phase", "string", False)},
    "ConfigMap": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map:string", False),
        3: ("binaryData", "map:bytes", False),
        4: ("immutable", "bool", False),
    },
    "Secret": {
        1: ("metadata", "ObjectMeta", False),
        2: ("data", "map:bytes", False),
        3: ("type", "string", False),
        4: ("stringData", "map:string", False),
        5: ("immutable", "bool", False),
    },
    "ServiceAccount": {
        1: ("metadata", "ObjectMeta", False),
        2: ("secrets", "ObjectReference", True),
        3: ("imagePullSecrets", "LocalObjectReference", True),
        4: ("automountServiceAccountToken", "bool", False),
    },
    "ObjectReference": {
        1: ("kind", "string", False),
        2: ("namespace", "string", False),
        3: ("name", "string", False),
        4: ("uid", "string", False),
        5: ("apiVersion", "string", False),
    },
    "LocalObjectReference": {1: ("name", "string", False)},
    "Time": {1: ("seconds", "int", False), 2: ("nanos", "int", False)},
}
# (apiVersion, kind) of the objects whose bodies are understood.
DECODED_KINDS = frozenset(("v1", kind) for kind in ("Namespace", "ConfigMap", "Secret", "ServiceAccount"))


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise bad_request("error decoding request body: truncated protobuf varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message: an int for varints, bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise bad_request("error decoding request body: truncated protobuf field")
            yield number, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):  # fixed64/fixed32: no field of the decoded kinds uses them; skip
            pos += 8 if wire == 1 else 4
        else:
            raise bad_request(f"error decoding request body: unsupported protobuf wire type {wire}")


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind == "int":
        return value if isinstance(value, int) else 0
    if kind == "bool":
        return bool(value)
    if not isinstance(value, bytes):
        raise bad_request(f"error decoding request body: expected bytes for a {kind} field")
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "time":
        stamp = decode_message("Time", value)
        seconds = int(stamp.get("seconds", 0))
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if seconds else None
    if kind in _MESSAGES:
        return decode_message(kind, value)
    return value.decode("utf-8")


def _map_entry(kind: str, value: int | bytes) -> tuple[str, Any]:
    entry = dict(_fields(value if isinstance(value, bytes) else b""))
    key, item = entry.get(1, b""), entry.get(2, b"")
    return _scalar("string", key), _scalar(kind.removeprefix("map:"), item)


def decode_message(name: str, data: bytes) -> JsonDict:
    """One message as the JSON object Kubernetes would serialize (zero values left out)."""
    schema = _MESSAGES[name]
    out: JsonDict = {}
    for number, value in _fields(data):
        if number not in schema:
            continue  # a field this emulator does not model (e.g. managedFields): the JSON path drops it too
        key, kind, repeated = schema[number]
        if kind.startswith("map:"):
            entry_key, entry_value = _map_entry(kind, value)
            out.setdefault(key, {})[entry_key] = entry_value
        elif repeated:
            out.setdefault(key, []).append(_scalar(kind, value))
        else:
            out[key] = _scalar(kind, value)
    return {key: value for key, value in out.items() if value not in ("", 0, None, {})}


def decode(body: bytes) -> JsonDict:
    """A `k8s\\0`-prefixed `runtime.Unknown` body as a JSON object; 415 for kinds not decoded here."""
    if not body.startswith(_MAGIC):
        raise bad_request("error decoding request body: protobuf body without the k8s magic prefix")
    envelope = dict(_fields(body[len(_MAGIC) :]))  # runtime.Unknown: 1 typeMeta, 2 raw
    type_meta, raw = envelope.get(1, b""), envelope.get(2, b"")
    if not isinstance(type_meta, bytes) or not isinstance(raw, bytes):
        raise bad_request("error decoding request body: malformed protobuf envelope")
    meta = decode_message("TypeMeta", type_meta)
    api_version, kind = meta.get("apiVersion", ""), meta.get("kind", "")
    if (api_version, kind) not in DECODED_KINDS:
        decoded = ", ".join(sorted(k for _, k in DECODED_KINDS))
        raise ApiError(
            415,
            f"the emulator decodes protobuf bodies only for {decoded}; send {kind or 'this object'} as JSON",
            "UnsupportedMediaType",
        )
    return {"apiVersion": api_version, "kind": kind, **decode_message(kind, raw)}
