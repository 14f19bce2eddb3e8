"""input.email: ask for an email address and check its form (no message is sent to it)."""

from __future__ import annotations

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, VALID, AskSettings, Verdict, ask, ok, ports_with_timeout


class EmailSettings(AskSettings):
    """A question answered with an email address."""


def check_email(answer: str) -> Verdict:
    """The address in normal form (domain in lower case), or a refusal."""
    from email_validator import EmailNotValidError, validate_email

    try:
        # No DNS look-up: a turn must answer fast and work offline; the form is what we can check.
        found = validate_email(answer, check_deliverability=False)
    except EmailNotValidError:
        return REFUSED
    return ok(found.normalized)


async def run(ctx: NodeContext, settings: EmailSettings) -> Step:
    retry = "That doesn't look like an email address. Please try again."
    return await ask(ctx, settings, check_email, default_retry=retry)


NODE = NodeType(
    type="input.email",
    version=1,
    title="Ask for an email",
    category="Inputs",
    icon="alternate_email",
    description="Asks for an email address, checks its form, and saves it.",
    settings=EmailSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: s.prompt[:80],
)
