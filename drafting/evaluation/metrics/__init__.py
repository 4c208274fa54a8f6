"""Evaluation metrics: small named objects that score a draft against a gold case.

Build them by name::

    metrics = build_metrics(["diagnosis.final_match", {"name": "diagnosis.top3_hit"},
                             {"findings.support": {"min_term_share": 0.6}}])
    results = score_draft(draft, gold_case, metrics)  # drafting.evaluation.scoring

A metric implements `Metric.score` once, sync or async (see `base`); the scorer adapts.
`DEFAULT_METRICS` lists every deterministic, embedding and cost metric; the judge metrics are
built only with a judge endpoint (``build_metrics([...], judge_endpoint=endpoint)``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from drafting.errors import ConfigError
from drafting.evaluation.metrics.base import Metric, MetricResult, error_reason
from drafting.evaluation.metrics.cost import SecondsUsed, TokensUsed
from drafting.evaluation.metrics.diagnosis import DiagnosisMatcher, FinalDiagnosisMatch, TopKHit
from drafting.evaluation.metrics.findings import (
    FindingsBleu,
    FindingsRougeL,
    FindingsSemanticSimilarity,
    FindingsSupport,
)
from drafting.evaluation.metrics.judge import JudgeFactualCorrectness, JudgeFaithfulness
from drafting.evaluation.metrics.rehabilitation import (
    FittVpCompleteness,
    PrecautionsMonitoring,
    RehabilitationSemanticSimilarity,
)
from drafting.evaluation.metrics.structure import DisclaimerPresent, SectionsPresent


def _top_k(k: int) -> Callable[..., Metric]:
    def factory(
        fuzzy_threshold: float = 90.0, embedding_threshold: float = 0.85, use_embeddings: bool = True
    ) -> Metric:
        return TopKHit(
            k=k,
            fuzzy_threshold=fuzzy_threshold,
            embedding_threshold=embedding_threshold,
            use_embeddings=use_embeddings,
        )

    return factory


#: Metric name -> factory; the factory's keyword arguments are the metric's parameters.
METRICS: dict[str, Callable[..., Metric]] = {
    "structure.sections_present": SectionsPresent,
    "structure.disclaimer": DisclaimerPresent,
    "findings.rouge_l": FindingsRougeL,
    "findings.bleu": FindingsBleu,
    "findings.semantic_similarity": FindingsSemanticSimilarity,
    "findings.support": FindingsSupport,
    "diagnosis.final_match": FinalDiagnosisMatch,
    "diagnosis.top1_hit": _top_k(1),
    "diagnosis.top3_hit": _top_k(3),
    "rehabilitation.fitt_vp_completeness": FittVpCompleteness,
    "rehabilitation.precautions_monitoring": PrecautionsMonitoring,
    "rehabilitation.semantic_similarity": RehabilitationSemanticSimilarity,
    "judge.faithfulness": JudgeFaithfulness,
    "judge.factual_correctness": JudgeFactualCorrectness,
    "cost.tokens": TokensUsed,
    "cost.seconds": SecondsUsed,
}

JUDGE_METRICS = [name for name in METRICS if name.startswith("judge.")]
#: Every metric that needs no judge: deterministic, embedding and cost.
DEFAULT_METRICS = [name for name in METRICS if name not in JUDGE_METRICS]
#: The default metrics that need no embedding model either.
DETERMINISTIC_METRICS = [
    "structure.sections_present",
    "structure.disclaimer",
    "findings.rouge_l",
    "findings.bleu",
    "findings.support",
    "rehabilitation.fitt_vp_completeness",
    "rehabilitation.precautions_monitoring",
    "cost.tokens",
    "cost.seconds",
]

MetricSpec = str | dict[str, Any]


def _split_spec(spec: MetricSpec) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec.strip(), {}
    if isinstance(spec, dict):
        if "name" in spec:
            params = {k: v for k, v in spec.items() if k != "name"}
            if isinstance(params.get("params"), dict) and len(params) == 1:
                params = params["params"]
            return str(spec["name"]), params
        if len(spec) == 1:
            name, params = next(iter(spec.items()))
            if params is None:
                params = {}
            if not isinstance(params, dict):
                raise ConfigError(f"parameters of metric {name!r} must be a mapping", field="metrics")
            return str(name), dict(params)
    raise ConfigError(f"a metric is a name or a mapping with a 'name', got {spec!r}", field="metrics")


def _expand(name: str) -> list[str]:
    """``default``, ``deterministic``, ``judge`` and ``<section>.*`` stand for several metrics."""
    if name == "default":
        return list(DEFAULT_METRICS)
    if name == "deterministic":
        return list(DETERMINISTIC_METRICS)
    if name in {"judge", "judge.*"}:
        return list(JUDGE_METRICS)
    if name.endswith(".*"):
        prefix = name[:-1]
        found = [n for n in METRICS if n.startswith(prefix)]
        if found:
            return found
    return [name]


def build_metrics(
    specs: Sequence[MetricSpec] | None = None,
    *,
    judge_endpoint: Any = None,
    judge_llm: Any = None,
) -> list[Metric]:
    """Build metric objects from names or ``{name: params}`` specs.

    Args:
        specs: Metric names (``"findings.support"``), mappings with a ``name`` and parameters,
            or ``{name: {param: value}}``; ``"default"``, ``"deterministic"``, ``"judge"`` and
            ``"<section>.*"`` expand to several metrics. None means `DEFAULT_METRICS`.
        judge_endpoint: The judge `Endpoint`, needed by ``judge.*`` metrics.
        judge_llm: A ready ragas LLM for the judge metrics (tests), instead of an endpoint.

    Returns:
        The metrics, in the order given, without duplicates.

    Raises:
        ConfigError: An unknown metric, an unknown or bad parameter, or a judge metric without
            a judge.
    """
    metrics: list[Metric] = []
    seen: set[str] = set()
    for spec in DEFAULT_METRICS if specs is None else specs:
        raw_name, params = _split_spec(spec)
        for name in _expand(raw_name):
            factory = METRICS.get(name)
            if factory is None:
                raise ConfigError(f"unknown metric {name!r} (known: {', '.join(METRICS)})", field="metrics")
            allowed = set(inspect.signature(factory).parameters) - {"llm", "endpoint", "k"}
            unknown = sorted(set(params) - allowed)
            if unknown:
                hint = f"parameters: {', '.join(sorted(allowed))}" if allowed else "no parameters"
                raise ConfigError(
                    f"metric {name!r} has no parameter {unknown[0]!r} ({hint})", field="metrics"
                )
            kwargs = dict(params)
            if name in JUDGE_METRICS:
                if judge_endpoint is None and judge_llm is None:
                    raise ConfigError(
                        f"metric {name!r} needs a judge endpoint (set 'judge' in the suite)",
                        field="metrics",
                    )
                kwargs.update(llm=judge_llm, endpoint=judge_endpoint)
            try:
                metric = factory(**kwargs)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"metric {name!r}: bad parameter: {error_reason(exc)}", field="metrics"
                ) from None
            if metric.name not in seen:
                seen.add(metric.name)
                metrics.append(metric)
    return metrics


__all__ = [
    "DEFAULT_METRICS",
    "DETERMINISTIC_METRICS",
    "JUDGE_METRICS",
    "METRICS",
    "DiagnosisMatcher",
    "Metric",
    "MetricResult",
    "build_metrics",
]
