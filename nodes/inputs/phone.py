"""input.phone: ask for a phone number; saved in international form (+14155550123)."""

from __future__ import annotations

from pydantic import Field, field_validator

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, VALID, AskSettings, Verdict, ask, ok, ports_with_timeout


class PhoneSettings(AskSettings):
    """A question answered with a phone number."""

    default_region: str = Field(
        "US",
        pattern=r"^[A-Z]{2}$",
        title="Country for numbers without +",
        description="Two-letter country code, such as US, GB or DE, for numbers typed without +country.",
    )

    @field_validator("default_region", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value  # "gb" is meant as GB

    def problems(self) -> list[str]:
        import phonenumbers

        if self.default_region not in phonenumbers.SUPPORTED_REGIONS:
            return [f"“Country for numbers without +”: {self.default_region} is not a known country code."]
        return []


async def run(ctx: NodeContext, settings: PhoneSettings) -> Step:
    import phonenumbers

    def check(answer: str) -> Verdict:
        try:
            number = phonenumbers.parse(answer, settings.default_region)
        except phonenumbers.NumberParseException:
            return REFUSED
        if not phonenumbers.is_valid_number(number):
            return REFUSED
        return ok(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    retry = "That doesn't look like a phone number. Please include the area code."
    return await ask(ctx, settings, check, default_retry=retry)


NODE = NodeType(
    type="input.phone",
    version=1,
    title="Ask for a phone number",
    category="Inputs",
    icon="call",
    description="Asks for a phone number, checks it, and saves it in international form (+14155550123).",
    settings=PhoneSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: s.prompt[:80],
)
