"""Reasoning delimiters: where a completion's reasoning ends and its answer begins.

One setting, ``reasoning``, read by every verifier that strips or checks reasoning (``format.*``,
``math``, ``code``, ``choice``, ``exact``, ``length``, ``language``) and settable once for a whole
composition in its ``[defaults]`` table. It is a preset name (:data:`PRESETS`), a tag (``"<thinking>"``),
an explicit ``[open, close]`` pair, a table ``{ open = ..., close = ..., answer = [open, close] }``
(``open`` may be left out: TRL's close-only delimiters), or a list of these.

What runs here, and what it may trust: these functions run in the process that computes rewards,
on completions written by the policy being optimized, so the text is adversarial. Nothing in it
is evaluated; :func:`split` is one forward scan, linear in the length of the text also on
thousands of unclosed markers. Only the setting itself (from the user's configuration) is trusted,
and it is validated by :func:`parse_reasoning`, which raises :class:`~grpo_rewards.errors.ConfigError`
with the nearest preset names for a typo.

How a completion is read (:func:`split`):

- A reasoning section runs from an opening marker to the first closing marker after it; one that
  is never closed runs to the end of the text (a truncated completion has no answer).
- **Prefilled opening tags.** Chat templates of DeepSeek-R1(-Distill) and Qwen3 open ``<think>``
  in the generation prompt, so the completion starts inside the reasoning and carries only
  ``</think>``. A closing marker in a completion that has no opening marker at all is therefore
  read as the end of a reasoning section that began at the start of the text (up to the last
  closing marker); so is one before the first opening marker when the prompt is known to be
  prefilled. A completion that writes its own opening marker was not prefilled: a stray closing
  marker before it is text (the embedded demo's tiny model writes ``7 - 2 = 6 </think> <think>``).
  With ``prefilled=True`` (a prompt that ends with the opening marker) a completion with no
  closing marker at all is all reasoning, with no answer.
- The answer is the text outside reasoning sections or, when the delimiters name an answer section
  (Sky-T1's ``<|begin_of_solution|>``, harmony's ``final`` channel) and it is present, the content
  of the answer sections (one that is never closed runs to the end of the text).

Correspondence with TRL 1.16 ``reasoning_accuracy_reward(reasoning_delimiters=...)``
(trl/rewards/accuracy_rewards.py of trl==1.16.0): TRL takes a list of *closing* delimiters, keeps
the text after the last occurrence of the first one present, and gives 0.0 ("incomplete
reasoning") when none is present. Here ``{ close = "</think>" }`` (or the ``think`` preset) reads
the same answer for a completion with one reasoning section, opened or prefilled; ``prefilled =
true`` also reads "no closing delimiter" as no answer (0.0 from ``math``, as TRL). The deliberate
differences: text *before* an opening tag and *between* two reasoning sections is kept as answer
text here (TRL keeps only what follows the last delimiter), markers match case-insensitively, and
without ``prefilled = true`` a completion with no delimiter at all is read as all answer (a
model that did not think), which TRL scores 0.0.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grpo_rewards.errors import ConfigError

__all__ = [
    "PRESETS",
    "Delimiters",
    "Section",
    "Split",
    "parse_reasoning",
    "prefilled_for",
    "prompt_tail",
    "split",
    "strip_reasoning",
]


@dataclass(frozen=True)
class Section:
    """One kind of delimited section: ``open`` (``None`` for close-only delimiters, as TRL's) and
    the closing markers that end it (the first one found after the opening marker)."""

    open: str | None
    close: tuple[str, ...]


@dataclass(frozen=True)
class Delimiters:
    """A resolved ``reasoning`` setting.

    :param name: the preset name, or ``"custom"``.
    :param reasoning: the reasoning sections (none for the ``none`` preset).
    :param answer: answer sections; when one is present its content is the answer.
    :param prefilled: ``True`` when every completion starts inside a reasoning section (the chat
        template opens it), ``False`` when none does, ``"auto"`` to infer it (see :func:`split`).
    :param parts: for a setting that names several kinds (``auto``, a list), each kind.
    """

    name: str
    reasoning: tuple[Section, ...] = ()
    answer: tuple[Section, ...] = ()
    prefilled: bool | str = "auto"
    parts: tuple[Delimiters, ...] = ()
    """For a setting that names several kinds (``auto``, a list), each kind on its own."""
    _open_re: Any = field(default=None, compare=False, repr=False)

    def kinds(self) -> tuple[Delimiters, ...]:
        """The single kinds of delimiters this setting accepts (itself when it names one)."""
        return self.parts or (self,)

    @property
    def tag_pair(self) -> tuple[str, str] | None:
        """(opening, closing) of the first reasoning section that has both, for format checks."""
        for s in self.reasoning:
            if s.open is not None:
                return s.open, s.close[0]
        return None

    @property
    def answer_pair(self) -> tuple[str, str] | None:
        """(opening, closing) of the first answer section, for format checks."""
        for s in self.answer:
            if s.open is not None:
                return s.open, s.close[0]
        return None

    def opens_in(self, prompt_tail: str) -> bool:
        """Whether a prompt ending with ``prompt_tail`` leaves a reasoning section open."""
        tail = prompt_tail.rstrip().lower()
        return any(s.open is not None and tail.endswith(s.open.strip().lower()) for s in self.reasoning)


def _tag(name: str) -> tuple[Section, ...]:
    return (Section(f"<{name}>", (f"</{name}>",)),)


_THOUGHT = Section("<|begin_of_thought|>", ("<|end_of_thought|>",))
_SOLUTION = Section("<|begin_of_solution|>", ("<|end_of_solution|>",))
# gpt-oss harmony (openai/harmony, docs/format.md): the model's turn after the generation prompt
# ``<|start|>assistant`` is ``<|channel|>analysis<|message|>...<|end|>`` then
# ``<|start|>assistant<|channel|>final<|message|>...<|return|>`` (``<|end|>`` when re-rendered
# in a conversation; ``<|return|>`` is an end-of-sequence token that generation servers usually
# leave out of the text).
_ANALYSIS = Section("<|channel|>analysis<|message|>", ("<|end|>",))
_FINAL = Section("<|channel|>final<|message|>", ("<|return|>", "<|end|>"))
# The same turn decoded with skip_special_tokens=True (TRL's and vLLM's default decoding) loses
# the special tokens: "analysis...assistantfinal...". Close-only, so the answer follows it.
_DECODED_FINAL = Section(None, ("assistantfinal",))

_SINGLE = (
    Delimiters("think", _tag("think")),
    Delimiters("reasoning", _tag("reasoning")),
    Delimiters("thought", (_THOUGHT,), (_SOLUTION,)),
    Delimiters("harmony", (_ANALYSIS, _DECODED_FINAL), (_FINAL,)),
)


def _union(name: str, parts: Sequence[Delimiters], prefilled: bool | str = "auto") -> Delimiters:
    kinds = tuple(k for p in parts for k in p.kinds())
    return Delimiters(
        name,
        tuple(s for k in kinds for s in k.reasoning),
        tuple(s for k in kinds for s in k.answer),
        prefilled,
        kinds if len(kinds) > 1 else (),
    )


PRESETS: dict[str, Delimiters] = {
    **{d.name: d for d in _SINGLE},
    "auto": _union("auto", _SINGLE),
    "none": Delimiters("none"),
}
"""The presets by name:

- ``think``: ``<think>...</think>`` (DeepSeek-R1, Qwen3, QwQ; the default);
- ``reasoning``: ``<reasoning>...</reasoning>`` (Unsloth's GRPO notebooks);
- ``thought``: ``<|begin_of_thought|>...<|end_of_thought|>`` then the answer in
  ``<|begin_of_solution|>...<|end_of_solution|>`` (Sky-T1, Bespoke-Stratos, OpenThoughts);
- ``harmony``: gpt-oss's ``analysis`` channel, the answer in the ``final`` channel (also the turn
  decoded without special tokens, ``analysis...assistantfinal...``);
- ``auto``: all of the above at once;
- ``none``: no reasoning markers; the whole completion is the answer.
"""

DEFAULT = "think"


def _marker(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{where}: a delimiter is a non-empty string, got {v!r}")
    return v


def _closes(v: Any, where: str) -> tuple[str, ...]:
    if isinstance(v, str):
        return (_marker(v, where),)
    if isinstance(v, Sequence) and v:
        return tuple(_marker(x, where) for x in v)
    raise ConfigError(f"{where}: 'close' is a string or a list of strings, got {v!r}")


def _unknown(name: str, where: str) -> ConfigError:
    near = difflib.get_close_matches(name, list(PRESETS), n=1)
    hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
    return ConfigError(
        f"{where}: unknown reasoning preset {name!r}{hint} Presets: {', '.join(PRESETS)}; or give a tag like "
        "'<thinking>', a pair ['<open>', '</close>'] or a table {open = '...', close = '...'}"
    )


def _one(spec: Any, where: str) -> Delimiters:
    if isinstance(spec, Delimiters):
        return spec
    if isinstance(spec, str):
        s = spec.strip()
        if s in PRESETS:
            return PRESETS[s]
        if s.startswith("<") and s.endswith(">") and not s.startswith("</") and len(s) > 2:
            inner = s[1:-1]
            if not any(c in inner for c in "<>/ \t\n"):
                return Delimiters("custom", _tag(inner))
        raise _unknown(s, where)
    if isinstance(spec, Mapping):
        allowed = ("preset", "open", "close", "answer", "prefilled")
        for key in spec:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else f"; allowed: {', '.join(allowed)}"
                raise ConfigError(f"{where}: unknown key {key!r}{hint}")
        prefilled = spec.get("prefilled", "auto")
        if not (isinstance(prefilled, bool) or prefilled == "auto"):
            raise ConfigError(f"{where}.prefilled: true, false or 'auto', got {prefilled!r}")
        if "preset" in spec:
            if any(k in spec for k in ("open", "close", "answer")):
                raise ConfigError(f"{where}: give either 'preset' or 'open'/'close'/'answer', not both")
            base = _one(spec["preset"], f"{where}.preset")
            parts = tuple(dataclasses.replace(k, prefilled=prefilled) for k in base.parts)
            return Delimiters(base.name, base.reasoning, base.answer, prefilled, parts)
        if "close" not in spec:
            raise ConfigError(f"{where}: a delimiter table needs 'close' (and usually 'open')")
        opening = _marker(spec["open"], f"{where}.open") if spec.get("open") is not None else None
        reasoning = (Section(opening, _closes(spec["close"], f"{where}.close")),)
        answer: tuple[Section, ...] = ()
        if spec.get("answer") is not None:
            a = spec["answer"]
            if not (isinstance(a, Sequence) and not isinstance(a, str) and len(a) == 2):
                raise ConfigError(f"{where}.answer: a pair ['<open>', '</close>'], got {a!r}")
            answer = (Section(_marker(a[0], f"{where}.answer"), _closes(a[1], f"{where}.answer")),)
        return Delimiters("custom", reasoning, answer, prefilled)
    if isinstance(spec, Sequence) and not isinstance(spec, bytes):
        items = list(spec)
        if len(items) == 2 and all(isinstance(x, str) and x.strip() not in PRESETS for x in items):
            if items[0] == items[1]:
                raise ConfigError(f"{where}: opening and closing delimiters must differ, got {items[0]!r} twice")
            return Delimiters("custom", (Section(_marker(items[0], where), (_marker(items[1], where),)),))
        if not items:
            raise ConfigError(f"{where}: an empty list; use 'none' for no reasoning markers")
        kinds = [_one(x, f"{where}[{i}]") for i, x in enumerate(items)]
        prefilled = next((k.prefilled for k in kinds if k.prefilled != "auto"), "auto")
        return _union("+".join(k.name for k in kinds), kinds, prefilled)
    raise ConfigError(
        f"{where}: reasoning is a preset name ({', '.join(PRESETS)}), a tag, a pair or a table, got {spec!r}"
    )


def parse_reasoning(spec: Any = DEFAULT, where: str = "reasoning") -> Delimiters:
    """Resolve a ``reasoning`` setting (see the module docstring) into :class:`Delimiters`.

    :raises ConfigError: for an unknown preset (naming the nearest ones) or a malformed setting.
    """
    d = _one(DEFAULT if spec is None else spec, where)
    markers = [m for s in (*d.reasoning, *d.answer) for m in ((s.open,) if s.open else ()) + s.close]
    for s in (*d.reasoning, *d.answer):
        if s.open is not None and s.open in s.close:
            raise ConfigError(f"{where}: opening and closing delimiters must differ, got {s.open!r} twice")
    if any(not m for m in markers):
        raise ConfigError(f"{where}: empty delimiter")
    return d


@dataclass(frozen=True)
class Split:
    """A completion read with :func:`split`.

    :param answer: the answer text (the text outside reasoning, or the answer sections' content).
    :param reasoning: the contents of the reasoning sections, in order.
    :param complete: ``None`` when no reasoning marker was found, ``True`` when every reasoning
        section was closed, ``False`` when the last one runs to the end of the text.
    :param answer_section: whether the answer came from an answer section.
    """

    answer: str
    reasoning: tuple[str, ...] = ()
    complete: bool | None = None
    answer_section: bool = False


def _compile(d: Delimiters) -> tuple[Any, Any, list[Any], list[Any]]:
    cached = d._open_re
    if cached is not None:
        return cached
    opens = [(s.open, i) for i, s in enumerate((*d.reasoning, *d.answer)) if s.open is not None]
    # Longest first, so that one marker that is a prefix of another does not win by accident.
    opens.sort(key=lambda o: -len(o[0]))
    open_re = re.compile("|".join(f"({re.escape(o)})" for o, _ in opens), re.IGNORECASE) if opens else None
    close_any = {c for s in d.reasoning for c in s.close}
    close_re = (
        re.compile("|".join(re.escape(c) for c in sorted(close_any, key=len, reverse=True)), re.IGNORECASE)
        if close_any
        else None
    )
    section_close = [
        re.compile("|".join(re.escape(c) for c in s.close), re.IGNORECASE) for s in (*d.reasoning, *d.answer)
    ]
    result = (open_re, close_re, [i for _, i in opens], section_close)
    object.__setattr__(d, "_open_re", result)
    return result


def split(text: str, delimiters: Any = DEFAULT, *, prefilled: bool | None = None) -> Split:
    """Split ``text`` into reasoning and answer (rules in the module docstring).

    :param delimiters: a :class:`Delimiters` or any ``reasoning`` setting.
    :param prefilled: ``True`` when the prompt opened a reasoning section (the completion starts
        inside it), ``False`` when it did not; ``None`` uses the setting's own ``prefilled``
        (``"auto"``: inferred from a closing marker that precedes every opening marker).
    """
    d = delimiters if isinstance(delimiters, Delimiters) else parse_reasoning(delimiters)
    if not d.reasoning and not d.answer:
        return Split(text)
    open_re, close_re, open_index, section_close = _compile(d)
    n_reasoning = len(d.reasoning)
    if prefilled is None:
        prefilled = d.prefilled if isinstance(d.prefilled, bool) else None

    reasoning: list[str] = []
    outside: list[str] = []
    answers: list[str] = []
    complete: bool | None = None
    pos = 0
    first_open = open_re.search(text) if open_re is not None else None
    head_end = first_open.start() if first_open is not None else len(text)
    # Inferring a prefilled tag (prefilled is None) needs a completion that never opens the section
    # itself: a model whose prompt opened <think> does not write <think>. "7 - 2 = 6 </think> <think>"
    # from a model that was not prefilled keeps its stray closing tag as text, as before.
    if close_re is not None and (prefilled or (prefilled is None and first_open is None)):
        last = None
        for m in close_re.finditer(text, 0, head_end):
            last = m
        if last is not None:  # a closing marker before any opening one: the prompt opened it
            reasoning.append(text[: last.start()])
            pos, complete = last.end(), True
        elif prefilled:
            first_close = close_re.search(text)
            if first_close is None:
                return Split("", (text,), False)
            if first_open is not None and first_open.start() < first_close.start():
                # the model opened the section again inside the prefilled one: it ends at the first close
                reasoning.append(text[: first_close.start()])
                pos, complete = first_close.end(), True
    while open_re is not None:
        m = open_re.search(text, pos)
        if m is None:
            break
        outside.append(text[pos : m.start()])
        idx = open_index[next(i for i, g in enumerate(m.groups()) if g is not None)]
        c = section_close[idx].search(text, m.end())
        body = text[m.end() : c.start() if c is not None else len(text)]
        if idx < n_reasoning:
            reasoning.append(body)
            complete = c is not None
        else:
            answers.append(body)
        if c is None:
            pos = len(text)
            break
        pos = c.end()
    outside.append(text[pos:])
    if answers:
        return Split("\n".join(answers), tuple(reasoning), complete, True)
    return Split("".join(outside), tuple(reasoning), complete)


def strip_reasoning(text: str, delimiters: Any = DEFAULT, *, prefilled: bool | None = None) -> str:
    """The answer part of ``text``: :func:`split`'s ``answer``."""
    return split(text, delimiters, prefilled=prefilled).answer


def prompt_tail(prompt: Any) -> str:
    """The end of a prompt as text: the string itself, or the content of its last message."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and prompt and isinstance(prompt[-1], Mapping):
        content = prompt[-1].get("content")
        return content if isinstance(content, str) else ""
    return ""


def prefilled_for(delimiters: Delimiters, prompt: Any) -> bool | None:
    """``prefilled`` for :func:`split` given the sample's prompt: the setting's own value when it
    is ``true``/``false``, else ``True`` when the prompt text ends with an opening marker (a
    prompt rendered with the chat template), else ``None`` (infer from the completion)."""
    if isinstance(delimiters.prefilled, bool):
        return delimiters.prefilled
    return True if delimiters.opens_in(prompt_tail(prompt)) else None
