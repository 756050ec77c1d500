"""The console's one table of editors matches the change pipeline's edit kinds."""

from __future__ import annotations

from connectors.change import EDIT_KINDS, LABELS
from tui.screens.edit_base import EditorScreen
from tui.screens.editors import BY_POLICY, EDITORS, editor_class


def test_every_edit_kind_has_one_editor_with_the_pipelines_label() -> None:
    assert tuple(spec.kind for spec in EDITORS) == EDIT_KINDS
    assert {spec.kind: spec.label for spec in EDITORS} == {k: LABELS[k] for k in EDIT_KINDS}
    assert len({spec.key for spec in EDITORS}) == len(EDITORS), "one key per editor"
    for spec in EDITORS:
        form = editor_class(spec.kind)
        assert issubclass(form, EditorScreen) and spec.kind == form.KIND
    assert {policy: spec.kind for policy, spec in BY_POLICY.items()} == {
        "ratelimit": "rate_limit",
        "cors": "cors",
        "fault": "fault",
    }
