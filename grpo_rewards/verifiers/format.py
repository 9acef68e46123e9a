"""Format verifiers: ``format.think``, ``format.tags``, ``format.regex`` and ``format.json``.

The tag checks replace the format rewards that GRPO notebooks copy around (open-r1's
``format_reward`` and ``tag_count_reward``, Unsloth's ``match_format_exactly`` /
``match_format_approximately``, TRL's ``think_format_reward``) with one implementation whose
partial credit cannot be farmed: a tag only earns credit when it occurs exactly once, in order,
around a non-empty section, so emitting extra tags or extra answer blocks lowers the score.

One rule for both tag verifiers (same options, same defaults, same meaning in both modes):
``mode="strict"`` is all or nothing, ``"soft"`` pays an equal share per marker; an empty section
(whitespace only) fails strict mode and earns neither of its markers in soft mode, unless
``allow_empty=true``. TRL 1.16's ``think_format_reward`` (trl/rewards/format_rewards.py, pattern
``^<think>(?!.*<think>)(.*?)</think>.*$``) accepts an empty ``<think></think>``; we reject it by
default because an empty reasoning block is the cheapest way to collect a format reward without
reasoning (the policy learns to skip thinking). ``format.think`` with ``answer_tag=""``,
``allow_empty=true`` and ``trailing="allow"`` gives TRL's values.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import regex

from grpo_rewards.answers import fenced_blocks, strip_think, tag_blocks
from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING
from grpo_rewards.reasoning import Delimiters, parse_reasoning, prefilled_for, prompt_tail

__all__ = ["FormatTags", "FormatThink", "FormatRegex", "FormatJSON"]

TagPair = tuple[str, str]
_MODES = ("strict", "soft")
_TRAILING = ("forbid", "allow", "require")


def _tag_pair(spec: Any, where: str) -> TagPair:
    """``"think"`` or ``"<think>"`` -> ``("<think>", "</think>")``; a two-item list is taken as
    explicit (opening, closing) markers, e.g. ``["<start_working_out>", "<end_working_out>"]``."""
    if isinstance(spec, str):
        name = spec.strip()
        if name.startswith("<") and name.endswith(">"):
            name = name[1:-1]
        if not name or any(c in name for c in "<>/ \t\n"):
            raise ValueError(f"{where}: {spec!r} is not a tag name; use e.g. 'think' or a pair ['<open>', '</close>']")
        return f"<{name}>", f"</{name}>"
    if isinstance(spec, Sequence) and len(spec) == 2 and all(isinstance(s, str) and s for s in spec):
        if spec[0] == spec[1]:
            raise ValueError(f"{where}: opening and closing markers must differ, got {spec[0]!r} twice")
        return str(spec[0]), str(spec[1])
    raise ValueError(f"{where}: a tag is a name like 'answer' or a pair ['<open>', '</close>'], got {spec!r}")


_HARMONY_TURN = "<|end|><|start|>assistant<|channel|>final<|message|>"


def _reasoning_sections(d: Delimiters, answer_tag: Any) -> tuple[TagPair, Any]:
    """(think pair, answer tag) that ``format.think`` checks for the reasoning
    setting ``d``, when ``think_tag`` is not given. ``harmony``: the analysis message, closed by
    the switch to the final channel, then the final answer as free text (``<|return|>`` is an
    end-of-sequence token, usually not in the completion). ``thought``: the thought section,
    then the solution section when ``answer_tag`` is ``"auto"``."""
    if d.name == "harmony":
        return (d.reasoning[0].open or "", _HARMONY_TURN), ""
    pair = d.tag_pair
    if pair is None:
        raise ValueError(
            f"reasoning={d.name!r} has no opening and closing delimiter for format.think to check; "
            "use a preset such as 'think' or give think_tag"
        )
    if answer_tag == "auto":
        answer_tag = list(d.answer_pair) if d.answer_pair is not None else "answer"
    return pair, answer_tag


class _TagStructure(Verifier):
    """Shared engine of ``format.tags`` and ``format.think`` (not registered itself)."""

    outcomes = (Outcome.CORRECT, Outcome.PARTIAL, Outcome.WRONG, Outcome.NO_ANSWER)

    reasoning: Delimiters = parse_reasoning(DEFAULT_REASONING)
    _alternatives: tuple[_TagStructure, ...] = ()
    """One structure per kind when the ``reasoning`` setting names several (``auto``): the best
    score among them counts."""

    def _setup(
        self, sections: list[TagPair], mode: str, prefilled: bool | str, trailing: str, allow_empty: bool
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be 'strict' or 'soft', got {mode!r}")
        if trailing not in _TRAILING:
            raise ValueError(f"trailing must be one of {', '.join(_TRAILING)}, got {trailing!r}")
        if not (isinstance(prefilled, bool) or prefilled == "auto"):
            raise ValueError(f"prefilled must be true, false or 'auto', got {prefilled!r}")
        if not isinstance(allow_empty, bool):
            raise ValueError(f"allow_empty must be true or false, got {allow_empty!r}")
        if not sections:
            raise ValueError("at least one tag is needed")
        markers = [m for pair in sections for m in pair]
        if len(set(markers)) != len(markers):
            raise ValueError(f"tags must all differ, got {markers}")
        for a in markers:
            for b in markers:
                if a != b and a in b:
                    raise ValueError(f"marker {a!r} is part of marker {b!r}; counts would be ambiguous")
        self.sections = sections
        self.mode = mode
        self.prefilled = prefilled
        self.trailing = trailing
        self.allow_empty = allow_empty

    def _is_prefilled(self, sample: Sample) -> bool:
        if isinstance(self.prefilled, bool):
            return self.prefilled
        first_open = self.sections[0][0]
        if first_open in sample.completion:
            return False
        if first_open == (self.reasoning.tag_pair or ("",))[0] and isinstance(self.reasoning.prefilled, bool):
            return self.reasoning.prefilled  # the reasoning setting says whether the template opens it
        return prompt_tail(sample.prompt).rstrip().endswith(first_open)

    def score(self, sample: Sample) -> Score:
        if self._alternatives:
            best: Score | None = None
            for alt in self._alternatives:
                sc = alt.score(sample)
                if best is None or (sc.value or 0.0) > (best.value or 0.0):
                    best = sc
                if sc.outcome == Outcome.CORRECT:
                    break
            assert best is not None
            return best
        text = sample.completion
        prefilled = self._is_prefilled(sample)
        if not text.strip():
            return Score.no_answer("empty completion")
        if self.mode == "strict":
            return self._strict(text, prefilled)
        return self._soft(text, prefilled)

    def _counts_problem(self, text: str, prefilled: bool) -> str | None:
        for j, (opening, closing) in enumerate(self.sections):
            for marker in (opening, closing):
                n = text.count(marker)
                want = 0 if (prefilled and j == 0 and marker == opening) else 1
                if n != want:
                    where = " (it is already in the prompt)" if want == 0 else ""
                    return f"{marker} appears {n} times, expected {want}{where}"
        return None

    def _strict(self, text: str, prefilled: bool) -> Score:
        """All or nothing: the whole completion is the sections in order, each tag exactly once,
        every section non-empty (unless ``allow_empty``), only whitespace between sections, and after the last closing
        tag nothing (``trailing='forbid'``), anything (``'allow'``) or a non-empty final answer
        (``'require'``)."""
        problem = self._counts_problem(text, prefilled)
        if problem:
            return Score.wrong(problem)
        pos = 0
        for j, (opening, closing) in enumerate(self.sections):
            if not (prefilled and j == 0):
                start = text.index(opening)
                if text[pos:start].strip():
                    return Score.wrong(f"text before {opening}: {text[pos:start].strip()[:40]!r}")
                pos = start + len(opening)
            end = text.find(closing, pos)
            if end < 0:
                return Score.wrong(f"{closing} comes before {opening}")
            if not self.allow_empty and not text[pos:end].strip():
                return Score.wrong(f"empty section {opening}...{closing}")
            pos = end + len(closing)
        rest = text[pos:].strip()
        last = self.sections[-1][1]
        if self.trailing == "forbid" and rest:
            return Score.wrong(f"text after {last}: {rest[:40]!r}")
        if self.trailing == "require" and not rest:
            return Score.wrong(f"no final answer after {last}")
        return Score.correct("format ok")

    def _soft(self, text: str, prefilled: bool) -> Score:
        """Partial credit, one equal share per marker (and one for the final answer when
        ``trailing='require'``). A marker earns its share only if it occurs exactly once and after
        the previous marker that earned one; an empty section earns neither of its markers
        (unless ``allow_empty``).
        Repeating a tag therefore loses that tag's share instead of adding to it."""
        shares = 2 * len(self.sections) + (1 if self.trailing == "require" else 0)
        earned = 0
        last_end = 0  # end of the last marker that earned credit
        open_end: int | None = None
        missing: list[str] = []
        for j, (opening, closing) in enumerate(self.sections):
            if prefilled and j == 0:
                if opening in text:
                    missing.append(f"{opening} repeated (already in the prompt)")
                    open_end = None
                else:
                    earned += 1
                    open_end = 0
            else:
                occ = [m.start() for m in regex.finditer(regex.escape(opening), text)]
                if len(occ) == 1 and occ[0] >= last_end:
                    earned += 1
                    open_end = last_end = occ[0] + len(opening)
                else:
                    missing.append(f"{opening} x{len(occ)}" if len(occ) != 1 else f"{opening} out of order")
                    open_end = None
            occ = [m.start() for m in regex.finditer(regex.escape(closing), text)]
            if len(occ) == 1 and occ[0] >= last_end:
                if not self.allow_empty and open_end is not None and not text[open_end : occ[0]].strip():
                    missing.append(f"empty {opening}...{closing}")
                    earned -= 1  # an empty section earns neither of its tags
                else:
                    earned += 1
                    last_end = occ[0] + len(closing)
            else:
                missing.append(f"{closing} x{len(occ)}" if len(occ) != 1 else f"{closing} out of order")
        if self.trailing == "require":
            if text[last_end:].strip() and last_end > 0:
                earned += 1
            else:
                missing.append("no final answer")
        value = earned / shares
        if earned == shares:
            return Score.correct("format ok", value=1.0)
        detail = f"{earned}/{shares} format parts: " + "; ".join(missing)
        if earned == 0:
            return Score.wrong(detail)
        return Score.partial(value, detail)


class FormatTags(_TagStructure):
    """Tagged sections in order, e.g. ``<think>...</think><answer>...</answer>``.

    ``mode="strict"`` gives 1.0 only when the whole completion is exactly the sections in the given
    order, each tag exactly once, each section non-empty, only whitespace between sections and
    (``trailing="forbid"``) nothing after the last closing tag; otherwise 0.0 with the first
    problem in the detail. This is open-r1's ``format_reward`` pattern without its loopholes
    (``.*?`` there lets a section hold further tags).

    ``mode="soft"`` gives each of the 2k markers of k sections an equal share of 1.0 (open-r1's
    ``tag_count_reward`` gives 0.25 per tag for two sections). A marker earns its share only when
    it occurs exactly once and after the previous credited marker, and an empty section earns
    neither of its markers, so repeating tags, reordering them or leaving sections empty can
    only lower the score. ``allow_empty=True`` pays empty sections in both modes.

    ``tags`` are names (``"think"`` means ``<think>``/``</think>``) or explicit pairs such as
    Unsloth's ``["<start_working_out>", "<end_working_out>"]``. ``prefilled`` says the first
    opening tag is part of the prompt (chat templates that open the think block): the completion
    must then *not* repeat it. ``"auto"`` detects that from a prompt that ends with the tag, or
    takes it from the ``reasoning`` setting's ``prefilled`` (a chat template that opens
    ``<think>`` itself leaves no trace in conversational prompts, so say it there:
    ``reasoning = { preset = "think", prefilled = true }``).

    ``tags`` defaults to the ``reasoning`` setting's section (``<think>`` by default) followed by
    ``<answer>``, or by its answer section (``thought``: ``<|begin_of_solution|>``); see
    :mod:`grpo_rewards.reasoning`.
    """

    name = "format.tags"
    description = "Configurable tagged sections in order (strict or soft, non-farmable partial credit)"

    def __init__(
        self,
        *,
        tags: Sequence[Any] | None = None,
        mode: str = "strict",
        prefilled: bool | str = "auto",
        trailing: str = "forbid",
        allow_empty: bool = False,
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        self.reasoning = parse_reasoning(reasoning)
        if tags is None and len(self.reasoning.kinds()) > 1:
            self._alternatives = tuple(
                FormatTags(mode=mode, prefilled=prefilled, trailing=trailing, allow_empty=allow_empty, reasoning=k)
                for k in self.reasoning.kinds()
            )
            tags = [list(p) for p in self._alternatives[0].sections]
        if tags is None:
            think, answer = _reasoning_sections(self.reasoning, "auto")
            tags = [list(think), answer] if answer else [list(think)]
        if isinstance(tags, str):
            tags = [tags]
        pairs = [_tag_pair(t, f"tags[{i}]") for i, t in enumerate(tags)]
        self._setup(pairs, mode, prefilled, trailing, allow_empty)


class FormatThink(_TagStructure):
    """The think-then-answer structure of reasoning models.

    ``<think>reasoning</think>`` followed by ``<answer>answer</answer>`` (``answer_tag="answer"``,
    the default), or followed by a non-empty free-text answer (``answer_tag=""``, the DeepSeek-R1
    style, like TRL's ``think_format_reward`` but also requiring an answer and rejecting a repeated
    ``<think>``). ``mode``, ``prefilled``, ``trailing`` and ``allow_empty`` mean what they mean in
    :class:`FormatTags`, with the same defaults; ``trailing="auto"`` (the default) is ``"forbid"``
    with an answer tag and ``"require"`` (a non-empty free-text answer) without one.

    ``think_tag`` defaults to the ``reasoning`` setting (:mod:`grpo_rewards.reasoning`;
    ``<think>`` by default, ``<reasoning>``, Sky-T1's ``<|begin_of_thought|>``...); ``answer_tag``
    ``"auto"`` is that setting's answer section when it has one (``<|begin_of_solution|>``), else
    ``<answer>``. With ``reasoning="harmony"`` the structure checked is gpt-oss's: one analysis
    message, then ``<|start|>assistant<|channel|>final<|message|>`` and a non-empty final answer.
    A setting that names several kinds (``"auto"``, a list) accepts the structure of any of them.
    """

    name = "format.think"
    description = "Think-then-answer structure: one non-empty <think> block, then the answer"

    def __init__(
        self,
        *,
        think_tag: Any = None,
        answer_tag: Any = "auto",
        mode: str = "strict",
        prefilled: bool | str = "auto",
        trailing: str = "auto",
        allow_empty: bool = False,
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        self.reasoning = parse_reasoning(reasoning)
        if think_tag is None and len(self.reasoning.kinds()) > 1:
            self._alternatives = tuple(
                FormatThink(
                    answer_tag=answer_tag,
                    mode=mode,
                    prefilled=prefilled,
                    trailing=trailing,
                    allow_empty=allow_empty,
                    reasoning=k,
                )
                for k in self.reasoning.kinds()
            )
            first = self._alternatives[0]
            self._setup(list(first.sections), mode, prefilled, first.trailing, allow_empty)
            return
        if think_tag is None:
            pair, answer_tag = _reasoning_sections(self.reasoning, answer_tag)
            sections = [pair]
        else:
            sections = [_tag_pair(think_tag, "think_tag")]
            if answer_tag == "auto":
                answer_tag = "answer"
        if answer_tag:
            sections.append(_tag_pair(answer_tag, "answer_tag"))
        if trailing == "auto":
            trailing = "forbid" if answer_tag else "require"
        self._setup(sections, mode, prefilled, trailing, allow_empty)


_FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL, "x": regex.VERBOSE}


class FormatRegex(Verifier):
    """1.0 when the completion matches a user regular expression, else 0.0.

    ``match="full"`` (the default) needs the whole completion (leading and trailing whitespace
    ignored with ``strip=true``) to match, ``"match"`` anchors at the start only, ``"search"``
    finds the pattern anywhere. ``flags`` is a string of ``i``, ``m``, ``s``, ``x``. Patterns run
    with the ``regex`` library and a time limit (``timeout_s``), so a catastrophic-backtracking
    pattern on an adversarial completion scores ``timeout`` instead of stalling training.
    """

    name = "format.regex"
    description = "Completion matches a user regular expression (full, match or search; time-limited)"
    outcomes = (Outcome.CORRECT, Outcome.WRONG, Outcome.TIMEOUT)

    def __init__(
        self,
        *,
        pattern: str = "",
        match: str = "full",
        flags: str = "s",
        strip: bool = True,
        timeout_s: float = 1.0,
    ) -> None:
        if not pattern:
            raise ValueError("format.regex needs a 'pattern' option")
        if match not in ("full", "match", "search"):
            raise ValueError(f"match must be 'full', 'match' or 'search', got {match!r}")
        bad = set(flags) - set(_FLAGS)
        if bad:
            raise ValueError(f"unknown regex flag(s) {''.join(sorted(bad))!r}; use letters from 'imsx'")
        if not (timeout_s > 0):
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        self.pattern = pattern
        self.match = match
        self.flags = flags
        self.strip = strip
        self.timeout_s = float(timeout_s)
        self._compiled: Any = None
        try:
            self._regex()
        except regex.error as exc:
            raise ValueError(f"invalid pattern {pattern!r}: {exc}") from exc

    def _regex(self) -> Any:
        if self._compiled is None:
            f = 0
            for c in self.flags:
                f |= _FLAGS[c]
            self._compiled = regex.compile(self.pattern, f)
        return self._compiled

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_compiled"] = None
        return state

    def score(self, sample: Sample) -> Score:
        text = sample.completion.strip() if self.strip else sample.completion
        rx = self._regex()
        fn = {"full": rx.fullmatch, "match": rx.match, "search": rx.search}[self.match]
        try:
            m = fn(text, timeout=self.timeout_s)
        except TimeoutError:
            return Score.timeout(f"pattern ran past {self.timeout_s:g} s")
        if m:
            return Score.correct("pattern matched")
        return Score.wrong(f"no {self.match} match of the pattern")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load_schema(schema: Any) -> dict[str, Any] | None:
    if schema is None or schema == "" or schema == {}:
        return None
    if isinstance(schema, Mapping):
        return dict(schema)
    if isinstance(schema, str | os.PathLike):
        s = os.fspath(schema)
        if s.lstrip().startswith("{"):
            try:
                loaded = json.loads(s)
            except json.JSONDecodeError as exc:
                raise ValueError(f"schema is not valid JSON: {exc}") from exc
        else:
            path = Path(s)
            if not path.is_file():
                raise ValueError(f"schema file {s!r} does not exist (give a path, a JSON string or a table)")
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{s}:{exc.lineno}: schema is not valid JSON: {exc.msg}") from exc
        if not isinstance(loaded, dict):
            raise ValueError(f"a JSON Schema must be an object, got {type(loaded).__name__}")
        return loaded
    raise ValueError(f"schema must be a table, a JSON string or a file path, got {type(schema).__name__}")


class FormatJSON(Verifier):
    """1.0 when the answer is valid JSON (and, with ``schema``, valid against that JSON Schema).

    The JSON is taken (``extract="auto"``) from the ``<answer>`` block if there is one, else from
    the last fenced code block (```` ```json ```` or plain), else from the whole completion
    without its reasoning (``<think>`` sections unless ``reasoning`` says otherwise, see
    :mod:`grpo_rewards.reasoning`); ``"tag"``, ``"fenced"`` and ``"full"`` force one source.
    Several answer blocks with different contents are a hedge and score ``wrong``. ``NaN`` and
    ``Infinity`` are rejected (not JSON). Schemas are checked with the ``jsonschema`` library
    (any draft it supports; the ``$schema`` key picks one); ``schema`` is a table, a JSON string
    or a path to a ``.json`` file.

    Outcomes: ``correct``; ``no_answer`` (nothing to parse); ``unparseable`` (not JSON);
    ``wrong`` (schema violation, with the failing path in the detail, or hedging).
    """

    name = "format.json"
    description = "Answer is valid JSON, optionally against a JSON Schema (jsonschema)"
    outcomes = (Outcome.CORRECT, Outcome.WRONG, Outcome.NO_ANSWER, Outcome.UNPARSEABLE)

    def __init__(
        self, *, schema: Any = None, extract: str = "auto", tag: str = "answer", reasoning: Any = DEFAULT_REASONING
    ) -> None:
        self.reasoning = parse_reasoning(reasoning)
        if extract not in ("auto", "tag", "fenced", "full"):
            raise ValueError(f"extract must be 'auto', 'tag', 'fenced' or 'full', got {extract!r}")
        self.schema = _load_schema(schema)
        self.extract = extract
        self.tag = tag
        self._validator: Any = None
        if self.schema is not None:
            import jsonschema

            cls = jsonschema.validators.validator_for(self.schema)
            try:
                cls.check_schema(self.schema)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"invalid JSON Schema: {exc.message}") from exc

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_validator"] = None
        return state

    def _get_validator(self) -> Any:
        if self._validator is None and self.schema is not None:
            import jsonschema

            self._validator = jsonschema.validators.validator_for(self.schema)(self.schema)
        return self._validator

    def _candidate(self, text: str, prefilled: bool | None = None) -> tuple[str | None, str]:
        """(JSON text, where it came from); ``None`` text and a reason when hedging."""
        body = strip_think(text, self.reasoning, prefilled=prefilled)
        if self.extract in ("auto", "tag"):
            blocks = tag_blocks(body, self.tag, "none")
            if blocks:
                if len({b.strip() for b in blocks}) > 1:
                    return None, f"{len(blocks)} different <{self.tag}> blocks (hedging)"
                inner = fenced_blocks(blocks[-1])
                return (inner[-1] if inner else blocks[-1]), f"<{self.tag}>"
            if self.extract == "tag":
                return "", f"<{self.tag}>"
        if self.extract in ("auto", "fenced"):
            fences = fenced_blocks(body)
            if fences:
                return fences[-1], "fenced block"
            if self.extract == "fenced":
                return "", "fenced block"
        return body, "completion"

    def score(self, sample: Sample) -> Score:
        candidate, source = self._candidate(sample.completion, prefilled_for(self.reasoning, sample.prompt))
        if candidate is None:
            return Score.wrong(source)
        if not candidate.strip():
            return Score.no_answer(f"no JSON found ({source} empty or missing)")
        try:
            obj = json.loads(candidate, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            return Score.unparseable(f"invalid JSON in {source}: {exc}")
        except RecursionError:
            return Score.unparseable(f"JSON in {source} is nested too deeply to parse")
        if isinstance(obj, float) and not math.isfinite(obj):  # e.g. 1e999
            return Score.unparseable(f"non-finite number in {source}")
        validator = self._get_validator()
        if validator is not None:
            import jsonschema

            error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
            if error is not None:
                path = "/" + "/".join(str(p) for p in error.absolute_path)
                return Score.wrong(f"schema violation at {path}: {error.message[:120]}", path=path)
        return Score.correct(f"valid JSON in {source}")


@hookimpl
def register_verifiers(register: Register) -> None:
    register(FormatThink)
    register(FormatTags)
    register(FormatRegex)
    register(FormatJSON)
