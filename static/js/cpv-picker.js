// CPV picker typeahead, progressive enhancement over the plain search-and-add form.
// As you type, matching codes appear under the box, each with its place in the hierarchy
// and an "Add" button that posts the same form the no-JavaScript page uses.
(function () {
  "use strict";
  var form = document.querySelector("[data-cpv-typeahead]");
  if (!form || !window.fetch) { return; }
  var input = form.querySelector("input[name=q]");
  var live = document.querySelector(".cpv-live");
  var csrfTemplate = document.getElementById("cpv-csrf");
  if (!input || !live || !csrfTemplate) { return; }
  var endpoint = form.getAttribute("data-endpoint");
  var addUrl = form.getAttribute("data-add-url");
  var timer = null;
  var latest = 0;

  input.setAttribute("aria-controls", "cpv-suggestions");
  input.setAttribute("aria-autocomplete", "list");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function addForm(result) {
    var f = el("form", "inline-form");
    f.method = "post";
    f.action = addUrl;
    f.appendChild(csrfTemplate.content.cloneNode(true));
    [["code", result.code], ["q", input.value]].forEach(function (pair) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = pair[0];
      hidden.value = pair[1];
      f.appendChild(hidden);
    });
    var button = el("button", "btn btn-small", "Add");
    button.type = "submit";
    button.setAttribute("aria-label", "Add " + result.code + " " + result.label);
    f.appendChild(button);
    return f;
  }

  function render(results, query) {
    live.textContent = "";
    live.hidden = false;
    if (!results.length) {
      live.appendChild(el("p", "muted", "No codes match \u201c" + query + "\u201d."));
      return;
    }
    var list = el("ul", "list cpv-list cpv-suggestions");
    list.id = "cpv-suggestions";
    results.forEach(function (r) {
      var row = el("li", "list-row");
      var text = el("div");
      text.appendChild(el("code", "cpv-code", r.code));
      text.appendChild(document.createTextNode(" "));
      text.appendChild(el("strong", "", r.label));
      text.appendChild(document.createTextNode(" "));
      text.appendChild(el("span", "badge", r.level));
      if (r.path.length) {
        var path = el("ol", "cpv-path");
        r.path.forEach(function (label) { path.appendChild(el("li", "", label)); });
        text.appendChild(path);
      }
      row.appendChild(text);
      row.appendChild(addForm(r));
      list.appendChild(row);
    });
    live.appendChild(el("p", "small muted", results.length + " matching codes"));
    live.appendChild(list);
  }

  function lookup() {
    var query = input.value.trim();
    if (query.length < 2) {
      live.hidden = true;
      live.textContent = "";
      return;
    }
    var ticket = ++latest;
    fetch(endpoint + "?q=" + encodeURIComponent(query), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.json() : { results: [] };
    }).then(function (data) {
      if (ticket === latest) { render(data.results || [], query); }
    }).catch(function () { /* the plain search button still works */ });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(lookup, 200);
  });
})();
