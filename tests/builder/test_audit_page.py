"""The audit log page says what happened in words; the CSV keeps the codes programs read."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing.user import User

from builder.context import Builder
from builder.pages.audit import ACTIONS, action_words


async def test_actions_are_shown_in_words_and_filtered_by_them(user: User, builder: Builder) -> None:
    builder.access.audit.record("ada@example.com", "flow.publish", "quiz", {"version": 2})
    builder.access.audit.record("bo@example.com", "token.create", "t1")
    await user.open("/audit")
    table = user.find(ui.table).elements.pop()
    shown = {row["action"] for row in table.rows}
    assert {"published a flow", "created an API token"} <= shown
    assert "flow.publish" not in shown  # no codes on the page
    user.find(marker="action").click()
    user.find("published a flow").click()
    user.find(marker="filter").click()
    table = user.find(ui.table).elements.pop()
    assert [row["actor"] for row in table.rows] == ["ada@example.com"]


def test_every_action_the_product_records_has_words() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    recorded: set[str] = set()
    for path in [*root.glob("builder/**/*.py"), *root.glob("runtime/**/*.py"), *root.glob("chatloom/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        recorded |= set(re.findall(r'\.record\(\s*"([a-z_]+(?:\.[a-z_]+)?)"', text))
        recorded |= set(re.findall(r'\.record\(\s*[A-Za-z_.]+,\s*"([a-z_]+(?:\.[a-z_]+)?)"', text))
    assert recorded, "the search found no recorded actions"
    assert recorded - set(ACTIONS) == set(), "say these in builder/pages/audit.py ACTIONS"
    assert action_words("something.new") == "something.new"  # an unknown action is shown as recorded
