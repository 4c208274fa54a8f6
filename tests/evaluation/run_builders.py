"""Build run directories on disk from per-case metric values, without drafting anything."""

from __future__ import annotations

from pathlib import Path

from drafting.evaluation.rundir import CONFIG, RESULTS, ResultsWriter, write_json
from drafting.evaluation.runner import finish_run

META = {
    "quality": {"section": "findings", "kind": "deterministic", "higher_is_better": True},
    "cost": {"section": "cost", "kind": "deterministic", "higher_is_better": False},
}


def build_run(
    directory: Path,
    values: dict[str, dict[str, float | None]],
    *,
    thresholds: dict[str, float] | None = None,
    failed: tuple[str, ...] = (),
) -> Path:
    """A run whose cases score ``values[metric][case_id]`` (None: not applicable)."""
    directory.mkdir(parents=True)
    write_json(directory / CONFIG, {
        "run_id": directory.name,
        "suite": {"name": "built", "thresholds": thresholds or {}},
        "metrics": {k: META[k] for k in values},
        "config_hash": "x",
    })
    ids = sorted({cid for per_case in values.values() for cid in per_case} | set(failed))
    writer = ResultsWriter(directory / RESULTS)
    for cid in ids:
        if cid in failed:
            writer.write({"case_id": cid, "status": "failed",
                          "error": {"type": "EndpointError", "message": "down"}, "draft": None,
                          "metrics": [], "timings": {}, "tokens": {}, "fixture_keys": []})
            continue
        metrics = []
        for name, per_case in values.items():
            if cid not in per_case:
                continue
            v = per_case[cid]
            metrics.append({"name": name, "value": v,
                            "status": "scored" if v is not None else "not_applicable",
                            "reason": "", "details": {}})
        writer.write({"case_id": cid, "status": "ok", "error": None, "draft": None,
                      "metrics": metrics, "timings": {"draft_s": 0.1, "score_s": 0.01},
                      "tokens": {"total": 10}, "fixture_keys": []})
    writer.close()
    finish_run(directory, cases={})
    return directory
