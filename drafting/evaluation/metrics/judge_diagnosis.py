"""``judge.diagnosis_equivalence``: an LLM grades the draft's final diagnosis against the gold one
with a radiologist's rubric (same / partial / different), the way the Eurorad diagnosis study
scored; and how often that grade agrees with the deterministic matcher.

The rubric is a versioned prompt file, ``prompts/judge_diagnosis/<version>.yaml`` (same format as
the drafting prompts: messages, declared variables, generation parameters, description). The
reply is schema-constrained JSON (`JudgeDiagnosisReply`, through the endpoint layer's
`structured_output_kwargs`, so llama.cpp enforces it by grammar) and the call goes through the
endpoint's fixtures and retries like every model call. A reply that does not parse is
``unscored`` with the raw reply in the details, never 0.

Value: 1.0 when the judge says ``same``, else 0.0 (``partial`` is not a hit). The details carry
the judge's verdict and reason beside the deterministic matcher's, and ``agrees``.
`agreement` summarises a run's results (summary wiring belongs to the runner).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from drafting.diagnoses import match_diagnosis
from drafting.evaluation.metrics.base import Metric, MetricResult, error_reason
from drafting.prompts import GenerationParams, PromptMessage, prompts_root, used_variables
from drafting.schema import Case, Draft

STAGE = "judge_diagnosis"
VERDICTS = ("same", "partial", "different")


class JudgeDiagnosisReply(BaseModel):
    """The judge's reply: a verdict of the rubric and a one-sentence reason."""

    verdict: Literal["same", "partial", "different"]
    reason: str = Field("", max_length=1000)


class JudgePrompt(BaseModel):
    """A validated ``prompts/judge_diagnosis/<version>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal["judge_diagnosis"]
    version: str
    description: str = Field(..., min_length=1)
    output_schema: Literal["JudgeDiagnosisReply"]
    input_variables: list[str]
    parameters: GenerationParams = Field(default_factory=GenerationParams)
    messages: list[PromptMessage] = Field(..., min_length=1)

    @field_validator("messages")
    @classmethod
    def _variables_declared(cls, messages: list[PromptMessage], info: Any) -> list[PromptMessage]:
        declared = set(info.data.get("input_variables") or [])
        used = set().union(*(used_variables(m.content) for m in messages))
        if used != declared:
            raise ValueError(f"variables used {sorted(used)} differ from declared {sorted(declared)}")
        return messages

    def render(self, candidate: str, gold: str) -> list[tuple[str, str]]:
        """(role, content) pairs with the two diagnoses filled in."""
        return [(m.role, m.content.format(candidate=candidate, gold=gold)) for m in self.messages]


def load_judge_prompt(version: str = "v1", root: str | Path | None = None) -> JudgePrompt:
    """Load ``<prompts root>/judge_diagnosis/<version>.yaml``.

    Raises:
        ConfigError: The file is missing or invalid (names the file).
    """
    from drafting.cases import read_yaml_file
    from drafting.errors import ConfigError

    path = Path(root or prompts_root()) / STAGE / f"{version}.yaml"
    if not path.is_file():
        raise ConfigError(f"judge prompt not found: {path}", field="prompt_version")
    try:
        return JudgePrompt.model_validate(read_yaml_file(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}", field="prompt_version") from None


def parse_reply(content: str) -> JudgeDiagnosisReply | None:
    """The reply as a `JudgeDiagnosisReply`, or None when it does not parse."""
    try:
        return JudgeDiagnosisReply.model_validate_json(content)
    except ValidationError:
        return None


class JudgeDiagnosisEquivalence(Metric):
    """The judge's rubric verdict on the draft's final diagnosis (else its primary).

    Args:
        llm: A LangChain chat model to call instead of building one from ``endpoint`` (tests).
        endpoint: The judge `Endpoint`.
        prompt_version: Which ``prompts/judge_diagnosis/<version>.yaml`` to use.
    """

    name = "judge.diagnosis_equivalence"
    section = "judge"
    kind = "judge"

    def __init__(self, llm: Any = None, endpoint: Any = None, prompt_version: str = "v1"):
        self.endpoint = endpoint
        # build_metrics hands every judge metric the same llm: a ragas LLM is of no use here
        self._chat = llm if hasattr(llm, "ainvoke") else None
        self.prompt = load_judge_prompt(prompt_version)

    def params(self) -> dict[str, Any]:
        model = getattr(self.endpoint, "model", None)
        return {"judge_model": str(model) if model else None, "prompt_version": self.prompt.version}

    def _bound(self) -> Any:
        from drafting.llm import chat_model, structured_output_kwargs

        p = self.prompt.parameters
        llm = self._chat or chat_model(
            self.endpoint, temperature=p.temperature, max_tokens=p.max_tokens, seed=p.seed
        )
        return llm.bind(**structured_output_kwargs(self.endpoint, JudgeDiagnosisReply))

    async def score(self, draft: Draft, gold: Case) -> MetricResult:
        target = gold.gold.final_diagnosis.strip()
        if not target:
            return self.not_applicable("the gold case has no final diagnosis")
        candidate = (draft.report.final_diagnosis or draft.report.diagnosis.primary).strip()
        if not candidate:
            return self.result(0.0, "the draft gives no diagnosis", verdict="different")
        if self.endpoint is None:
            return self.unscored("no judge endpoint configured")
        matcher = match_diagnosis(candidate, target)
        from drafting.llm import endpoint_errors, fixture_context

        try:
            with fixture_context(stage=STAGE, case_id=gold.id), endpoint_errors(self.endpoint):
                msg = await self._bound().ainvoke(self.prompt.render(candidate, target))
        except Exception as exc:  # noqa: BLE001 - any judge failure is "unscored", by design
            return self.unscored(f"judge gave no usable verdict: {error_reason(exc)}")
        raw = msg.content if isinstance(msg.content, str) else str(msg.content)
        reply = parse_reply(raw)
        if reply is None:
            return self.unscored("the judge's reply did not parse as a verdict", raw_reply=raw[:2000])
        return self.result(
            1.0 if reply.verdict == "same" else 0.0,
            f"{reply.verdict}: {reply.reason}"[:500],
            verdict=reply.verdict,
            judge_reason=reply.reason,
            matcher_verdict=matcher.verdict,
            matcher_rule=matcher.rule,
            agrees=reply.verdict == matcher.verdict,
        )


def agreement(results: Iterable[MetricResult | dict[str, Any]]) -> dict[str, Any]:
    """How often the judge agrees with the deterministic matcher over a run.

    Args:
        results: ``judge.diagnosis_equivalence`` results (objects or their dicts); unscored and
            not-applicable ones are counted apart.

    Returns:
        ``{"n", "agree", "rate", "kappa", "hit_agreement", "unscored", "confusion"}``: ``rate``
        over the three verdicts, Cohen's ``kappa`` for chance, ``hit_agreement`` on same vs not,
        ``confusion`` as ``{"judge/matcher": count}``. Rates are None with no scored result.
    """
    pairs: list[tuple[str, str]] = []
    unscored = 0
    for r in results:
        d = r.model_dump() if isinstance(r, MetricResult) else r
        details = d.get("details") or {}
        if (
            d.get("status") == "scored"
            and details.get("verdict") in VERDICTS
            and details.get("matcher_verdict") in VERDICTS
        ):
            pairs.append((details["verdict"], details["matcher_verdict"]))
        elif d.get("status") == "unscored":
            unscored += 1
    n = len(pairs)
    agree = sum(j == m for j, m in pairs)
    out: dict[str, Any] = {
        "n": n,
        "agree": agree,
        "rate": agree / n if n else None,
        "kappa": None,
        "hit_agreement": sum((j == "same") == (m == "same") for j, m in pairs) / n if n else None,
        "unscored": unscored,
        "confusion": dict(Counter(f"{j}/{m}" for j, m in pairs)),
    }
    if n:
        judge, matcher = Counter(j for j, _ in pairs), Counter(m for _, m in pairs)
        expected = sum(judge[v] * matcher[v] for v in VERDICTS) / (n * n)
        observed = agree / n
        out["kappa"] = 1.0 if expected == 1 else (observed - expected) / (1 - expected)
    return out
