"""The practice pages in a real browser: Debian's Chromium, headless, driven by Playwright against the live server.

Chromium is required, not optional: without /usr/bin/chromium these tests fail with how to install it (.ci/run
installs it). They run on SQLite only: the pages drive the same API whose storage the other tests (including
tests/test_web_pages.py) check on both backends, and a second browser run would only repeat them. Screenshots of
every step that matters go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from grader.embedding import SentenceTransformerEmbedder
from grader.pipeline import Grader
from rubrics.loader import RubricBank
from service.auth_mode import AuthMode
from service.settings import Settings
from tests.conftest import LiveServer
from tests.databases import database
from tests.fake_openai import Canned, FakeOpenAI, verdicts
from tests.test_judge import make_grader
from tests.test_web_pages import candidate_key

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
QID = "vectors/05-linear-independence"
PROMPT = "What does it mean for two vectors to be linearly independent?"
ANSWER = (
    "Two vectors are linearly independent when neither is a scalar multiple of the other. "
    "In general, the only linear combination that gives the zero vector is the one with all coefficients zero. "
    "I would check it by putting them as columns of a matrix and computing its rank."
)
VERDICTS = {"Met", "Partial", "Missed", "Contradicted"}
# Generous ceilings for auto-waiting expectations: grading runs the real model on shared CPUs. Nothing sleeps.
WAIT_MS = 60_000


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only (see the module docstring)."""
    with database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for this module only: a running sync Playwright owns the thread's event loop, so it must not outlive
    these tests (others call asyncio.run)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium); .ci/run does.")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (so a fresh browser identity); fails the test on a script error or a CSP violation."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"uncaught error: {error}"))
    opened.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    yield opened
    context.close()
    assert problems == []


def snap(page: Page, name: str) -> None:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


# Text contrast per WCAG 2: 4.5:1, or 3:1 for large text, against the first opaque background up the tree.
CONTRAST = """() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const failures = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el) || el.closest("title, option")) continue;
    seen.add(el);
    if (!el.checkVisibility()) continue;
    const style = getComputedStyle(el);
    const fg = parse(el instanceof SVGElement ? style.fill : style.color);
    const [hi, lo] = [luminance(fg), luminance(background(el))].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const needed = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) failures.push(`${el.tagName} '${el.textContent.trim().slice(0, 40)}': ${ratio.toFixed(2)}`);
  }
  return failures;
}"""
# A line of Playwright's ARIA snapshot (YAML, so sometimes quoted) for a control or image that has no name.
_NAMED_ROLES = "textbox|checkbox|combobox|button|link|radio|searchbox|spinbutton|slider|img"
_CONTROL = re.compile(rf"\s*- '?({_NAMED_ROLES})(?: \[|:|$)")


def assert_accessible(page: Page) -> None:
    """Basic checks on what is shown: landmarks, one h1 and no skipped heading level, every control and image named
    (as Chromium's accessibility tree computes names), no <img> without alt, and text contrast."""
    tree = page.locator("body").aria_snapshot()
    assert "- main:" in tree and "- navigation " in tree, tree
    levels = [int(level) for level in re.findall(r"- '?heading .*\[level=(\d)\]", tree)]
    assert levels[0] == 1 and levels.count(1) == 1, levels
    assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(levels)), levels
    assert [line for line in tree.splitlines() if _CONTROL.match(line)] == []
    assert page.locator("img:not([alt])").count() == 0
    assert page.evaluate(CONTRAST) == []


def open_question(page: Page, base_url: str) -> None:
    """From the practice home: filter by topic, then pick the question from the list."""
    page.goto(base_url + "/")
    page.get_by_label("Topic").select_option("vectors")
    page.get_by_role("button", name="Show questions").click()
    expect(page.get_by_role("status").filter(has_text="questions")).to_have_text(re.compile(r"^9 questions"))
    page.get_by_role("link", name=PROMPT).click()
    expect(page).to_have_url(f"{base_url}/practice/{QID}")


def test_pick_a_question_submit_and_see_feedback(page: Page, live_server: LiveServer, bank: RubricBank) -> None:
    open_question(page, live_server.base_url)
    assert_accessible(page)
    snap(page, "practice-question")
    page.get_by_label("Your answer").fill(ANSWER)

    # Hold the request while the page is grading, to see the loading state (and nothing else can answer it).
    seen_while_grading: list[str] = []

    def hold(route: Route) -> None:
        form = page.locator("#answer-form")
        button = page.get_by_role("button", name="Grading…")
        seen_while_grading.extend(
            [
                form.get_attribute("aria-busy") or "",
                str(button.is_disabled()),
                page.locator("#grading-status").inner_text(),
            ]
        )
        snap(page, "practice-grading")
        route.continue_()

    page.route("**/v1/grades", hold)
    page.get_by_role("button", name="Grade my answer").click()
    expect(page.locator("#result-heading")).to_be_focused()
    assert seen_while_grading == ["true", "True", "Grading your answer…"]

    expect(page.locator("#score")).to_have_text(re.compile(r"^Score: \d+%$"))
    expect(page.locator("#answer-form")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_role("button", name="Grade my answer")).to_be_enabled()
    rubric = bank.get(QID)
    assert rubric is not None
    points = page.locator("#points > li")
    expect(points).to_have_count(len(rubric.key_points))
    for index, point in enumerate(rubric.key_points):
        item = points.nth(index)
        expect(item).to_contain_text(point.text)
        assert item.locator(".verdict").inner_text() in VERDICTS
    expect(points.filter(has_text="Evidence [3]")).to_contain_text("neither is a scalar multiple of the other")
    # The evidence is highlighted in the answer itself, labelled with the key point's number.
    marks = page.locator("#highlighted-answer mark")
    expect(marks.filter(has_text="neither is a scalar multiple of the other")).to_contain_text("3")
    expect(page.locator("#highlighted-answer")).to_contain_text("computing its rank.")
    expect(page.locator("#misconceptions")).to_have_text("None found.")
    expect(page.locator("#feedback")).not_to_be_empty()
    expect(page.locator("#stages")).to_have_text("Stage 1 only (sentence embeddings): no judge is configured.")
    expect(page.get_by_role("heading", name="Reference answer")).to_be_visible()
    expect(page.locator("#reference-answer")).to_have_text(rubric.reference_answer)
    assert_accessible(page)
    snap(page, "practice-result")


def test_empty_answer_shows_the_problem(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.base_url}/practice/{QID}")
    page.get_by_role("button", name="Grade my answer").click()
    # The server's problem detail, in an alert region; nothing was graded.
    expect(page.get_by_role("alert").filter(has_text="empty")).to_have_text(
        "The answer is empty; write at least one sentence."
    )
    answer = page.get_by_label("Your answer")
    expect(answer).to_have_attribute("aria-invalid", "true")
    expect(answer).to_be_focused()
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#reference")).to_be_hidden()
    assert_accessible(page)
    snap(page, "practice-empty-answer")

    answer.fill("   \n  ")
    page.get_by_role("button", name="Grade my answer").click()
    expect(page.get_by_role("alert").filter(has_text="empty")).to_be_visible()


def test_keyboard_only(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.base_url}/practice/{QID}")
    answer = page.get_by_label("Your answer")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(10):  # Tab through the page until the answer box has focus
        page.keyboard.press("Tab")
        if answer.evaluate("box => box === document.activeElement"):
            break
    expect(answer).to_be_focused()
    assert answer.evaluate("box => getComputedStyle(box).outlineStyle") != "none"  # focus is visible
    page.keyboard.type(ANSWER)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#score")).to_have_text(re.compile(r"^Score: \d+%$"))
    expect(page.locator("#result-heading")).to_be_focused()
    snap(page, "keyboard-ctrl-enter")

    # Second way: Tab from the answer box to the button and press Enter.
    answer.focus()
    page.keyboard.press("End")
    page.keyboard.type(" Independent vectors span a space whose dimension equals their count.")
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name="Grade my answer")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#grading-status")).to_have_text(re.compile(r"^Graded\. Score: \d+%\.$"))
    expect(page.locator("#highlighted-answer")).to_contain_text("equals their count")
    snap(page, "keyboard-enter-on-button")


def test_history_and_answered_filter_are_per_browser(page: Page, browser: Browser, live_server: LiveServer) -> None:
    base = live_server.base_url
    page.goto(f"{base}/practice/{QID}")
    page.get_by_label("Your answer").fill(ANSWER)
    page.get_by_role("button", name="Grade my answer").click()
    score = page.locator("#score")
    expect(score).to_have_text(re.compile(r"^Score: \d+%$"))
    percent = score.inner_text().removeprefix("Score: ")

    page.get_by_role("link", name="History").click()
    expect(page.locator("#history-status")).to_have_text("1 attempt.")
    row = page.locator("#attempts tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(PROMPT)
    expect(row).to_contain_text(percent)
    expect(page.locator("#charts figcaption")).to_have_text(
        f"Vectors: 1 scored attempt, latest {percent}, best {percent}."
    )
    expect(page.get_by_role("img", name=f"Scores in Vectors, oldest first: {percent}")).to_be_visible()
    assert_accessible(page)
    snap(page, "history")

    page.goto(f"{base}/?topic=vectors")
    answered = page.locator(f'tr[data-question-id="{QID}"]')
    expect(answered.locator(".answered")).to_have_text("Answered")
    page.get_by_label("Hide questions I have answered").check()
    expect(answered).to_be_hidden()
    expect(page.locator("#list-status")).to_have_text("8 questions (1 answered, hidden).")
    assert_accessible(page)
    snap(page, "home-hide-answered")
    page.get_by_role("button", name="Random question").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/practice/vectors/"))
    assert not page.url.endswith(QID)

    # Another browser is another candidate: it has no history and nothing answered.
    other = browser.new_context()
    try:
        stranger = other.new_page()
        stranger.goto(f"{base}/history")
        expect(stranger.locator("#history-status")).to_have_text(
            "No attempts yet: answer a question on the Practise page."
        )
        stranger.goto(f"{base}/?topic=vectors")
        expect(stranger.locator(f'tr[data-question-id="{QID}"] .answered')).to_have_text("")
    finally:
        other.close()


def test_with_a_judge_both_stages_show(
    page: Page, settings: Settings, embedder: SentenceTransformerEmbedder, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    answer = ANSWER + " Independent vectors are orthogonal, so their dot product is zero."
    reply = verdicts(
        {
            "trivial-combination": ("met", "the only linear combination that gives the zero vector"),
            "not-redundant": ("missed", ""),
            "two-not-multiples": ("met", "neither is a scalar multiple of the other"),
            "rank-test": ("partial", "computing its rank"),
            "span-dimension": ("missed", ""),
        },
        misconceptions=(("means-orthogonal", "Independent vectors are orthogonal"),),
        feedback="Say what the rank must equal; independence does not need orthogonality.",
    )
    fake_openai.enqueue(Canned(content=reply))
    with LiveServer(settings, make_grader(embedder, fake_openai, tmp_path)) as server:
        page.goto(f"{server.base_url}/practice/{QID}")
        page.get_by_label("Your answer").fill(answer)
        page.get_by_role("button", name="Grade my answer").click()
        expect(page.locator("#stages")).to_have_text(
            "Both stages ran: stage 1 (sentence embeddings) and stage 2 (LLM judge)."
        )
        verdict_words = page.locator("#points .verdict")
        expect(verdict_words).to_have_text(["Met", "Missed", "Met", "Partial", "Missed"])
        expect(page.locator("#points > li").nth(3)).to_contain_text("partial because")
        expect(page.locator("#highlighted-answer mark").filter(has_text="computing its rank")).to_contain_text("4")
        misconception = page.locator("#misconceptions .misconception")
        expect(misconception).to_contain_text("Misconception: Linearly independent means the vectors are orthogonal")
        expect(misconception).to_contain_text("What is true instead: Orthogonal nonzero vectors are independent")
        expect(page.locator("#feedback")).to_have_text(json.loads(reply)["feedback"])
        expect(page.locator("#reference-answer")).not_to_be_empty()
        assert_accessible(page)
        snap(page, "practice-result-with-judge")


def test_with_keys_the_page_asks_for_one(page: Page, settings: Settings, grader: Grader) -> None:
    key = candidate_key(settings, "dana")
    with LiveServer(settings.model_copy(update={"auth": AuthMode.KEYS}), grader) as server:
        page.goto(f"{server.base_url}/practice/{QID}")
        expect(page.locator("#key-status")).to_have_text("No key saved yet.")
        page.get_by_label("Your answer").fill(ANSWER)
        page.get_by_role("button", name="Grade my answer").click()
        expect(page.locator("#answer-error")).to_have_text("Enter your API key at the top of the page first.")

        page.get_by_label("API key").fill("ag_not-a-real-key")
        page.get_by_role("button", name="Save key").click()
        page.get_by_role("button", name="Grade my answer").click()
        expect(page.locator("#answer-error")).to_have_text("This API key is unknown or revoked.")

        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Save key").click()
        expect(page.locator("#key-status")).to_have_text("Key saved in this browser.")
        expect(page.get_by_label("API key")).to_have_value("")  # never shown again
        page.get_by_role("button", name="Grade my answer").click()
        expect(page.locator("#score")).to_have_text(re.compile(r"^Score: \d+%$"))
        expect(page.locator("#answer-error")).to_be_empty()
        assert_accessible(page)
        snap(page, "keys-practice-result")

        page.get_by_role("link", name="History").click()
        expect(page.locator("#history-status")).to_have_text("1 attempt.")
        expect(page.locator("#key-status")).to_have_text("A key is saved in this browser.")

        # Calibration runs are for raters and admins; the API says so, and the page shows it.
        page.get_by_role("link", name="Calibrations").click()
        expect(page.locator("#calibrations-error")).to_contain_text("This needs the role admin or rater")


def _calibration_data() -> str:
    """A tiny human-scored data set: four questions (the cross-validation groups by question), three answers each."""
    questions = {
        "q1": ("What does a stack do?", "A stack stores items and returns the most recently added one first."),
        "q2": ("What is a queue?", "A queue returns items in the order they were added, first in first out."),
        "q3": ("What is recursion?", "Recursion is a function calling itself on a smaller part of the problem."),
        "q4": ("What is a hash table?", "A hash table maps keys to values through a hash function of the key."),
    }
    lines = []
    for qid, (question, reference) in questions.items():
        for answer, scores in ((reference, [5, 5]), ("It stores things somewhere.", [2, 1]), ("No idea.", [0, 0])):
            row = {"question_id": qid, "question": question, "reference_answer": reference}
            lines.append(json.dumps({**row, "answer": answer, "human_scores": scores}))
    return "\n".join(lines) + "\n"


def test_calibrations_page_lists_runs_and_shows_reports(page: Page, live_server: LiveServer) -> None:
    base = live_server.base_url
    page.goto(f"{base}/calibrations")
    expect(page.locator("#calibrations-status")).to_have_text("No calibration runs are stored yet.")
    expect(page.get_by_role("region", name="Calibration runs")).to_be_hidden()

    with httpx.Client(base_url=base, timeout=WAIT_MS / 1000) as client:
        stored = client.post(
            "/v1/calibrations",
            params={"scale": "0:5:1", "cv": 2, "bootstrap": 0, "stages": "embedding", "name": "tiny-set"},
            content=_calibration_data(),
            headers={"Content-Type": "application/jsonl"},
        )
    assert stored.status_code == 201, stored.text
    run = stored.json()

    page.reload()
    expect(page.locator("#calibrations-status")).to_have_text("1 calibration run.")
    row = page.locator(f'tr[data-run-id="{run["id"]}"]')
    expect(row).to_contain_text("tiny-set")
    expect(row).to_contain_text("0 to 5 by 1")
    pearson = run["overall"]["pearson"]
    expect(row.locator("td").nth(5)).to_have_text("n/a" if pearson is None else f"{pearson:.2f}")
    assert_accessible(page)
    page.get_by_role("button", name="View report: tiny-set").click()
    expect(page.get_by_role("heading", name="Report: tiny-set")).to_be_focused()
    report = page.frame_locator("#report-frame")
    # The stored report itself, rendered (with its own inline styles) in the sandboxed frame.
    expect(report.get_by_role("heading", name=re.compile(r"^Calibration report: "))).to_be_visible()
    expect(report.get_by_role("heading", name="Agreement", exact=True)).to_be_visible()
    # Its inline styles apply (the page's policy lets them into the frame; scripts stay out).
    expect(report.locator("th").first).to_have_css("background-color", "rgb(246, 246, 246)")
    snap(page, "calibrations")
