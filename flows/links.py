"""Links a flow carries (attachments, and later buttons that open a page) are data, never code.

A URL is accepted when it is http(s) with a host, or `tel:`/`mailto:` where the caller allows
them; `javascript:`, `data:`, `vbscript:`, `file:` and the rest are refused, however they are
spelt (upper case, tabs or newlines inside the scheme, leading spaces, percent-encoding), both
when the flow is checked and again once `{{ variables }}` are filled in.
"""

from __future__ import annotations

from urllib.parse import urlsplit

WEB = frozenset({"http", "https"})
WEB_AND_CONTACT = WEB | {"tel", "mailto"}
_INVISIBLE = "".join(chr(c) for c in range(0x21)) + "\x7f"  # what browsers strip from a scheme


def link_problem(url: str, schemes: frozenset[str] = WEB) -> str | None:
    """Why `url` cannot be a link a person may open, or None when it can."""
    text = url.strip(_INVISIBLE)
    # Browsers drop tabs and newlines anywhere in a URL: "java\tscript:" is "javascript:".
    squeezed = "".join(ch for ch in text if ch not in "\t\n\r")
    if any(ch in _INVISIBLE for ch in squeezed) and not squeezed.startswith(("http://", "https://")):
        return "A link may not contain spaces or control characters."
    try:
        parts = urlsplit(squeezed)
    except ValueError:
        return "That link is not a valid address."
    scheme = parts.scheme.lower()
    allowed = ", ".join(sorted(f"{s}:" for s in schemes))
    if scheme not in schemes:
        return f"A link must start with one of {allowed} (not “{scheme or squeezed[:20]}”)."
    if scheme in WEB and (not parts.hostname or any(ch in _INVISIBLE for ch in parts.hostname)):
        return "A web link needs an address after https://, such as https://example.com/file.pdf."
    if scheme in WEB and squeezed != text:
        return "A link may not contain tabs or line breaks."
    return None


def is_safe_link(url: str, schemes: frozenset[str] = WEB) -> bool:
    """Whether `url` may be shown as a link a person can open."""
    return link_problem(url, schemes) is None
