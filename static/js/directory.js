// Directory filters, progressive enhancement: choosing a CPV division or group reloads
// the page at once so the next level's choices appear. Without JavaScript the
// "Apply filters" button does the same.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosubmit]");
  if (!form) { return; }
  form.querySelectorAll(".no-js-only").forEach(function (node) { node.hidden = true; });
  ["division", "group"].forEach(function (name) {
    var select = form.querySelector("select[name=" + name + "]");
    if (!select) { return; }
    select.addEventListener("change", function () {
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });
})();
