"""Stand-ins for the network in outbound guard tests: a resolver with fixed answers, and a transport
that records what reached it instead of sending it anywhere."""

from __future__ import annotations

from collections.abc import Sequence

import httpx


class FixedResolver:
    """Answers names from a table (a list of answers per name, one per lookup, the last one repeated)
    and records every lookup; an unknown name is not found."""

    def __init__(self, answers: dict[str, list[list[str]]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    async def __call__(self, name: str) -> Sequence[str]:
        self.asked.append(name)
        found = self.answers.get(name)
        if not found:
            raise OSError(f"{name}: no such name")
        return found.pop(0) if len(found) > 1 else found[0]


class NoNetwork(httpx.AsyncBaseTransport):
    """Records every request that gets this far and answers 200 "reached" without sending it."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(b"reached"))
