"""Envoy's rejection, when one still happens, is reduced to its reason: one line, never the
quoted listener or route JSON (which holds inline JWKS). The inputs are Envoy 1.40's own log
lines for an out-of-range uint32 and duration pushed straight into its files."""

from __future__ import annotations

from connectors.native.envoy_reason import short_reason

LISTENER = '{"version_info":"1","resources":[{"name":"main","jwks":{"keys":[{"kty":"RSA","d":"PRIVATE"}]}}]}'
UINT32 = (
    "in /s/xds/lds.json, Unable to parse JSON as proto (INVALID_ARGUMENT: invalid JSON in "
    "envoy.service.discovery.v3.DiscoveryResponse @ resources[0].<any>.descriptors[0].token_bucket."
    "tokens_per_fill: message google.protobuf.UInt32Value, near 1:1163   (offset   1162): integer out of "
    "range): " + LISTENER
)
DURATION = (
    "in /s/xds/rds-main.json, Unable to parse JSON as proto (INVALID_ARGUMENT: invalid JSON in "
    "envoy.service.discovery.v3.DiscoveryResponse  @ resources[0].<any>.virtual_hosts[0].routes[0]."
    "route.timeout:   message   google.protobuf.Duration, near 1:297 (offset   296):  duration out of "
    'range): {"version_info": "zz2", "resources": []}'
)


def test_a_json_parse_rejection_keeps_the_field_and_the_reason_only() -> None:
    assert short_reason(UINT32) == (
        "in /s/xds/lds.json, INVALID_ARGUMENT: resources[0].<any>.descriptors[0].token_bucket."
        "tokens_per_fill: integer out of range"
    )
    assert short_reason(DURATION).endswith("virtual_hosts[0].routes[0].route.timeout: duration out of range")


def test_a_proto_constraint_rejection_drops_the_proto_dump() -> None:
    text = (
        "Proto constraint validation failed (RouteValidationError.Match: embedded message failed "
        'validation | caused by RouteMatchValidationError.SafeRegex: value is required): name: "a"\n'
        'match {\n  safe_regex {\n  }\n}\njwks: "{\\"keys\\": [{\\"d\\": \\"PRIVATE\\"}]}"'
    )
    reason = short_reason(text)
    assert reason.startswith("Proto constraint validation failed (RouteValidationError.Match")
    assert "PRIVATE" not in reason and "\n" not in reason


def test_key_material_never_passes_and_the_line_is_short() -> None:
    reason = short_reason('bad provider: {"keys": [{"d": "PRIVATE"}]} ' + "x" * 5000)
    assert "PRIVATE" not in reason and "key material left out" in reason
    assert len(short_reason("y" * 5000)) <= 300
