"""Files written so that a stopped or crashed process never leaves half of one behind."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """`write` fills a file beside `path`, which then replaces `path` in one rename: readers see
    the old file or the new one, never a mix. The partial file is removed when `write` fails."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_json_atomically(path: Path, data: Any, *, ensure_ascii: bool = True) -> None:
    """`data` as indented JSON with a final newline, written with `write_atomically`."""
    text = json.dumps(data, indent=2, ensure_ascii=ensure_ascii) + "\n"
    write_atomically(path, lambda partial: partial.write_text(text, encoding="utf-8"))
