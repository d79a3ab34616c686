"""The report's charts, drawn by matplotlib as SVG.

SVG because the report must open with no network and print sharp on A4; matplotlib
because it draws everything itself (no script, no CDN) and writes text as outlines, so
Chinese labels render on a machine without a Chinese font. Each chart is deterministic:
no date in its metadata and a fixed id salt per chart, so a rerun writes the same bytes.

Months whose figure is not final (a window still open, rules §4) are drawn as hollow
points reached by a dotted line, so an immature month never reads as a collapse.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from baoke.monthly_report.fonts import FAMILY, font_path

#: Width and height of a chart, inches (fits an A4 column at 96 dpi).
SIZE = (7.2, 2.8)
#: The plot's place in the figure: the same in every chart, the legend to its right.
MARGINS = {"left": 0.08, "right": 0.7, "top": 0.88, "bottom": 0.12}
#: One colour per series, in order (matplotlib's tab10, colour-blind friendly enough).
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


@dataclass(frozen=True)
class Series:
    """One line of a trend chart: a value (or None) and whether it is final, per month."""

    label: str
    values: Sequence[float | None]
    final: Sequence[bool]
    dashed: bool = False  # a target, drawn as a dashed line without points
    colour: int | None = None  # index into COLOURS (default: the series' place)
    thin: bool = False  # one of many lines behind the one that matters: no points


@dataclass(frozen=True)
class Interval:
    """One campaign's uplift with its 95% interval."""

    label: str
    uplift: float
    low: float
    high: float


def _rc() -> dict:
    import matplotlib.font_manager as fm

    if FAMILY not in {f.name for f in fm.fontManager.ttflist}:
        fm.fontManager.addfont(str(font_path()))
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [FAMILY],
        "font.size": 9,
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.6,
    }


def _svg(figure, salt: str) -> str:
    """The figure as an inline ``<svg>`` element: no XML prolog, no date, ids salted per
    chart so that two charts on one page never share an id."""
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": salt}):
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]
    # ids of glyphs and clip paths are unique per chart
    return (
        re.sub(r'id="([^"]+)"', rf'id="{salt}-\1"', svg)
        .replace('href="#', f'href="#{salt}-')
        .replace("url(#", f"url(#{salt}-")
    )


def _month_labels(months: Sequence[dt.date]) -> list[str]:
    return [f"{m.year % 100:02d}/{m.month:02d}" for m in months]


def trend(
    chart_id: str,
    title: str,
    months: Sequence[dt.date],
    series: Sequence[Series],
    percent: bool = True,
    y_max: float | None = None,
) -> str:
    """A line per series over the months; hollow points where a figure is not final."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    with matplotlib.rc_context(_rc()):
        figure = Figure(figsize=SIZE)
        figure.subplots_adjust(**MARGINS)
        axes = figure.subplots()
        x = list(range(len(months)))
        for index, line in enumerate(series):
            colour = COLOURS[(index if line.colour is None else line.colour) % len(COLOURS)]
            y = [float("nan") if v is None else float(v) for v in line.values]
            if line.dashed:
                axes.plot(x, y, linestyle="--", linewidth=1.2, color=colour, label=line.label)
                continue
            if line.thin:
                axes.plot(x, y, linewidth=0.8, color=colour, alpha=0.6, label=line.label)
                continue
            # solid between final months; dotted into a month that is not final yet
            settled = [v if line.final[i] else float("nan") for i, v in enumerate(y)]
            axes.plot(x, y, linewidth=1.2, linestyle=":", color=colour)
            axes.plot(x, settled, linewidth=1.6, color=colour, label=line.label)
            final = [i for i in x if line.final[i]]
            open_ = [i for i in x if not line.final[i]]
            axes.plot(final, [y[i] for i in final], "o", markersize=4, color=colour)
            axes.plot(open_, [y[i] for i in open_], "o", markersize=5, markerfacecolor="white", color=colour)
        axes.set_xticks(x, _month_labels(months))
        axes.set_title(title, loc="left", fontsize=10)
        if percent:
            axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_ylim(bottom=0, top=y_max)
        if not any(v is not None for line in series if not line.dashed for v in line.values):
            axes.text(0.5, 0.5, "暂无数据", transform=axes.transAxes, ha="center", va="center", color="#888888")
        if series:
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        return _svg(figure, chart_id)


def uplift(chart_id: str, title: str, intervals: Sequence[Interval]) -> str:
    """Each campaign's uplift (contacted - holdout return rate) as a point with its 95%
    interval as a bar, zero marked: an interval across zero is no proven effect."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    with matplotlib.rc_context(_rc()):
        height = max(1.6, 0.5 + 0.32 * len(intervals))
        figure = Figure(figsize=(SIZE[0], height))
        figure.subplots_adjust(left=0.3, right=0.95, top=1 - 0.4 / height, bottom=0.35 / height)
        axes = figure.subplots()
        y = list(range(len(intervals)))[::-1]
        for row, item in zip(y, intervals, strict=True):
            colour = COLOURS[0] if item.low > 0 else COLOURS[3] if item.high < 0 else COLOURS[7]
            axes.plot([item.low, item.high], [row, row], linewidth=2.2, color=colour, solid_capstyle="butt")
            axes.plot([item.uplift], [row], "o", markersize=5, color=colour)
        axes.axvline(0, color="#333333", linewidth=0.8)
        axes.set_yticks(y, [item.label for item in intervals])
        axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_title(title, loc="left", fontsize=10)
        axes.grid(axis="y", visible=False)
        return _svg(figure, chart_id)
