"""input.phone: ask for a phone number; saved in international form (+14155550123)."""

from __future__ import annotations

from pydantic import Field

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse


class PhoneSettings(AskSettings):
    """A question answered with a phone number."""

    default_region: str = Field(
        "US",
        pattern=r"^[A-Z]{2}$",
        title="Country for numbers without +",
        description="Two-letter country code, such as US, GB or DE, used when the number has no +country prefix.",
    )


async def run(ctx: NodeContext, settings: PhoneSettings) -> Step:
    import phonenumbers

    def check(answer: str) -> Verdict:
        try:
            number = phonenumbers.parse(answer, settings.default_region)
        except phonenumbers.NumberParseException:
            return refuse()
        if not phonenumbers.is_valid_number(number):
            return refuse()
        return ok(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    return await ask(
        ctx, settings, check, default_retry="That doesn't look like a phone number. Please include the area code."
    )


NODE = NodeType(
    type="input.phone",
    version=1,
    title="Ask for a phone number",
    category="Inputs",
    description="Asks for a phone number, checks it, and saves it in international form.",
    settings=PhoneSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: s.prompt[:80],
)
