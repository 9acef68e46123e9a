"""Reading a numeric verdict out of a judge model's free-text reply."""

from __future__ import annotations

import json
import re

__all__ = ["parse_score", "ScoreParseError"]

_NUM = r"[-+]?\d+(?:\.\d+)?"
# Most specific first. Formats seen in the wild: "Score: 7", "Rating: [[7]]" (MT-Bench, Zheng et al. 2023,
# arXiv:2306.05685), "7/10", {"score": 7} (JSON-mode judges), "**Score**: 7", "score of 7".
_PATTERNS = [
    re.compile(rf"\[\[\s*({_NUM})\s*\]\]"),
    re.compile(rf"(?:score|rating|grade)\**\s*(?:is|of|=|:)?\s*\**\s*\[?\s*({_NUM})(?:\s*/\s*\d+)?", re.IGNORECASE),
    re.compile(rf"({_NUM})\s*/\s*\d+(?:\.\d+)?"),
    re.compile(rf"({_NUM})\s+out\s+of\s+\d+", re.IGNORECASE),
]
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


class ScoreParseError(ValueError):
    """The reply holds no score in a recognised form, or the score is outside the allowed range."""


def parse_score(text: str, low: float, high: float, pattern: str | None = None) -> float:
    """The judge's score in ``text``, in ``[low, high]``.

    With ``pattern`` (a regex with one group) only that is used. Otherwise, after removing
    ``<think>`` sections, try in order: a JSON object with ``score``/``rating``; ``[[N]]``;
    ``Score: N`` / ``Rating = N`` / ``score of N``; ``N/10``; ``N out of 10``; and a reply that is
    a bare number. The *last* match of the first pattern that matches wins (judges tend to
    restate the scale before giving the verdict). A number outside ``[low, high]`` is an error
    rather than being clipped: it means the judge misunderstood the scale.

    :raises ScoreParseError: naming what was found.
    """
    body = _THINK.sub("", text).strip()
    found: str | None = None
    if pattern is not None:
        matches = re.findall(pattern, body, flags=re.IGNORECASE | re.DOTALL)
        if matches:
            last = matches[-1]
            found = last[0] if isinstance(last, tuple) else last
    else:
        found = _from_json(body)
        if found is None:
            for pat in _PATTERNS:
                matches = pat.findall(body)
                if matches:
                    found = matches[-1]
                    break
        if found is None and re.fullmatch(rf"\s*{_NUM}\s*\.?\s*", body):
            found = body.strip().rstrip(".")
    if found is None:
        raise ScoreParseError(f"no score found in the judge's reply {text[:120]!r}")
    try:
        value = float(found)
    except ValueError:
        raise ScoreParseError(f"judge score {found!r} is not a number") from None
    if not low <= value <= high:
        raise ScoreParseError(f"judge score {value:g} is outside the scale [{low:g}, {high:g}]")
    return value


def _from_json(body: str) -> str | None:
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(body[start : end + 1])
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict):
        for key in ("score", "rating", "grade"):
            v = data.get(key)
            if isinstance(v, int | float | str) and not isinstance(v, bool):
                return str(v)
    return None
