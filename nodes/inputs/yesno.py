"""input.yesno: a yes-or-no question with two buttons, and a “yes” and a “no” exit."""

from __future__ import annotations

from pydantic import Field

from nodes.api import Button, NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse

YES = {
    "yes",
    "y",
    "yeah",
    "yep",
    "sure",
    "ok",
    "okay",
    "true",
    "1",
    "oui",
    "si",
    "sí",
    "ja",
    "sim",
    "da",
    "да",
    "tak",
    "evet",
    "はい",
    "是",
    "네",
    "نعم",
    "हाँ",
    "ha",
    "👍",
}
NO = {
    "no",
    "n",
    "nope",
    "nah",
    "false",
    "0",
    "non",
    "nein",
    "não",
    "nao",
    "nee",
    "нет",
    "nie",
    "hayır",
    "いいえ",
    "否",
    "不",
    "아니요",
    "لا",
    "नहीं",
    "👎",
}


class YesNoSettings(AskSettings):
    """A question answered with yes or no."""

    yes_title: str = Field("Yes", min_length=1, max_length=40, title="Text of the yes button")
    no_title: str = Field("No", min_length=1, max_length=40, title="Text of the no button")


async def run(ctx: NodeContext, settings: YesNoSettings) -> Step:
    yes_words = YES | {settings.yes_title.casefold()}
    no_words = NO | {settings.no_title.casefold()}

    def check(answer: str) -> Verdict:
        word = answer.casefold().strip(" .!")
        if word in yes_words:
            return ok(True, "yes")
        if word in no_words:
            return ok(False, "no")
        return refuse()

    buttons = (Button(settings.yes_title, "yes"), Button(settings.no_title, "no"))
    retry = f"Please answer “{settings.yes_title}” or “{settings.no_title}”."
    return await ask(ctx, settings, check, buttons=buttons, default_retry=retry)


NODE = NodeType(
    type="input.yesno",
    version=1,
    title="Ask yes or no",
    category="Inputs",
    description="Asks a yes-or-no question, understands common words in many languages, and goes two ways.",
    settings=YesNoSettings,
    run=run,
    outputs=ports_with_timeout("yes", "no", "invalid"),
    waits=True,
    summary=lambda s: s.prompt[:80],
)
