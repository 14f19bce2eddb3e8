"""input.yesno: a yes-or-no question with two buttons, and a “yes” and a “no” exit."""

from __future__ import annotations

from pydantic import Field

from nodes.api import Button, NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, AskSettings, Verdict, ask, ok, ports_with_timeout

# Whole answers only: "no problem" means yes, so a first word alone would mislead.
# One line per group of languages reads (and reviews) better than one word per line.
# fmt: off
YES = frozenset({
    "yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "true", "1", "👍",
    "oui", "si", "sí", "ja", "jawohl", "sim", "da", "tak", "evet",
    "да", "ага", "はい", "是", "对", "네", "نعم", "हाँ",
})
NO = frozenset({
    "no", "n", "nope", "nah", "false", "0", "👎",
    "non", "nein", "não", "nao", "nee", "nie", "hayır",
    "нет", "не", "いいえ", "否", "不", "아니요", "لا", "नहीं",
})
# fmt: on


class YesNoSettings(AskSettings):
    """A question answered with yes or no."""

    yes_title: str = Field(
        "Yes", min_length=1, max_length=40, title="Text of the yes button", description="Typing it also means yes."
    )
    no_title: str = Field(
        "No", min_length=1, max_length=40, title="Text of the no button", description="Typing it also means no."
    )

    def problems(self) -> list[str]:
        if self.yes_title.casefold() == self.no_title.casefold():
            return ["The yes and no buttons have the same text."]
        return []


async def run(ctx: NodeContext, settings: YesNoSettings) -> Step:
    yes_title, no_title = ctx.render(settings.yes_title), ctx.render(settings.no_title)
    yes_words = YES | {yes_title.casefold()}
    no_words = NO | {no_title.casefold()}

    def check(answer: str) -> Verdict:
        word = answer.casefold().strip(" .,!?¡¿")
        if word in yes_words:
            return ok(True, "yes")
        if word in no_words:
            return ok(False, "no")
        return REFUSED

    buttons = (Button(yes_title, "yes"), Button(no_title, "no"))
    retry = f"Please answer “{yes_title}” or “{no_title}”."
    return await ask(ctx, settings, check, buttons=buttons, default_retry=retry)


NODE = NodeType(
    type="input.yesno",
    version=1,
    title="Ask yes or no",
    category="Inputs",
    icon="thumbs_up_down",
    description="Asks a yes-or-no question, understands yes and no in several languages, and goes two ways.",
    settings=YesNoSettings,
    run=run,
    outputs=ports_with_timeout("yes", "no", INVALID),
    waits=True,
    summary=lambda s: s.prompt[:80],
)
