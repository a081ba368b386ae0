"""A 2-D map of embeddings: UMAP when installed (else PCA), drawn as a PNG (matplotlib) and as
a self-contained interactive HTML page (SVG, hover text), coloured by cluster."""

from __future__ import annotations

import html
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sentvec.errors import InvalidChoiceError
from sentvec.extras import import_extra

MAP_METHODS = ("auto", "umap", "pca")
HTML_MAX_POINTS = 20_000  # beyond this the page samples points (browsers slow down)
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
    "#393b79",
]
NOISE = "#c8c8c8"


def reduce_2d(vectors: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """Project vectors to 2-D.

    :param vectors: (n, d).
    :param method: ``umap``, ``pca``, or ``auto`` (UMAP if umap-learn is installed, else PCA).
    :param seed: random seed.
    :return: ((n, 2) points, the method used).
    """
    if method not in MAP_METHODS:
        raise InvalidChoiceError("map method", method, MAP_METHODS)
    x = np.asarray(vectors, dtype=np.float32)
    wants_umap = method == "umap" or importlib.util.find_spec("umap") is not None
    if method in ("auto", "umap") and len(x) > 15 and wants_umap:
        umap = import_extra("umap", "apps", "umap-learn")
        reducer = umap.UMAP(n_components=2, metric="cosine", random_state=seed)
        return np.asarray(reducer.fit_transform(x), dtype=np.float32), "umap"
    from sklearn.decomposition import PCA

    if len(x) < 2:
        return np.zeros((len(x), 2), dtype=np.float32), "pca"
    return PCA(n_components=2, random_state=seed).fit_transform(x).astype(np.float32), "pca"


def colour(label: int) -> str:
    """Colour of a cluster label (grey for -1, no cluster)."""
    return NOISE if label < 0 else PALETTE[label % len(PALETTE)]


LEGEND_MAX = 20  # clusters named in the PNG legend (largest first, as given)


def legend_entries(legend: dict[int, str] | None) -> list[tuple[str, str]]:
    """(colour, text) of each legend line: ``"3: oil, prices, crude"``."""
    return [(colour(c), f"{c}: {name}") for c, name in list((legend or {}).items())[:LEGEND_MAX]]


def write_png(
    points: np.ndarray,
    labels: np.ndarray,
    path: Path,
    title: str = "",
    legend: dict[int, str] | None = None,
) -> Path:
    """Scatter plot of the map, coloured by cluster, as a PNG.

    :param points: (n, 2). :param labels: cluster of each point (-1: none).
    :param path: the PNG. :param title: the title.
    :param legend: cluster -> its name (e.g. keywords), drawn as a legend beside the plot.
    :return: the path.
    """
    import_extra("matplotlib", "apps").use("Agg")
    plt = import_extra("matplotlib.pyplot", "apps", "matplotlib")
    Line2D = import_extra("matplotlib.lines", "apps", "matplotlib").Line2D
    fig, ax = plt.subplots(figsize=(8, 8), dpi=100)
    size = max(2.0, min(30.0, 20000 / max(len(points), 1)))
    ax.scatter(
        points[:, 0],
        points[:, 1],
        c=[colour(int(c)) for c in labels],
        s=size,
        linewidths=0,
        alpha=0.8,
    )
    entries = legend_entries(legend)
    if entries:
        handles = [
            Line2D([], [], marker="o", linestyle="", color=col, markersize=8, label=text)
            for col, text in entries
        ]
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            fontsize=9,
            title="clusters",
        )
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def write_html(
    points: np.ndarray,
    labels: np.ndarray,
    hover: Sequence[str],
    path: Path,
    title: str = "",
    legend: dict[int, str] | None = None,
    seed: int = 0,
) -> Path:
    """The map as one HTML file (inline SVG, no scripts from the network): hover a point to
    read its text; points are coloured by cluster and a legend names the clusters."""
    idx = np.arange(len(points))
    if len(idx) > HTML_MAX_POINTS:
        idx = np.sort(np.random.default_rng(seed).choice(idx, HTML_MAX_POINTS, replace=False))
    lo, hi = points.min(axis=0), points.max(axis=0)
    xy = 20 + 760 * (points - lo) / np.maximum(hi - lo, 1e-9)  # into a 800 x 800 box
    circles = "\n".join(
        f'<circle cx="{xy[i, 0]:.1f}" cy="{800 - xy[i, 1]:.1f}" r="4" '
        f'fill="{colour(int(labels[i]))}">'
        f"<title>[{int(labels[i])}] {html.escape(str(hover[i])[:300])}</title></circle>"
        for i in idx.tolist()
    )
    items = "".join(
        f'<li><span style="color:{colour(c)}">&#9679;</span> {c}: {html.escape(name)}</li>'
        for c, name in (legend or {}).items()
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;display:flex;gap:1em}} circle{{opacity:.8}}
circle:hover{{stroke:#000;stroke-width:2;opacity:1}} ul{{list-style:none;padding:0}}</style>
</head><body>
<svg width="800" height="800" viewBox="0 0 800 800" style="border:1px solid #ddd">
{circles}
</svg>
<div><h3>{html.escape(title)}</h3><p>{len(idx)} of {len(points)} points; hover for text.</p>
<ul>{items}</ul></div>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf8")
    return path
