// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Ask before destructive actions whose buttons carry data-confirm.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Move focus to the error summary so screen readers announce it.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }

  // The phone menu is a plain <details>; Escape or a tap outside closes it, as people expect
  // of a menu. Without this script it still opens and closes from its toggle.
  var menu = document.querySelector("details.nav-toggle");
  var nav = document.querySelector(".site-nav");
  if (menu && nav) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target) && !nav.contains(event.target)) {
        menu.open = false;
      }
    });
  }
})();
