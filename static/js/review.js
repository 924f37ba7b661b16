// Draws a review's charts from the figures the page embeds (json_script) — the same figures the
// PDF's images are made from — and follows the PDF's progress while a worker makes it.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("review-charts");
    if (!source || typeof Plotly === "undefined") return;
    JSON.parse(source.textContent).forEach(function (chart) {
      var el = document.getElementById("chart-" + chart.id);
      if (el) Plotly.newPlot(el, chart.figure.data, chart.figure.layout,
                             { responsive: true, displayModeBar: false });
    });
  }
  function follow() {
    var box = document.getElementById("pdf");
    var state = document.getElementById("pdf-state");
    if (!box || !state) return;
    var status = state.getAttribute("data-status");
    if (status !== "queued" && status !== "running") return;
    var poll = function () {
      fetch(box.getAttribute("data-status-url"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          state.setAttribute("data-status", s.status);
          state.textContent = "";
          if (s.status === "done") {
            var a = document.createElement("a");
            a.id = "pdf-download"; a.href = s.url;
            a.textContent = "Download the PDF (" + s.pages + " pages)";
            state.appendChild(a);
          } else if (s.status === "failed") {
            state.textContent = "PDF failed: " + s.message;
          } else {
            var bar = document.createElement("progress");
            bar.max = 100; bar.value = s.progress;
            state.appendChild(bar);
            state.appendChild(document.createTextNode(" " + s.phase));
            setTimeout(poll, 1000);
          }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    poll();
  }
  function start() { draw(); follow(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
