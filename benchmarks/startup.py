"""Start-up benchmark: ``python -c "import drafting"`` and ``drafting --help`` wall time.

Each is run in a fresh subprocess several times; the median is reported (the first run, which
may fill the OS file cache, is discarded). Targets: under 1 s and 1.5 s.

Run: ``python -m benchmarks.startup [--quick]`` or ``python -m benchmarks``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

from benchmarks.common import Figure, module_main


def _median_wall(argv: list[str], runs: int) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        if i:  # the first run warms the file cache
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(quick: bool = False) -> list[Figure]:
    """Median wall times of importing the package and of the CLI's help."""
    runs = 3 if quick else 7
    script = shutil.which("drafting", path=os.path.dirname(sys.executable))
    cli = [script, "--help"] if script else [sys.executable, "-m", "drafting", "--help"]
    baseline = _median_wall([sys.executable, "-c", "pass"], runs)
    return [
        Figure("startup/import_drafting", _median_wall([sys.executable, "-c", "import drafting"], runs),
               "s", 1.0, f"median of {runs} subprocesses; bare interpreter {baseline:.3f} s"),
        Figure("startup/drafting_help", _median_wall(cli, runs), "s", 1.5,
               f"median of {runs} subprocesses: {' '.join(os.path.basename(c) for c in cli)}"),
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the figures."""
    return module_main(run, "python -m benchmarks.startup", "fewer repeats", argv)


if __name__ == "__main__":
    sys.exit(main())
