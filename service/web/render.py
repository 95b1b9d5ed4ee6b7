"""Template rendering for the practice pages: the Jinja2 environment, its filters and the pages' headers."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined

from service.deps import get_state

STATIC_DIR = Path(__file__).parent / "static"

# Everything a page loads comes from this server: no CDN, so the pages work offline and nothing else can run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The calibrations page shows a stored report (a self-contained HTML document with inline styles) in a sandboxed
# srcdoc frame, which inherits the page's policy: inline styles are allowed there, scripts still are not.
REPORT_VIEWER_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

_ACRONYMS = {"ml": "ML", "nlp": "NLP"}
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def topic_label(slug: str) -> str:
    """'classical-ml' -> 'Classical ML'."""
    label = " ".join(_ACRONYMS.get(word, word) for word in slug.split("-"))
    return label[:1].upper() + label[1:]


def question_number(question_id: str) -> int:
    """'vectors/05-linear-independence' -> 5: the number the id gives a question within its topic."""
    return int(question_id.split("/", 1)[1].split("-", 1)[0])


def summary(prompt: str, limit: int = 200) -> str:
    """A question's prose on one line, code left out as '…', shortened for a list or a title."""
    text = " … ".join(" ".join(block.split()) for kind, block in prompt_blocks(prompt) if kind == "text")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def prompt_blocks(prompt: str) -> list[tuple[str, str]]:
    """A question split into ('text', ...) and ('code', ...) blocks at its Markdown code fences."""
    blocks: list[tuple[str, str]] = []
    position = 0
    for fence in _FENCE.finditer(prompt):
        if prompt[position : fence.start()].strip():
            blocks.append(("text", prompt[position : fence.start()].strip()))
        blocks.append(("code", fence.group(1).rstrip("\n")))
        position = fence.end()
    if prompt[position:].strip():
        blocks.append(("text", prompt[position:].strip()))
    return blocks


@lru_cache(maxsize=8)
def asset(name: str) -> str:
    """URL of a static file with a hash of its content, so a browser never runs a stale script after an upgrade."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


@lru_cache(maxsize=1)
def _templates() -> Jinja2Templates:
    # Built on first use rather than at import; StrictUndefined turns a misspelt variable into an error, not a blank.
    env = Environment(
        loader=PackageLoader("service.web", "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True
    )
    env.filters.update(
        topic_label=topic_label, question_number=question_number, summary=summary, prompt_blocks=prompt_blocks
    )
    env.globals["asset"] = asset
    return Jinja2Templates(env=env)


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    policy: str = CONTENT_SECURITY_POLICY,
    **context: Any,
) -> HTMLResponse:
    """A page, with what every page needs to know: the auth mode and whether a judge is configured."""
    state = get_state(request)
    context.update(auth=state.settings.auth.value, judge=state.grader.judge is not None)
    response = _templates().TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
