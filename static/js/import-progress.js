// Polls the import's status while it runs and fills the progress bar; reloads once it ends so the
// problems table appears. No inline script: the page passes the URL in a data attribute.
(function () {
  "use strict";
  const box = document.getElementById("progress");
  if (!box || box.dataset.finished === "true") return;
  const bar = document.getElementById("progress-bar");
  const fields = box.querySelectorAll("[data-field]");

  function show(data) {
    fields.forEach(function (el) {
      const value = data[el.dataset.field];
      if (value !== undefined && value !== null) el.textContent = value;
    });
    if (data.total) {
      bar.max = data.total;
      bar.value = data.finished ? data.total : data.done;
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        show(data);
        // An import that stopped to ask about an overlap shows its question after the reload.
        if (data.finished || data.status === "overlap") window.location.reload();
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
