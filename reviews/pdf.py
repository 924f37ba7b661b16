"""The board PDF: the review's content dict rendered by WeasyPrint, its charts drawn as vector SVG
by kaleido through one long-lived Chromium per process (started on first use, reused for every
chart after it). No browser means no PDF: a chart is never silently left out.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

from .print_charts import print_figure
from .render_guard import NO_PROXY_SERVER, figure_inert, sealed_page, static_only_fetcher

CHART_WIDTH, CHART_HEIGHT = 900, 360  # CSS pixels; the PDF scales the SVG to the column
_lock = threading.Lock()
_started_with: str | None = None


class ChartExportError(RuntimeError):
    """The charts could not be drawn (no browser, or the browser failed)."""


def browser_path() -> str:
    """The Chromium kaleido drives: BROWSER_PATH, else Debian's chromium on the PATH."""
    for candidate in (
        os.environ.get("BROWSER_PATH"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise ChartExportError(
        "The PDF's charts are drawn by Chromium and none was found. Install Debian's chromium "
        "package (apt-get install chromium) or set BROWSER_PATH to a Chromium or Chrome "
        "executable, then generate the PDF again."
    )


def _plotly_js() -> str:
    import plotly

    return str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js")


def _server() -> None:
    """Start this process's kaleido server once; later calls reuse its browser."""
    global _started_with
    import kaleido

    path = browser_path()
    with _lock:
        if _started_with == path:
            return
        if _started_with is not None:
            kaleido.stop_sync_server(silence_warnings=True)
        os.environ["BROWSER_PATH"] = path  # choreographer reads it
        # No LaTeX in our charts (no MathJax from a CDN), and a page that fetches nothing: see
        # reviews/render_guard.py.
        kaleido.start_sync_server(
            n=1,
            timeout=60,
            page_generator=sealed_page(_plotly_js()),
            proxy_server=NO_PROXY_SERVER,
            silence_warnings=True,
        )
        _started_with = path


def chart_svg(figure: dict, width: int = CHART_WIDTH, height: int | None = None) -> bytes:
    """One Plotly figure (a dict) as SVG bytes."""
    import kaleido

    _server()
    layout = figure.get("layout", {})
    opts = {"format": "svg", "width": width, "height": height or layout.get("height") or 300}
    try:
        svg = kaleido.calc_fig_sync(figure_inert(figure), opts=opts)  # text, never markup
    except Exception as error:  # kaleido/choreographer raise many types; all mean "no chart"
        raise ChartExportError(f"Chromium could not draw a chart: {error}") from error
    if not svg or b"<svg" not in svg[:200]:
        raise ChartExportError("Chromium returned no image for a chart.")
    return svg


def chart_images(charts: list[dict], progress: Callable[[int, int], None] | None = None) -> dict:
    """{chart id: data URI of its SVG} for every chart of the review."""
    images = {}
    for done, chart in enumerate(charts, start=1):
        figure = print_figure(chart["figure"])
        layout = figure["layout"]
        svg = chart_svg(figure, layout["width"], layout["height"])
        images[chart["id"]] = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
        if progress:
            progress(done, len(charts))
    return images


# A tagged PDF a screen reader can follow (structure, reading order, alt text, language, title):
# WeasyPrint's PDF/UA-1 variant. pdf_tags is passed too: the variant only sets it when unset.
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True}


def pdf_document(html: str):
    """HTML laid out by WeasyPrint as every PDF of the portal is: tagged, fetching nothing but
    the portal's own static files (reviews/render_guard.py). `.write_pdf(**PDF_OPTIONS)` gives
    the bytes."""
    from weasyprint import HTML

    return HTML(
        string=html, base_url=str(settings.BASE_DIR), url_fetcher=static_only_fetcher()
    ).render(**PDF_OPTIONS)


def review_pdf_render(
    content: dict,
    *,
    paper: str = "A4",
    logos: dict | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> tuple[bytes, int]:
    """The review as PDF bytes and its page count. `logos`: {"client": data URI or None,
    "msp": data URI or None}; a missing logo is the organisation's name set in type."""

    def report(phase: str, percent: int) -> None:
        if progress:
            progress(phase, percent)

    report("drawing charts", 5)
    images = chart_images(
        content["charts"],
        lambda done, total: report(f"drawing charts ({done} of {total})", 5 + 60 * done // total),
    )
    report("laying out pages", 70)
    html = render_to_string(
        "reviews/pdf.html",
        {
            "r": content,
            "images": images,
            "paper": paper,
            "logos": logos or {},
            "pdf": True,
            # The cover: the MSP on the left, the client on the right; a missing logo is the
            # name set in type.
            "cover_brands": [
                ("msp", content["msp"], "Managed service provider"),
                ("client", content["client"], "Client"),
            ],
        },
    )
    document = pdf_document(html)
    report("writing the PDF", 90)
    return document.write_pdf(**PDF_OPTIONS), len(document.pages)
