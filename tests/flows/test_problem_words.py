"""A wrong value is described in words a person understands: never a regular expression, never
pydantic's own phrasing (flows.problems.describe_validation_error)."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from flows.models import ID_PATTERN, PORT_PATTERN, VARIABLE_PATTERN
from flows.problems import describe_validation_error


class Settings(BaseModel):
    save_as: str = Field("x", pattern=VARIABLE_PATTERN, title="Save answer in variable")
    maybe: str = Field("", pattern=r"^$|" + VARIABLE_PATTERN, title="Also save in")
    flow_id: str = Field("f", pattern=ID_PATTERN, title="Flow")
    port: str = Field("a", pattern=PORT_PATTERN, title="Exit name")
    code: str = Field("ab", pattern=r"^[a-z]{2}$", title="Language", description="Two letters, such as “en”.")
    title: str = Field("t", min_length=1, max_length=40, title="Button text")
    retries: int = Field(1, ge=0, le=10, title="Retries")
    share: float = Field(0.5, gt=0, lt=1, title="Share")
    kind: Literal["image", "audio"] = Field("image", title="Attachment type")
    options: list[str] = Field(default_factory=lambda: ["a"], min_length=1, max_length=3, title="Options")


def _words(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(values)
    (sentence,) = describe_validation_error(caught.value, Settings)
    return sentence


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"save_as": "first name"}, "“Save answer in variable” may only hold letters, digits and _"),
        ({"maybe": "2fast"}, "“Also save in” may only hold letters, digits and _"),
        ({"flow_id": "my flow"}, "“Flow” may only hold letters, digits, _, . and -"),
        ({"port": "Yes please"}, "“Exit name” may only hold lower-case letters"),
        ({"code": "english"}, "“Language” is not written the way it must be. Two letters, such as “en”."),
        ({"title": ""}, "“Button text” must be filled in."),
        ({"title": "x" * 41}, "“Button text” is too long: at most 40 characters."),
        ({"retries": 11}, "“Retries” must be 10 or less."),
        ({"retries": -1}, "“Retries” must be 0 or more."),
        ({"retries": "many"}, "“Retries” must be a whole number."),
        ({"retries": 1.5}, "“Retries” must be a whole number."),
        ({"share": 1}, "“Share” must be less than 1."),
        ({"share": "half"}, "“Share” must be a number."),
        ({"kind": "video"}, "“Attachment type” must be one of: 'image' or 'audio'."),
        ({"options": []}, "“Options” needs at least 1."),
        ({"options": ["a", "b", "c", "d"]}, "“Options” can hold at most 3."),
    ],
)
def test_each_kind_of_wrong_value_reads_as_a_sentence(values: dict[str, object], expected: str) -> None:
    sentence = _words(**values)
    assert sentence.startswith(expected), sentence
    assert "pattern" not in sentence and "^" not in sentence and "Input should" not in sentence
