"""Reading and writing flow files: one self-contained JSON document per flow.

Export, import and export again gives the same bytes: the writer is canonical (fixed key
order from the models, two-space indent, UTF-8, one trailing newline).

A flow file is untrusted: whatever it holds, reading it ends in a Flow or in DocumentError with
one sentence, never another exception. Refused before any model sees it: numbers longer than
MAX_NUMBER characters (Python refuses to read integers past 4,300 digits with a ValueError, and
big ones cost quadratic time), NaN and Infinity (not JSON), nesting deeper than MAX_DEPTH (every
later step that walks a document would hit Python's recursion limit), text with a NUL or a lone
surrogate (not storable or printable as UTF-8).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from flows.models import SCHEMA_VERSION, Flow
from flows.problems import describe_validation_error

MAX_FLOW_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64  # arrays and objects inside each other; a flow needs about ten
MAX_NUMBER = 100  # characters of one number


class DocumentError(ValueError):
    """A file that cannot be read as a flow; the message is one sentence for the user."""


def parse_flow(raw: bytes | str, *, source: str = "The file") -> Flow:
    """Read a flow from JSON text, or raise DocumentError saying what is wrong."""
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > MAX_FLOW_BYTES:
        raise DocumentError(
            f"{source} is {size / 1_048_576:.1f} MB; a flow file may be at most {MAX_FLOW_BYTES // 1_048_576} MB."
        )
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        numbers = {"parse_int": _number(source, int), "parse_float": _number(source, float)}
        data = json.loads(text, **numbers, parse_constant=_not_a_number(source))
    except UnicodeDecodeError:
        raise DocumentError(f"{source} is not text: a flow file is UTF-8 JSON.") from None
    except RecursionError:
        raise DocumentError(f"{source} is nested too deeply to be a flow.") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    return flow_from_data(data, source=source)


def _number(source: str, kind: type[int] | type[float]) -> Any:
    def read(text: str) -> int | float:
        if len(text) > MAX_NUMBER:
            raise DocumentError(f"{source} holds a number {len(text):,} characters long; a flow's numbers are shorter.")
        value = kind(text)
        if value in (float("inf"), float("-inf")):
            raise DocumentError(f"{source} holds a number too large to use ({text[:20]}…).")
        return value

    return read


def _not_a_number(source: str) -> Any:
    def refuse(name: str) -> None:
        raise DocumentError(f"{source} holds {name}, which is not a number in JSON.")

    return refuse


def _check_values(data: Any, source: str) -> None:
    """Refuse nesting past MAX_DEPTH and text no store or terminal takes; iteratively, so that the
    check itself cannot run out of stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise DocumentError(f"{source} is nested more than {MAX_DEPTH} levels deep; a flow is much flatter.")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            if "\x00" in value:
                raise DocumentError(f"{source} holds a NUL character (\\u0000) in its text; remove it.")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise DocumentError(f"{source} holds text that is not valid Unicode (a lone surrogate).") from None


def flow_from_data(data: Any, *, source: str = "The file") -> Flow:
    """Build a Flow from decoded JSON, or raise DocumentError saying what is wrong."""
    _check_values(data, source)
    if not isinstance(data, dict) or "nodes" not in data or "id" not in data:
        raise DocumentError(f"{source} is not a Chatloom flow: a flow is a JSON object with an 'id' and 'nodes'.")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise DocumentError(
            f"{source} uses flow schema version {version!r}; this Chatloom reads version {SCHEMA_VERSION}."
            + (" Update Chatloom to open it." if isinstance(version, int) and version > SCHEMA_VERSION else "")
        )
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        reasons = describe_validation_error(exc, Flow, unknown="is not part of a flow file")
        more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
        raise DocumentError(f"{source} is not a valid flow: " + " ".join(reasons[:3]) + more) from None
    except (ValueError, TypeError, RecursionError) as exc:  # a validator that trips on odd input: still one sentence
        raise DocumentError(f"{source} is not a valid flow ({type(exc).__name__}).") from None


def dump_flow(flow: Flow) -> str:
    """The canonical JSON text of a flow."""
    return json.dumps(flow.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def flow_schema() -> dict[str, Any]:
    """The JSON Schema of a flow document."""
    schema = Flow.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Chatloom flow"
    return schema
