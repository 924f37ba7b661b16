"""What the PDF's renderers may read: text as text, and nothing from the network.

The review's figures and pages carry text from tickets, contracts and reviews (categories,
titles, names). Plotly reads pseudo-HTML in any label (`<span style=…>`, `<a href=…>`) and
copies it onto the SVG it draws, so a category holding `background-image:url(http://…)` made
the worker's Chromium fetch that address. Three rules, each enough on its own for the case we
saw, together for the ones we have not:

- `figure_inert` (kpis/dashboard/chart_text.py): every string of a figure is escaped before a
  renderer sees it, so Plotly draws `<` as a character and never as a tag;
- `sealed_page`: kaleido's page in Chromium carries a Content-Security-Policy that lets it load
  only its own local scripts and draw images from data: URIs, and Chromium is pointed at a proxy
  that does not exist (`NO_PROXY_SERVER`), so a fetch the policy missed still goes nowhere;
- `static_only_fetcher`: WeasyPrint fetches only data: URIs and the app's own static files.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

from kpis.dashboard.chart_text import figure_inert

__all__ = ["NO_PROXY_SERVER", "figure_inert", "sealed_page", "static_only_fetcher"]

# A port nothing listens on (discard): a request sent through it fails at once.
NO_PROXY_SERVER = "http://127.0.0.1:9"

# Scripts only from local files (plotly.js and kaleido's own), styles inline as Plotly writes
# them, images and fonts only from data: URIs; no fetch, no frame, no form, nothing else.
PAGE_POLICY = (
    "default-src 'none'; script-src file: 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; connect-src 'none'"
)


def sealed_page(plotlyjs: str):
    """kaleido's page generator with the policy above in the page's head."""
    from kaleido._page_generator import PageGenerator

    class SealedPage(PageGenerator):
        header = PageGenerator.header.replace(
            "<head>", f'<head>\n<meta http-equiv="Content-Security-Policy" content="{PAGE_POLICY}">'
        )

    return SealedPage(plotly=plotlyjs, mathjax=False)


def _static_roots() -> list[Path]:
    roots = [Path(settings.STATIC_ROOT), *(Path(d) for d in settings.STATICFILES_DIRS)]
    return [root.resolve() for root in roots]


def static_only_fetcher():
    """WeasyPrint's fetcher, refusing every URL but data: URIs and files under the app's
    static folders (a refused image or stylesheet is left out, with WeasyPrint's warning).
    Built on call: WeasyPrint is imported only where a PDF is made, as reviews/pdf.py does."""
    from weasyprint.urls import URLFetcher

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                if any(path.is_relative_to(root) for root in _static_roots()):
                    return super().fetch(url, headers)
            raise ValueError(f"The PDF loads only the portal's own static files, not {url[:100]}")

    return StaticOnlyFetcher()
