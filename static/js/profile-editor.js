// Profile editor, progressive enhancement: clicking a suggested tag adds it to the
// comma-separated capabilities field. Without JavaScript the buttons stay disabled and
// people type tags by hand.
(function () {
  "use strict";
  var box = document.querySelector("[data-tag-target]");
  if (!box) { return; }
  var input = document.getElementById(box.getAttribute("data-tag-target"));
  if (!input) { return; }

  function currentTags() {
    return input.value.split(/[,;\n]/).map(function (t) { return t.trim().toLowerCase(); })
      .filter(function (t) { return t.length > 0; });
  }

  function refresh() {
    var have = currentTags();
    box.querySelectorAll("[data-tag]").forEach(function (button) {
      var on = have.indexOf(button.getAttribute("data-tag")) !== -1;
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  box.querySelectorAll("[data-tag]").forEach(function (button) {
    button.disabled = false;
    button.addEventListener("click", function () {
      var tag = button.getAttribute("data-tag");
      var tags = currentTags();
      var at = tags.indexOf(tag);
      if (at === -1) { tags.push(tag); } else { tags.splice(at, 1); }
      input.value = tags.join(", ");
      refresh();
    });
  });
  input.addEventListener("input", refresh);
  refresh();
})();
