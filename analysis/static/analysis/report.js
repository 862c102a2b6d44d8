// The report's "Print / save as PDF" button: the browser's print dialog, where "Save as PDF" is a
// destination. No inline script (CSP).
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (!button) return;
  button.addEventListener("click", function () { window.print(); });
})();
