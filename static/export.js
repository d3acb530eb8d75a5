// graphauth export progress: polls /notes/exports/{id}/status once a second and updates the
// figures; when the export ends it reloads, so the server draws the download button (or the
// error). The page works without it: it says where it stands when it is loaded.
(function () {
  "use strict";
  var root = document.getElementById("export");
  if (!root || root.getAttribute("data-status") !== "running") { return; }
  var url = root.getAttribute("data-status-url");

  function set(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { setTimeout(poll, 3000); return; }
        if (s.status !== "running") { window.location.reload(); return; }
        var bar = document.getElementById("export-progress");
        if (bar) { bar.value = s.percent; bar.textContent = s.percent + "%"; }
        set("export-name", s.name);
        set("export-pages-done", s.pagesDone);
        set("export-pages-total", s.pages);
        set("export-images", s.images);
        set("export-attachments", s.attachments);
        set("export-current", s.current);
        set("export-time-left", s.timeLeft || "estimating");
        set("export-status", s.phase === "listing" ? "Running: listing the pages." :
          s.phase === "saving" ? "Running: saving the zip." : "Running.");
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
