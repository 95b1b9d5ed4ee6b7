"""Content words: the words of a text that carry its meaning, stemmed so that inflections match.

Stage 1 counts how many of a key point's content words an answer uses, and aligns content tokens only. Words of
the question are demoted by the callers: an answer earns nothing for repeating the question back.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

# Function words (articles, pronouns, auxiliaries, prepositions, conjunctions) and filler that carry no claim.
# Negations ("not", "no", "never") are deliberately absent: they change what a sentence claims.
STOPWORDS = frozenset(
    """a an the of to in on at for by with from and or but if then than so as is are was were be been being am it
    its itself this that these those there their theirs they them themselves he him his she her hers we us our ours
    you your yours i me my mine do does did doing done have has had having can could will would should may might
    must shall which who whom whose what when where why how all any each some such into out up down over under
    again further once here more most other same own only very just also too about above below between through
    during before after because while both few off onto upon via per one ones thing things something anything
    everything way ways like use used using get gets got make makes made let lets well much many really basically
    actually simply etc e g ie eg s t""".split()  # noqa: SIM905 (a word list reads better as text)
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def content_words(text: str) -> list[str]:
    """Stems of the content words of ``text``, in order (duplicates kept)."""
    return [_stem(w) for w in _WORD.findall(text.lower().replace("’", "'")) if w not in STOPWORDS]


def is_content_token(token: str) -> bool:
    """Whether a model token (a word piece such as 'regular' or '##ization') belongs to a content word."""
    piece = token.removeprefix("##")
    return any(c.isalnum() for c in piece) and (token.startswith("##") or piece not in STOPWORDS)
