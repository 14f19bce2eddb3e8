"""The conversations page as an analyst reads it: the list, a transcript, an export (audited)."""

from __future__ import annotations

import json

from nicegui.testing.user import User

from builder.context import TEMPLATES, Builder
from flows.document import parse_flow
from nodes.api import Inbound
from tests.access import sign_in


async def test_read_a_transcript_and_export(user: User, builder: Builder) -> None:
    builder.flows.save_draft(parse_flow((TEMPLATES / "lead_capture.json").read_bytes()))
    builder.flows.publish("lead-capture", builder.registry)
    cid, _ = await builder.runtime.start("lead-capture", user_id="tg-7")
    await builder.runtime.send(cid, Inbound(text="Ada Lovelace"))
    sign_in(user.http_client, builder.access, "analyst")
    await user.open("/conversations")
    user.find(marker=f"conversation-{cid}").click()
    with user.scope(marker="person"):
        await user.should_see("Ada Lovelace")
    await user.should_see("Person · ")  # each line says who and when
    user.find(marker="export").click()
    exported = json.loads((await user.download.next()).content)
    assert exported[0]["id"] == cid and any(line.get("text") == "Ada Lovelace" for line in exported[0]["transcript"])
    [entry] = builder.access.audit.entries(action="conversations.export")
    assert entry.actor == "analyst@chatloom.test" and entry.detail == {"conversations": 1}


async def test_with_masking_the_page_and_the_export_show_the_masked_transcript(user: User, builder: Builder) -> None:
    from runtime.retention import Retention

    builder.flows.save_draft(parse_flow((TEMPLATES / "lead_capture.json").read_bytes()))
    builder.flows.publish("lead-capture", builder.registry)
    Retention(builder.runtime).configure(0, True)
    cid, _ = await builder.runtime.start("lead-capture", user_id="tg-7")
    sent = await builder.runtime.send(cid, Inbound(text="Ada, ada@example.com"))
    assert "ada@example.com" in sent[0].text  # the person is answered with the real text
    sign_in(user.http_client, builder.access, "analyst")
    await user.open("/conversations")
    user.find(marker=f"conversation-{cid}").click()
    with user.scope(marker="person"):
        await user.should_see("Ada, [email]")
    user.find(marker="export").click()
    exported = (await user.download.next()).content.decode()
    assert "[email]" in exported and "ada@example.com" not in exported
