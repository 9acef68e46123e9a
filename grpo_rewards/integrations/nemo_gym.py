"""NeMo Gym: a resources server's ``POST /verify`` scored with the composition.

The contract, from NVIDIA-NeMo/Gym ``nemo_gym/base_resources_server.py`` (the repository at
commit 011c3386d691fd51a0ee388026c59660fcbffdac, and checked again against commit 07d6b0d07 of
22 Aug 2026, whose ``nemo_gym/package_info.py`` says 0.5.1: the same routes and models; 0.7 was
not reachable from here, and the package is not on the index this project reaches, and needs
Python 3.12): ``SimpleResourcesServer.setup_webserver`` routes
``POST /seed_session``, ``POST /verify`` and others; a verify request (``BaseVerifyRequest``) is
the task's row, that is ``responses_create_params`` (the OpenAI Responses request, whose
``input`` is the prompt: a string or a list of messages) plus the task's own fields (such as
``expected_answer``), and ``response``, the model's OpenAI Responses object, whose ``output``
items of ``type: "message"`` hold ``output_text`` parts. The reply (``BaseVerifyResponse``) is
the request with ``reward`` added; ``BaseMultiRewardVerifyResponse`` adds ``reward_components``
(objective -> float, the same keys for every task).

What runs here: ``grpo-rewards serve`` (``POST /verify``, ``POST /seed_session``), or a NeMo Gym
resources server of your own that calls :func:`verify_row` and :func:`verify_answer`. What it
may trust: nothing in a request; the server checks the row as ``grpo-rewards score`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["verify_row", "verify_answer", "response_text", "prompt_of", "PROTOCOL_FIELDS"]

PROTOCOL_FIELDS = frozenset({"responses_create_params", "response", "_ng_rollout_id", "capture_rollout_id"})
"""Fields of a verify request that are NeMo Gym's, not the task's columns."""


class VerifyRequestError(ValueError):
    """A verify request without the shape NeMo Gym sends; ``field`` names where."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def response_text(response: Any) -> str:
    """The text of the model's last assistant message in an OpenAI Responses object
    (``output_text`` parts joined); reasoning and tool-call items are not the answer."""
    if not isinstance(response, Mapping) or not isinstance(response.get("output"), list):
        raise VerifyRequestError("'response' must be an OpenAI Responses object with an 'output' list", "response")
    for item in reversed(response["output"]):
        if isinstance(item, Mapping) and item.get("type") == "message" and item.get("role", "assistant") == "assistant":
            content = item.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(
                    str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "output_text"
                )
    return ""


def prompt_of(params: Any) -> str | list[dict[str, Any]] | None:
    """The prompt in ``responses_create_params``: its ``input`` as a string, or as chat messages
    (``{"role", "content"}``, content parts joined to text)."""
    if not isinstance(params, Mapping):
        raise VerifyRequestError("'responses_create_params' must be an object", "responses_create_params")
    given = params.get("input")
    if given is None or isinstance(given, str):
        return given
    if not isinstance(given, list):
        raise VerifyRequestError(
            "'responses_create_params.input' must be a string or a list", "responses_create_params.input"
        )
    messages = []
    for item in given:
        if not isinstance(item, Mapping) or "role" not in item:
            continue  # tool outputs and other items: not part of the prompt's text
        content = item.get("content", "")
        if isinstance(content, list):
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
        messages.append({"role": str(item["role"]), "content": str(content)})
    return messages


def verify_row(body: Any) -> dict[str, Any]:
    """A verify request as a row that ``grpo-rewards score`` reads: ``completion`` (the response's
    text), ``prompt`` and the task's fields as columns.

    :raises VerifyRequestError: naming the field that does not have NeMo Gym's shape.
    """
    if not isinstance(body, Mapping):
        raise VerifyRequestError("the body must be a verify request object", "body")
    if "response" not in body:
        raise VerifyRequestError("missing field 'response' (the model's OpenAI Responses object)", "response")
    if "responses_create_params" not in body:
        raise VerifyRequestError("missing field 'responses_create_params'", "responses_create_params")
    row = {k: v for k, v in body.items() if k not in PROTOCOL_FIELDS and k not in ("completion", "prompt")}
    row["completion"] = response_text(body["response"])
    prompt = prompt_of(body["responses_create_params"])
    if prompt is not None:
        row["prompt"] = prompt
    return row


def verify_answer(names: Sequence[str], body: Mapping[str, Any], scored: Mapping[str, Any]) -> dict[str, Any]:
    """The verify reply: the request, ``reward`` (the weighted sum; ``0.0`` where no component
    gave a signal) and ``reward_components`` (each of the components ``names``' value, ``0.0``
    for no signal), from ``scored``, the row as ``grpo-rewards score`` writes it."""
    components = {n: 0.0 if scored["rewards"][n] is None else float(scored["rewards"][n]) for n in names}
    reward = 0.0 if scored["reward"] is None else float(scored["reward"])
    return {**body, "reward": reward, "reward_components": components}
