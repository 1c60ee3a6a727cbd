// gitexp ui: keeps the report's views current. The server pushes server-sent events:
// "data" when recorded experiments changed (this page fetches /api/data again) and
// "live" with the rows of the running experiments, which replace the page's own.
(function () {
  "use strict";
  var R = window.gitexpReport;
  var version = R.data().ui ? R.data().ui.version : 0;
  var fetching = false, waiting = null;
  var badge = document.getElementById("live");

  function mark(name, value) { document.body.setAttribute("data-" + name, String(value)); }

  function showProblem(text) {
    var box = document.getElementById("problem");
    box.hidden = !text;
    box.textContent = text ? "Not up to date: " + text : "";
  }

  function fetchData() {
    if (fetching) return;
    fetching = true;
    fetch("/api/data", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.json();
      })
      .then(function (data) {
        fetching = false;
        version = data.ui.version;
        R.reload(data, false);
        mark("version", version);
        if (waiting && waiting.version === version) applyLive(waiting);
        waiting = null;
      })
      .catch(function (error) { fetching = false; showProblem(String(error)); });
  }

  function applyLive(live) {
    if (live.version !== version) {
      waiting = live;
      fetchData();
      return;
    }
    var D = R.data();
    var next = {};
    Object.keys(D).forEach(function (k) { next[k] = D[k]; });
    ["params", "metrics", "keys", "goals", "best"].forEach(function (k) { next[k] = live[k]; });
    next.rows = D.rows.filter(function (r) { return r.s !== "running"; }).concat(live.rows);
    R.reload(next, true);
    showProblem(live.problem);
    mark("running", live.rows.length);
    mark("live-seen", (+document.body.getAttribute("data-live-seen") || 0) + 1);
  }

  var source = new EventSource("/api/events");
  source.addEventListener("open", function () {
    badge.className = "live";
    badge.textContent = "live";
  });
  source.addEventListener("error", function () {
    badge.className = "live off";
    badge.textContent = "reconnecting…";
  });
  source.addEventListener("data", function (event) {
    if (JSON.parse(event.data).version !== version) fetchData();
  });
  source.addEventListener("live", function (event) { applyLive(JSON.parse(event.data)); });
  mark("version", version);
})();
