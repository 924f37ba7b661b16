// Draws the dashboard's charts from the Plotly figures the page embeds (json_script): no inline
// script, no network, no toolbar (Plotly's offers to share a chart to its cloud, and adds tab
// stops nobody needs). The figures come from kpis/dashboard/charts.py, the same builders the QBR's page and
// PDF use. Each chart has a table alternative in the page itself, whose cells link to the same
// tickets a click on a bar or point opens (the addresses come from `dashboard-links`).
(function () {
  "use strict";
  function json(id) {
    var source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }
  // Only the portal's own ticket lists: a path on this site, never another origin.
  function local(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }
  function linkOf(links, point) {
    var trace = links && links[point.curveNumber];
    if (!trace || !trace.length) return null;
    // A box is one trace per priority with one address; a bar or point has its own.
    var url = trace.length === 1 ? trace[0] : trace[point.pointNumber];
    return local(url) ? url : null;
  }
  function draw() {
    var figures = json("dashboard-data");
    if (!figures || typeof Plotly === "undefined") return;
    var links = json("dashboard-links") || {};
    Object.keys(figures).forEach(function (name) {
      var el = document.getElementById("chart-" + name);
      if (!el) return;
      Plotly.newPlot(el, figures[name].data, figures[name].layout,
                     { responsive: true, displayModeBar: false }).then(function () {
        el.on("plotly_click", function (event) {
          var url = event && event.points && event.points.length && linkOf(links[name], event.points[0]);
          if (url) window.location.assign(url);
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
