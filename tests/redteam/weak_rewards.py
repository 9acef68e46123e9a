"""Deliberately weak reward functions, written the way they are found in the wild, for the
red-team tests to catch (the seed's substring reward is examples/redteam/seed_substring.py)."""

from __future__ import annotations


def _last_token(text: str) -> str:
    body = text.split("<answer>")[-1].split("</answer>")[0]
    return body.strip().split()[-1] if body.strip() else ""


def nan_blind_reward(completions, answer, **kwargs):
    """'Not less and not more than the gold': NaN compares false both ways, so 'nan' is paid."""
    out = []
    for resp, gt in zip(completions, answer, strict=True):
        try:
            x, g = float(_last_token(resp)), float(str(gt).split("####")[-1].replace(",", ""))
        except ValueError:
            out.append(0.0)
            continue
        out.append(1.0 if not (x < g) and not (x > g) else 0.0)
    return out


def pass_marker_reward(completions, **kwargs):
    """Pays a program whose output mentions PASSED (trusting what the candidate prints)."""
    return [1.0 if "PASSED" in c else 0.0 for c in completions]
