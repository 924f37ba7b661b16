"""Text in a Plotly figure is text: the one rule every renderer of our charts gets its figures
through (plotly.js on the dashboard and review pages, kaleido's Chromium for the PDF).

Plotly reads pseudo-HTML in any label, title or hover text (`<span style=…>`, `<a href=…>`,
`<br>`) and copies it onto the SVG it draws; a ticket category holding
`<span style="background-image:url(http://…)">` made the PDF worker's Chromium fetch that
address. So every string of a figure is escaped before a renderer sees it: Plotly then draws
`<` as a character. Our own figures use no markup (kpis/dashboard/charts.py), so escaping
every string changes only text that came from tickets, contracts or reviews. Figures are
stored raw (a published review keeps them as built) and escaped on their way out, once. Pure
module.
"""

from __future__ import annotations


def text_inert(text: str) -> str:
    """Text that Plotly (or any HTML renderer) shows as characters, never as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def figure_inert(value):
    """A copy of a Plotly figure (or a list or dict of them) with every string escaped, under
    whatever key it is: labels, titles, names, hover text, category values."""
    if isinstance(value, str):
        return text_inert(value)
    if isinstance(value, dict):
        return {key: figure_inert(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [figure_inert(item) for item in value]
    return value
