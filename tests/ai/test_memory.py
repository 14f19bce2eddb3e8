"""Long-term memory on chromadb with the real offline embedder: recall by meaning, users kept apart,
profiles, forgetting, erasing a user from every store, and knowledge bases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from runtime.ai.chroma import knowledge_collection
from runtime.ai.documents import UnreadableDocument
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.memory import ChromaMemory
from runtime.ai.memory_tables import ITEMS, PROFILE
from tests.ai.test_memory_documents import make_pdf

FACTS: list[tuple[str, str]] = [  # what a user told the bot, and a question asked in other words
    ("My name is Priya Raman.", "What is the user called?"),
    ("I live in Lyon, in France.", "Which city is the customer based in?"),
    ("I'm allergic to peanuts.", "Does the person have any food allergies?"),
    ("My favourite colour is teal.", "Which colour do they like best?"),
    ("I have a golden retriever called Max.", "What kind of dog does the user own?"),
    ("I work as a nurse at the city hospital.", "What is their job?"),
    ("My birthday is on the 14th of March.", "When was the user born?"),
    ("Please contact me by email, never by phone.", "How does the customer prefer to be reached?"),
    ("I'm vegetarian and don't eat fish either.", "What diet does the person follow?"),
    ("My order number is 88231.", "Which purchase reference did they give?"),
    ("I speak Portuguese at home.", "What language does the user use with family?"),
    ("I drive a blue Toyota Corolla.", "What car does the person have?"),
    ("My daughter Lena starts school in September.", "Tell me about the user's child."),
    ("I'm training for the Berlin marathon.", "Which running race is the user preparing for?"),
    ("I prefer window seats on flights.", "Where does the traveller like to sit on a plane?"),
    ("I'm lactose intolerant.", "Can the customer drink milk?"),
    ("My shoe size is 42.", "What size footwear does he wear?"),
    ("I play the cello in an amateur orchestra.", "Which musical instrument does the user play?"),
    ("My internet plan is the 500 megabit fibre package.", "What broadband subscription do they have?"),
    ("I usually get home from work around 7 pm.", "What time in the evening is the person back home?"),
    ("I'm studying computer science at university.", "What is the user's field of study?"),
    ("My partner's name is Tomás.", "Who is the user's boyfriend or husband?"),
    ("I have two cats, Miso and Tofu.", "Does the customer have any pets that meow?"),
    ("I'm saving up to buy a house next year.", "What big purchase is the person planning?"),
    ("I only wear cotton clothes because of sensitive skin.", "Which fabric does the shopper need?"),
    ("I support Arsenal football club.", "Which soccer team is the user a fan of?"),
    ("I'm afraid of spiders.", "What is the customer scared of?"),
    ("My flat is on the fifth floor with no lift.", "Is there an elevator in the user's building?"),
    ("I take my coffee black with no sugar.", "How does the person like their coffee?"),
    ("I'm left-handed.", "Which hand does the user write with?"),
    ("My gym membership renews every January.", "When is the fitness club subscription due?"),
    ("I use an iPhone 13.", "Which mobile phone model does the customer own?"),
    ("I was born in Nairobi, Kenya.", "Where does the user originally come from?"),
    ("I'm learning Japanese on weekends.", "Which foreign language is the person studying?"),
    ("I need wheelchair access at venues.", "Does the guest have any mobility needs?"),
    ("My favourite food is ramen.", "What dish does the user love eating?"),
    ("I go skiing in the Alps every winter.", "What does the user do during the cold season holidays?"),
    ("My budget for a new laptop is 900 euros.", "How much can the customer spend on a computer?"),
    ("I'm a night owl and rarely sleep before 2 am.", "When does the person go to bed?"),
    ("I want my invoices sent to accounts@riverside.example.", "Where should bills be mailed?"),
    ("I'm pregnant, due in June.", "Is the user expecting a baby?"),
    ("I collect vintage vinyl records.", "What is the person's hobby?"),
    ("My Wi-Fi router keeps dropping the connection at night.", "What technical issue did the customer report?"),
    ("I moved here from Canada last spring.", "Which country did the user come from recently?"),
    ("I'm a member of the gold loyalty tier.", "What rewards level does the shopper have?"),
    ("I prefer short answers without emojis.", "How does the user like replies to be written?"),
    ("My grandmother turns 90 next month.", "Which relative has a big birthday coming up?"),
    ("I cycle to work every day.", "How does the person commute to the office?"),
    ("I hate loud music in restaurants.", "What bothers the user when eating out?"),
    ("I'd like my groceries delivered on Saturday mornings.", "When should the food shopping arrive?"),
]

RETURNS = """# Returns policy

You can return any item within 30 days of delivery for a full refund. The item must be unused and in
its original packaging. Refunds are paid to the card you used, within five working days of the
parcel reaching our warehouse.

## Exchanges

Exchanges for another size or colour are free. Start an exchange from the order page and print the
prepaid label.
"""

HOURS = b"""<html><head><title>Contact us</title><script>track('visit')</script></head><body>
<h1>Opening hours</h1><p>Our shop in Ghent is open Monday to Saturday from 10 am to 6 pm.</p>
<p>Our phone line answers on weekdays between 9 am and 5 pm.</p></body></html>"""


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture(autouse=True)
def chromadb_never_embeds(monkeypatch: pytest.MonkeyPatch) -> None:
    """chromadb's own embedding function downloads a model: any call to it fails the test."""
    from chromadb.utils.embedding_functions import DefaultEmbeddingFunction, ONNXMiniLM_L6_V2

    def refuse(self: Any, input: Any) -> Any:  # chromadb checks this exact signature
        raise AssertionError("chromadb's default embedding function was used")

    monkeypatch.setattr(DefaultEmbeddingFunction, "__call__", refuse)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "__call__", refuse)


@pytest.fixture
def memory(tmp_path: Path, engine: Engine, embedder: LocalEmbedder) -> Iterator[ChromaMemory]:
    yield ChromaMemory.for_data_folder(tmp_path, engine, embedder)


def everything(memory: ChromaMemory) -> list[tuple[str, str, dict[str, Any]]]:
    """(collection, text, metadata) of every item in every chromadb collection."""
    out = []
    for collection in memory.collections.client().list_collections():
        got = collection.get(include=["documents", "metadatas"])
        out += [(collection.name, d, m) for d, m in zip(got["documents"], got["metadatas"], strict=True)]
    return out


def profile_rows(engine: Engine, user: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(PROFILE).where(PROFILE.c.user == user)))


async def test_fifty_facts_come_back_for_questions_in_other_words(memory: ChromaMemory) -> None:
    for fact, _ in FACTS:
        await memory.remember("shop", "telegram:shop:1", fact)
    missed = []
    for fact, question in FACTS:
        found = await memory.recall("shop", "telegram:shop:1", question, top_k=3)
        if fact not in [m.text for m in found]:
            missed.append(question)
    assert len(missed) <= 5, missed
    best = (await memory.recall("shop", "telegram:shop:1", "Is the user allergic to nuts?", top_k=1))[0]
    assert best.text == "I'm allergic to peanuts." and best.scope == "user" and best.user == "telegram:shop:1"
    assert 0.3 < best.similarity <= 1


async def test_a_users_memories_never_show_up_for_another_user(memory: ChromaMemory) -> None:
    for fact, _ in FACTS[:10]:
        await memory.remember("shop", "alice", fact)
    await memory.remember("shop", "bob", "I like jazz.")
    for fact, _ in FACTS[:10]:  # the very same words, any similarity, every scope
        for scope in ("user", "both", "bot"):
            found = await memory.recall("shop", "bob", fact, scope=scope, top_k=20, min_similarity=0.0)  # type: ignore[arg-type]
            assert {m.text for m in found} <= {"I like jazz."}
    assert await memory.recall("other-bot", "alice", FACTS[0][0], min_similarity=0.0) == []  # kept per bot too


async def test_facts_for_the_whole_bot_reach_every_user(memory: ChromaMemory) -> None:
    await memory.remember("shop", "admin", "The shop is closed on the 25th of December.", scope="bot", flow="setup")
    await memory.remember("shop", "alice", "I prefer deliveries after 6 pm.")
    found = await memory.recall("shop", "bob", "Are you open at Christmas?", scope="both")
    assert [(m.text, m.scope, m.user) for m in found] == [
        ("The shop is closed on the 25th of December.", "bot", "admin")
    ]
    assert await memory.recall("shop", "bob", "Are you open at Christmas?", scope="user") == []


async def test_a_fact_told_twice_is_kept_once_and_unrelated_ones_are_held_back(memory: ChromaMemory) -> None:
    await memory.remember("shop", "alice", "My dog is called Rex.")
    await memory.remember("shop", "alice", "My dog is called   Rex.")
    found = await memory.recall("shop", "alice", "What is the name of my dog?", top_k=5)
    assert [m.text for m in found] == ["My dog is called Rex."]
    assert await memory.recall("shop", "alice", "How do I reset my password?", min_similarity=0.25) == []


async def test_memories_outlive_the_process(tmp_path: Path, engine: Engine, embedder: LocalEmbedder) -> None:
    await ChromaMemory.for_data_folder(tmp_path, engine, embedder).remember("shop", "alice", "I'm left-handed.")
    again = ChromaMemory.for_data_folder(tmp_path, engine, embedder)
    assert [m.text for m in await again.recall("shop", "alice", "Which hand do I write with?")] == ["I'm left-handed."]
    assert (tmp_path / "memory").is_dir()


async def test_the_profile_holds_one_value_per_key(memory: ChromaMemory) -> None:
    await memory.set_profile("shop", "alice", "name", "Alice")
    await memory.set_profile("shop", "alice", "language", "fr")
    await memory.set_profile("shop", "alice", "language", "  nl ")
    await memory.set_profile("other", "alice", "name", "Ali")
    assert await memory.profile("shop", "alice") == {"language": "nl", "name": "Alice"}
    assert await memory.profile("shop", "bob") == {}
    await memory.set_profile("shop", "alice", "language", "")
    assert await memory.profile("shop", "alice") == {"name": "Alice"}


async def test_forget_one_profile_entry_or_everything_in_one_bot(memory: ChromaMemory) -> None:
    await memory.set_profile("shop", "alice", "name", "Alice")
    await memory.set_profile("shop", "alice", "colour", "teal")
    await memory.remember("shop", "alice", "I'm afraid of spiders.")
    await memory.remember("shop", "alice", "Parcels for the office go to reception.", scope="bot")
    await memory.remember("shop", "bob", "Bob's fact.", scope="bot")
    await memory.remember("cafe", "alice", "I take my coffee black.")
    assert await memory.forget("shop", "alice", "colour") == 1
    assert await memory.profile("shop", "alice") == {"name": "Alice"}
    assert await memory.forget("shop", "alice") == 3  # one memory, one bot-wide fact, one profile entry
    assert await memory.profile("shop", "alice") == {}
    left = await memory.recall("shop", "alice", "spiders", scope="both", top_k=10, min_similarity=0)
    assert [m.text for m in left] == ["Bob's fact."]  # what others told the bot stays
    assert [m.text for m in await memory.recall("cafe", "alice", "coffee")] == ["I take my coffee black."]


async def test_erasing_a_user_leaves_nothing_of_them_in_any_store(memory: ChromaMemory, engine: Engine) -> None:
    secret = "My passport number is X1234567."
    for bot in ("shop", "cafe"):
        await memory.remember(bot, "telegram:b:42", secret, flow=bot)
        await memory.remember(bot, "telegram:b:42", "Deliveries go to the side door.", scope="bot")
        await memory.set_profile(bot, "telegram:b:42", "name", "Eve")
        await memory.remember(bot, "telegram:b:7", "I'm someone else.")
        await memory.set_profile(bot, "telegram:b:7", "name", "Sam")
    await memory.add_document("shop", "returns.md", RETURNS.encode())
    before = everything(memory)
    assert any(m.get("user") == "telegram:b:42" for _, _, m in before)

    assert await memory.erase_user("telegram:b:42") == 6  # 2 memories, 2 bot-wide facts, 2 profile entries

    left = everything(memory)
    assert not [item for item in left if item[2].get("user") == "telegram:b:42" or "X1234567" in item[1]]
    assert not [item for item in left if "side door" in item[1]]
    assert profile_rows(engine, "telegram:b:42") == []
    with engine.connect() as conn:  # nor the record of which memory was theirs
        assert list(conn.execute(select(ITEMS.c.user).distinct())) == [("telegram:b:7",)]
    assert await memory.profile("shop", "telegram:b:7") == {"name": "Sam"}  # others keep theirs
    assert sum(1 for _, _, m in left if m.get("user") == "telegram:b:7") == 2
    assert [d.name for d in await memory.documents("shop")] == ["returns.md"]  # the bot's own documents stay
    for bot in ("shop", "cafe"):
        assert await memory.recall(bot, "telegram:b:42", secret, scope="both", min_similarity=0) == []
    assert await memory.erase_user("telegram:b:42") == 0


async def test_documents_of_every_kind_are_searched_with_their_names(memory: ChromaMemory) -> None:
    pdf = make_pdf("Warranty: every kettle is covered for two years against defects.", "Batteries are not covered.")
    added = [
        await memory.add_document("shop", "returns.md", RETURNS.encode()),
        await memory.add_document("shop", "contact.html", HOURS),
        await memory.add_document("shop", "warranty.pdf", pdf),
        await memory.add_document("shop", "shipping.txt", b"We ship to Belgium, the Netherlands and France."),
    ]
    assert [d.kind for d in added] == ["markdown", "html", "pdf", "text"]
    assert [d.name for d in await memory.documents("shop")] == [
        "contact.html",
        "returns.md",
        "shipping.txt",
        "warranty.pdf",
    ]
    questions = {
        "How long do I have to send something back?": ("returns.md", "30 days"),
        "When is the store in Ghent open?": ("contact.html", "10 am to 6 pm"),
        "How long is the guarantee on a kettle?": ("warranty.pdf", "two years"),
        "Do you deliver to France?": ("shipping.txt", "France"),
    }
    for question, (source, words) in questions.items():
        best = (await memory.search_knowledge("shop", question, top_k=2))[0]
        assert best.source == source and words in best.text, (question, best)
    found = await memory.search_knowledge("shop", "opening hours", top_k=10, min_similarity=0)
    assert all("track(" not in p.text for p in found)  # scripts are not indexed
    assert await memory.search_knowledge("cafe", "How long do I have to send something back?") == []


async def test_uploading_again_replaces_and_removing_takes_it_out(memory: ChromaMemory) -> None:
    await memory.add_document("shop", "faq.txt", b"Gift cards never expire.")
    await memory.add_document("shop", "faq.txt", b"Gift cards expire after one year.")
    found = await memory.search_knowledge("shop", "Do gift cards expire?", top_k=5, min_similarity=0)
    assert [p.text for p in found] == ["Gift cards expire after one year."]
    assert await memory.remove_document("shop", "faq.txt") is True
    assert await memory.remove_document("shop", "faq.txt") is False
    assert await memory.search_knowledge("shop", "Do gift cards expire?", min_similarity=0) == []
    assert await memory.documents("shop") == []


async def test_a_bad_file_is_refused_and_nothing_of_it_is_kept(memory: ChromaMemory) -> None:
    await memory.add_document("shop", "faq.txt", b"Gift cards never expire.")
    before = everything(memory)
    for name, data in [("policy.pdf", b"%PDF-1.7\n garbage"), ("policy.pdf", b"not a pdf"), ("img.png", b"\x89PNG")]:
        with pytest.raises(UnreadableDocument):
            await memory.add_document("shop", name, data)
    assert everything(memory) == before
    assert [d.name for d in await memory.documents("shop")] == ["faq.txt"]


async def test_a_failure_while_saving_leaves_the_old_document_in_place(
    memory: ChromaMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await memory.add_document("shop", "faq.txt", b"Gift cards never expire.")
    before = everything(memory)

    def disk_full(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(memory.tables, "put_document", disk_full)
    long_text = " ".join(f"Sentence {n} of a long manual about kettles." for n in range(200)).encode()
    with pytest.raises(OSError, match="disk full"):
        await memory.add_document("shop", "faq.txt", long_text)
    assert everything(memory) == before
    found = await memory.search_knowledge("shop", "Do gift cards expire?")
    assert [p.text for p in found] == ["Gift cards never expire."]


async def test_passages_of_a_replaced_document_never_come_back(memory: ChromaMemory) -> None:
    """Passages left behind by a replacement that was cut short (or raced by another upload) are
    not the document's current generation and are never found."""
    await memory.add_document("shop", "returns.md", RETURNS.encode())
    handle = memory.collections.writable(knowledge_collection("shop"))
    [vector] = await memory.embedder.embed(["Returns are free within 30 days, no questions asked."])
    handle.add(
        ids=["stale-0"],
        embeddings=[vector],
        documents=["Returns are free within 30 days, no questions asked."],
        metadatas=[{"source": "returns.md", "chunk": 0, "generation": "an-older-one"}],
    )
    found = await memory.search_knowledge("shop", "Returns are free within 30 days, no questions asked.", top_k=3)
    assert found and all("no questions asked" not in p.text for p in found)


async def test_the_test_chat_remembers_apart_from_real_users(memory: ChromaMemory) -> None:
    """A tester's "remember for the whole bot" must not become something real users recall, while
    the test chat searches the bot's real knowledge base."""
    from runtime.ai.tester import TestChatMemory

    tester = TestChatMemory(memory)
    await tester.remember("shop", "api:default:tester", "The shop is closed forever.", scope="bot")
    await tester.set_profile("shop", "api:default:tester", "name", "Tess")
    await memory.add_document("shop", "returns.md", RETURNS.encode())
    real = await memory.recall("shop", "telegram:shop:1", "Is the shop closed?", scope="both", min_similarity=0)
    assert real == [] and await memory.profile("shop", "api:default:tester") == {}
    mine = await tester.recall("shop", "api:default:tester", "Is the shop closed?", scope="both")
    assert [m.text for m in mine] == ["The shop is closed forever."]
    assert await tester.profile("shop", "api:default:tester") == {"name": "Tess"}
    assert await tester.search_knowledge("shop", "How long do I have to return an item?", min_similarity=0)
