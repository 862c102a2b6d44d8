// Import page: while the job's check or import runs, polls its status and shows the rows read;
// reloads the page when the job is done, so it shows the report.
(function () {
  "use strict";
  var status = document.querySelector("[data-import-status]");
  if (!status || status.getAttribute("data-import-done") === "true") {
    return;
  }
  var rows = status.querySelector("[data-import-rows]");
  function poll() {
    fetch(status.getAttribute("data-import-status"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.done) {
          window.location.reload();
          return;
        }
        if (rows) {
          rows.textContent = String(state.rows);
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
