"""What makes a native gateway trustworthy at 3 a.m., between its Envoy process and its changes.

``TrustedGateway`` sits between ``lifecycle.EnvoyLifecycle`` (the process) and
``connector.NativeConnector`` (read, plan, apply, verify) and holds what keeps "what the tool shows"
and "what Envoy serves" together:

    the last applied config    recorded after each start and change (``applied``)
    the change journal         an intent before each change (``journal``), reconciled by
                               ``recover`` after a crash; the lines say how (``notices``)
    drift                      the YAML, the xDS files and Envoy against the last applied config
                               (``drift``); plans start from ``served_model``
    a YAML that does not read  still attaches: history and health answer, routes raise its error
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from ..base import Plan
from ..errors import ChangeConflict, ValidationError
from ..model import Gateway
from . import applied, journal, recover
from .config_file import ConfigFile, file_version
from .drift import Drift
from .drift import check as drift_check
from .lifecycle import EnvoyLifecycle
from .state import GatewayState
from .versions import on_disk


class TrustedGateway(EnvoyLifecycle):
    """The crash journal, the last applied config and drift of a native gateway (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inflight: set[str] = set()  # plans of this process between journal intent and end
        self._prepared: dict[str, tuple[str, Any]] = {}  # plan id -> the YAML text it saves
        self._notices: list[str] = []
        self._applied_cache: tuple[str, Gateway] | None = None

    @classmethod
    def attach(cls, state_dir: Path, *, readonly: bool = False) -> Self:
        """A connector for a gateway started earlier. A YAML that no longer reads does not stop
        it: the history, the drift check and Envoy's health still answer, and reading the routes
        raises the YAML's own error (line and column)."""
        try:
            return super().attach(state_dir, readonly=readonly)
        except ValidationError:
            state = GatewayState.read(Path(state_dir))
            unread = ConfigFile(Path(state.config), "", "", Gateway(name=state.name, routes=()), (2, 2))
            return cls(Path(state_dir), state, unread, readonly=readonly)

    def config_problem(self) -> str | None:
        """Why the YAML cannot be read now (None when it reads)."""
        try:
            self._current()
        except ValidationError as exc:
            return f"{exc.title}: {exc}"
        return None

    # -- crash safety and drift -------------------------------------------------------------------

    def recover(self) -> tuple[str, ...]:
        """Reconcile changes interrupted by a crash (rolled forward or back, recorded) and remove
        dead writers' temp files; the lines say what was done (also in ``notices``). Nothing in
        read-only mode: the drift check reports the interrupted change instead."""
        if self.readonly:
            return ()
        recover.sweep(self)
        if not journal.pending(self.state_dir):
            return ()
        lines = recover.reconcile(self, self._inflight)
        self._notices += lines
        return tuple(lines)

    def notices(self) -> tuple[str, ...]:
        return tuple(self._notices)

    def drift_report(self, *, full: bool = False) -> Drift:
        return drift_check(self, self._inflight, full=full)

    def drift(self) -> tuple[str, ...]:
        return tuple(self.drift_report().lines())

    def drift_details(self) -> tuple[str, ...]:
        report = self.drift_report(full=True)
        return (*report.lines(), *report.diffs)

    def served_model(self) -> Gateway:
        """The model Envoy was last made to serve: the last applied YAML when the file on disk
        differs from it (a hand edit), else the file's own model."""
        cf = self._current()
        rec = applied.Applied.read(self.state_dir)
        if rec is None or rec.yaml_version == cf.version:
            return cf.gateway
        cached = self._applied_cache
        if cached is not None and cached[0] == rec.yaml_version:
            return cached[1]
        model = applied.applied_model(self.state_dir)
        if model is None:
            return cf.gateway
        self._applied_cache = (rec.yaml_version, model)
        return model

    def probe_unloaded(self, listener_names: list[str]) -> dict[Path, tuple[str | None, str]]:
        """Routes files whose version the listener's probe does not answer (one request each)."""
        out: dict[Path, tuple[str | None, str]] = {}
        for path, version in on_disk(self.layout, listener_names, limits=False).items():
            if not path.name.startswith("rds-") or version is None:
                continue
            listener = path.name.removeprefix("rds-").removesuffix(".json")
            if listener not in self._state.listeners:
                continue
            answer = self._deploy.probe(listener)()
            if answer is not None and answer != version:
                out[path] = (version, answer)
        return out

    def journal_intent(self, plan: Plan) -> None:
        """Note ``plan`` durably before anything is written (the pipeline's Journal.intent)."""
        new = self._planned(plan)
        if new is None:
            return
        with self._mutex:
            cf = self._current()
            if cf.version != plan.base_version:
                raise ChangeConflict(f"the config file {cf.path} changed since the plan; re-plan")
            text, index = cf.prepare(new)
            intent = journal.Intent.from_plan(
                plan,
                user=self.user,
                base_version=cf.version,
                new_version=file_version(text.encode("utf-8")),
                new_text=text,
                xds_version=self._state.xds_version,
            )
            journal.write(self.state_dir, intent)
            self._prepared[plan.id] = (text, index)
            self._inflight.add(plan.id)

    def journal_completed(self, plan: Plan) -> None:
        self._prepared.pop(plan.id, None)
        journal.remove(self.state_dir, plan.id)
        self._inflight.discard(plan.id)

    def journal_abandoned(self, plan: Plan, *, rolled_back: bool) -> None:
        self._prepared.pop(plan.id, None)
        if rolled_back:
            journal.remove(self.state_dir, plan.id)
        self._inflight.discard(plan.id)

    def _boot(self) -> None:
        super()._boot()
        self._note_applied(self._config)

    def _current(self) -> ConfigFile:
        """The config file, re-read when someone changed it on disk."""
        with self._mutex:
            if self._config.changed_on_disk():
                self._config = ConfigFile.load(self.config_path)
            return self._config

    def _note_applied(self, cf: ConfigFile) -> None:
        """Record ``cf`` and the xDS files now on disk as what Envoy serves (``applied``)."""
        applied.record(self.state_dir, cf.text, cf.version, self.layout, list(self._state.listeners))

    def _planned(self, plan: Plan) -> Gateway | None:
        """The whole model ``plan`` applies (None: not a plan of this connector)."""
        return None
