"""`KubeEmulator`: a Kubernetes API server for tests, speaking real HTTP on 127.0.0.1.

with KubeEmulator(crds=("istio", "gateway-api")) as emu:
    emu.load_manifests(Path("../shared/examples/istio/virtual-service-reviews-80-20.yaml"))
    api = kubernetes.client.CustomObjectsApi(emu.api_client())
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import kubernetes

from . import kubeconfig, managed
from .api import Api
from .builtin import apply_builtin_defaults
from .cluster import CRD_KEY, Cluster
from .crds import load_yaml_documents, select_crds
from .faults import Fault, FaultInjector, RequestLog, RequestRecord
from .podlogs import LogLine
from .rbac import ALLOW_ALL, Rule
from .router import Target
from .server import EmulatorHTTPServer
from .tls import ServingCertificate, make_certificate, server_context
from .writes import WriteOptions, normalize

JsonDict = dict[str, Any]
DEFAULT_CRDS = ("istio", "gateway-api", "envoy-gateway")
ADMIN = "admin"


class KubeEmulator:
    def __init__(
        self,
        *,
        crds: Iterable[str] = (),
        namespaces: Iterable[str] = ("default",),
        host: str = "127.0.0.1",
        port: int = 0,
        admin_token: str = "admin-token",
        history_window: int = 1000,
        server_version: str = "1.33.1",
        clock: Callable[[], datetime] | None = None,
        bookmark_interval: float = 60.0,
        tls: bool = True,
    ) -> None:
        self.cluster = Cluster(
            history_window=history_window,
            server_version=server_version,
            clock=clock,
            bookmark_interval=bookmark_interval,
        )
        self._faults = FaultInjector()
        self._log = RequestLog()
        self._host, self._port = host, port
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tls = tls
        self._certificate: ServingCertificate | None = None
        self._ca_dir: Path | None = None
        self.tokens: dict[str, str] = {}
        self.admin_token = self.add_user(ADMIN, token=admin_token)
        for namespace in namespaces:
            self.create_namespace(namespace)
        if crds:
            self.install_crds(*crds)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> KubeEmulator:
        if self._server is not None:
            return self
        api = Api(self.cluster, self._faults, lambda: f"{self._host}:{self.port}")
        context = None
        if self._tls:
            self._certificate = make_certificate(self._host)
            context = server_context(self._certificate)
        self._server = EmulatorHTTPServer((self._host, self._port), api, self._log, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="kube-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.cluster.store.close()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self._ca_dir is not None:
            shutil.rmtree(self._ca_dir, ignore_errors=True)
            self._ca_dir = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self._host}:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        """The serving certificate (its own CA) of the running emulator; empty without TLS."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start()")
        return self._certificate.cert_pem if self._certificate else b""

    @property
    def ca_file(self) -> Path | None:
        """`ca_pem` in a file (for clients that take a path), removed when the emulator stops."""
        if not self.ca_pem:
            return None
        if self._ca_dir is None:
            self._ca_dir = Path(tempfile.mkdtemp(prefix="kube-emulator-ca-"))
            (self._ca_dir / "ca.crt").write_bytes(self.ca_pem)
        return self._ca_dir / "ca.crt"

    # -- cluster content ----------------------------------------------------------------------------
    def install_crds(self, *selectors: str) -> list[str]:
        """Install upstream CRDs by bundle (`istio`, `gateway-api`, `envoy-gateway`), CRD name, kind or
        `Kind.group`. Returns the installed CRD names."""
        return [self.cluster.install_crd(crd).crd_name for crd in select_crds(selectors)]

    def uninstall_crds(self, *selectors: str) -> None:
        for crd in select_crds(selectors):
            self.cluster.uninstall_crd(crd["metadata"]["name"])

    def installed_crds(self) -> list[str]:
        return [obj["metadata"]["name"] for obj in self.cluster.store.objects(CRD_KEY)]

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> JsonDict:
        return self.put_object(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        )

    def load_manifests(
        self,
        source: str | Path | Iterable[JsonDict],
        *,
        namespace: str = "default",
        validate: bool = True,
        manager: str | None = None,
    ) -> list[JsonDict]:
        """Seed objects from a YAML file, a directory of them, YAML text, or dicts (multi-doc and `List`
        supported). Objects are stored as given - status, managedFields, labels and annotations included;
        custom resources are pruned, defaulted and (if `validate`) validated like API writes. With
        `manager`, objects without managedFields get an Update entry for it, as if it had created them."""
        documents: list[JsonDict] = []
        if isinstance(source, Path) or (
            isinstance(source, str) and "\n" not in source and Path(source).exists()
        ):
            path = Path(source)
            files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
            for file in files:
                documents.extend(load_yaml_documents(file.read_text()))
        elif isinstance(source, str):
            documents = load_yaml_documents(source)
        else:
            documents = [copy.deepcopy(doc) for doc in source]
        expanded = [
            item
            for doc in documents
            for item in (doc.get("items", []) if doc.get("kind") == "List" else [doc])
        ]
        return [
            self.put_object(doc, namespace=namespace, validate=validate, manager=manager) for doc in expanded
        ]

    def put_object(
        self, obj: JsonDict, *, namespace: str = "default", validate: bool = True, manager: str | None = None
    ) -> JsonDict:
        """Create or overwrite one object directly (no HTTP, no RBAC); returns the stored object."""
        obj = copy.deepcopy(obj)
        group, _, version = obj["apiVersion"].rpartition("/")
        resource = self.cluster.registry.by_kind(group, obj["kind"])
        if resource is None or version not in resource.versions:
            raise ValueError(
                f'no matches for kind "{obj["kind"]}" in version "{obj["apiVersion"]}" (install its CRD)'
            )
        metadata = obj.setdefault("metadata", {})
        if resource.namespaced:
            metadata["namespace"] = metadata.get("namespace") or namespace
            if not self.cluster.namespace_exists(metadata["namespace"]):
                self.create_namespace(metadata["namespace"])
        target = Target(resource, version, metadata.get("namespace", ""), metadata.get("name", ""))
        if validate:
            normalize(self.cluster, target, obj, WriteOptions(manager="seed", field_validation="Ignore"))
        if not resource.custom:
            apply_builtin_defaults(resource, obj)
        metadata.pop("resourceVersion", None)
        metadata.setdefault("uid", self.cluster.new_uid())
        metadata.setdefault("creationTimestamp", self.cluster.timestamp())
        if resource.has_generation:
            metadata.setdefault("generation", 1)
        if manager and not metadata.get("managedFields"):
            managed.record_update(
                None,
                obj,
                manager=manager,
                api_version=obj["apiVersion"],
                time=self.cluster.timestamp(),
                schema=resource.schemas.get(version),
                scope=managed.Scope(exclude_status=resource.has_status),
            )
        obj["apiVersion"] = resource.api_version()
        with self.cluster.store.lock:
            stored = self.cluster.store.write(resource.key, obj)
            if resource.key == CRD_KEY:
                self.cluster.crd_written(stored)
        return copy.deepcopy(stored)

    def get_object(self, group: str, version: str, plural: str, namespace: str, name: str) -> JsonDict | None:
        """A copy of the stored object as served in `version`, or None."""
        resource = self.cluster.registry.lookup(group, version, plural)
        if resource is None:
            return None
        obj = self.cluster.store.get(resource.key, namespace if resource.namespaced else "", name)
        return None if obj is None else {**copy.deepcopy(obj), "apiVersion": resource.api_version(version)}

    def objects(
        self,
        kind: str | None = None,
        *,
        group: str | None = None,
        namespace: str | None = None,
        include: Callable[[str, str], bool] | None = None,
    ) -> list[JsonDict]:
        """Copies of stored objects (storage version), filtered by kind, API group and namespace, and
        by ``include(kind, group)`` (a filter that spares copying the large CRD objects, say)."""
        found: list[JsonDict] = []
        for resource in self.cluster.registry.all():
            if (kind and resource.kind != kind) or (group is not None and resource.group != group):
                continue
            if include is not None and not include(resource.kind, resource.group):
                continue
            found.extend(copy.deepcopy(o) for o in self.cluster.store.objects(resource.key, namespace))
        return found

    def delete_object(self, group: str, plural: str, namespace: str, name: str) -> bool:
        return self.cluster.store.remove((group, plural), namespace, name) is not None

    def set_pod_logs(
        self,
        namespace: str,
        pod: str,
        lines: Sequence[str | tuple[datetime, str]],
        *,
        container: str | None = None,
        interval: timedelta = timedelta(seconds=1),
        append: bool = False,
    ) -> None:
        """Log lines for `pods/log`. Plain strings are stamped ending now, `interval` apart (so
        `sinceSeconds` selects the newest ones); `(time, text)` pairs keep their time."""
        now = self.cluster.clock()
        entries = [
            LogLine(line[0], line[1])
            if isinstance(line, tuple)
            else LogLine(now - interval * (len(lines) - 1 - i), line)
            for i, line in enumerate(lines)
        ]
        if container is None:
            stored = self.cluster.store.get(("", "pods"), namespace, pod)
            containers = ((stored or {}).get("spec") or {}).get("containers") or [{}]
            container = containers[0].get("name", "")
        store = self.cluster.logs.append if append else self.cluster.logs.set
        store(namespace, pod, container or "", entries)

    def set_pod_proxy(self, namespace: str, pod: str, port: int, url: str | None) -> None:
        """Serve `pods/<pod>:<port>/proxy/...` from `url` (e.g. a real Envoy's admin address); None
        removes it, and the pod's port then answers 503 as an unreachable pod does."""
        self.cluster.pod_proxies.set(namespace, pod, port, url)

    @property
    def resource_version(self) -> int:
        return self.cluster.store.resource_version

    def compact(self) -> int:
        """Drop the watch history: watches and continue tokens from older resourceVersions get 410."""
        return self.cluster.store.compact()

    # -- users and tokens ---------------------------------------------------------------------------
    def add_user(self, name: str, *, token: str | None = None, rules: Iterable[Rule] = ALLOW_ALL) -> str:
        """Register a user with a bearer token and RBAC rules (default: allowed everything)."""
        self.tokens[name] = self.cluster.auth.add_user(name, token=token, rules=tuple(rules))
        return self.tokens[name]

    def set_rules(self, user: str, rules: Iterable[Rule]) -> None:
        self.cluster.auth.set_rules(user, tuple(rules))

    def expire_token(self, token: str) -> None:
        """From now on requests with `token` get 401 Unauthorized."""
        self.cluster.auth.expire(token)

    # -- faults -------------------------------------------------------------------------------------
    def fail_next(
        self,
        n: int = 1,
        code: int = 500,
        *,
        path_contains: str | None = None,
        method: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next `n` matching requests fail with `code` and a Status body (filters: substring of
        path+query, HTTP method)."""
        self._faults.add(Fault(n, code, 0.0, path_contains, method, message, retry_after))

    def delay_next(
        self, seconds: float, n: int = 1, *, path_contains: str | None = None, method: str | None = None
    ) -> None:
        """The next `n` matching requests are answered only after `seconds` (to trip client timeouts)."""
        self._faults.add(Fault(n, None, seconds, path_contains, method))

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- request log --------------------------------------------------------------------------------
    def requests(self, method: str | None = None, path_contains: str | None = None) -> list[RequestRecord]:
        return self._log.select(method, path_contains)

    def reset_log(self) -> None:
        self._log.reset()

    # -- client configuration -----------------------------------------------------------------------
    def kubeconfig(self, users: Iterable[str] | None = None, *, namespace: str = "default") -> JsonDict:
        names = list(users) if users is not None else list(self.tokens)
        tokens = {name: self.tokens[name] for name in names}
        return kubeconfig.build(self.url, tokens, namespace=namespace, ca_pem=self.ca_pem)

    def write_kubeconfig(
        self, path: Path, users: Iterable[str] | None = None, *, namespace: str = "default"
    ) -> Path:
        """Write a kubeconfig with one context per user: `emulator` (admin), `emulator-<user>`."""
        return kubeconfig.write(path, self.kubeconfig(users, namespace=namespace))

    def api_client(self, user: str = ADMIN) -> kubernetes.client.ApiClient:
        """A client authenticated as `user`; the caller closes it (or uses it as a context manager)."""
        configuration = kubernetes.client.Configuration()
        configuration.host = self.url
        configuration.api_key = {"BearerToken": self.tokens[user]}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        if self.ca_file is not None:
            configuration.ssl_ca_cert = str(self.ca_file)
        return kubernetes.client.ApiClient(configuration)
