/* Progressive enhancement of the data-entry forms. Every form works without this file:
 * the server validates and totals everything. No inline script: hooks are data- attributes. */
(function () {
  "use strict";

  // --- MSTS running total -------------------------------------------------------------
  // The maximum total and the number of domains come from the page, which renders them from the
  // server's one definition of the score.
  function mstsTotal(form) {
    var output = form.querySelector("[data-msts-total]");
    if (!output) return;
    var max = Number(output.getAttribute("data-msts-max"));
    var count = Number(output.getAttribute("data-msts-domains"));
    if (!max || !count) return;  // leave the server's text as it is
    var domains = {};
    form.querySelectorAll("input[data-msts-domain]").forEach(function (input) {
      var name = input.getAttribute("data-msts-domain");
      if (!(name in domains)) domains[name] = null;
      // A score of 0 is a score: only the "not scored" choice (empty value) leaves a domain open.
      if (input.checked && input.value !== "") domains[name] = Number(input.value);
    });
    var names = Object.keys(domains);
    var scored = names.filter(function (name) { return domains[name] !== null; });
    if (scored.length === count) {
      var total = scored.reduce(function (sum, name) { return sum + domains[name]; }, 0);
      var percent = (Math.round((total / max) * 1000) / 10).toFixed(1);
      output.textContent = "Total: " + total + " / " + max + " (" + percent + "%)";
    } else {
      output.textContent = "Total: not defined (" + scored.length + " of " + count + " domains scored)";
    }
  }

  // --- Narcotic change: follow-ups only ------------------------------------------------------
  function kindToggle(form) {
    var block = form.querySelector("[data-followup-only]");
    if (!block) return;
    var checked = form.querySelector("input[data-encounter-kind]:checked");
    var followup = !checked || checked.value === "followup";
    block.hidden = !followup;
    block.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !followup; });
  }

  // --- Screws: PSFS only, with rows added on demand --------------------------------------------
  function treatmentToggle(form) {
    var screws = form.querySelector("[data-screws]");
    if (!screws) return;
    var checked = form.querySelector("input[data-treatment]:checked");
    var withScrews = !!checked && checked.value === screws.getAttribute("data-screws-for");
    screws.hidden = !withScrews;
    // A disabled fieldset sends none of its rows, so a sacroplasty is saved without screws.
    screws.disabled = !withScrews;
  }

  function renumber(form) {
    form.querySelectorAll("[data-screw-row]").forEach(function (row, index) {
      var cell = row.querySelector("[data-screw-number]");
      if (cell) cell.textContent = String(index + 1);
    });
  }

  function addScrew(form) {
    var template = form.querySelector("template[data-screw-template]");
    var total = form.querySelector("input[name$='-TOTAL_FORMS']");
    var body = form.querySelector("[data-screw-rows]");
    if (!template || !total || !body) return;
    var index = Number(total.value);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var row = holder.querySelector("tr");
    body.appendChild(row);
    total.value = String(index + 1);
    renumber(form);
    var first = row.querySelector("select, input");
    if (first) first.focus();
  }

  // --- MSTS radio groups: arrow keys step through the scores 0-5 and stop at either end -------
  // A browser's radio group wraps around: from 5 into "not scored", from "not scored" round to 0,
  // so a key held too long changes a score unseen. Here the arrows move between neighbouring scores
  // and stop at 0 and 5; from "not scored" the backward arrow reaches 5 (its neighbour on the page),
  // Home and End go to 0 and 5, and Delete or Backspace sets the domain back to "not scored".
  function mstsKeydown(form, event) {
    var input = event.target;
    if (!input.matches("input[data-msts-domain]")) return;
    var group = Array.prototype.slice.call(form.querySelectorAll("input[data-msts-domain]")).filter(function (r) {
      return r.name === input.name;
    });
    var scores = group.filter(function (r) { return r.value !== ""; });
    var unscored = group.filter(function (r) { return r.value === ""; })[0];
    var key = event.key;
    var forward = key === "ArrowRight" || key === "ArrowDown";
    var backward = key === "ArrowLeft" || key === "ArrowUp";
    var next = null;
    if (key === "Home") next = scores[0];
    else if (key === "End") next = scores[scores.length - 1];
    else if (key === "Delete" || key === "Backspace") next = unscored || null;
    else if (input.value === "") next = backward ? scores[scores.length - 1] : (forward ? input : null);
    else if (forward || backward) {
      var at = scores.indexOf(input) + (forward ? 1 : -1);
      next = scores[Math.max(0, Math.min(at, scores.length - 1))];
    }
    if (!next) return;
    event.preventDefault();
    if (next === input) return;
    next.checked = true;
    next.focus();
    next.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function enhance(form) {
    if (form.matches("[data-encounter-form]")) {
      form.addEventListener("change", function (event) {
        if (event.target.matches("input[data-msts-domain]")) mstsTotal(form);
        if (event.target.matches("input[data-encounter-kind]")) kindToggle(form);
      });
      form.addEventListener("keydown", function (event) { mstsKeydown(form, event); });
      mstsTotal(form);
      kindToggle(form);
    }
    if (form.matches("[data-procedure-form]")) {
      form.addEventListener("change", function (event) {
        if (event.target.matches("input[data-treatment]")) treatmentToggle(form);
      });
      var add = form.querySelector("[data-add-screw]");
      if (add) {
        add.hidden = false;
        add.addEventListener("click", function () { addScrew(form); });
      }
      treatmentToggle(form);
    }
  }

  document.querySelectorAll("form[data-encounter-form], form[data-procedure-form]").forEach(enhance);

  // --- Free text that a spreadsheet would run as a formula: the server's warning, live ----------
  // The rule (first character, plain numbers excepted) and the words come from the page.
  function formulaWarning(input) {
    var start = new RegExp("^" + input.getAttribute("data-formula-start"));
    var number = new RegExp("^(?:" + input.getAttribute("data-plain-number") + ")$");
    var id = input.id + "_formula";
    input.addEventListener("input", function () {
      var flagged = start.test(input.value) && !number.test(input.value);
      var note = document.getElementById(id);
      if (flagged && !note) {
        note = document.createElement("p");
        note.className = "alert alert-stale formula-warning";
        note.id = id;
        note.textContent = input.getAttribute("data-formula-warning");
        input.insertAdjacentElement("afterend", note);
      }
      if (note) note.hidden = !flagged;
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (name) {
        return name && name !== id;
      });
      if (flagged) described.push(id);
      if (described.length) input.setAttribute("aria-describedby", described.join(" "));
      else input.removeAttribute("aria-describedby");
    });
  }

  document.querySelectorAll("[data-formula-warning]").forEach(formulaWarning);
})();
