"""What a comparison needs besides the numbers: what changed between the two runs' configs,
warnings about comparisons that cannot be trusted, and the drafts of the cases that changed most
with the changed spans marked.

Everything here is plain data; `drafting.evaluation.compare` assembles it and the HTML template
and the command line only display it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from drafting.evaluation.records import CaseRow, PromptRecord, RunConfig
from drafting.evaluation.rundir import Run

#: Below this many paired cases a difference is flagged as resting on too few cases.
SMALL_PAIRING = 10
#: Cases whose drafts are shown side by side.
TOP_DRAFTS = 3


@dataclass
class ConfigItem:
    """One setting of the two runs: its label, A's value, B's, and whether they differ."""

    label: str
    a: str
    b: str

    @property
    def differs(self) -> bool:
        """True when the two runs used different values."""
        return self.a != self.b


@dataclass
class Span:
    """A piece of draft text; ``changed`` when it is not in the other draft."""

    text: str
    changed: bool = False


@dataclass
class DraftPair:
    """One case's drafts (or failures) in A and B, as spans with the changes marked.

    Attributes:
        case_id: The case.
        score: How much the case's metric values moved (sum of |B - A| over bounded metrics).
        values: metric -> (A's value, B's value), for the metrics that changed.
        a: A's draft as spans (a failed case: its error as one unmarked span).
        b: B's draft as spans.
        similarity: Share of the two texts that is unchanged (0 to 1).
    """

    case_id: str
    score: float
    values: dict[str, tuple[float, float]] = field(default_factory=dict)
    a: list[Span] = field(default_factory=list)
    b: list[Span] = field(default_factory=list)
    similarity: float = 1.0


def _endpoint(config: RunConfig, key: str) -> str:
    if config.endpoint and config.endpoint.get(key):
        return str(config.endpoint[key])
    value = getattr(config.suite.drafter, key, None)
    return str(value) if value else "(default)"


def _prompt_text(record: PromptRecord | None, stage: str) -> str:
    if record is None:
        return "(default)"
    sha = f" sha256 {record.sha256[:12]}" if record.sha256 else ""
    description = record.description or _library_description(stage, record)
    return f"{record.version}{sha}" + (f": {description}" if description else "")


def _library_description(stage: str, record: PromptRecord) -> str:
    """A run written before descriptions were recorded: the installed prompt's description, when
    its content hash shows it is the same text."""
    from drafting.errors import ConfigError
    from drafting.prompts import load_prompt

    try:
        spec = load_prompt(stage, record.version)
    except ConfigError:
        return ""
    return spec.description if spec.sha256 == record.sha256 else ""


def config_items(a: RunConfig | None, b: RunConfig | None) -> list[ConfigItem]:
    """The settings that decide a run's drafts, side by side (prompts, model, backend, k,
    retrieval mode, cases, judge, draft function).

    Args:
        a: Run A's config.json (None: not recorded).
        b: Run B's config.json.

    Returns:
        One item per setting; empty when either run has no config.
    """
    if a is None or b is None:
        return []
    items: list[ConfigItem] = []
    for stage in sorted(set(a.prompts) | set(b.prompts)):
        items.append(ConfigItem(f"prompt {stage}", _prompt_text(a.prompts.get(stage), stage),
                                _prompt_text(b.prompts.get(stage), stage)))
    items.append(ConfigItem("model", _endpoint(a, "model"), _endpoint(b, "model")))
    items.append(ConfigItem("backend", _endpoint(a, "backend"), _endpoint(b, "backend")))
    items.append(ConfigItem("k (references)", str(a.suite.drafter.k), str(b.suite.drafter.k)))
    items.append(ConfigItem("retrieval mode", a.suite.drafter.retrieval_mode,
                            b.suite.drafter.retrieval_mode))
    items.append(ConfigItem("cases", _source(a), _source(b)))
    items.append(ConfigItem("judge", _judge(a), _judge(b)))
    items.append(ConfigItem("draft function", a.draft_fn, b.draft_fn))
    return items


def _source(config: RunConfig) -> str:
    src = config.suite.cases
    where = src.dir or f"{src.importer}:{src.path}"
    if src.limit:
        where += f" (first {src.limit})"
    return where


def _judge(config: RunConfig) -> str:
    if not config.judge:
        return "(none)"
    return " / ".join(str(config.judge[k]) for k in ("backend", "model") if config.judge.get(k))


def _scored_cases(run: Run) -> int:
    return sum(1 for row in run.results if any(m.status == "scored" for m in row.metrics))


def comparison_warnings(run_a: Run, run_b: Run, n_paired: int) -> list[str]:
    """Reasons not to trust the comparison, one line each (empty: none found).

    Args:
        run_a: Run A.
        run_b: Run B.
        n_paired: The largest number of cases any metric paired.
    """
    warnings: list[str] = []
    for side, run in (("A", run_a), ("B", run_b)):
        failed = sum(1 for row in run.results if row.status == "failed")
        if _scored_cases(run) == 0:
            why = f" ({failed} of {len(run.results)} failed)" if failed else ""
            warnings.append(f"{side} ({run.id}) has no scored case{why}: nothing can be compared")
        elif failed:
            warnings.append(f"{side} ({run.id}): {failed} of {len(run.results)} case(s) failed "
                            "and are left out of the pairing")
        if run.config is None:
            warnings.append(f"{side} ({run.id}) has no config.json: what changed is unknown")
    if 0 < n_paired < SMALL_PAIRING:
        warnings.append(f"only {n_paired} paired case(s): differences and intervals this small "
                        f"a sample are unreliable (want at least {SMALL_PAIRING})")
    ids_a = {row.case_id for row in run_a.results}
    ids_b = {row.case_id for row in run_b.results}
    if ids_a and ids_b and not ids_a & ids_b:
        warnings.append("the runs share no case: they drafted different case sets")
    return warnings


_TOKENS = re.compile(r"\s+|[^\s]+")


def diff_spans(a: str, b: str) -> tuple[list[Span], list[Span], float]:
    """Word-level difference of two texts.

    Returns:
        A's spans and B's spans (the words not in the other text marked ``changed``; runs of
        equal state merged) and the share of words left unchanged.
    """
    ta, tb = _TOKENS.findall(a), _TOKENS.findall(b)
    matcher = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False)
    spans_a: list[Span] = []
    spans_b: list[Span] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        _append(spans_a, "".join(ta[i1:i2]), op != "equal")
        _append(spans_b, "".join(tb[j1:j2]), op != "equal")
    return _absorb_gaps(spans_a), _absorb_gaps(spans_b), round(matcher.ratio(), 4)


def _absorb_gaps(spans: list[Span]) -> list[Span]:
    """Mark a run of blanks between two changed spans as changed too (one highlight per phrase
    rather than one per word)."""
    out: list[Span] = []
    for i, span in enumerate(spans):
        between = 0 < i < len(spans) - 1 and spans[i - 1].changed and spans[i + 1].changed
        if between and not span.changed and not span.text.strip() and "\n" not in span.text:
            span = Span(span.text, True)
        if out and out[-1].changed == span.changed:
            out[-1] = Span(out[-1].text + span.text, span.changed)
        else:
            out.append(span)
    return out


def _append(spans: list[Span], text: str, changed: bool) -> None:
    if not text:
        return
    if spans and spans[-1].changed == changed:
        spans[-1].text += text
    else:
        spans.append(Span(text, changed))


def draft_text(row: CaseRow | None) -> str:
    """The report sections of a row's draft as Markdown (no provenance footer, which always
    differs); a failed case gives its error line."""
    from drafting.render import render_report_markdown

    if row is None:
        return "(case not in this run)"
    if row.draft is None:
        err = row.error
        return f"(failed: {err.type}: {err.message})" if err else "(no draft)"
    return "\n".join(render_report_markdown(row.draft.report)).strip() + "\n"


def changed_drafts(
    run_a: Run,
    run_b: Run,
    diffs: Mapping[str, Mapping[str, float]],
    bounded: Sequence[str],
    *,
    top: int = TOP_DRAFTS,
) -> list[DraftPair]:
    """The cases whose bounded metrics moved most, with both drafts as marked spans.

    Args:
        run_a: Run A.
        run_b: Run B.
        diffs: metric -> case id -> paired difference B - A.
        bounded: The metrics on a [0, 1] scale (their differences add up comparably).
        top: How many cases.
    """
    totals: dict[str, float] = {}
    for name in bounded:
        for case_id, d in diffs.get(name, {}).items():
            totals[case_id] = totals.get(case_id, 0.0) + abs(d)
    # A case drafted on one side only changed as much as a case can.
    rows_a = {row.case_id: row for row in run_a.results}
    rows_b = {row.case_id: row for row in run_b.results}
    for case_id in set(rows_a) & set(rows_b):
        if (rows_a[case_id].status == "ok") != (rows_b[case_id].status == "ok"):
            totals[case_id] = float(max(len(bounded), 1))
    ranked = sorted((kv for kv in totals.items() if kv[1] > 1e-9), key=lambda kv: (-kv[1], kv[0]))
    out: list[DraftPair] = []
    for case_id, score in ranked[:top]:
        a_row, b_row = rows_a.get(case_id), rows_b.get(case_id)
        values: dict[str, tuple[float, float]] = {}
        for name in bounded:
            delta = diffs.get(name, {}).get(case_id)
            if delta is not None and abs(delta) > 1e-9 and a_row and b_row:
                va, vb = a_row.scored_value(name), b_row.scored_value(name)
                if va is not None and vb is not None:
                    values[name] = (va, vb)
        spans_a, spans_b, similarity = diff_spans(draft_text(a_row), draft_text(b_row))
        out.append(DraftPair(case_id=case_id, score=round(score, 6), values=values,
                             a=spans_a, b=spans_b, similarity=similarity))
    return out
