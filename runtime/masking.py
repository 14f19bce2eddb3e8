"""Masking: emails, card numbers and phone numbers in a text replaced by words, for stored transcripts."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{6,}\d\b")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def mask(text: str) -> str:
    """Emails, card numbers (those passing the Luhn check) and phone numbers replaced by words."""

    def card(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        return "[card number]" if _luhn(digits) else m.group()

    def phone(m: re.Match[str]) -> str:
        return "[phone number]" if len(re.sub(r"\D", "", m.group())) >= 8 else m.group()

    return PHONE.sub(phone, CARD.sub(card, EMAIL.sub("[email]", text)))
