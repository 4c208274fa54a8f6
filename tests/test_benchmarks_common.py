import json

import pytest

from benchmarks.common import Figure, Timer, percentile, time_calls, write_json


def test_figure_ok_and_json(tmp_path):
    figures = [Figure("a/p50", 4.0, "ms", 10.0), Figure("a/p95", 12.0, "ms", 10.0),
               Figure("a/build", 1.5, "s")]
    assert [f.ok for f in figures] == [True, False, None]
    assert "MISSED" in figures[1].line() and "ok" in figures[0].line()
    write_json(figures, tmp_path / "f.json")
    data = json.loads((tmp_path / "f.json").read_text())
    assert data[0] == {"name": "a/p50", "value": 4.0, "unit": "ms", "target": 10.0, "ok": True,
                       "note": ""}
    assert [d["ok"] for d in data] == [True, False, None]


def test_percentile_and_timers():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([3.0], 95) == 3.0
    calls = []
    times = time_calls(lambda: calls.append(1), repeat=5, warmup=2)
    assert len(times) == 5 and len(calls) == 7 and all(t >= 0 for t in times)
    with Timer() as t:
        sum(range(1000))
    assert t.seconds > 0
