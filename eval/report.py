"""A calibration as files: ``report.json``, a self-contained ``report.html`` and the PNG figures.

The HTML embeds every figure as a base64 data URI and inlines its CSS, so it can be mailed or stored as one file;
the PNGs are also written beside it for slides and documents. Answer text in the report is data from outside:
the template escapes everything (Jinja2 autoescaping).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from eval.calibrate import Calibration
from eval.plots import all_plots

CAPTIONS = {
    "scatter.png": "Raw grader score against the human score, with the fitted mapping",
    "confusion.png": "Human step against the mapped grader step",
    "per_question.png": "Pearson r within each question: grader and raters",
    "bland_altman.png": "Bland-Altman: difference against mean, with the 95% limits of agreement",
}


@dataclass(frozen=True)
class Rendered:
    """Everything a report consists of, in memory."""

    report: dict[str, Any]
    html: str
    pngs: dict[str, bytes]


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("eval", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(calibration: Calibration) -> Rendered:
    """Draw the figures and render the HTML."""
    pngs = all_plots(calibration.figures, calibration.report["per_question"])
    report = {**calibration.report, "plots": list(pngs)}
    plots = [
        {"file": name, "caption": CAPTIONS[name], "data": base64.b64encode(data).decode("ascii")}
        for name, data in pngs.items()
    ]
    html = _environment().get_template("calibration.html").render(r=report, plots=plots)
    return Rendered(report, html, pngs)


def dumps(report: dict[str, Any]) -> str:
    """The report as JSON text (strict: no NaN)."""
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write(rendered: Rendered, out_dir: Path) -> list[Path]:
    """Write report.json, report.html and the PNGs into ``out_dir`` (created if needed); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.json", out_dir / "report.html"]
    written[0].write_text(dumps(rendered.report), encoding="utf-8")
    written[1].write_text(rendered.html, encoding="utf-8")
    for name, data in rendered.pngs.items():
        (out_dir / name).write_bytes(data)
        written.append(out_dir / name)
    return written


def _cell(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def headline(report: dict[str, Any]) -> str:
    """The figures a person wants first, as terminal lines."""
    data = report["dataset"]
    lines = [
        f"{data['scored']} of {data['rows']} answers scored ({data['questions']} questions; "
        f"stages: {', '.join(report['grader']['stages'])}); {report['method']} mapping, "
        f"{report['cv']}-fold cross-validation grouped by question",
    ]
    if data["derived_key_points"]["questions"]:
        lines.append(
            f"key points derived from reference-answer sentences for {data['derived_key_points']['questions']} "
            "questions"
        )
    if data["unscored"]["n"]:
        lines.append(f"unscored (left out): {data['unscored']['n']}")
    columns = ("n", "pearson", "spearman", "qwk", "rmse", "mae", "exact", "adjacent", "bias")
    lines.append(f"{'':38}" + "".join(f"{c:>9}" for c in columns))
    rows = [
        ("grader mapped, out-of-fold", report["overall"]),
        ("grader plain linear (before)", report["before"]),
        ("grader vs single rater", report.get("grader_vs_rater")),
        ("rater vs rater", report.get("human_vs_human")),
    ]
    for label, block in rows:
        if block is None:
            continue
        cells = [f"{block['n']:>9}"] + [f"{_cell(block[c]):>9}" for c in columns[1:]]
        lines.append(f"{label:38}" + "".join(cells))
    ci = report["overall"].get("ci") or {}
    shown = [f"{k} [{_cell(ci[k][0])}, {_cell(ci[k][1])}]" for k in ("pearson", "qwk", "rmse") if ci.get(k)]
    if shown:
        lines.append("95% intervals (questions resampled): " + ", ".join(shown))
    raw = report["raw"]
    lines.append(
        f"raw score vs human: pearson {_cell(raw['pearson'])}, spearman {_cell(raw['spearman'])}; "
        f"{raw['at_zero']:.1%} of answers at exactly 0, {raw['at_one']:.1%} at exactly 1"
    )
    return "\n".join(lines)
