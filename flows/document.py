"""Reading and writing flow files: one self-contained JSON document per flow.

Export, import and export again gives the same bytes: the writer is canonical (fixed key
order from the models, two-space indent, UTF-8, one trailing newline).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from flows.models import SCHEMA_VERSION, Flow
from flows.problems import describe_validation_error

MAX_FLOW_BYTES = 5 * 1024 * 1024


class DocumentError(ValueError):
    """A file that cannot be read as a flow; the message is one sentence for the user."""


def parse_flow(raw: bytes | str, *, source: str = "The file") -> Flow:
    """Read a flow from JSON text, or raise DocumentError saying what is wrong."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_FLOW_BYTES:
        raise DocumentError(
            f"{source} is {size / 1_048_576:.1f} MB; a flow file may be at most {MAX_FLOW_BYTES // 1_048_576} MB."
        )
    try:
        data = json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError:
        raise DocumentError(f"{source} is not text: a flow file is UTF-8 JSON.") from None
    except RecursionError:
        raise DocumentError(f"{source} is nested too deeply to be a flow.") from None
    except json.JSONDecodeError as exc:
        raise DocumentError(f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    return flow_from_data(data, source=source)


def flow_from_data(data: Any, *, source: str = "The file") -> Flow:
    """Build a Flow from decoded JSON, or raise DocumentError saying what is wrong."""
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


def dump_flow(flow: Flow) -> str:
    """The canonical JSON text of a flow."""
    return json.dumps(flow.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def flow_schema() -> dict[str, Any]:
    """The JSON Schema of a flow document."""
    schema = Flow.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Chatloom flow"
    return schema
