"""`python -m benchmarks [--quick] [--only NAME] [--json FILE]`: run benchmarks, print figures."""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks import MODULES
from benchmarks.common import Figure, print_figures, write_json


def main(argv: list[str] | None = None) -> int:
    """Run each benchmark module; exit 1 when a figure misses its target."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    parser.add_argument("--quick", action="store_true", help="smaller corpora, fewer repeats")
    parser.add_argument("--only", action="append", metavar="MODULE",
                        help="run only this module (e.g. retrieval); repeatable")
    args = parser.parse_args(argv)
    figures: list[Figure] = []
    for name in MODULES:
        short = name.rsplit(".", 1)[-1]
        if args.only and short not in args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        module = importlib.import_module(name)
        got = module.run(quick=args.quick)
        print_figures(got)
        figures.extend(got)
    if args.json:
        write_json(figures, args.json)
    missed = [f for f in figures if f.ok is False]
    if missed:
        print(f"{len(missed)} figure(s) missed their target: "
              + ", ".join(f.name for f in missed), file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
