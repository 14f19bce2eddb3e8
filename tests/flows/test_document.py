"""Reading and writing flow files: clear errors for bad files, stable bytes for good ones."""

from __future__ import annotations

import json

import pytest

from flows.document import MAX_FLOW_BYTES, DocumentError, dump_flow, flow_schema, parse_flow

GOOD = {
    "id": "hello",
    "name": "Hello",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {"id": "m", "type": "message.send", "settings": {"text": "Hi"}, "ui": {"x": 10, "y": 20}},
        {"id": "x", "type": "acme.crm_lookup", "version": 3, "settings": {"anything": [1, {"deep": True}]}},
    ],
    "edges": [{"id": "e1", "source": "s", "target": "m"}, {"id": "e2", "source": "m", "target": "x"}],
}


def test_export_import_export_gives_the_same_bytes() -> None:
    first = dump_flow(parse_flow(json.dumps(GOOD)))
    second = dump_flow(parse_flow(first))
    assert first == second
    assert first.endswith("}\n") and "\n  " in first


def test_unknown_node_types_survive_the_round_trip_unchanged() -> None:
    text = dump_flow(parse_flow(json.dumps(GOOD)))
    node = next(n for n in json.loads(text)["nodes"] if n["id"] == "x")
    assert node == {
        "id": "x",
        "type": "acme.crm_lookup",
        "version": 3,
        "settings": {"anything": [1, {"deep": True}]},
        "ui": {},
    }


def test_non_ascii_text_is_kept_readable() -> None:
    doc = {**GOOD, "name": "Привет 👋"}
    assert "Привет 👋" in dump_flow(parse_flow(json.dumps(doc)))


def _with_setting(value: bytes) -> bytes:
    """GOOD with `value` (raw JSON) as a setting of its first node."""
    return b'{"id": "a", "name": "A", "nodes": [{"id": "s", "type": "flow.start", "settings": {"n": ' + value + b"}}]}"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"id": "a", "nodes": [', "not valid JSON (line 1"),
        (b"\xff\xfe\x00garbage", "not text"),
        (b"[1, 2, 3]", "not a Chatloom flow"),
        (b'{"hello": "world"}', "not a Chatloom flow"),
        (json.dumps({**GOOD, "schema_version": 2}).encode(), "schema version 2"),
        (json.dumps({**GOOD, "id": "has spaces!"}).encode(), "not a valid flow"),
        (
            json.dumps({**GOOD, "nodes": [{"id": "s", "type": "flow.start", "settings": "oops"}]}).encode(),
            "not a valid flow",
        ),
        (json.dumps({**GOOD, "surprise": 1}).encode(), "“surprise” is not part of a flow file"),
        (json.dumps({**GOOD, "notes": [{"id": "n1", "text": 5}]}).encode(), "“notes” (0 → text) must be text."),
        (json.dumps({**GOOD, "notes": [{"id": "n1", "colour": "red"}]}).encode(), "(0 → colour) is not part of"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        # as an attacker writes them: each used to end in another exception, or in a flow no store takes
        (_with_setting(b"9" * 5000), "holds a number 5,000 characters long"),  # int() refuses > 4,300 digits
        (_with_setting(b"-" + b"9" * 5000), "holds a number 5,001 characters long"),
        (_with_setting(b"1e999"), "holds a number too large to use"),
        (_with_setting(b"0." + b"1" * 5000), "holds a number 5,002 characters long"),
        (_with_setting(b"NaN"), "holds NaN, which is not a number in JSON"),
        (_with_setting(b"-Infinity"), "holds -Infinity"),
        (_with_setting(b"[" * 900 + b"]" * 900), "nested more than 64 levels deep"),  # json reads it, not later steps
        (_with_setting(rb'"a\u0000b"'), "holds a NUL character"),  # escaped: valid JSON, in no store
        (_with_setting(rb'"\ud800"'), "not valid Unicode (a lone surrogate)"),
        (_with_setting(rb'{"\udfff": 1}'), "not valid Unicode"),  # in a key
        (b'{"id": "a", "name": "A\x00", "nodes": []}', "not valid JSON"),  # a raw NUL byte
        (json.dumps({**GOOD, "nodes": "all of them"}).encode(), "not a valid flow"),
        (json.dumps({**GOOD, "start": ["s"], "edges": {"e": 1}}).encode(), "not a valid flow"),
        (json.dumps({**GOOD, "nodes": [{"id": "s", "type": ["flow.start"]}]}).encode(), "not a valid flow"),
        (b"", "not valid JSON"),
        (b"\xef\xbb\xbf", "not valid JSON"),  # a byte-order mark and nothing else
    ],
)
def test_bad_files_get_one_clear_sentence(raw: bytes, words: str) -> None:
    with pytest.raises(DocumentError) as err:
        parse_flow(raw)
    message = str(err.value)
    assert words in message
    assert "\n" not in message and "Traceback" not in message
    with pytest.raises(DocumentError):  # the same from text as from bytes (a stored draft is text)
        parse_flow(raw.decode("utf-8", "replace"))


def test_text_with_a_lone_surrogate_is_refused_not_crashed_on() -> None:
    with pytest.raises(DocumentError, match="lone surrogate"):  # text (a stored draft) that UTF-8 cannot hold
        parse_flow('{"id": "a", "name": "\ud800", "nodes": []}')


def test_an_oversized_file_is_refused_before_parsing() -> None:
    raw = b'{"id": "big", "name": "x", "nodes": [], "pad": "' + b"a" * MAX_FLOW_BYTES + b'"}'
    with pytest.raises(DocumentError, match="may be at most 5 MB"):
        parse_flow(raw)


def test_the_json_schema_describes_nodes_and_edges() -> None:
    schema = flow_schema()
    assert {"id", "name", "nodes", "edges", "start"} <= set(schema["properties"])
    assert "Node" in schema["$defs"] and "Edge" in schema["$defs"]
