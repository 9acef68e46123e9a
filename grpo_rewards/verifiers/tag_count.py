"""``format.tag_count``: open-r1's ``tag_count_reward``, a quarter of the reward per tag line.

Runs in the scoring process (pure string counting). Follows open-r1's ``tag_count_reward``
(huggingface/open-r1, ``src/open_r1/rewards.py`` at commit
c1e11922945753881e1992da765549098e6af6d4, itself adapted from willccbb's GRPO demo gist): 0.25
for each of ``<think>\\n``, ``\\n</think>\\n``, ``\\n<answer>\\n`` and ``\\n</answer>`` that occurs
exactly once.

It is a verifier of its own rather than a mode of ``format.tags`` because it scores something
else: the R1 template's *tag lines* (a tag with its newlines), whereas ``format.tags`` scores tags
wherever they stand, and a ``<think>`` without its newline earns nothing here. It lives in its own
module so that ``format.py`` (the structure checks shared by ``format.think`` and
``format.tags``) keeps one rule for empty sections and one engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import regex

from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl

__all__ = ["TagCount"]

_TAG_NAME = regex.compile(r"^[A-Za-z_][\w\-]*$")


def tag_lines(tags: Sequence[str]) -> list[tuple[str, str]]:
    """The (opening, closing) markers that open-r1 counts for sections ``tags``, newlines
    included: the first opening tag starts the text (``<think>\\n``), every other opening and
    closing tag stands on its own line (``\\n<answer>\\n``, ``\\n</think>\\n``), and the last
    closing tag may end the text (``\\n</answer>``)."""
    pairs = []
    for i, t in enumerate(tags):
        opening = f"<{t}>\n" if i == 0 else f"\n<{t}>\n"
        closing = f"\n</{t}>" if i == len(tags) - 1 else f"\n</{t}>\n"
        pairs.append((opening, closing))
    return pairs


def reasoning_tag(setting: Any) -> str:
    """The tag name of a ``reasoning`` setting (grpo_rewards.reasoning) whose reasoning section
    is one ``<name>...</name>`` tag (``think``, ``reasoning``, ``"<thinking>"``); other settings
    (Sky-T1's thought markers, harmony's channels, several kinds) have no R1 tag lines to count.

    :raises ValueError: naming the setting, for those others.
    """
    from grpo_rewards.reasoning import parse_reasoning

    kinds = parse_reasoning(setting).kinds()
    pair = kinds[0].tag_pair if len(kinds) == 1 else None
    m = regex.fullmatch(r"<([A-Za-z_][\w\-]*)>", pair[0]) if pair is not None else None
    if m is None or pair is None or pair[1] != f"</{m.group(1)}>":
        raise ValueError(
            f"reasoning {setting!r}: format.tag_count counts R1-style tag lines (<name> ... </name>), which this "
            "setting does not have; use format.think or format.tags for it"
        )
    return str(m.group(1))


class TagCount(Verifier):
    """A share of 1.0 for each tag line of the R1 template
    ``<think>\\n...\\n</think>\\n<answer>\\n...\\n</answer>`` (open-r1's ``tag_count_reward``: 0.25
    each for two sections).

    **Stuffing.** As in open-r1, a tag line earns its share only when it occurs exactly once, so
    repeating a tag loses that tag's share instead of adding to it, and no completion can earn
    more than 1.0. Two further loopholes of open-r1's version are closed by default:

    - ``ordered=True``: a tag line earns its share only after the previous one that earned it,
      so ``\\n</answer>`` before ``<think>\\n`` is not the template (open-r1 pays any order);
    - ``allow_empty=False``: a section with only whitespace between its two tag lines earns
      neither of them, so the bare tags ``<think>\\n\\n</think>\\n<answer>\\n\\n</answer>``
      get 0.0 (open-r1 gives 1.0 to that completion, which has no reasoning and no answer).

    ``ordered=False, allow_empty=True`` gives open-r1's values exactly. On open-r1's own tests
    (``tests/test_rewards.py``, ``test_tag_count_rewards_*``) the defaults agree with it.

    ``tags`` names the sections in order (default ``["think", "answer"]``). ``reasoning`` (the
    shared setting, also from a composition's ``[defaults]``) names the first section when it is
    one tag (``reasoning = "reasoning"``: Unsloth's ``<reasoning>``); settings without R1 tag
    lines (``thought``, ``harmony``, ``auto``) are a configuration error. A chat template that
    opens ``<think>`` in the prompt costs a constant share on every completion, which GRPO's
    group-relative advantage cancels; use ``format.tags`` with ``prefilled`` where it matters.
    """

    name = "format.tag_count"
    description = "open-r1's tag_count_reward: a share per R1 tag line used exactly once, in order, around content"
    outcomes = (Outcome.SCORED,)

    def __init__(
        self,
        *,
        tags: Sequence[str] = ("think", "answer"),
        ordered: bool = True,
        allow_empty: bool = False,
        reasoning: Any = None,
    ) -> None:
        if isinstance(tags, str):
            tags = [tags]
        if reasoning is not None:
            tags = [reasoning_tag(reasoning), *list(tags)[1:]]
        if not tags:
            raise ValueError("at least one tag is needed")
        for i, t in enumerate(tags):
            if not isinstance(t, str) or not _TAG_NAME.match(t):
                raise ValueError(f"tags[{i}]: {t!r} is not a tag name; use e.g. 'think' or 'answer'")
        if len(set(tags)) != len(tags):
            raise ValueError(f"tags must all differ, got {list(tags)}")
        for k, v in (("ordered", ordered), ("allow_empty", allow_empty)):
            if not isinstance(v, bool):
                raise ValueError(f"{k} must be true or false, got {v!r}")
        self.tags = list(tags)
        self.ordered = ordered
        self.allow_empty = allow_empty
        self._lines = tag_lines(self.tags)

    def credits(self, text: str) -> tuple[int, list[str]]:
        """How many tag lines of ``text`` earn their share, and why the others do not."""
        earned = 0
        missing: list[str] = []
        last_end = 0  # end of the last tag that earned its share
        for opening, closing in self._lines:
            spans: list[tuple[int, int] | None] = []
            for marker in (opening, closing):
                n = text.count(marker)
                if n != 1:
                    missing.append(f"{marker!r} x{n}")
                    spans.append(None)
                    continue
                # the tag itself, without the newlines around it
                start = text.index(marker) + (1 if marker.startswith("\n") else 0)
                end = start + len(marker.strip("\n"))
                if self.ordered and start < last_end:
                    missing.append(f"{marker!r} out of order")
                    spans.append(None)
                    continue
                spans.append((start, end))
                earned += 1
                last_end = end
            open_span, close_span = spans
            if (
                not self.allow_empty
                and open_span is not None
                and close_span is not None
                and open_span[1] <= close_span[0]
                and not text[open_span[1] : close_span[0]].strip()
            ):
                earned -= 2  # an empty section earns neither of its tag lines
                missing.append(f"empty {opening.strip()}...{closing.strip()}")
        return earned, missing

    def score(self, sample: Sample) -> Score:
        earned, missing = self.credits(sample.completion)
        shares = 2 * len(self.tags)
        detail = f"{earned}/{shares} tag lines"
        if missing:
            detail += ": " + "; ".join(missing)
        info: dict[str, Any] = {"tag_lines": earned, "of": shares}
        return Score.scored(earned / shares, detail, **info)


@hookimpl
def register_verifiers(register: Register) -> None:
    register(TagCount)
