"""Run the emulator in the foreground for manual try-outs of the TUI:

python -m tests.kube_emulator --port 0 --load ../shared/examples/istio/virtual-service-reviews-80-20.yaml
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import tempfile
import threading
from pathlib import Path

from .emulator import DEFAULT_CRDS, KubeEmulator
from .rbac import read_only


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kube_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--load", nargs="*", default=[], type=Path, help="manifest files or directories")
    parser.add_argument(
        "--crds", default=",".join(DEFAULT_CRDS), help="comma-separated bundles/kinds to install"
    )
    parser.add_argument("--namespace", action="append", default=None, help="namespace to create (repeatable)")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="where to write the kubeconfig")
    args = parser.parse_args(argv)
    # A parent that ignores SIGINT (a pytest-xdist worker does) passes that on; ctrl+c must stop it.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    crds = [c for c in args.crds.split(",") if c]
    emulator = KubeEmulator(crds=crds, namespaces=args.namespace or ["default"], port=args.port)
    emulator.add_user("readonly", token="readonly-token", rules=read_only())
    for source in args.load:
        emulator.load_manifests(source)
    with emulator:
        path = args.kubeconfig or Path(tempfile.mkdtemp(prefix="kube-emulator-")) / "kubeconfig"
        emulator.write_kubeconfig(path)
        print(f"Kubernetes API emulator at {emulator.url}", flush=True)
        print(f"KUBECONFIG={path}  (contexts: emulator, emulator-readonly)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
