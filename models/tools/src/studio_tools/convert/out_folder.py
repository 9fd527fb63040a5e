"""The folder a conversion writes: refused when it already holds something, filled beside it and moved in at the end."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SHOWN = 3


class OutFolderError(ValueError):
    """An --out path the converter will not write to."""


def refuse_unless_writable(out: Path, *, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutFolderError(f"--out {out} is a file, not a folder; pass the path of the model folder to write")
    held = sorted(entry.name for entry in out.iterdir()) if out.is_dir() else []
    if held and not overwrite:
        shown = ", ".join(held[:SHOWN]) + (f" and {len(held) - SHOWN} more" if len(held) > SHOWN else "")
        raise OutFolderError(
            f"the out folder {out} already holds {shown}; pass a new folder, or --overwrite to replace its contents "
            f"with the converted model"
        )


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A fresh folder beside `out` that takes its place when the block ends, and is removed if it fails,
    so a failed or stopped conversion leaves a folder already at `out` as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.converting")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replaced = out.with_name(f".{out.name}.replaced")
    if out.exists():
        shutil.rmtree(replaced, ignore_errors=True)
        os.replace(out, replaced)
    os.replace(staging, out)
    shutil.rmtree(replaced, ignore_errors=True)
