"""Model calls through litellm: the node's models in order, each attempt recorded.

litellm is imported on the first call (about 4 s and 200 MB), with its price table read from the
package (`LITELLM_LOCAL_MODEL_COST_MAP`), never fetched. Provider error messages are cut short and
stripped of the key before they reach a variable, a record or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import uuid
from typing import Any

from nodes.ai.llm import ChatAnswer, ChatRequest, ModelError
from runtime.ai.calls import CallLog, CallRow, Outcome
from runtime.ai.local_llm import LocalModel, register_provider
from runtime.ai.models import LOCAL_PROVIDER, ModelConfig, ModelConfigError, ModelStore
from runtime.channels.secretbox import SecretsUnreadable

log = logging.getLogger(__name__)
KEYLIKE = re.compile(r"\b(sk|key|gsk|AIza|xai)[-_][A-Za-z0-9_\-]{6,}|\bAIza[A-Za-z0-9_\-]{20,}")
_ready = False


def load_litellm(local: LocalModel | None) -> Any:
    """litellm, imported and set up once: offline price table, no telemetry, our local provider."""
    global _ready  # noqa: PLW0603 - a process-wide library set up once
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    if not _ready:
        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True  # a provider that lacks a parameter (response_format) ignores it
        register_provider(LOCAL_PROVIDER, local)
        _ready = True
    return litellm


def redact(message: str, key: str = "") -> str:
    """A provider's error message, short, without the key (or anything that looks like one)."""
    if key:
        message = message.replace(key, "[key]")
    message = KEYLIKE.sub("[key]", message)
    message = " ".join(message.split())
    return message[:280]


class Models:
    """The workspace's language models (the `models` service nodes call)."""

    def __init__(self, store: ModelStore, calls: CallLog, local: LocalModel | None = None) -> None:
        self.store, self.calls, self.local = store, calls, local

    async def chat(self, request: ChatRequest) -> ChatAnswer:
        try:  # models.toml and the database, read off the event loop
            models = {m.name: m for m in await asyncio.to_thread(self.store.all)}
        except (ModelConfigError, SecretsUnreadable) as exc:
            raise ModelError(f"The models cannot be read: {exc}") from None
        names = list(dict.fromkeys(request.models)) or [next(m.name for m in models.values() if m.default)]
        failed: list[str] = []
        reasons: list[str] = []
        for name in names:
            config = models.get(name)
            if config is None:
                failed.append(name)
                reasons.append(f"there is no model named “{name}” (add it on the Models page)")
                continue
            try:
                answer = await self._attempt(config, request)
            except _Failed as exc:
                failed.append(name)
                reasons.append(f"{name}: {exc}")
                continue
            return ChatAnswer(
                text=answer[0],
                model=name,
                call_id=answer[1],
                tokens_in=answer[2],
                tokens_out=answer[3],
                failed=tuple(failed),
            )
        raise ModelError("No model answered: " + "; ".join(reasons) + ".")

    async def _attempt(self, config: ModelConfig, request: ChatRequest) -> tuple[str, str, int, int]:
        """(text, call id, tokens in, tokens out) from one model; _Failed after recording why."""
        args = config.litellm_args()
        key = str(args.get("api_key", ""))
        call_id = uuid.uuid4().hex
        started = time.monotonic()
        outcome: Outcome = "ok"
        error = ""
        tokens_in = tokens_out = 0
        cost = 0.0
        text = ""
        try:
            litellm = await asyncio.to_thread(load_litellm, self.local)  # the first import takes seconds
            params: dict[str, Any] = {"temperature": request.temperature, "max_tokens": request.max_tokens}
            if request.json:
                params["response_format"] = {"type": "json_object"}
            response = await asyncio.wait_for(
                litellm.acompletion(
                    messages=request.messages, timeout=request.timeout, num_retries=0, **args, **params
                ),
                timeout=request.timeout,
            )
            text = (response.choices[0].message.content or "").strip()
            if not text:  # nothing to send: let the next model try
                raise ValueError("the model answered nothing")
            usage = getattr(response, "usage", None)
            tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
            tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
            cost = _cost(litellm, response, config)
        except TimeoutError:
            outcome, error = "timeout", f"no answer within {request.timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - any provider failure moves on to the next model
            outcome, error = "error", redact(describe_error(exc), key)
        latency = (time.monotonic() - started) * 1000
        await asyncio.to_thread(
            self.calls.record,
            CallRow(
                id=call_id,
                at=time.time(),
                model=config.name,
                provider=config.provider,
                flow_id=request.flow_id,
                node_id=request.node_id,
                conversation_id=request.conversation_id,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                cost=cost,
                latency_ms=latency,
                outcome=outcome,
                error=error,
            ),
        )
        if outcome != "ok":
            log.warning(
                "model %s failed (%s) for flow %s node %s conversation %s: %s",
                config.name,
                outcome,
                request.flow_id,
                request.node_id,
                request.conversation_id,
                error,
            )
            raise _Failed(error)
        return text, call_id, tokens_in, tokens_out


class _Failed(Exception):
    pass


def describe_error(exc: Exception) -> str:
    """A provider error in one line: litellm's class names say what happened (AuthenticationError…)."""
    name = type(exc).__name__
    message = str(exc).split("\n")[0]
    return f"{name}: {message}" if message else name


def _cost(litellm: Any, response: Any, config: ModelConfig) -> float:
    if config.provider == "local":
        return 0.0
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # noqa: BLE001 - a model missing from the price table costs "unknown", kept as 0
        return 0.0
