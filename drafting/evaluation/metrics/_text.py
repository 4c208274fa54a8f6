"""Small text tools for the clinical metrics: sentences, key terms, negation and laterality.

Deliberately simple and inspectable rather than clever:

- a *key term* is a lower-case word of three or more letters that is neither a stop word nor a
  generic reporting word ("image", "seen", "noted", "findings", ...);
- two terms are the same when equal, close by edit distance (rapidfuzz ratio), or of one word
  family (`same_word_family`);
- a term is *negated* NegEx-style when a negation cue ("no", "not", "without", "absent", ...)
  stands at most `NEG_WINDOW` tokens before it in the same sentence, with no scope terminator
  ("but", "however", ...) in between, or a post-negation cue ("absent", "excluded", ...) follows
  within two tokens;
- a term's *laterality* is the laterality word ("left", "right", "bilateral"/"both") at most
  `LAT_WINDOW` tokens before it in the same sentence; a sentence's *sides* are all the
  laterality words it uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def _words(text: str) -> frozenset[str]:
    """A word set from a whitespace-separated list (easier to read and edit than a literal)."""
    return frozenset(text.split())


STOPWORDS = _words(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either few for
    from further had has have having he her here hers herself him himself his how i if in into is
    it its itself just may me might more most much must my myself neither nor of off on once only
    or other our ours out over own per same she should so some such than that the their theirs
    them themselves then there these they this those through thus to too under until up upon very
    was we were what when where which while who whom why will with within would you your yours
    yet via due well one two three including include includes along around among across behind
    beyond toward towards onto whether although though however
    """
)

#: Words that say how something is reported, not what is found; they carry no clinical content.
GENERIC_WORDS = _words(
    """
    image images imaging study studies finding findings seen noted note notes shows show showed
    shown showing demonstrate demonstrates demonstrated demonstrating reveal reveals revealed
    revealing identified identify visible visualised visualized appear appears appearance
    appeared observed observe present presents presented presence evidence evident suggest
    suggests suggesting suggestive consistent compatible likely possible possibly probable
    probably overall additional additionally further furthermore also noted note case patient
    patients year years old male female woman man history known view views scan scans sequence
    sequences series figure fig relatively relative approximately mild moderate marked
    significant obvious prominent relatively basically generally slightly clear clearly
    considered consider given there various multiple several associated corresponding
    respectively obtained performed within confirmed indicate indicates indicating based
    provided primarily area areas structure structures feature features context remaining
    exhibit exhibits exhibited relationship sign signs type types part parts level levels
    """
)

NEGATION_CUES = _words("no not without absent absence denies denied negative never none nor neither cannot")
#: Cues that negate the term *before* them ("fracture excluded").
POST_NEGATION_CUES = _words("absent excluded ruled unremarkable")
#: Words that end a negation's scope ("no fracture but a large effusion").
SCOPE_TERMINATORS = _words("but however although though except apart aside yet whereas which who while")
LATERALITY = {
    "left": "left",
    "right": "right",
    "bilateral": "bilateral",
    "bilaterally": "bilateral",
    "both": "bilateral",
}
NEG_WINDOW = 6
LAT_WINDOW = 3

_TOKEN = re.compile(r"[a-z][a-z0-9]*(?:'[a-z]+)?")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9(\"'])|\n+")


def sentences(text: str) -> list[str]:
    """Split text into sentences: at line breaks and after ``.``, ``!``, ``?`` or ``;``."""
    parts = _SENTENCE_SPLIT.split(text or "")
    return [p.strip().lstrip("-*• ").strip() for p in parts if p and p.strip()]


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; hyphenated words split into their parts."""
    return _TOKEN.findall((text or "").lower().replace("-", " "))


def same_word_family(a: str, b: str) -> bool:
    """True when two words share a prefix of 6+ letters covering 75% of the shorter word.

    Catches derived forms that edit distance misses ("calcified" / "calcifications",
    "inflammation" / "inflammatory") without merging "hyperintense" and "hypertension".
    """
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 6 and n >= 0.75 * min(len(a), len(b))


def is_key_term(token: str) -> bool:
    """True for a token that carries clinical content (see the module docstring)."""
    return (
        len(token) >= 3
        and token.isalpha()
        and token not in STOPWORDS
        and token not in GENERIC_WORDS
        and token not in NEGATION_CUES
        and token not in POST_NEGATION_CUES
        and token not in LATERALITY
    )


@dataclass
class TermUse:
    """One occurrence of a key term in a sentence."""

    term: str
    negated: bool
    laterality: str | None


@dataclass
class AnalysedSentence:
    """A sentence with its key-term occurrences."""

    text: str
    uses: list[TermUse] = field(default_factory=list)
    sides: frozenset[str] = frozenset()

    @property
    def terms(self) -> list[str]:
        """Distinct key terms, in order of first use."""
        return list(dict.fromkeys(u.term for u in self.uses))


def analyse_sentence(text: str) -> AnalysedSentence:
    """Key terms of one sentence with their negation and laterality."""
    toks = tokens(text)
    out = AnalysedSentence(text=text, sides=frozenset(LATERALITY[t] for t in toks if t in LATERALITY))
    for i, tok in enumerate(toks):
        if not is_key_term(tok):
            continue
        negated = False
        for j in range(i - 1, max(-1, i - 1 - NEG_WINDOW), -1):
            if toks[j] in SCOPE_TERMINATORS:
                break
            if toks[j] in NEGATION_CUES:
                negated = True
                break
        if not negated:
            after = toks[i + 1 : i + 3]
            negated = any(t in POST_NEGATION_CUES for t in after)
        laterality = None
        for j in range(i - 1, max(-1, i - 1 - LAT_WINDOW), -1):
            if toks[j] in LATERALITY:
                laterality = LATERALITY[toks[j]]
                break
        out.uses.append(TermUse(tok, negated, laterality))
    return out


def analyse_text(text: str) -> list[AnalysedSentence]:
    """`analyse_sentence` over every sentence of ``text``."""
    return [analyse_sentence(s) for s in sentences(text)]
