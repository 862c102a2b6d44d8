// Keeps the dashboard live: polls the tiny status endpoint and, when a new snapshot has
// landed, swaps in the new numbers without reloading the page. No inline script (CSP).
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) return;
  var statusUrl = root.dataset.statusUrl;
  var panelUrl = root.dataset.panelUrl;
  var statusEl = document.getElementById("refresh-status");
  var panel = document.getElementById("dashboard-panel");
  var POLL_MS = 2000;
  var busy = false;

  var select = document.querySelector("[data-autosubmit]");
  if (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  }

  function describe(status) {
    var when = status.computed_at ? "Numbers computed at " + status.computed_at.replace("T", " ").slice(0, 19) + " UTC. " : "No statistics have been computed yet. ";
    var states = {
      refreshing: "Refreshing…",
      stale: "Stale: data changed since; a refresh is on its way.",
      failed: "The last refresh failed" + (status.last_error ? " (" + status.last_error + ")" : "") + "; showing the last good numbers.",
      never: "Waiting for the first refresh.",
      fresh: "Up to date."
    };
    return when + (states[status.status] || "");
  }

  function showStatus(status) {
    statusEl.className = "refresh-status status-" + status.status;
    statusEl.textContent = describe(status);
    root.dataset.state = status.status;
  }

  function poll() {
    if (busy) return;
    busy = true;
    // X-Background: a request nobody asked for; it does not count as activity, so an unattended
    // dashboard still reaches the idle timeout (and is sent to the login page).
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json", "X-Background": "1" } })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.redirected) { window.location.reload(); throw new Error("signed out"); }
        if (!r.ok) throw new Error("status " + r.status);
        return r.json();
      })
      .then(function (status) {
        if (status.version && status.version !== root.dataset.version) {
          statusEl.classList.add("status-refreshing");
          return fetch(panelUrl, { credentials: "same-origin", headers: { "X-Background": "1" } })
            .then(function (r) { if (!r.ok) throw new Error("panel " + r.status); return r.text(); })
            .then(function (html) {
              panel.innerHTML = html;
              root.dataset.version = status.version;
              showStatus(status);
            });
        }
        showStatus(status);
      })
      .catch(function () {
        statusEl.classList.add("status-unreachable");
      })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, POLL_MS);
})();
