// Draws the dashboard's charts from the Plotly figures the page embeds (json_script): no inline
// script, no network, no toolbar (Plotly's offers to share a chart to its cloud, and adds tab
// stops nobody needs). The figures come from kpis/dashboard/charts.py, the same builders the QBR's page and
// PDF use. Each chart has a table alternative in the page itself.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof Plotly === "undefined") return;
    var figures = JSON.parse(source.textContent);
    Object.keys(figures).forEach(function (name) {
      var el = document.getElementById("chart-" + name);
      if (el) Plotly.newPlot(el, figures[name].data, figures[name].layout,
                             { responsive: true, displayModeBar: false });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
