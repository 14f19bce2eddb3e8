"""Knowledge-base documents: reading text, Markdown, PDF and web pages, and cutting them into passages.

A passage is a few sentences (about 500–800 characters) that never splits a sentence unless the
sentence alone is too long; consecutive passages share their edge sentences, so an answer that
straddles two passages is still found whole in one of them. pypdf is imported only for PDFs.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

MAX_SIZE = 20_000_000  # bytes of one uploaded document
MAX_CHARS = 2_000_000  # characters of text from one document (about 600 pages)
TARGET = 600  # characters a passage aims for
LONGEST = 800  # no passage is longer than this
OVERLAP = 150  # at most this many characters of a passage's end start the next one

KINDS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
}
MIMES = {"text/plain": "text", "text/markdown": "markdown", "application/pdf": "pdf", "text/html": "html"}
ACCEPTED = "text (.txt), Markdown (.md), PDF (.pdf) or web pages (.html)"


class UnreadableDocument(ValueError):
    """A document the knowledge base cannot take; the message is a sentence for the person uploading it."""


@dataclass(frozen=True, slots=True)
class Document:
    """A document's text, ready to be cut into passages."""

    name: str
    kind: str
    text: str


def read_document(name: str, data: bytes, mime: str = "") -> Document:
    """The text of an uploaded file, or UnreadableDocument saying why there is none."""
    name = PurePath(name.replace("\\", "/")).name.strip()
    if not name:
        raise UnreadableDocument("The document needs a file name, such as returns.pdf.")
    if len(data) > MAX_SIZE:
        raise UnreadableDocument(f"“{name}” is larger than {MAX_SIZE // 1_000_000} MB.")
    kind = kind_of(name, data, mime)
    if kind == "pdf":
        text = _pdf_text(name, data)
    else:
        raw = _decode(name, data)
        text = _html_text(raw) if kind == "html" else _markdown_text(raw) if kind == "markdown" else raw
    text = _tidy(text)
    if not text:
        raise UnreadableDocument(f"“{name}” has no text in it.")
    if len(text) > MAX_CHARS:
        raise UnreadableDocument(f"“{name}” holds more than {MAX_CHARS:,} characters of text; split it into parts.")
    return Document(name, kind, text)


def kind_of(name: str, data: bytes, mime: str = "") -> str:
    """The kind of document (text, markdown, pdf or html): by the file name, the content type, the content."""
    kind = KINDS.get(PurePath(name).suffix.lower()) or MIMES.get(mime.split(";", 1)[0].strip().lower())
    if kind is None and PurePath(name).suffix == "":  # no extension: look inside
        head = data[:1024].lstrip().lower()
        kind = "pdf" if head.startswith(b"%pdf") else "html" if head.startswith((b"<!doctype html", b"<html")) else None
    if kind is None:
        raise UnreadableDocument(f"“{name}” is a kind of file the knowledge base cannot read. Upload {ACCEPTED}.")
    return kind


def passages(text: str) -> list[str]:
    """The text cut into passages of about TARGET characters, overlapping by whole sentences."""
    sentences = [s for paragraph in re.split(r"\n\s*\n", text) for s in _sentences(paragraph)]
    out: list[str] = []
    current: list[str] = []  # the overlap from the passage before, then this passage's own sentences
    fresh = 0  # how many of them are this passage's own
    for sentence in sentences:
        size = sum(len(s) + 1 for s in current)
        if fresh and (size >= TARGET or size + len(sentence) > LONGEST):
            out.append(" ".join(current))
            current, fresh = _tail(current), 0
            size = sum(len(s) + 1 for s in current)
        if size + len(sentence) > LONGEST:  # the overlap must not push a passage past the longest
            current = []
        current.append(sentence)
        fresh += 1
    if fresh:
        out.append(" ".join(current))
    return out


def _tail(sentences: list[str]) -> list[str]:
    """The last sentences of a passage (at most OVERLAP characters) that the next one starts with."""
    kept: list[str] = []
    size = 0
    for sentence in reversed(sentences):
        if size + len(sentence) > OVERLAP:
            break
        kept.insert(0, sentence)
        size += len(sentence) + 1
    return kept


def _sentences(paragraph: str) -> list[str]:
    """A paragraph's sentences; one longer than a passage is cut at word boundaries."""
    flat = " ".join(paragraph.split())
    out = []
    for whole in re.split(r"(?<=[.!?…。！？])\s+", flat):
        rest = whole
        while len(rest) > LONGEST:
            cut = rest.rfind(" ", 0, LONGEST)
            cut = cut if cut > LONGEST // 2 else LONGEST
            out.append(rest[:cut].strip())
            rest = rest[cut:].strip()
        if rest:
            out.append(rest)
    return out


def _decode(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableDocument(f"“{name}” does not look like a text file. Upload {ACCEPTED}.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # every byte is a character: the text is kept, accents may be off


def _tidy(text: str) -> str:
    """Paragraphs separated by one blank line, lines without trailing spaces."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _markdown_text(raw: str) -> str:
    """Markdown without its markup: headings, links and emphasis kept as plain words."""
    text = re.sub(r"^```.*$", "", raw, flags=re.MULTILINE)
    heading = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]*(.*?)[ \t]*#*[ \t]*$", flags=re.MULTILINE)
    text = heading.sub(lambda m: f"\n{_ended(m.group(1))}\n", text)  # a heading ends a thought
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|`)", "", text)
    return re.sub(r"^[ \t]*([-+*]|\d+[.)])[ \t]+", "", text, flags=re.MULTILINE)


def _ended(heading: str) -> str:
    return heading if not heading or heading[-1] in ".!?:…" else heading + "."


def _pdf_text(name: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    unreadable = f"“{name}” could not be read as a PDF: the file is damaged or is not a PDF."
    if not data.lstrip()[:1024].startswith(b"%PDF"):
        raise UnreadableDocument(unreadable)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument(f"“{name}” is protected by a password; upload a copy without one.")
        pages, size = [], 0
        for page in reader.pages:  # counted as it goes: a small PDF can repeat one page's text thousands of times
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > MAX_CHARS:
                raise UnreadableDocument(
                    f"“{name}” holds more than {MAX_CHARS:,} characters of text; split it into parts."
                )
    except UnreadableDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError, AttributeError, OSError) as exc:
        raise UnreadableDocument(unreadable) from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise UnreadableDocument(
            f"“{name}” has no text that can be read: it may be scanned pages. Upload a PDF with text in it."
        )
    return text


class _HtmlText(HTMLParser):
    """The words a reader sees: no scripts, styles or markup; blocks become paragraphs."""

    SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object"})
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section", "article"}
        | {"header", "footer", "nav", "aside", "blockquote", "pre", "dt", "dd", "hr", "main", "form", "figcaption"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.title = ""
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skipping:
            self.parts.append(data)


def _html_text(raw: str) -> str:
    parser = _HtmlText()
    parser.feed(raw)
    parser.close()
    body = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.parts))
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body)]
    title = " ".join(parser.title.split())
    return "\n\n".join(([title + "."] if title else []) + [p for p in paragraphs if p])
