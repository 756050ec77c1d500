"""Parse the upstream CRD files where `reference.crds_dir()` finds them (never copied into the project)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import yaml

from .reference import ReferenceMissing, crds_dir

JsonDict = dict[str, Any]

# Bundle name -> glob patterns relative to the CRD directory.
BUNDLES: dict[str, tuple[str, ...]] = {
    "istio": ("istio/crd-all.gen.yaml",),
    "gateway-api": ("gateway-api/gatewayapi-crds.yaml",),
    "envoy-gateway": ("envoy-gateway/*.yaml",),
}

_Loader: Any = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)  # the C loader parses the 4 MB of CRDs ~10x faster


def load_yaml_documents(text: str) -> list[JsonDict]:
    """Every non-empty mapping document of a multi-document YAML text."""
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if isinstance(doc, dict)]


@cache
def bundle_crds(bundle: str) -> tuple[JsonDict, ...]:
    """The CRDs of one bundle, parsed once per process. Callers must not mutate them."""
    if bundle not in BUNDLES:
        raise ValueError(f"unknown CRD bundle {bundle!r}; choose from {sorted(BUNDLES)}")
    root = crds_dir()
    files = sorted(path for pattern in BUNDLES[bundle] for path in root.glob(pattern))
    if not files:
        raise ReferenceMissing(f"no CRD files for bundle {bundle!r} under {root}")
    crds: list[JsonDict] = []
    for path in files:
        crds.extend(
            doc
            for doc in load_yaml_documents(path.read_text())
            if doc.get("kind") == "CustomResourceDefinition"
        )
    return tuple(crds)


def all_crds() -> tuple[JsonDict, ...]:
    return tuple(crd for bundle in BUNDLES for crd in bundle_crds(bundle))


def _matches(crd: JsonDict, selector: str) -> bool:
    spec = crd["spec"]
    kind: str = spec["names"]["kind"]
    group: str = spec["group"]
    return selector in (crd["metadata"]["name"], kind, f"{kind}.{group}")


def select_crds(selectors: Iterable[str]) -> list[JsonDict]:
    """Resolve bundle names, CRD names (`httproutes.gateway.networking.k8s.io`), kinds (`HTTPRoute`) or
    `Kind.group` (`Gateway.networking.istio.io`) to CRDs. An ambiguous kind is an error, not a guess."""
    chosen: dict[str, JsonDict] = {}
    for selector in selectors:
        if selector in BUNDLES:
            found = list(bundle_crds(selector))
        else:
            found = [crd for crd in all_crds() if _matches(crd, selector)]
            if not found:
                raise ValueError(f"no upstream CRD matches {selector!r}")
            if len(found) > 1:
                names = ", ".join(crd["metadata"]["name"] for crd in found)
                raise ValueError(f"{selector!r} is ambiguous ({names}); use the CRD name or Kind.group")
        for crd in found:
            chosen[crd["metadata"]["name"]] = crd
    return list(chosen.values())
