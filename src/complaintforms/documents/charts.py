"""Charts for the statistics report: matplotlib with the configured CJK font.

Each chart is drawn once and saved twice: SVG for the PDF (embedded as an <img> data URI;
inline <svg> gave WeasyPrint many warnings and clashing ids) and PNG for Word.
"""

from __future__ import annotations

import io

from complaintforms.documents.render import Picture


def _pyplot(font: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "font.family": [font, "DejaVu Sans"],
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "complaintforms",  # stable ids: the same figures give the same SVG
            "svg.fonttype": "path",
        }
    )
    return plt


def _save(plt, fig, width_mm: float) -> Picture:
    svg, png = io.BytesIO(), io.BytesIO()
    fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    fig.savefig(png, format="png", dpi=150, bbox_inches="tight")
    plt.close(fig)
    return Picture(svg.getvalue(), png.getvalue(), width_mm)


def bar_chart(
    title: str,
    labels: list[str],
    values: list[int],
    *,
    font: str,
    horizontal: bool = False,
    width_mm: float = 80,
) -> Picture:
    plt = _pyplot(font)
    fig, ax = plt.subplots(figsize=(4.2, 2.6))
    positions = range(len(labels))
    if horizontal:
        bars = ax.barh(list(positions), values, color="#4a6fa5")
        ax.set_yticks(list(positions), labels)
        ax.invert_yaxis()
    else:
        bars = ax.bar(list(positions), values, color="#4a6fa5")
        ax.set_xticks(list(positions), labels)
    ax.bar_label(bars, fontsize=8, padding=2)
    # Room beyond the longest bar for its value label, which would touch the frame.
    top = max(values, default=0) or 1
    (ax.set_xlim if horizontal else ax.set_ylim)(0, top * 1.15)
    from matplotlib.ticker import MaxNLocator

    (ax.xaxis if horizontal else ax.yaxis).set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    return _save(plt, fig, width_mm)


def comparison_chart(
    labels: list[str], values: list[int], *, font: str, width_mm: float = 80
) -> Picture:
    return bar_chart("本期与上期、去年同期", labels, values, font=font, width_mm=width_mm)
