"""Checks on answer text before anything expensive runs: emptiness, size, encoding, control characters."""

from __future__ import annotations

import unicodedata

from grader.errors import AnswerTooLong, BadEncoding, EmptyAnswer

MAX_ANSWER_CHARS = 20_000
"""Longest answer accepted, in characters. Interview answers are paragraphs; 20k leaves room for code."""


def clean_answer(text: str | bytes, max_chars: int = MAX_ANSWER_CHARS) -> str:
    """Return the answer as normalised text, or raise a precise InvalidInput error."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadEncoding(f"The answer is not valid UTF-8 (byte {exc.start}); send UTF-8 text.") from exc
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise BadEncoding("The answer contains unpaired surrogate code points; send valid UTF-8 text.")
    # NFC so that the same visible text always hashes and embeds the same; drop control chars except \t \n \r.
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if ch in "\t\n\r" or unicodedata.category(ch) != "Cc")
    if not text.strip():
        raise EmptyAnswer("The answer is empty; write at least one sentence.")
    if len(text) > max_chars:
        raise AnswerTooLong(f"The answer has {len(text):,} characters; the limit is {max_chars:,}. Shorten it.")
    return text
