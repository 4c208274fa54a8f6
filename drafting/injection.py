"""Prompt-injection defences: the ``<case_data>`` fence, and flags for suspicious cases and drafts.

Case text reaches the model only between ``<case_data>`` tags, and the system prompt says that
text there is data, not instructions. `fence` keeps case text from closing (or reopening) that
fence in any spelling. A small model may still follow an instruction written in the case text,
so two flags make it visible instead of silently "ok" (`draft_flags`, recorded in the draft's
provenance):

- ``case_text_instructions``: the case text reads like instructions to a model;
- ``draft_echoes_prompt``: the draft repeats a run of the system prompt, or the case text's
  injected instruction.

The patterns are heuristics (precision over recall, English only); they flag for a human to look,
they never change the draft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Flag names (stable: they are stored in drafts and run rows).
CASE_TEXT_INSTRUCTIONS = "case_text_instructions"
DRAFT_ECHOES_PROMPT = "draft_echoes_prompt"

#: Anything that could read as a case_data tag: any case, any spacing, attributes, no closing >.
_FENCE_TAG = re.compile(r"<(?=\s*/?\s*case[\s_-]*data\b)", re.IGNORECASE)

_INSTRUCTION_PATTERNS = [
    # "ignore the above", "disregard all previous instructions", "forget your rules"
    r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|"
    r"these\s+|every\s+)*(?:previous|prior|above|preceding|earlier|foregoing|system|original)?\s*"
    r"(?:instructions?|prompts?|rules|directions|guidelines|context|text|messages?|above)\b",
    # "output only OK", "respond with just ...", "reply only with"
    r"\b(?:output|respond|reply|answer|print|say|return|write)\s+(?:with\s+)?(?:only|just|exactly)\b",
    r"\byou\s+are\s+now\b",
    r"\bnew\s+instructions?\b",
    r"\bsystem\s+prompt\b",
    r"\b(?:do\s+not|don't)\s+follow\s+(?:the|your|any)\s+(?:previous|above|system)\b",
    # chat-template and role markers
    r"<\|\s*(?:im_start|im_end|system|user|assistant|endoftext)\s*\|>",
    r"\[/?INST\]|<<\s*/?SYS\s*>>",
    r"(?:^|\n)\s*(?:system|assistant)\s*:",
    # a fence-like tag in the case text itself
    r"<\s*/?\s*case[\s_-]*data\b",
]
_INSTRUCTIONS = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.IGNORECASE)

#: A draft sharing this many consecutive words with the system prompt echoes it.
ECHO_WORDS = 8
_WORD = re.compile(r"[a-z0-9]+")


def fence(text: str) -> str:
    """Make case text safe to place between ``<case_data>`` tags.

    Every ``<`` that starts something that could read as a case_data tag (``</CASE_DATA>``,
    ``< / case_data foo>``, ``<case data``) becomes ``&lt;``, so case text can neither close the
    fence nor open a new one. Text without such a tag is returned unchanged (byte for byte).
    """
    return _FENCE_TAG.sub("&lt;", text)


def instruction_spans(text: str) -> list[str]:
    """The passages of ``text`` that read like instructions to a model (empty: none)."""
    return [m.group(0).strip() for m in _INSTRUCTIONS.finditer(text)]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def echoes(draft_text: str, sources: Iterable[str], *, n: int = ECHO_WORDS) -> bool:
    """True when the draft repeats ``n`` consecutive words of any source text."""
    draft = _ngrams(_words(draft_text), n)
    return bool(draft) and any(draft & _ngrams(_words(s), n) for s in sources)


def draft_flags(case_text: str, draft_text: str, system_prompts: Iterable[str]) -> list[str]:
    """The injection flags of one draft (see the module docstring), in a stable order.

    Args:
        case_text: Everything the case puts into a prompt.
        draft_text: Everything the model wrote in the draft.
        system_prompts: The system messages the chain sent.
    """
    flags: list[str] = []
    injected = instruction_spans(case_text)
    if injected:
        flags.append(CASE_TEXT_INSTRUCTIONS)
    lowered = " ".join(_words(draft_text))
    echoed_injection = any(
        (w := " ".join(_words(span))) and f" {w} " in f" {lowered} " for span in injected
    )
    if echoed_injection or instruction_spans(draft_text) or echoes(draft_text, system_prompts):
        flags.append(DRAFT_ECHOES_PROMPT)
    return flags
