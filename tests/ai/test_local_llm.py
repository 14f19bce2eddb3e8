"""The built-in model through xllamacpp: errors come back as exceptions with a sentence, and the
HTTP port llama.cpp's server opens on 127.0.0.1 answers no one who does not hold its random key."""

from __future__ import annotations

import httpx
import pytest

from runtime.ai.local_llm import LocalModel


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel()


def test_an_answer_comes_back_as_an_openai_completion(model: LocalModel) -> None:
    out = model.complete([{"role": "user", "content": "Say hello."}], temperature=0.0, max_tokens=8, json=False)
    assert out["choices"][0]["message"]["role"] == "assistant"
    assert 0 < out["usage"]["completion_tokens"] <= 8
    assert "timings" not in out  # llama.cpp's own figures stay out of the call record


def test_a_prompt_longer_than_the_context_is_an_error_not_an_answer(model: LocalModel) -> None:
    too_long = "word " * 5000  # more tokens than the 2,048 the context holds
    with pytest.raises(RuntimeError):
        model.complete([{"role": "user", "content": too_long}], temperature=0.0, max_tokens=8, json=False)


def test_its_http_port_answers_no_one_without_the_key(model: LocalModel) -> None:
    server = model._load()  # the server object is what opened the port
    address = server.listening_address
    assert address.startswith("http://127.0.0.1:")  # never on another interface
    for method, path, body in (
        ("GET", "/v1/models", None),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}),
        ("POST", "/completion", {"prompt": "hi", "n_predict": 1}),
    ):
        answer = httpx.request(method, address + path, json=body, timeout=30)
        assert answer.status_code == 401, (path, answer.status_code)
