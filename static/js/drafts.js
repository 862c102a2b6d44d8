/* Never lose what was typed: every data-entry form (form.record-form) keeps a draft of its
 * entries in this tab's sessionStorage (gone when the tab closes; never sent anywhere).
 * If the page is left, the tab reloads, or a save bounces to the login page because the
 * session ended, the entries come back the next time the same form opens, with a notice
 * and a "Discard" button. A draft is dropped once its save went through. The record's
 * version is never restored, so a stale edit is still refused. No inline script (CSP). */
(function () {
  "use strict";
  var PREFIX = "registry-draft:";
  var SKIP = { csrfmiddlewaretoken: true, version: true };
  var store;
  try { store = window.sessionStorage; } catch (e) { return; }
  if (!store) return;

  function read(key) {
    try { return JSON.parse(store.getItem(key)); } catch (e) { return null; }
  }

  // A draft whose form was submitted from another page is settled unless the save bounced to login.
  var here = window.location.pathname;
  var atLogin = here.indexOf("/login/") === 0;
  for (var i = store.length - 1; i >= 0; i -= 1) {
    var key = store.key(i);
    if (!key || key.indexOf(PREFIX) !== 0) continue;
    var draft = read(key);
    if (!draft || (draft.submitted && key !== PREFIX + here && !atLogin)) store.removeItem(key);
  }

  function fields(form) {
    var values = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.disabled || el.type === "password" || el.type === "file") return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      values.push([el.name, el.value]);
    });
    return values;
  }

  function restore(form, values) {
    var byName = {};
    values.forEach(function (pair) { (byName[pair[0]] = byName[pair[0]] || []).push(pair[1]); });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || !(el.name in byName)) return;
      if (el.type === "radio" || el.type === "checkbox") {
        el.checked = byName[el.name].indexOf(el.value) !== -1;
      } else if (el.tagName === "SELECT" && el.multiple) {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = byName[el.name].indexOf(o.value) !== -1; });
      } else {
        el.value = byName[el.name][0];
      }
    });
    // Let the form's own scripts (running total, PSFS screws, follow-up fields) catch up.
    Array.prototype.forEach.call(form.querySelectorAll("input:checked"), function (el) {
      el.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function notice(form, key, savedAt) {
    var box = document.createElement("div");
    box.className = "alert alert-draft";
    box.setAttribute("role", "status");
    box.setAttribute("data-draft-notice", "");
    var text = document.createElement("span");
    text.textContent = "Restored your unsaved entries from " + new Date(savedAt).toLocaleTimeString() + ". Check them and save. ";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "link-button";
    discard.textContent = "Discard them";
    discard.addEventListener("click", function () {
      store.removeItem(key);
      window.location.reload();
    });
    box.appendChild(text);
    box.appendChild(discard);
    form.parentNode.insertBefore(box, form);
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.record-form"), function (form) {
    var key = PREFIX + here;
    var draft = read(key);
    var serverShowsEntries = !!document.querySelector(".errorlist, .alert-error, .alert-stale");
    if (draft && draft.values && !serverShowsEntries) {
      restore(form, draft.values);
      notice(form, key, draft.savedAt);
    }
    function save(submitted) {
      try {
        store.setItem(key, JSON.stringify({ values: fields(form), savedAt: Date.now(), submitted: submitted }));
      } catch (e) { /* storage full or refused: the form still works */ }
    }
    if (draft && draft.submitted) save(false); // the save came back here (errors): keep drafting
    form.addEventListener("input", function () { save(false); });
    form.addEventListener("change", function () { save(false); });
    form.addEventListener("submit", function () { save(true); });
  });
})();
