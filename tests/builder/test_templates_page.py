"""The templates gallery: a preview of each template, a chat to try it, and one click to use it."""

from __future__ import annotations

from nicegui.testing.user import User

from builder.context import Builder


async def test_every_template_is_shown_with_its_steps(user: User, builder: Builder) -> None:
    await user.open("/templates")
    for template in builder.templates():
        await user.should_see(marker=f"template-{template.id}")
        await user.should_see(template.description)
    await user.should_see("Ask for an email")  # each step by its title and what it says
    await user.should_see("Thanks, {{ name }}! What's your email address?")


async def test_try_a_template_in_the_chat_without_saving_it(user: User, builder: Builder) -> None:
    await user.open("/templates")
    user.find(marker="try-quiz").click()
    await user.should_see(marker="choice-Jupiter")
    user.find(marker="choice-Jupiter").click()
    await user.should_see("Correct! ✅")
    assert builder.flows.list() == []


async def test_use_a_template(user: User, builder: Builder) -> None:
    await user.open("/templates")
    user.find(marker="use-nps-survey").click()
    await user.should_see(marker="palette")  # straight into the editor
    assert builder.flows.draft("nps-survey").name == "NPS survey"
