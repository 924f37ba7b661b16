// Draws the dashboard's charts from the JSON the page embeds (json_script): no inline script,
// no network. Each chart has a table alternative in the page itself.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof Plotly === "undefined") return;
    var data = JSON.parse(source.textContent);
    var config = { responsive: true, displaylogo: false };
    var percent = function (values) {
      return values.map(function (v) { return v === null ? null : v * 100; });
    };
    var layout = function (extra) {
      return Object.assign({
        margin: { t: 10, r: 10, b: 40, l: 50 }, height: 300,
        legend: { orientation: "h", y: -0.2 }, font: { family: "system-ui, sans-serif" },
      }, extra);
    };
    var p = data.priority;
    var shapes = [];
    if (data.target !== null) {
      shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: data.target * 100,
                    y1: data.target * 100, line: { dash: "dash", color: "#b42318" } });
    }
    Plotly.newPlot("chart-priority", [
      { type: "bar", name: "Response", x: p.priorities, y: percent(p.response) },
      { type: "bar", name: "Resolution", x: p.priorities, y: percent(p.resolution) },
    ], layout({ yaxis: { title: "% within target", range: [0, 100] }, shapes: shapes }), config);
    var t = data.trend;
    Plotly.newPlot("chart-volume", [
      { type: "scatter", mode: "lines+markers", name: "Created", x: t.months, y: t.created },
      { type: "scatter", mode: "lines+markers", name: "Resolved", x: t.months, y: t.resolved },
      { type: "scatter", mode: "lines", name: "Open at month end", x: t.months, y: t.backlog,
        line: { dash: "dot" } },
    ], layout({ yaxis: { title: "tickets" } }), config);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
