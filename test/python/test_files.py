"""A file written atomically is the old one or the new one, never half of either."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio_tools.files import write_atomically, write_json_atomically


def test_the_new_content_replaces_the_old_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old", encoding="utf-8")
    write_json_atomically(target, {"fid": 3.5, "name": "ß"}, ensure_ascii=False)
    assert target.read_text(encoding="utf-8") == '{\n  "fid": 3.5,\n  "name": "ß"\n}\n'
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_a_write_that_fails_halfway_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    target.write_bytes(b"previous checkpoint")

    def fail_halfway(partial: Path) -> None:
        partial.write_bytes(b"half a chec")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left on device"):
        write_atomically(target, fail_halfway)
    assert target.read_bytes() == b"previous checkpoint"
    assert [path.name for path in tmp_path.iterdir()] == ["last.pt"]


def test_a_value_json_cannot_hold_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "draw.json"
    with pytest.raises(TypeError):
        write_json_atomically(target, {"when": object()})
    assert list(tmp_path.iterdir()) == []
    write_json_atomically(target, {"seconds": 1})
    assert json.loads(target.read_text(encoding="utf-8")) == {"seconds": 1}
