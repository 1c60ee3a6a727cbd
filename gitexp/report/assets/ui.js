// gitexp ui: keeps the report's views current. The server pushes server-sent events:
// "data" when recorded experiments changed (this page fetches /api/data again) and
// "live" with the rows of the running experiments, which replace the page's own.
(function () {
  "use strict";
  var R = window.gitexpReport;
  var version = R.data().ui ? R.data().ui.version : 0;
  var fetching = false, waiting = null;
  var shownLive = false;  // whether the page shows rows of runs not recorded yet
  var badge = document.getElementById("live");

  function mark(name, value) { document.body.setAttribute("data-" + name, String(value)); }

  function showProblem(text) {
    var box = document.getElementById("problem");
    box.hidden = !text;
    box.textContent = text ? "Not up to date: " + text : "";
  }

  // ---- series of recorded experiments: fetched for the experiments shown ----------------
  // The page data carries no series for recorded experiments (at 10,000 experiments
  // they would be most of it); they are asked for when ticked, and kept by commit.
  var seriesCache = {}, asking = false;
  function fillSeries(data) {
    data.rows.forEach(function (r) {
      if (r.lv) return;  // a running (or crashed, unrecorded) run: its series come live
      var cached = seriesCache[r.n + "@" + r.c];
      if (!cached) return;
      var x = {};
      Object.keys(cached).forEach(function (key) {
        var at = data.keys.indexOf(key);
        if (at < 0) { data.keys.push(key); at = data.keys.length - 1; }
        x[at] = cached[key];
      });
      r.x = x;
      r.xl = 1;  // its series are here (the report's series card and chart count on it)
    });
  }
  function loadSeries() {
    var D = R.data(), at = {};
    D.rows.forEach(function (r) { at[r.n] = r; });
    var missing = R.selected().filter(function (n) {
      var r = at[n];
      return r && !r.lv && !seriesCache[r.n + "@" + r.c];
    });
    if (!missing.length || asking) return;
    asking = true;
    var query = missing.map(function (n) { return "n=" + encodeURIComponent(n); }).join("&");
    fetch("/api/series?" + query, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.json();
      })
      .then(function (found) {
        asking = false;
        missing.forEach(function (n) { seriesCache[n + "@" + at[n].c] = found[n] || {}; });
        fillSeries(R.data());
        R.redraw();
        mark("series", Object.keys(seriesCache).length);
        loadSeries();
      })
      .catch(function (error) { asking = false; showProblem(String(error)); });
  }

  // ---- code files and images of the two experiments compared: fetched when ticked ------
  // The page data carries neither (reading every experiment's costs the server seconds
  // at 10,000); the first two recorded experiments ticked are asked for together (their
  // code is diffed against each other), and the answer kept by their names and commits.
  var detailCache = {}, detailAsking = false;
  function pairOf(data) {
    var at = {};
    data.rows.forEach(function (r) { at[r.n] = r; });
    var pair = R.selected().slice(0, 2).map(function (n) { return at[n]; })
      .filter(function (r) { return r && !r.lv; });
    return { rows: pair, key: pair.map(function (r) { return r.n + "@" + r.c; }).join("|") };
  }
  function detailState(pair) { return pair.key + (detailCache[pair.key] ? "+" : "-"); }
  function fillDetails(data) {
    var pair = pairOf(data), found = pair.key ? detailCache[pair.key] : null;
    data.paths = found ? found.paths : [];
    data.blobs = found ? found.blobs : [];
    data.images = found ? found.images : [];
    data.detailsPending = !!pair.key && !found;
    data.detailsFilled = detailState(pair);
    pair.rows.forEach(function (r) {
      r.f = found ? found.files[r.n] || [] : [];
      r.im = found ? found.frames[r.n] || {} : {};
    });
  }
  function loadDetails() {
    var D = R.data(), pair = pairOf(D);
    if (D.detailsFilled !== detailState(pair)) {
      fillDetails(D);
      R.redraw();
    }
    if (!pair.key || detailCache[pair.key] || detailAsking) return;
    detailAsking = true;
    var query = pair.rows.map(function (r) { return "n=" + encodeURIComponent(r.n); }).join("&");
    fetch("/api/details?" + query, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.json();
      })
      .then(function (found) {
        detailAsking = false;
        detailCache[pair.key] = found;
        mark("details", Object.keys(detailCache).length);
        loadDetails();
      })
      .catch(function (error) { detailAsking = false; showProblem(String(error)); });
  }

  function fetchData() {
    if (fetching) return;
    fetching = true;
    fetch("/api/data?form=columns", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.json();
      })
      .then(function (data) {
        fetching = false;
        data = window.gitexpDecode(data);
        version = data.ui.version;
        fillSeries(data);
        fillDetails(data);
        shownLive = data.rows.some(function (r) { return r.lv; });
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
    mark("running", live.rows.length);
    if (!live.rows.length && !shownLive) {  // nothing running, nothing shown: no redrawing
      showProblem(live.problem);
      mark("live-seen", (+document.body.getAttribute("data-live-seen") || 0) + 1);
      return;
    }
    var next = {};
    Object.keys(D).forEach(function (k) { next[k] = D[k]; });
    ["params", "metrics", "keys", "goals", "best"].forEach(function (k) { next[k] = live[k]; });
    next.keys = live.keys.slice();
    // A crashed run shows until a command records it; from then on its record stands
    // for it, even if the server's next live rows still carry it.
    var recorded = {};
    var kept = D.rows.filter(function (r) { if (!r.lv) recorded[r.n] = true; return !r.lv; });
    next.rows = kept.concat(live.rows.filter(function (r) { return r.s === "running" || !recorded[r.n]; }));
    shownLive = next.rows.length > kept.length;
    fillSeries(next);
    fillDetails(next);
    R.reload(next, true);
    showProblem(live.problem);
    mark("live-seen", (+document.body.getAttribute("data-live-seen") || 0) + 1);
  }

  // ---- tags and notes: the page's only writes ------------------------------------------
  var notesShown = null, notesSaid = {};
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function chosenRows() {
    var D = R.data(), at = {};
    D.rows.forEach(function (r) { at[r.n] = r; });
    return R.selected().map(function (n) { return at[n]; })
      .filter(function (r) { return r && !r.lv; }).slice(0, 4);
  }
  // Drawn again only when the experiments or their tags and notes changed, so a note
  // being typed is not wiped by a live update.
  function renderNotes() {
    var chosen = chosenRows();
    var shown = JSON.stringify(chosen.map(function (r) { return [r.n, r.tg, r.nt]; }));
    if (shown === notesShown) return;
    notesShown = shown;
    var box = document.getElementById("notes");
    if (!chosen.length) {
      box.innerHTML = '<p class="empty">Tick a recorded experiment to tag it or write a note.</p>';
      return;
    }
    box.innerHTML = chosen.map(function (r) {
      var chips = (r.tg || []).map(function (t) {
        return '<span class="chip">' + esc(t) + ' <button type="button" class="untag" data-tag="' + esc(t) +
          '" title="remove the tag ' + esc(t) + '">×</button></span>';
      }).join(" ");
      return '<div class="note-card" data-name="' + esc(r.n) + '"><div class="note-head"><b>' + esc(r.n) +
        "</b> " + chips + '</div><form class="add-tag"><input name="tag" placeholder="add a tag" ' +
        'autocomplete="off" spellcheck="false"><button type="submit">Tag</button></form>' +
        '<textarea class="note-text" rows="2" placeholder="a note on this experiment">' + esc(r.nt || "") +
        '</textarea><div><button type="button" class="save-note">Save note</button> ' +
        '<span class="saved">' + esc(notesSaid[r.n] || "") + "</span></div></div>";
    }).join("");
  }

  function edit(card, change) {
    var name = card.getAttribute("data-name");
    var said = { set textContent(text) {
      notesSaid[name] = text;
      var now = document.querySelector('#notes .note-card[data-name="' + CSS.escape(name) + '"] .saved');
      if (now) now.textContent = text;
    } };
    said.textContent = "saving…";
    return fetch("/api/notes/" + encodeURIComponent(name), {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(change)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) throw new Error(answer.message || "the server answered " + response.status);
        said.textContent = "saved";
        notesShown = null;
        return answer;
      });
    }).catch(function (error) { said.textContent = String(error.message || error); });
  }

  var notesBox = document.getElementById("notes");
  notesBox.addEventListener("submit", function (event) {
    event.preventDefault();
    var input = event.target.querySelector("input[name=tag]");
    var tags = input.value.split(/[\s,]+/).filter(function (t) { return t; });
    if (tags.length) edit(event.target.closest(".note-card"), { add: tags }).then(function () { input.value = ""; });
  });
  notesBox.addEventListener("click", function (event) {
    var card = event.target.closest(".note-card");
    if (event.target.classList.contains("untag")) {
      edit(card, { remove: [event.target.getAttribute("data-tag")] });
    } else if (event.target.classList.contains("save-note")) {
      edit(card, { note: card.querySelector(".note-text").value });
    }
  });
  document.addEventListener("gitexp-reload", function () { renderNotes(); loadSeries(); loadDetails(); });
  document.addEventListener("gitexp-select", function () { renderNotes(); loadSeries(); loadDetails(); });
  renderNotes();
  loadSeries();
  loadDetails();

  // ---- column chooser: which columns the table shows, kept in this browser -----------
  var HIDDEN_KEY = "gitexp-ui-hidden:" + location.host + location.pathname;
  try { window.gitexpHidden = JSON.parse(localStorage.getItem(HIDDEN_KEY) || "{}"); } catch (e) { window.gitexpHidden = {}; }
  function renderChooser() {
    var D = R.data(), hidden = window.gitexpHidden;
    var groups = [["exp", ["Status", "Created", "Branch", "Tags"]], ["metrics", D.metrics], ["params", D.params]];
    document.getElementById("chooser-list").innerHTML = groups.map(function (g) {
      return '<div class="chooser-group"><b>' + (g[0] === "exp" ? "experiment" : g[0]) + "</b>" +
        g[1].map(function (label) {
          var key = g[0] + ":" + label;
          return '<label><input type="checkbox" data-key="' + esc(key) + '"' + (hidden[key] ? "" : " checked") +
            "> " + esc(label) + "</label>";
        }).join("") + "</div>";
    }).join("") + '<button type="button" class="link" id="show-all">show all</button>';
  }
  var chooser = document.getElementById("chooser");
  chooser.addEventListener("toggle", function () { if (chooser.open) renderChooser(); });
  chooser.addEventListener("change", function (event) {
    var key = event.target.getAttribute("data-key");
    if (!key) return;
    if (event.target.checked) delete window.gitexpHidden[key]; else window.gitexpHidden[key] = true;
    localStorage.setItem(HIDDEN_KEY, JSON.stringify(window.gitexpHidden));
    R.reload(R.data(), true);
  });
  chooser.addEventListener("click", function (event) {
    if (event.target.id !== "show-all") return;
    window.gitexpHidden = {};
    localStorage.setItem(HIDDEN_KEY, "{}");
    renderChooser();
    R.reload(R.data(), true);
  });
  if (Object.keys(window.gitexpHidden).length) R.reload(R.data(), true);

  // ---- two branches side by side ------------------------------------------------------
  var chosenBranches = {};
  function fmtNum(v) { return typeof v === "number" ? String(+v.toPrecision(5)) : "–"; }
  function branchSummary(D, branch, m, goal) {
    var mine = D.rows.filter(function (r) { return r.b === branch; });
    var ok = mine.filter(function (r) { return r.s === "success" && typeof r.m[m] === "number"; });
    var values = ok.map(function (r) { return r.m[m]; }).sort(function (a, b) { return a - b; });
    var best = null;
    ok.forEach(function (r) {
      if (!best || (goal.dir === "max" ? r.m[m] > best.m[m] : r.m[m] < best.m[m])) best = r;
    });
    return { count: mine.length, failed: mine.filter(function (r) { return r.s !== "success" && r.s !== "running"; }).length,
      best: best, median: values.length ? values[Math.floor((values.length - 1) / 2)] : null };
  }
  function fillSelect(select, options, wanted) {
    select.innerHTML = options.map(function (o) {
      return '<option value="' + esc(o[0]) + '">' + esc(o[1]) + "</option>";
    }).join("");
    if (wanted !== undefined && options.some(function (o) { return String(o[0]) === String(wanted); })) select.value = wanted;
  }
  function renderBranches() {
    var D = R.data();
    var branches = [];
    D.rows.forEach(function (r) { if (r.b && branches.indexOf(r.b) < 0) branches.push(r.b); });
    var ranked = [];
    D.metrics.forEach(function (label, i) { if (D.goals[i]) ranked.push([i, label]); });
    var panel = document.getElementById("branches-panel");
    panel.style.display = branches.length > 1 && ranked.length ? "" : "none";
    if (panel.style.display) return;
    var a = document.getElementById("branch-a"), b = document.getElementById("branch-b");
    var metric = document.getElementById("branch-metric");
    var names = branches.map(function (x) { return [x, x]; });
    fillSelect(a, names, chosenBranches.a || branches[0]);
    fillSelect(b, names, chosenBranches.b || branches[1]);
    fillSelect(metric, ranked, chosenBranches.m === undefined ? ranked[0][0] : chosenBranches.m);
    var m = +metric.value, goal = D.goals[m];
    var sides = [a.value, b.value].map(function (x) { return branchSummary(D, x, m, goal); });
    var line = function (label, get) {
      return "<tr><td>" + label + "</td>" + sides.map(function (s) { return "<td>" + get(s) + "</td>"; }).join("") + "</tr>";
    };
    document.getElementById("branches").innerHTML = '<table class="kv"><thead><tr><th></th><th>A · ' + esc(a.value) +
      "</th><th>B · " + esc(b.value) + "</th></tr></thead><tbody>" +
      line("experiments", function (s) { return s.count; }) +
      line("failed", function (s) { return s.failed; }) +
      line("best " + esc(D.metrics[m]) + " (" + (goal.dir === "max" ? "highest" : "lowest") + ")", function (s) {
        return s.best ? "<b>" + esc(fmtNum(s.best.m[m])) + "</b> " + esc(s.best.n) : "–";
      }) +
      line("median", function (s) { return esc(fmtNum(s.median)); }) + "</tbody></table>";
    panel.setAttribute("data-bests", JSON.stringify(sides.map(function (s) { return s.best ? s.best.n : null; })));
  }
  ["branch-a", "branch-b", "branch-metric"].forEach(function (id, n) {
    document.getElementById(id).addEventListener("change", function (event) {
      chosenBranches[["a", "b", "m"][n]] = event.target.value;
      renderBranches();
    });
  });
  document.getElementById("tick-bests").addEventListener("click", function () {
    var bests = JSON.parse(document.getElementById("branches-panel").getAttribute("data-bests") || "[]");
    R.select(bests.filter(function (n) { return n; }));
  });
  document.addEventListener("gitexp-reload", renderBranches);
  renderBranches();

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
