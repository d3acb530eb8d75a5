// graphauth /token: a live countdown to the access token's expiry, and the "in 59m 30s" and
// "3m 02s ago" beside each time, ticking with it. The page reads fine without it: the server
// already wrote both when it made the page.
(function () {
  "use strict";
  function two(n) { return (n < 10 ? "0" : "") + n; }

  function format(secs) {
    var h = Math.floor(secs / 3600), m = Math.floor(secs / 60) % 60, s = secs % 60;
    return (h > 0 ? h + "h " + two(m) + "m " : m + "m ") + two(s) + "s";
  }

  var countdown = document.getElementById("token-countdown");
  var expires = countdown ? Date.parse(countdown.getAttribute("data-expires")) : NaN;
  var moments = [];
  Array.prototype.forEach.call(document.querySelectorAll(".ago[data-at]"), function (el) {
    var at = Date.parse(el.getAttribute("data-at"));
    if (!isNaN(at)) { moments.push({ el: el, at: at }); }
  });
  if (isNaN(expires) && moments.length === 0) { return; }

  function tick() {
    var now = Date.now();
    moments.forEach(function (m) {
      var d = Math.round((m.at - now) / 1000);
      m.el.textContent = d > 0 ? "in " + format(d) : d < 0 ? format(-d) + " ago" : "now";
    });
    if (isNaN(expires)) { return; }
    var left = Math.round((expires - now) / 1000);
    countdown.textContent = left > 0 ? format(left) : "expired: the next Graph call will refresh it";
  }

  tick();
  setInterval(tick, 1000);
})();
