// Tender deadline countdown: progressive enhancement over server-rendered text.
// The server's clock rules: the page carries the server's "now" and the deadline, and the
// countdown runs from the server's time (corrected for this device's clock), never from the
// device's clock alone. Reaching zero only changes the text: the server decides what is late.
(function () {
  "use strict";
  var box = document.querySelector("[data-countdown]");
  if (!box) { return; }
  var deadline = Date.parse(box.getAttribute("data-deadline"));
  var serverNow = Date.parse(box.getAttribute("data-server-now"));
  if (isNaN(deadline) || isNaN(serverNow)) { return; }
  var offset = serverNow - Date.now(); // add to the device clock to get server time
  var text = box.querySelector("[data-countdown-text]");

  // Print the deadline in this browser's own time zone.
  var when = box.querySelector("[data-local-time]");
  if (when && window.Intl && Intl.DateTimeFormat) {
    try {
      var fmt = new Intl.DateTimeFormat(undefined, {
        weekday: "short", day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit", timeZoneName: "short"
      });
      when.textContent = fmt.format(new Date(deadline));
      when.setAttribute("title", "In your time zone (" +
        Intl.DateTimeFormat().resolvedOptions().timeZone + ")");
    } catch (e) { /* keep the server's text */ }
  }
  if (!text || text.textContent.trim() === "Not published") { return; }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function render() {
    var left = deadline - (Date.now() + offset);
    if (left <= 0) {
      text.textContent = "Deadline passed";
      text.classList.add("is-over");
      return false;
    }
    var s = Math.floor(left / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    text.textContent = d > 0 ? plural(d, "day") + ", " + h + " h " + m + " min left"
      : h > 0 ? h + " h " + m + " min " + sec + " s left"
      : m + " min " + sec + " s left";
    return true;
  }
  if (render()) {
    var timer = window.setInterval(function () {
      if (!render()) { window.clearInterval(timer); }
    }, 1000);
  }
})();
