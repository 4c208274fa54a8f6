"""Grammar-constrained greedy sampling for the embedded server, with the grammar checked last.

``llama_cpp.Llama`` samples a grammar-constrained reply with one llama.cpp sampler chain,
penalties -> grammar -> greedy, and the grammar sampler tests every one of SmolLM2's 49,152 tokens
against the grammar for every token generated. With the project's JSON schemas (string patterns
with repetition bounds) that took ~7 ms per token, more than the model's own decode step: 3.8 s
of the seed case's 14.4 s draft.

`GrammarCheckedGreedySampler` does what llama.cpp's own common sampler does
(``common_sampler_sample``): apply the chain without the grammar, check only the chosen token
against the grammar, and constrain the whole vocabulary only when that token is rejected. For
greedy decoding this is exactly the stock chain's choice, not an approximation: the grammar only
sets rejected tokens' logits to -inf in place and greedy takes the first largest logit, so when
the unconstrained first argmax is allowed it is also the first argmax of the constrained logits.
When it is rejected (about one token in seven with SmolLM2 on the project's schemas), the grammar
is first tried on the `FALLBACK_TOP_K` highest logits only, and its answer kept only when it is
provably the full constraint's answer; otherwise the whole vocabulary is constrained as before.

Only greedy decoding (temperature 0, no logits processor) takes this path, which is what the
project's prompts ask for; any other request gets llama-cpp-python's own chain unchanged. The
embedded server installs it (`install`) before it starts (`drafting.llm.embedded_server`).
"""

from __future__ import annotations

import ctypes
import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from llama_cpp import Llama, LlamaGrammar
    from llama_cpp._internals import LlamaContext

#: How many of the highest logits a rejected greedy token's fallback tries before constraining
#: the whole vocabulary.
FALLBACK_TOP_K = 64


@functools.lru_cache(maxsize=1)
def _token_data_dtype() -> np.dtype:
    """numpy's view of llama.cpp's ``llama_token_data`` (id, logit, p)."""
    import numpy as np
    from llama_cpp import llama_cpp as C

    dtype = np.dtype([("id", np.intc), ("logit", np.float32), ("p", np.float32)], align=True)
    if dtype.itemsize != ctypes.sizeof(C.llama_token_data):  # pragma: no cover - ABI guard
        raise RuntimeError("llama_token_data layout differs from (int32, float, float)")
    return dtype


class _TokenArray:
    """A numpy buffer of ``llama_token_data`` with the ``llama_token_data_array`` pointing at it."""

    def __init__(self, capacity: int):
        import numpy as np
        from llama_cpp import llama_cpp as C

        self.data = np.zeros(capacity, dtype=_token_data_dtype())
        self.c = C.llama_token_data_array(
            data=ctypes.cast(self.data.ctypes.data, C.llama_token_data_p),
            size=capacity, selected=-1, sorted=False,
        )  # fmt: skip
        self.ref = ctypes.byref(self.c)

    def reset(self, size: int) -> None:
        """Mark the first ``size`` entries as the candidates, none selected, unsorted."""
        self.c.size = size
        self.c.selected = -1
        self.c.sorted = False


class GrammarCheckedGreedySampler:
    """Penalties -> grammar -> greedy, with the grammar checked on the chosen token first.

    Built from the same llama-cpp-python sampler constructors as the stock chain (so the
    penalties get the same arguments), and used by ``Llama.sample`` through the same
    ``sample(ctx, idx)`` call.

    Args:
        llama: The model the sampler serves.
        grammar: The reply's grammar.
        repeat_penalty: ``penalty_repeat`` of the penalties sampler.
        frequency_penalty: ``penalty_freq``.
        presence_penalty: ``penalty_present``.
        fallback_top_k: Candidates a rejected token's fallback tries first (0: none).

    Attributes:
        sampled: Tokens sampled so far.
        rejected: Of those, how many the unconstrained greedy choice was rejected for.
        full: Of those, how many needed the grammar over the whole vocabulary.
    """

    def __init__(
        self,
        llama: Llama,
        grammar: LlamaGrammar,
        *,
        repeat_penalty: float,
        frequency_penalty: float,
        presence_penalty: float,
        fallback_top_k: int = FALLBACK_TOP_K,
    ):
        import numpy as np
        from llama_cpp._internals import LlamaSampler

        self.n_vocab = llama.n_vocab()
        self._penalties = LlamaSampler()
        self._penalties.add_penalties(
            n_vocab=self.n_vocab,
            penalty_last_n=llama.last_n_tokens_size,
            penalty_repeat=repeat_penalty,
            penalty_freq=frequency_penalty,
            penalty_present=presence_penalty,
        )
        self._grammar = LlamaSampler()
        self._grammar.add_grammar(llama._model, grammar)
        self._greedy = LlamaSampler()
        self._greedy.add_greedy()
        self._cur = _TokenArray(self.n_vocab)
        self._cur.data["id"] = np.arange(self.n_vocab, dtype=np.intc)
        self._one = _TokenArray(1)
        self._top_k = min(max(fallback_top_k, 0), self.n_vocab - 1)
        self._top = _TokenArray(max(self._top_k, 1))
        self.sampled = self.rejected = self.full = 0

    def sample(self, ctx: LlamaContext, idx: int = -1) -> int:
        """Sample the token at output ``idx`` of the last evaluation and accept it.

        Args:
            ctx: The context that evaluated the batch.
            idx: The output row (negative: from the end), as for ``llama_sampler_sample``.

        Returns:
            The token the stock chain (penalties -> grammar -> greedy) would choose.
        """
        import numpy as np
        from llama_cpp import llama_cpp as C

        logits = C.llama_get_logits_ith(ctx.ctx, idx)
        cur = self._cur
        cur.data["logit"] = np.ctypeslib.as_array(logits, shape=(self.n_vocab,))
        cur.reset(self.n_vocab)
        C.llama_sampler_apply(self._penalties.sampler, cur.ref)
        C.llama_sampler_apply(self._greedy.sampler, cur.ref)
        token = int(cur.data["id"][cur.c.selected])
        self.sampled += 1
        if not self._allowed(token):
            self.rejected += 1
            token = self._top_k_choice()
            if token < 0:
                self.full += 1
                cur.c.selected = -1
                C.llama_sampler_apply(self._grammar.sampler, cur.ref)
                C.llama_sampler_apply(self._greedy.sampler, cur.ref)
                token = int(cur.data["id"][cur.c.selected])
        self._penalties.accept(token)
        self._grammar.accept(token)
        return token

    def _allowed(self, token: int) -> bool:
        """Whether the grammar, in its current state, accepts ``token`` next."""
        import math

        from llama_cpp import llama_cpp as C

        one = self._one
        one.data[0] = (token, 0.0, 0.0)
        one.reset(1)
        C.llama_sampler_apply(self._grammar.sampler, one.ref)
        return not math.isinf(float(one.data["logit"][0]))

    def _top_k_choice(self) -> int:
        """The constrained greedy token found among the highest logits, or -1 if not provable.

        The candidates are the ``k`` highest penalised logits in the stock greedy order (logit
        descending, then token id). The first one the grammar allows is the full constraint's
        choice when its logit is strictly above the smallest candidate's: every token left out
        has a logit no higher than that, so none of them can beat or tie it. Otherwise (no
        candidate allowed, or a tie at the boundary) the caller constrains the whole vocabulary.
        """
        import numpy as np
        from llama_cpp import llama_cpp as C

        k = self._top_k
        if k <= 0:
            return -1
        logits = self._cur.data["logit"]  # penalised, not yet constrained
        part = np.argpartition(logits, -k)[-k:]
        order = part[np.lexsort((part, -logits[part]))]
        top = self._top
        top.data["id"][:k] = order
        top.data["logit"][:k] = logits[order]
        top.data["p"][:k] = 0.0
        top.reset(k)
        C.llama_sampler_apply(self._grammar.sampler, top.ref)
        allowed = np.flatnonzero(~np.isneginf(top.data["logit"][:k]))
        if allowed.size == 0:
            return -1
        best = int(order[allowed[0]])
        return best if logits[best] > logits[order[-1]] else -1


def grammar_checked_init_sampler(original: Any, fallback_top_k: int = FALLBACK_TOP_K) -> Any:
    """Wrap ``Llama._init_sampler``: greedy grammar-constrained requests get the checked sampler.

    Args:
        original: llama-cpp-python's ``Llama._init_sampler``.
        fallback_top_k: See `GrammarCheckedGreedySampler`.

    Returns:
        A drop-in replacement that builds a `GrammarCheckedGreedySampler` when the stock chain
        would be penalties -> grammar -> greedy (a grammar, temperature 0, no logits processor),
        and calls ``original`` otherwise.
    """

    @functools.wraps(original)
    def init_sampler(self: Llama, *args: Any, **kwargs: Any) -> Any:
        if args:  # positional use is not how llama-cpp-python calls it: leave it alone
            return original(self, *args, **kwargs)
        grammar = kwargs.get("grammar")
        stock = kwargs.get("temp", 0.8) != 0.0 or kwargs.get("logits_processor") is not None
        if grammar is None or stock:
            return original(self, **kwargs)
        return GrammarCheckedGreedySampler(
            self,
            grammar,
            repeat_penalty=kwargs.get("repeat_penalty", 1.0),
            frequency_penalty=kwargs.get("frequency_penalty", 0.0),
            presence_penalty=kwargs.get("presence_penalty", 0.0),
            fallback_top_k=fallback_top_k,
        )

    init_sampler.__drafting_grammar_checked__ = True  # type: ignore[attr-defined]
    return init_sampler


def install() -> None:
    """Make ``llama_cpp.Llama`` use `GrammarCheckedGreedySampler` for greedy grammar sampling.

    Idempotent. Meant for the embedded server's own process, before it builds the model.
    """
    from llama_cpp import Llama

    current = Llama._init_sampler
    if getattr(current, "__drafting_grammar_checked__", False):
        return
    Llama._init_sampler = grammar_checked_init_sampler(current)  # type: ignore[method-assign]
