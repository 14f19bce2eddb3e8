"""The builder's test chat uses the server's own models, voices and knowledge bases, but what a
tester's conversation remembers stays apart from what real users taught the bot: memories and
profiles are kept under a test bot of their own ("test:<flow>"), never recalled by real users."""

from __future__ import annotations

from typing import Any

from nodes.ai.memory import KnowledgeDocument, Memory, MemoryService, Passage, RecallScope, Scope
from nodes.api import Services

PREFIX = "test:"


class TestChatMemory:
    """A MemoryService whose memories and profiles are the test chat's own; documents are the bot's."""

    def __init__(self, memory: MemoryService) -> None:
        self.memory = memory

    async def remember(self, bot: str, user: str, text: str, *, scope: Scope = "user", flow: str = "") -> None:
        await self.memory.remember(PREFIX + bot, user, text, scope=scope, flow=flow)

    async def recall(
        self,
        bot: str,
        user: str,
        query: str,
        *,
        scope: RecallScope = "user",
        top_k: int = 3,
        min_similarity: float = 0.0,
    ) -> list[Memory]:
        return await self.memory.recall(
            PREFIX + bot, user, query, scope=scope, top_k=top_k, min_similarity=min_similarity
        )

    async def search_knowledge(
        self, bot: str, query: str, *, top_k: int = 3, min_similarity: float = 0.0
    ) -> list[Passage]:
        return await self.memory.search_knowledge(bot, query, top_k=top_k, min_similarity=min_similarity)

    async def add_document(self, bot: str, name: str, data: bytes, *, mime: str = "") -> KnowledgeDocument:
        return await self.memory.add_document(bot, name, data, mime=mime)

    async def documents(self, bot: str) -> list[KnowledgeDocument]:
        return await self.memory.documents(bot)

    async def remove_document(self, bot: str, name: str) -> bool:
        return await self.memory.remove_document(bot, name)

    async def profile(self, bot: str, user: str) -> dict[str, str]:
        return await self.memory.profile(PREFIX + bot, user)

    async def set_profile(self, bot: str, user: str, key: str, value: str) -> None:
        await self.memory.set_profile(PREFIX + bot, user, key, value)

    async def forget(self, bot: str, user: str, key: str | None = None) -> int:
        return await self.memory.forget(PREFIX + bot, user, key)

    async def erase_user(self, user: str) -> int:
        return await self.memory.erase_user(user)

    async def export_user(self, user: str) -> dict[str, Any]:
        return await self.memory.export_user(user)


def share_ai(source: Services, target: Services) -> None:
    """Let the test chat's runtime use the server's models, embedder, voices and documents, with
    memories of its own."""
    target.models, target.embedder = source.models, source.embedder
    target.speech, target.media = source.speech, source.media
    target.memory = TestChatMemory(source.memory) if source.memory is not None else None
