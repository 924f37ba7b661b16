"""plotly.js for the dashboards, straight from the plotly wheel (the same version the PDFs' charts
are drawn with), as /static/vendor/plotly/plotly.min.js. Only that file: the wheel's folder also
holds a 5 MB widget bundle and sample datasets that no page uses."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PREFIX = "vendor/plotly"
NAME = "plotly.min.js"


def _source() -> Path:
    return Path(importlib.util.find_spec("plotly").origin).parent / "package_data" / NAME


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=str(_source().parent))
        self.storage.prefix = PREFIX  # where collectstatic puts what list() yields

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        if path == f"{PREFIX}/{NAME}" and _source().exists():
            return [str(_source())] if find_all else str(_source())
        return []  # what Django's own finders answer for "not here", whatever find_all says

    def list(self, ignore_patterns):
        if _source().exists():
            yield NAME, self.storage
