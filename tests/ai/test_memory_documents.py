"""Reading uploaded documents (text, Markdown, PDF, HTML) and cutting them into passages."""

from __future__ import annotations

import itertools

import pytest

from runtime.ai.documents import LONGEST, UnreadableDocument, kind_of, passages, read_document


def make_pdf(*pages: str) -> bytes:
    """A real PDF with one line of Helvetica text per page (what a word processor's export holds)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        content = len(objects)
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> "
            f"/Contents {content} 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_plain_text_in_utf8_or_windows_encoding() -> None:
    assert (
        read_document("a.txt", "Déjà vu.\r\n\r\n\r\nSecond paragraph.".encode()).text == "Déjà vu.\n\nSecond paragraph."
    )
    assert read_document("b.txt", "Café crème".encode("cp1252")).text == "Café crème"


def test_markdown_loses_its_markup_but_keeps_the_words() -> None:
    doc = read_document(
        "guide.md", b"# Returns\n\nSend it **back** within [30 days](https://x.example).\n\n- keep the box\n"
    )
    assert doc.kind == "markdown"
    assert doc.text == "Returns.\n\nSend it back within 30 days.\n\nkeep the box"


def test_html_keeps_what_a_reader_sees() -> None:
    page = b"""<!doctype html><html><head><title>Opening hours</title><style>p{color:red}</style>
    <script>var secret = "do not index";</script></head>
    <body><nav>Home</nav><h1>When we are open</h1><p>Monday to Friday, 9&nbsp;am to 5 pm.</p>
    <p>Closed on <b>public</b> holidays.</p><noscript>Enable JavaScript</noscript></body></html>"""
    text = read_document("hours.html", page).text
    assert text.startswith("Opening hours.")
    assert "Monday to Friday, 9 am to 5 pm." in text and "Closed on public holidays." in text
    assert "secret" not in text and "color" not in text and "JavaScript" not in text and "<" not in text


def test_pdf_text_from_every_page() -> None:
    doc = read_document("policy.pdf", make_pdf("Refunds take five working days.", "Exchanges are free."))
    assert doc.kind == "pdf"
    assert "Refunds take five working days." in doc.text and "Exchanges are free." in doc.text


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n....", "cannot read. Upload text (.txt), Markdown (.md), PDF (.pdf)"),
        ("report.docx", b"PK\x03\x04", "is a kind of file the knowledge base cannot read"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "could not be read as a PDF"),
        ("fake.pdf", b"hello, I am not a PDF", "could not be read as a PDF"),
        ("scan.pdf", make_pdf(""), "has no text that can be read"),
        ("empty.txt", b"  \n\n ", "has no text in it"),
        ("binary.txt", b"\x00\x01\x02abc", "does not look like a text file"),
        ("", b"text", "needs a file name"),
    ],
)
def test_a_file_that_cannot_be_read_is_named_with_the_reason(name: str, data: bytes, said: str) -> None:
    with pytest.raises(UnreadableDocument, match=said.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        read_document(name, data)


def test_a_file_without_an_extension_is_recognised_by_its_content() -> None:
    assert kind_of("download", make_pdf("x")) == "pdf"
    assert kind_of("index", b"<!DOCTYPE html><html></html>") == "html"
    assert kind_of("notes", b"", "text/markdown; charset=utf-8") == "markdown"


def test_passages_keep_sentences_whole_and_overlap() -> None:
    sentences = [f"Sentence number {n} is about parcels and refunds and nothing else." for n in range(60)]
    text = "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, 60, 4))
    found = passages(text)
    assert len(found) > 4
    assert all(len(p) <= LONGEST for p in found)
    assert all(p.endswith(".") and p[0].isupper() for p in found)  # no sentence is cut
    for before, after in itertools.pairwise(found):
        assert before.split(". ")[-1] in after  # the last sentence starts the next passage too
    assert all(s in " ".join(found) for s in sentences)


def test_a_sentence_longer_than_a_passage_is_cut_at_words() -> None:
    found = passages("word " * 1000)
    assert all(len(p) <= LONGEST for p in found) and all(p.startswith("word") and p.endswith("word") for p in found)
