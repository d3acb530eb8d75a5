// graphauth /token: a live countdown to the access token's expiry. The page reads fine without
// it: the server already wrote the time left when it made the page.
(function () {
  "use strict";
  var el = document.getElementById("token-countdown");
  if (!el) { return; }
  var expires = Date.parse(el.getAttribute("data-expires"));
  if (isNaN(expires)) { return; }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function format(secs) {
    var h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
    return (h > 0 ? h + "h " + two(m) + "m " : m + "m ") + two(s) + "s";
  }

  function tick() {
    var left = Math.round((expires - Date.now()) / 1000);
    if (left <= 0) {
      el.textContent = "expired: the next Graph call will refresh it";
      return false;
    }
    el.textContent = format(left);
    return true;
  }

  if (tick()) {
    var timer = setInterval(function () { if (!tick()) { clearInterval(timer); } }, 1000);
  }
})();
