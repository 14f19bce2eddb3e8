"""input.email: ask for an email address and check its form (no message is sent to it)."""

from __future__ import annotations

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse


class EmailSettings(AskSettings):
    """A question answered with an email address."""


def check_email(answer: str) -> Verdict:
    from email_validator import EmailNotValidError, validate_email

    try:
        found = validate_email(answer, check_deliverability=False)
    except EmailNotValidError:
        return refuse()
    return ok(found.normalized)


async def run(ctx: NodeContext, settings: EmailSettings) -> Step:
    return await ask(
        ctx, settings, check_email, default_retry="That doesn't look like an email address. Please try again."
    )


NODE = NodeType(
    type="input.email",
    version=1,
    title="Ask for an email",
    category="Inputs",
    description="Asks for an email address, checks its form, and saves it.",
    settings=EmailSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: s.prompt[:80],
)
