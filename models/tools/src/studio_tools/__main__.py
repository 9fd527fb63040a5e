"""python -m studio_tools COMMAND [ARGS...]: one entry point for the tools' commands.

Each command lives in its own module with a `main(argv) -> int`; add one by naming it below.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("studio_tools.convert.cli", "released guided-diffusion checkpoints → a model folder"),
    "train": ("studio_tools.train.__main__", "train the built-in models"),
    "metrics": ("studio_tools.metrics.__main__", "evaluator export and reference statistics"),
    "fixtures": ("studio_tools.fixtures", "golden sampler fixtures for the TypeScript engine"),
    "quality-report": ("studio_tools.quality.report", "quality report of the built-in model set"),
}


def usage() -> str:
    lines = ["usage: python -m studio_tools COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<16}{summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "python -m studio_tools COMMAND --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
