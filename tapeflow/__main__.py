"""Command line: `python -m tapeflow demo` (also installed as the `tapeflow` command)."""

from __future__ import annotations

import sys

USAGE = """usage: tapeflow <command> [options]

commands:
  demo      train a small CNN on digits, report accuracy, save the model and its learning curves
  version   print the Tapeflow version (also: --version)

`tapeflow <command> --help` describes a command's options.
"""


def main(argv: list | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "demo":
        from tapeflow.demo import main as demo_main

        return demo_main(rest)
    if command in ("version", "--version", "-V"):
        import tapeflow

        print(tapeflow.__tapeflow_version__)
        return 0
    print(f"tapeflow: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
