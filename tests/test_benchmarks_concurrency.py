"""The pure parts of the concurrency benchmark: the delay model and the limit it is held to."""

import math
import statistics

import pytest

pytest.importorskip("aiohttp")

from benchmarks.concurrency import list_schedule  # noqa: E402
from benchmarks.slow_server import lognormal_delay  # noqa: E402


def test_lognormal_delays_have_the_asked_median_and_p95_and_repeat_per_body():
    delay = lognormal_delay(1.5, 6.0, seed=3)
    values = sorted(delay(f"request {i}".encode()) for i in range(20_000))
    assert statistics.median(values) == pytest.approx(1.5, rel=0.05)
    assert values[int(0.95 * len(values))] == pytest.approx(6.0, rel=0.08)
    assert delay(b"same body") == delay(b"same body")
    assert delay(b"same body") != lognormal_delay(1.5, 6.0, seed=4)(b"same body")


def test_list_schedule_starts_jobs_in_order_on_the_first_free_slot():
    assert list_schedule([3.0, 1.0, 1.0, 1.0], 2) == 3.0  # 1+1+1 on one slot while 3 runs
    assert list_schedule([1.0, 1.0, 5.0], 2) == 6.0      # the 5 starts only when a slot frees
    assert list_schedule([2.0] * 6, 3) == 4.0
    assert math.isclose(list_schedule([0.5], 64), 0.5)
