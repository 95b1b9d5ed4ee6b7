"""The calibration report's figures, drawn with matplotlib's object API onto Agg canvases, as PNG bytes.

No pyplot: its global figure state is not thread-safe, and the service draws reports in worker threads.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from eval.calibrate import FigureData
from eval.scale import FloatArray

DPI = 110
HUMAN = "#1f77b4"
GRADER = "#d62728"


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _jitter(values: FloatArray, width: float, seed: int) -> FloatArray:
    # Scores sit on a few steps; a little deterministic jitter shows how many answers share a point.
    noise: FloatArray = np.random.default_rng(seed).uniform(-width, width, size=values.shape)
    return values + noise


def scatter(data: FigureData) -> bytes:
    """Raw grade against the human score, with the fitted mapping and the plain linear one drawn over it."""
    figure = Figure(figsize=(6.4, 4.8))
    ax = figure.add_subplot()
    scale = data.scale
    ax.scatter(data.raw, _jitter(data.gold, scale.step * 0.15, 1), s=9, alpha=0.35, color=HUMAN, linewidths=0)
    grid = np.linspace(0, 1, 201)
    ax.plot(grid, data.mapping.apply_many(grid), color=GRADER, lw=2, label=f"{data.mapping.method} mapping")
    ax.plot(grid, scale.from_unit(grid), color="grey", lw=1, ls="--", label="plain linear mapping")
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("grader score (raw, 0 to 1)")
    ax.set_ylabel(f"human score ({scale.describe()})")
    ax.set_title("Grader against human scores")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(figure)


def confusion_heatmap(data: FigureData) -> bytes:
    """Counts of (human step, mapped grader step); the diagonal is exact agreement."""
    counts = np.asarray(data.confusion)
    labels = [f"{v:g}" for v in data.scale.values()]
    size = min(9.0, 3.0 + 0.45 * len(labels))
    figure = Figure(figsize=(size + 1, size))
    ax = figure.add_subplot()
    image = ax.imshow(counts, cmap="Blues", origin="lower")
    figure.colorbar(image, ax=ax, shrink=0.8, label="answers")
    ticks = np.arange(len(labels))
    every = max(1, len(labels) // 21)
    ax.set_xticks(ticks[::every], labels[::every], rotation=90 if len(labels) > 12 else 0)
    ax.set_yticks(ticks[::every], labels[::every])
    if len(labels) <= 21:
        peak = counts.max() if counts.size else 0
        for (row, column), value in np.ndenumerate(counts):
            if value:
                colour = "white" if value > peak / 2 else "black"
                ax.text(column, row, str(value), ha="center", va="center", fontsize=7, color=colour)
    ax.set_xlabel("grader (mapped, out-of-fold)")
    ax.set_ylabel("human")
    ax.set_title("Confusion matrix")
    return _png(figure)


def per_question(rows: list[dict[str, Any]]) -> bytes:
    """Each question's Pearson r, grader against humans, beside the raters' own r on the same question."""
    shown = [r for r in rows if r.get("pearson") is not None]
    shown.sort(key=lambda r: r["pearson"])
    figure = Figure(figsize=(max(6.4, 0.12 * len(shown) + 2), 4.8))
    ax = figure.add_subplot()
    x = np.arange(len(shown))
    ax.scatter(x, [r["pearson"] for r in shown], color=GRADER, s=16, label="grader vs human (agreed score)")
    humans = [(k, r["human_vs_human"]["pearson"]) for k, r in enumerate(shown) if _hvh(r) is not None]
    if humans:
        hx, hy = zip(*humans, strict=True)
        ax.scatter(hx, hy, color=HUMAN, s=16, marker="x", label="rater vs rater")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xticks(x, [str(r["question_id"]) for r in shown], rotation=90, fontsize=6)
    ax.set_xlabel("question (sorted by grader agreement)")
    ax.set_ylabel("Pearson r within the question")
    ax.set_title("Agreement per question")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _png(figure)


def _hvh(row: dict[str, Any]) -> float | None:
    value = row.get("human_vs_human")
    return None if value is None else value.get("pearson")


def bland_altman(data: FigureData) -> bytes:
    """Difference (grader minus human) against their mean, with the mean bias and 95% limits of agreement."""
    mean = (data.after + data.gold) / 2
    diff = data.after - data.gold
    bias = float(diff.mean()) if diff.size else 0.0
    spread = 1.96 * float(diff.std(ddof=1)) if diff.size > 1 else 0.0
    figure = Figure(figsize=(6.4, 4.8))
    ax = figure.add_subplot()
    step = data.scale.step
    ax.scatter(_jitter(mean, step * 0.12, 2), _jitter(diff, step * 0.12, 3), s=9, alpha=0.35, color=HUMAN)
    ax.axhline(bias, color=GRADER, lw=1.5, label=f"mean bias {bias:+.2f}")
    for limit in (bias - spread, bias + spread):
        ax.axhline(limit, color=GRADER, lw=1, ls="--")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("mean of grader (mapped, out-of-fold) and human")
    ax.set_ylabel("grader minus human")
    ax.set_title(f"Bland-Altman (limits of agreement {bias - spread:+.2f} to {bias + spread:+.2f})")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(figure)


def all_plots(data: FigureData, per_question_rows: list[dict[str, Any]]) -> dict[str, bytes]:
    """Every figure by file name."""
    return {
        "scatter.png": scatter(data),
        "confusion.png": confusion_heatmap(data),
        "per_question.png": per_question(per_question_rows),
        "bland_altman.png": bland_altman(data),
    }
