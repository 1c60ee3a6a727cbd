// gitexp report: renders the table, the parallel-coordinates chart, the series of the
// selected experiments and a side-by-side diff from the JSON blob in #data.
(function () {
  "use strict";
  // Stages of the first drawing, in milliseconds from the page's start (tests and the
  // benchmark print them): script, parsed, decoded, table, painted, then parcoords and
  // plotly and series once they are drawn.
  var TIMES = window.gitexpTimes = { script: performance.now() };
  var D = JSON.parse(document.getElementById("data").textContent);
  TIMES.parsed = performance.now();
  if (window.gitexpDecode) D = window.gitexpDecode(D);  // the live page sends columns
  TIMES.decoded = performance.now();
  var PALETTE = ["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951",
    "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e", "#9498a0"];
  // WebGL charts drawn at the screen's own pixel ratio: plotly.js draws them at 2 by
  // default, four times the pixels a common screen shows, which a browser without a
  // GPU pays for in full.
  var CONFIG = { responsive: true, displaylogo: false,
    plotGlPixelRatio: Math.min(2, Math.max(1, Math.round(window.devicePixelRatio || 1))) };
  var FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
    size: 12, color: "#1f2328" };
  var rows = D.rows;
  // Per metrics column, which way is better ({dir: "max"|"min", by}) or null: a metric
  // with no known goal is never ranked.
  var GOALS = D.goals;
  // view: the rows the table shows; base: those the filter lets through, before the
  // ranges kept on the chart's axes (brush), which the chart draws.
  var state = { sort: null, dir: 1, view: [], base: [], selected: [], metric: -1, charts: false, best: [],
    brush: {} };

  // ---- values -------------------------------------------------------------------
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") {
      if (Number.isInteger(v)) return String(v);
      var a = Math.abs(v);
      return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? v.toExponential(3) : String(+v.toPrecision(5));
    }
    if (typeof v === "boolean") return v ? "true" : "false";
    return String(v);
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function shortTime(t) { return t ? t.replace("T", " ").replace("Z", "").slice(0, 16) : ""; }
  function better(goal) { return (goal.dir === "max" ? "higher" : "lower") + " is better"; }
  function goalWords(goal) {
    return better(goal) + " (by " + (goal.by === "gitexp.yaml" ? "goals: in gitexp.yaml" : "its name") + ")";
  }
  function beats(goal, a, b) { return goal.dir === "max" ? a > b : a < b; }

  var columns, haystack, filled;
  function buildColumns() {
    columns = [
      { label: "Experiment", group: "exp", get: function (r) { return r.n; }, cls: "name" },
      { label: "Status", group: "exp", get: function (r) { return r.s; } },
      { label: "Created", group: "exp", get: function (r) { return r.t; }, show: shortTime },
      { label: "Branch", group: "exp", get: function (r) { return r.b; } },
      { label: "Tags", group: "exp", cls: "tags", get: function (r) { return r.tg && r.tg.length ? r.tg.join(" ") : null; } }
    ];
    // Metrics come before params: they are what a reader compares first, and a wide
    // params section would push them off the screen.
    D.metrics.forEach(function (label, i) {
      columns.push({ label: label, group: "metrics", first: i === 0, goal: GOALS[i], metric: i,
        get: function (r) { return r.m[i]; } });
    });
    D.params.forEach(function (label, i) {
      columns.push({ label: label, group: "params", first: i === 0,
        get: function (r) { return r.p[i]; } });
    });
    // A page may hide columns (the live UI's column chooser): window.gitexpHidden holds
    // "group:label" keys; the first shown column of a group draws the group's border.
    var hidden = window.gitexpHidden || {};
    columns = columns.filter(function (c) { return c.group === "exp" && c.cls === "name" || !hidden[c.group + ":" + c.label]; });
    var firsts = {};
    columns.forEach(function (c) { c.first = c.group !== "exp" && !firsts[c.group]; firsts[c.group] = true; });
    haystack = [];
    filled = 0;
  }
  // The text each row is searched in, made only when a text filter needs it (or while
  // the page is idle): at 10,000 experiments it is a tenth of a second the table need
  // not wait for.
  function hay(i) {
    var text = haystack[i];
    if (text === undefined) {
      var r = rows[i];
      text = haystack[i] = columns.map(function (c) { return fmt(c.get(r)); }).join("\u0001").toLowerCase();
    }
    return text;
  }
  function fillHaystack(deadline) {
    while (filled < rows.length && deadline.timeRemaining() > 2) hay(filled++);
    if (filled < rows.length) requestIdleCallback(fillHaystack);
  }
  buildColumns();

  // ---- header and cards -----------------------------------------------------------
  function header() {
    document.getElementById("title").textContent = D.title;
    var failed = rows.filter(function (r) { return r.s !== "success" && r.s !== "running"; }).length;
    var sub = "Generated " + shortTime(D.generated) + " UTC";
    if (D.branches.length) sub += " · branches " + D.branches.join(", ");
    document.getElementById("subtitle").textContent = sub;
    var cards = [[rows.length, "experiments"], [failed, "failed"], [D.params.length, "params"],
      [D.metrics.length, "metrics"]];
    document.getElementById("cards").innerHTML = cards.map(function (c) {
      return '<div class="card"><b>' + c[0] + "</b><span>" + c[1] + "</span></div>";
    }).join("") + '<div class="card" id="series-card"><b></b><span></span></div>';
    seriesCard();
    if (GOALS.some(function (g) { return g; })) {
      document.getElementById("legend").innerHTML = '<span class="best">Bold green</span>: the best ' +
        "value of each metric among the successful experiments shown; " +
        '<span class="goal">↑</span> higher is better, <span class="goal">↓</span> lower is better ' +
        "(goals: in gitexp.yaml, else the metric's name). A metric with neither is not ranked.";
    }
  }

  // The series card. A report holds every experiment's series, so it counts their keys.
  // The live UI's page data (it carries ``ui``) holds only the running experiments'
  // series: a recorded experiment's are fetched when it is ticked (ui.js marks its row
  // ``xl`` once they came), so the page counts the series of the ticked experiments, and
  // says so, rather than claim there are none.
  function seriesPending(r) { return !!D.ui && !r.lv && !r.xl; }
  function seriesCard() {
    var card = document.getElementById("series-card");
    if (!card) return;
    var value = D.keys.length, words = "series";
    if (D.ui) {
      var chosen = state.selected.map(function (i) { return rows[i]; }), keys = {};
      chosen.forEach(function (r) { Object.keys(r.x).forEach(function (k) { keys[k] = 1; }); });
      value = !chosen.length ? "–" : chosen.some(seriesPending) ? "…" : Object.keys(keys).length;
      words = !chosen.length ? "series: tick a row" : chosen.some(seriesPending)
        ? "series loading" : "series of " + chosen.length + " ticked";
    }
    card.querySelector("b").textContent = value;
    card.querySelector("span").textContent = words;
    card.title = D.ui ? "Series are read for the experiments ticked in the table." : "";
  }

  // ---- table ----------------------------------------------------------------------
  function renderHead() {
    var count = function (group) { return columns.filter(function (c) { return c.group === group; }).length; };
    var groups = [["exp", "", count("exp")], ["metrics", "metrics", count("metrics")],
      ["params", "params", count("params")]];
    var top = "<tr class=\"groups\"><th></th>" + groups.filter(function (g) { return g[2]; })
      .map(function (g) {
        return '<th colspan="' + g[2] + '" class="' + (g[0] !== "exp" ? "first-" + g[0] : "") + '">' +
          g[1] + "</th>";
      }).join("") + "</tr>";
    var cols = "<tr class=\"cols\"><th></th>" + columns.map(function (c, i) {
      var sorted = state.sort === i;
      var cls = (sorted ? "sorted " : "") + (c.first ? "first-" + c.group : "");
      var goal = c.goal ? '<span class="goal" title="' + esc(goalWords(c.goal)) + '">' +
        (c.goal.dir === "max" ? "↑" : "↓") + "</span>" : "";
      return '<th data-col="' + i + '" data-label="' + esc(c.label) + '" class="' + cls +
        '" title="sort by ' + esc(c.label) + '">' + esc(c.label) + goal +
        (sorted ? '<span class="arrow">' + (state.dir > 0 ? "▲" : "▼") + "</span>" : "") + "</th>";
    }).join("") + "</tr>";
    // The column names are drawn again; the pinned rows under them stay unless they change.
    var head = document.querySelector("#table thead");
    Array.prototype.forEach.call(head.querySelectorAll("tr.groups, tr.cols"), function (tr) { tr.remove(); });
    head.insertAdjacentHTML("afterbegin", top + cols);
  }

  // Only the rows in and near the scrolled window are in the page; spacer rows keep the
  // scroll height, so thousands of experiments cost what forty do.
  var ROW_HEIGHT = 26, BUFFER = 30;
  var drawn = { first: -1, last: -1, measured: false };

  // One experiment's cells: the tick box, then a cell per column.
  function rowCells(r, sel, tickWords) {
    var cells = columns.map(function (c) {
      var v = c.get(r);
      var text = c.show ? c.show(v) : fmt(v);
      var best = c.goal && isBest(r, c.metric);
      var cls = [c.cls || "", c.first ? "first-" + c.group : "",
        isNum(v) ? "num" : "", v === null || v === undefined ? "none" : "",
        c.label === "Status" ? "status-" + v : "", best ? "best" : ""].join(" ").trim();
      var dot = (c.cls === "name" && sel) ? '<span class="dot" style="background:' + sel + '"></span>' : "";
      return "<td" + (cls ? ' class="' + cls + '"' : "") +
        (best ? ' title="best: ' + esc(goalWords(c.goal)) + '"' : "") + ">" + dot + esc(text) + "</td>";
    });
    return '<td><input type="checkbox"' + (sel ? " checked" : "") + ' aria-label="' + tickWords + " " +
      esc(r.n) + '"></td>' + cells.join("");
  }

  function renderBody(force) {
    var wrap = document.getElementById("table-wrap");
    var visible = Math.ceil((wrap.clientHeight || 460) / ROW_HEIGHT);
    var first = Math.floor(wrap.scrollTop / ROW_HEIGHT) - BUFFER;
    first = Math.max(0, Math.min(first, state.view.length - visible - BUFFER));
    var last = Math.min(state.view.length, first + visible + 2 * BUFFER);
    if (!force && first === drawn.first && last === drawn.last) return;
    if (force) renderPinned();
    drawn = { first: first, last: last, measured: drawn.measured };
    var html = [];
    var colour = selectionColours();
    var span = columns.length + 1;
    if (first > 0) html.push('<tr class="spacer"><td colspan="' + span + '" style="height:' + first * ROW_HEIGHT + 'px"></td></tr>');
    for (var at = first; at < last; at++) {
      var index = state.view[at];
      var sel = colour[index];
      html.push('<tr data-i="' + index + '"' + (sel ? ' class="selected"' : "") + ">" +
        rowCells(rows[index], sel, "select") + "</tr>");
    }
    var rest = state.view.length - last;
    if (rest > 0) html.push('<tr class="spacer"><td colspan="' + span + '" style="height:' + rest * ROW_HEIGHT + 'px"></td></tr>');
    document.querySelector("#table tbody").innerHTML = html.join("");
    var sample = document.querySelector("#table tbody tr[data-i]");
    if (sample && !drawn.measured) {
      drawn.measured = true;
      var height = sample.getBoundingClientRect().height;
      if (height && Math.abs(height - ROW_HEIGHT) > 0.1) { ROW_HEIGHT = height; renderBody(true); return; }
    }
    drawn.measured = drawn.measured || !!sample;
    document.getElementById("table").setAttribute("data-rows", state.view.length);
    document.getElementById("count").textContent = state.view.length === rows.length
      ? rows.length + " experiments" : state.view.length + " of " + rows.length + " experiments";
  }

  // The ticked experiments, pinned under the column names (which stay on top while the
  // table scrolls), in the order they were ticked: among 10,000 rows, the ones being
  // compared are found at once, whatever the sort, the filter or the scroll. Each row
  // also stays in its place in the table; one ticked but hidden by the filter is shown
  // faded. A table short enough to show every row pins only the ticked it hides. Past
  // PINNED rows, a last line counts the others and offers "ticked only", which shows
  // the ticked experiments alone in the table.
  var PINNED = 5, HEAD_HEIGHT = 60;
  // Whether the table's rows overflow its box (a table that shows them all needs no pins).
  var boxHeight = 0;
  function scrolls() {
    if (!boxHeight) boxHeight = parseFloat(getComputedStyle(document.getElementById("table-wrap")).maxHeight) || 460;
    return state.view.length * ROW_HEIGHT > boxHeight - HEAD_HEIGHT;
  }
  var pinnedHtml = "";
  function renderPinned() {
    var html = pinnedRows();
    if (html === pinnedHtml) return;  // a sort keeps them as they are: nothing to draw
    pinnedHtml = html;
    var head = document.querySelector("#table thead");
    Array.prototype.forEach.call(head.querySelectorAll("tr.pinned"), function (tr) { tr.remove(); });
    head.insertAdjacentHTML("beforeend", html);
  }
  function pinnedRows() {
    var only = document.getElementById("only-ticked");
    if (!state.selected.length || (only && only.checked)) return "";
    var out = function (index) { return state.view.indexOf(index) < 0; };
    var pinned = scrolls() ? state.selected : state.selected.filter(out);
    var colour = selectionColours(), html = [];
    var shown = pinned.slice(0, PINNED);
    shown.forEach(function (index, n) {
      var hidden = out(index);
      html.push('<tr class="pinned' + (hidden ? " out" : "") + (n === shown.length - 1 ? " last" : "") +
        '" data-pin="' + index + '"' + (hidden ? ' title="ticked, hidden by the filter"' : "") + ">" +
        rowCells(rows[index], colour[index], "untick") + "</tr>");
    });
    var more = pinned.length - shown.length;
    if (more > 0) {
      html.push('<tr class="pinned last more"><td></td><td colspan="' + columns.length + '">and ' + more +
        " more ticked · " + '<button type="button" class="link" id="show-ticked">show the ' +
        state.selected.length + " ticked only</button></td></tr>");
    }
    return html.join("");
  }

  // The best value of each metric with a goal among the successful rows in view, by the
  // rule of gitexp/report/best.py (which computes D.best over every row): failed,
  // interrupted, crashed or running experiments never count; ties are all best.
  function bestInView(view) {
    return GOALS.map(function (goal, m) {
      if (!goal) return null;
      var top = null;
      for (var k = 0; k < view.length; k++) {
        var r = rows[view[k]], v = r.m[m];
        if (r.s === "success" && isNum(v) && (top === null || beats(goal, v, top))) top = v;
      }
      return top;
    });
  }
  function isBest(r, m) {
    var top = state.best[m];
    return top !== null && top !== undefined && r.s === "success" && r.m[m] === top;
  }

  // Numbers before strings; the caller puts missing values last in either direction.
  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "number") return -1;
    if (typeof b === "number") return 1;
    var x = String(a), y = String(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  var EXPR = /^\s*([^<>=!]+?)\s*(==|!=|<=|>=|=|<|>)\s*(.+?)\s*$/;
  function columnOf(key) {
    var col = -1;
    columns.forEach(function (c, i) {
      if (c.label === key || c.label.toLowerCase() === key.toLowerCase()) col = i;
    });
    return col;
  }
  // Why a filter that reads as an expression matched nothing, when that is likely a
  // slip rather than the answer: a key that names no column (then the text was
  // searched instead; the columns it may mean are named), or a column of numbers
  // compared with something that is not a number (acc>>0.9).
  function filterProblem(text, isExpr) {
    var m = EXPR.exec(text);
    if (!m) return "";
    var key = m[1], lower = key.toLowerCase();
    if (!isExpr) {
      var near = columns.filter(function (c) { return c.label.toLowerCase().indexOf(lower) >= 0; })
        .map(function (c) { return c.label; }).slice(0, 3);
      return "No column is named " + key + (near.length ? ": did you mean " + near.join(", ") + "?"
        : ", so the text was searched instead.");
    }
    var col = columnOf(key), raw = m[3];
    if (col < 0 || (raw !== "" && !isNaN(Number(raw)))) return "";
    var numeric = rows.some(function (r) { return isNum(columns[col].get(r)); });
    return numeric ? raw + " is not a number: " + columns[col].label + " holds numbers (e.g. " +
      columns[col].label + ">0.5)." : "";
  }

  function parseFilter(text) {
    var m = EXPR.exec(text);
    if (!m) return null;
    if (m[1].toLowerCase() === "tag" && (m[2] === "==" || m[2] === "=" || m[2] === "!=")) {
      var want = m[3], has = m[2] !== "!=";  // tag==best, as `gitexp show --filter` reads it
      return function (r) { return (r.tg.indexOf(want) >= 0) === has; };
    }
    var col = columnOf(m[1]);
    if (col < 0) return null;
    var raw = m[3], num = Number(raw);
    var value = raw !== "" && !isNaN(num) ? num : raw === "true" ? true : raw === "false" ? false : raw;
    var op = m[2] === "=" ? "==" : m[2];
    return function (r) {
      var v = columns[col].get(r);
      if (v === null || v === undefined) return false;
      if (typeof v !== typeof value) return op === "!=" ? String(v) !== String(value) : false;
      switch (op) {
        case "==": return v === value;
        case "!=": return v !== value;
        case "<": return v < value;
        case "<=": return v <= value;
        case ">": return v > value;
        default: return v >= value;
      }
    };
  }

  function applyView() {
    var text = document.getElementById("filter").value;
    var expr = parseFilter(text);
    document.getElementById("filter").classList.toggle("expr", !!expr);
    var needle = text.trim().toLowerCase();
    var base = [], view = [], ranged = Object.keys(state.brush).length > 0;
    for (var i = 0; i < rows.length; i++) {
      if (!(expr ? expr(rows[i]) : (!needle || hay(i).indexOf(needle) >= 0))) continue;
      base.push(i);
      if (!ranged || inBrush(rows[i])) view.push(i);
    }
    state.base = base;
    var only = document.getElementById("only-ticked");
    if (only && only.checked) {
      var ticked = {};
      state.selected.forEach(function (k) { ticked[k] = true; });
      view = view.filter(function (k) { return ticked[k]; });
    }
    // Unsorted, the runs going on (rows from their journals, ``lv``) come first: the
    // recorded ones are newest first and the running ones newer still, and at 10,000
    // experiments rows at the end would never be seen.
    if (state.sort === null && view.some(function (i) { return rows[i].lv; })) {
      view = view.filter(function (i) { return rows[i].lv; })
        .concat(view.filter(function (i) { return !rows[i].lv; }));
    }
    if (state.sort !== null) {
      var col = columns[state.sort];
      view.sort(function (i, j) {
        var a = col.get(rows[i]), b = col.get(rows[j]);
        var an = a === null || a === undefined, bn = b === null || b === undefined;
        if (an || bn) return (an - bn) || i - j;
        return compare(a, b) * state.dir || i - j;
      });
    }
    state.view = view;
    state.best = bestInView(view);
    var problem = view.length ? "" : filterProblem(text, !!expr);
    var said = document.getElementById("filter-problem");
    if (said) { said.hidden = !problem; said.textContent = problem; }
    renderHead();
    renderBody(true);
  }

  // ---- selection --------------------------------------------------------------------
  function selectionColours() {
    var colour = {};
    state.selected.forEach(function (index, n) { colour[index] = PALETTE[n % PALETTE.length]; });
    return colour;
  }
  // The table after the ticks changed: with "ticked only", which rows it shows too.
  function ticksChanged() {
    var only = document.getElementById("only-ticked");
    if (only && only.checked) applyView(); else renderBody(true);
    pickWhy();
  }

  // Why the page opened on the experiments it ticked (report/best.py picks them: the
  // best by its goal, and a run of the same commit that reports the same metric with
  // the fewest params changed), said while they are what is ticked; and what differs
  // between the two besides their params, where the page can see it: metrics one of
  // them does not report (a run of another command, most likely), their code.
  function pickWhy() {
    var box = document.getElementById("pick-why");
    var pick = D.pick || [];
    var same = pick.length > 0 && pick.length === state.selected.length &&
      pick.every(function (i, n) { return state.selected[n] === i; });
    box.hidden = !same;
    if (!same) { box.innerHTML = ""; return; }
    var a = rows[pick[0]], b = pick.length > 1 ? rows[pick[1]] : null;
    var by = -1;
    GOALS.forEach(function (goal, m) {
      if (!goal || (D.best[m] || []).indexOf(pick[0]) < 0) return;
      if (by < 0 || (goal.by === "gitexp.yaml" && GOALS[by].by !== "gitexp.yaml")) by = m;
    });
    var name = function (r) { return "<b>" + esc(r.n) + "</b>"; };
    if (by < 0) {
      box.innerHTML = "Opened on " + name(a) + ", the newest successful experiment: no metric has a goal " +
        "to find the best by (declare one under goals: in gitexp.yaml).";
      return;
    }
    var best = "the best by " + esc(D.metrics[by]) + " (" + better(GOALS[by]) + ")";
    if (!b) {
      box.innerHTML = "Opened on " + name(a) + ", " + best + ". No other successful run of the same " +
        "commit reports " + esc(D.metrics[by]) + ", so it is shown alone: tick another to compare.";
      return;
    }
    var words = "Opened on " + name(a) + ", " + best + ", against " + name(b) +
      ", a run of the same commit with the fewest params changed.";
    var missing = function (x, y) {
      return D.metrics.filter(function (_, m) { return isNum(x.m[m]) && (y.m[m] === null || y.m[m] === undefined); });
    };
    [[a, b], [b, a]].forEach(function (pair) {
      var gone = missing(pair[0], pair[1]);
      if (gone.length) {
        words += " " + esc(pair[1].n) + " reports no " + gone.map(esc).join(", ") +
          " that " + esc(pair[0].n) + " does: it may be a run of another command.";
      }
    });
    // A pointer file (PATH.gitexp) stands for data or an output, not code: a model
    // trained with other params differs, as it should.
    var code = (D.paths || []).filter(function (path, k) {
      return a.f[k] !== undefined && a.f[k] !== b.f[k] && !/\.gitexp$/.test(path);
    });
    if (code.length) words += " Their code differs in " + code.map(esc).join(", ") + ".";
    box.innerHTML = words;
  }

  function toggle(index) {
    var at = state.selected.indexOf(index);
    if (at >= 0) state.selected.splice(at, 1); else state.selected.push(index);
    ticksChanged();
    highlightChart();
    renderSeries();
    renderDiff();
    renderImages();
    document.dispatchEvent(new CustomEvent("gitexp-select"));
  }

  // ---- parallel coordinates -------------------------------------------------------------
  function metricChoices() {
    var select = document.getElementById("metric");
    var options = [];
    D.metrics.forEach(function (label, i) {
      if (rows.some(function (r) { return isNum(r.m[i]); })) options.push([i, label]);
    });
    select.innerHTML = options.map(function (o) {
      var goal = GOALS[o[0]];
      return '<option value="' + o[0] + '">' + esc(o[1]) + (goal ? " (" + better(goal) + ")" : "") +
        "</option>";
    }).join("");
    // Colour by the first metric that has a goal: its colours then mean better or worse.
    var ranked = options.filter(function (o) { return GOALS[o[0]]; });
    state.metric = ranked.length ? ranked[0][0] : options.length ? options[0][0] : -1;
    select.value = String(state.metric);
    select.parentNode.style.display = options.length ? "" : "none";
  }

  // One axis: numbers as they are (booleans as 0 and 1), or up to 40 names in order.
  function dimension(label, values, get) {
    var numeric = values.every(function (v) { return isNum(v) || typeof v === "boolean"; });
    if (numeric) {
      return { label: label, get: get, values: values.map(function (v) { return +v; }) };
    }
    var texts = values.map(fmt), seen = Object.create(null), names = [];
    for (var k = 0; k < texts.length && names.length <= 40; k++) {
      if (!(texts[k] in seen)) { seen[texts[k]] = 1; names.push(texts[k]); }
    }
    if (names.length > 40) return null;
    names.sort();
    names.forEach(function (t, k) { seen[t] = k; });
    return { label: label, get: get, values: texts.map(function (t) { return seen[t]; }), ticktext: names };
  }

  // The ranges kept on the chart's axes ({label: {lo, hi} or {names}}) filter the table
  // as an expression does; an experiment without the metric charted is not in the chart,
  // so not inside any range.
  var chart = null, brushGet = {};
  function inBrush(r) {
    for (var label in state.brush) {
      var range = state.brush[label], get = brushGet[label];
      if (!get) continue;
      var v = get(r);
      if (v === null || v === undefined) return false;
      if (range.names ? range.names.indexOf(fmt(v)) < 0 : !(+v >= range.lo && +v <= range.hi)) return false;
    }
    return !Object.keys(state.brush).length || isNum(r.m[state.metric]);
  }
  function rangeWords(range) {
    if (range.names) return range.names.join(", ") || "nothing";
    if (range.lo === -Infinity) return "≤ " + fmt(+range.hi.toPrecision(4));
    if (range.hi === Infinity) return "≥ " + fmt(+range.lo.toPrecision(4));
    return fmt(+range.lo.toPrecision(4)) + " – " + fmt(+range.hi.toPrecision(4));
  }
  function showRanges() {
    var box = document.getElementById("parcoords-ranges");
    var labels = Object.keys(state.brush);
    box.hidden = !labels.length;
    box.innerHTML = labels.length ? "Kept on the axes: " + labels.map(function (label) {
      return "<b>" + esc(label) + "</b> " + esc(rangeWords(state.brush[label]));
    }).join(" · ") + ' — the table shows only what is inside every range. <button type="button" ' +
      'class="link" id="clear-ranges">Clear the ranges</button>' : "";
  }
  function brushed(ranges) {
    state.brush = ranges;
    showRanges();
    applyView();
  }

  var parcoordsDone = false;
  function renderParcoords() {
    clearTimeout(timer);  // a redraw asked for while typing is this one
    timer = null;
    var box = document.getElementById("parcoords");
    var m = state.metric;
    var chosen = state.base.filter(function (i) { return m >= 0 && isNum(rows[i].m[m]); });
    if (!chosen.length) {
      if (chart) { chart.destroy(); chart = null; }
      box.innerHTML = '<p class="empty">' + (m < 0 ? "No numeric metric to chart." :
        "No experiment in view has this metric.") + "</p>";
      chartDrawn();
      return;
    }
    var dims = [];
    brushGet = {};
    D.params.forEach(function (label, i) {
      var values = chosen.map(function (r) { return rows[r].p[i]; });
      var first = values[0], same = values.every(function (v) { return v === first; });
      if (same && D.params.length > 1) return;  // an axis with one value says nothing
      var dim = dimension(label, values, function (r) { return r.p[i]; });
      if (dim) dims.push(dim);
    });
    var metricValues = chosen.map(function (r) { return rows[r].m[m]; });
    dims.push({ label: D.metrics[m], values: metricValues, get: function (r) { return r.m[m]; } });
    dims.forEach(function (d) { brushGet[d.label] = d.get; });
    Object.keys(state.brush).forEach(function (label) { if (!brushGet[label]) delete state.brush[label]; });
    // Viridis runs dark to yellow, reversed for a metric where lower is better: the
    // better experiments are yellow whichever way their metric goes.
    var goal = GOALS[m];
    if (!chart) chart = window.gitexpParcoords(box);
    chart.draw({
      dims: dims, ids: chosen, brush: state.brush, onBrush: brushed, onDrawn: chartDrawn, onPick: toggle,
      describe: function (i) { return rows[i].n + " · " + D.metrics[m] + " " + fmt(rows[i].m[m]); },
      colour: { values: metricValues, reverse: !!goal && goal.dir === "min",
        title: goal ? [D.metrics[m], better(goal)] : [D.metrics[m]] }
    });
    highlightChart();
    showRanges();
  }
  function highlightChart() {
    if (!chart) return;
    var colour = selectionColours();
    chart.highlight(state.selected.map(function (i) { return { id: i, colour: colour[i] }; }));
  }

  // ---- series -------------------------------------------------------------------------
  // Charts are kept by series key and redrawn in place (Plotly.react), so a live page
  // whose running experiments log every second redraws lines, not charts.
  function renderSeries() {
    seriesCard();
    if (!state.charts) return;
    var holder = document.getElementById("series");
    var keys = [];
    state.selected.forEach(function (index) {
      Object.keys(rows[index].x).forEach(function (k) { if (keys.indexOf(+k) < 0) keys.push(+k); });
    });
    keys.sort(function (a, b) { return a - b; });
    var wanted = keys.map(function (k) { return D.keys[k]; });
    Array.prototype.forEach.call(holder.querySelectorAll(".chart"), function (div) {
      if (wanted.indexOf(div.getAttribute("data-key")) < 0) { Plotly.purge(div); div.remove(); }
    });
    Array.prototype.forEach.call(holder.querySelectorAll(".empty"), function (p) { p.remove(); });
    if (!keys.length) {
      var pending = state.selected.some(function (i) { return seriesPending(rows[i]); });
      holder.innerHTML = '<p class="empty">' + (pending ? "Reading the series of the ticked experiments…"
        : state.selected.length ? "The selected experiments logged no series."
        : "Tick experiments in the table to overlay their series.") + "</p>";
      return;
    }
    var colour = selectionColours();
    keys.forEach(function (k, position) {
      var traces = state.selected.filter(function (i) { return rows[i].x[k]; }).map(function (i) {
        var line = rows[i].x[k];
        return { type: "scatter", mode: line[0].length <= 30 ? "lines+markers" : "lines",
          name: rows[i].n, x: line[0], y: line[1], line: { color: colour[i], width: 2 },
          marker: { size: 5 }, hovertemplate: rows[i].n + "<br>step %{x}<br>%{y:.6g}<extra></extra>" };
      });
      var steps = [].concat.apply([], traces.map(function (t) { return t.x; }));
      var whole = steps.every(function (x) { return Number.isInteger(x); });
      var span = Math.max.apply(null, steps) - Math.min.apply(null, steps);
      var div = holder.querySelector('.chart[data-key="' + CSS.escape(D.keys[k]) + '"]');
      if (!div) {
        div = document.createElement("div");
        div.className = "chart";
        div.setAttribute("data-key", D.keys[k]);
      }
      if (holder.children[position] !== div) holder.insertBefore(div, holder.children[position] || null);
      // The legend sits at the chart's bottom edge, below room kept for the x axis, so
      // it never covers the axis however many experiments are ticked (figures.py does
      // the same for `gitexp plots`).
      var legendRoom = traces.length > 1 ? 24 * Math.ceil(traces.length / 2) : 0;
      Plotly.react(div, traces, {
        title: { text: D.keys[k], x: 0.01, xanchor: "left", font: { size: 14 } }, font: FONT,
        xaxis: { title: { text: "step" }, gridcolor: "#eaeef2", zeroline: false,
          dtick: whole && span <= 12 ? 1 : undefined },
        yaxis: { gridcolor: "#eaeef2", zeroline: false }, height: 40 + 240 + 60 + legendRoom,
        margin: { l: 56, r: 16, t: 40, b: 60 + legendRoom },
        legend: { orientation: "h", x: 0, xanchor: "left", y: 0, yanchor: "bottom", yref: "container" },
        showlegend: traces.length > 1, paper_bgcolor: "#fff", plot_bgcolor: "#fff"
      }, CONFIG);
    });
  }

  // ---- diff -----------------------------------------------------------------------------
  function sideCard(tag, r, colour) {
    return '<div class="side"><div class="tag"><span class="dot" style="background:' + colour + '"></span>' +
      tag + '</div><div class="nm">' + esc(r.n) + chips(r) + '</div><div><span class="status-' + esc(r.s) + '">' +
      esc(r.s) + "</span> · " + esc(shortTime(r.t)) + (r.c ? " · <code>" + esc(r.c.slice(0, 10)) + "</code>" : "") +
      (r.b ? " · " + esc(r.b) : "") + "</div>" + (r.nt ? '<p class="note">' + esc(r.nt) + "</p>" : "") +
      "</div>";
  }
  function chips(r) {
    return r.tg.map(function (t) { return ' <span class="chip">' + esc(t) + "</span>"; }).join("");
  }

  // withChange: metrics, whose change from A to B is coloured by the metric's goal.
  function kvTable(title, labels, a, b, withChange) {
    var only = document.getElementById("only-changed").checked;
    var lines = [];
    labels.forEach(function (label, i) {
      var x = a[i], y = b[i];
      var same = fmt(x) === fmt(y);
      if (only && same) return;
      var change = "", verdict = "";
      if (withChange && isNum(x) && isNum(y) && !same) {
        change = (y - x > 0 ? "+" : "") + fmt(y - x);
        var goal = GOALS[i];
        verdict = !goal || x === y ? "" : beats(goal, y, x) ? "better" : "worse";
      }
      var changeCell = verdict ? '<td class="' + verdict + '" title="B is ' + verdict + ": " +
        esc(goalWords(GOALS[i])) + '">' : "<td>";
      lines.push("<tr" + (same ? "" : ' class="changed"') + "><td>" + esc(label) + '</td><td class="v">' +
        esc(fmt(x)) + '</td><td class="v">' + esc(fmt(y)) + "</td>" +
        (withChange ? changeCell + esc(change) + "</td>" : "") + "</tr>");
    });
    if (!lines.length) return "<h3>" + title + '</h3><p class="empty">' +
      (labels.length ? "No differences." : "None recorded.") + "</p>";
    return "<h3>" + title + '</h3><table class="kv"><thead><tr><th>key</th><th>A</th><th>B</th>' +
      (withChange ? "<th>change</th>" : "") + "</tr></thead><tbody>" + lines.join("") + "</tbody></table>";
  }

  function renderDiff() {
    var box = document.getElementById("diff");
    if (state.selected.length < 2) {
      box.innerHTML = '<p class="empty">Tick two experiments in the table to see them side by side ' +
        "(the first two ticked are compared).</p>";
      return;
    }
    var colour = selectionColours();
    var a = rows[state.selected[0]], b = rows[state.selected[1]];
    var html = '<div class="sides">' + sideCard("A", a, colour[state.selected[0]]) +
      sideCard("B", b, colour[state.selected[1]]) + "</div>";
    html += kvTable("Params", D.params, a.p, b.p, false);
    html += kvTable("Metrics", D.metrics, a.m, b.m, true);
    html += "<h3>Code</h3>" + codeDiff(a, b);
    box.innerHTML = html;
  }

  function codeDiff(a, b) {
    // The live page reads the code files of the experiments compared when they are ticked.
    if (D.detailsPending) return '<p class="empty">Reading their code files…</p>';
    if (a.lv || b.lv) return '<p class="empty">A run going on has no record yet: its code is compared once it ends.</p>';
    var parts = [];
    D.paths.forEach(function (path, i) {
      var x = a.f[i], y = b.f[i];
      if (x === y) return;
      var status = x < 0 ? "added" : y < 0 ? "deleted" : "modified";
      var left = x < 0 ? "" : D.blobs[x], right = y < 0 ? "" : D.blobs[y];
      var body = left === null || right === null
        ? '<p class="empty">The text of this file is not in the report (binary or too large).</p>'
        : sideBySide(left, right);
      parts.push('<details class="file"' + (parts.length < 4 ? " open" : "") + "><summary>" + esc(path) +
        '<span class="st st-' + status + '">' + status + "</span></summary>" + body + "</details>");
    });
    return parts.length ? parts.join("") : '<p class="empty">The code is the same.</p>';
  }

  function splitLines(text) {
    if (!text) return [];
    var lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines;
  }

  // Line diff: common prefix and suffix, then a longest-common-subsequence table on the rest.
  function diffLines(a, b) {
    var start = 0, endA = a.length, endB = b.length;
    while (start < endA && start < endB && a[start] === b[start]) start++;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
    var ops = [];
    var i;
    for (i = 0; i < start; i++) ops.push(["=", i, i]);
    var n = endA - start, m = endB - start;
    if (n * m > 4000000) {
      for (i = start; i < endA; i++) ops.push(["-", i, -1]);
      for (i = start; i < endB; i++) ops.push(["+", -1, i]);
    } else {
      var width = m + 1, table = new Uint32Array((n + 1) * (m + 1));
      for (var p = n - 1; p >= 0; p--) {
        for (var q = m - 1; q >= 0; q--) {
          table[p * width + q] = a[start + p] === b[start + q] ? table[(p + 1) * width + q + 1] + 1
            : Math.max(table[(p + 1) * width + q], table[p * width + q + 1]);
        }
      }
      var x = 0, y = 0;
      while (x < n && y < m) {
        if (a[start + x] === b[start + y]) { ops.push(["=", start + x, start + y]); x++; y++; }
        else if (table[(x + 1) * width + y] >= table[x * width + y + 1]) { ops.push(["-", start + x, -1]); x++; }
        else { ops.push(["+", -1, start + y]); y++; }
      }
      for (; x < n; x++) ops.push(["-", start + x, -1]);
      for (; y < m; y++) ops.push(["+", -1, start + y]);
    }
    for (i = 0; i < a.length - endA; i++) ops.push(["=", endA + i, endB + i]);
    return ops;
  }

  function sideBySide(leftText, rightText) {
    var a = splitLines(leftText), b = splitLines(rightText);
    var ops = diffLines(a, b);
    var rowsOut = [];
    var k = 0;
    while (k < ops.length) {
      if (ops[k][0] === "=") {
        var run = k;
        while (run < ops.length && ops[run][0] === "=") run++;
        var keepHead = k === 0 ? 0 : 3, keepTail = run === ops.length ? 0 : 3;
        for (var e = k; e < run; e++) {
          if (run - k > keepHead + keepTail + 2 && e === k + keepHead) {
            rowsOut.push('<tr class="gap"><td colspan="4">⋯ ' + (run - k - keepHead - keepTail) +
              " unchanged lines</td></tr>");
            e = run - keepTail - 1;
            continue;
          }
          rowsOut.push(codeRow(ops[e][1], a[ops[e][1]], "", ops[e][2], b[ops[e][2]], ""));
        }
        k = run;
      } else {
        var dels = [], adds = [];
        while (k < ops.length && ops[k][0] !== "=") {
          if (ops[k][0] === "-") dels.push(ops[k][1]); else adds.push(ops[k][2]);
          k++;
        }
        for (var j = 0; j < Math.max(dels.length, adds.length); j++) {
          var l = j < dels.length ? dels[j] : -1, r = j < adds.length ? adds[j] : -1;
          rowsOut.push(codeRow(l, l >= 0 ? a[l] : "", l >= 0 ? "del" : "", r, r >= 0 ? b[r] : "",
            r >= 0 ? "add" : ""));
        }
      }
    }
    return '<table class="code"><colgroup><col style="width:44px"><col><col style="width:44px"><col>' +
      "</colgroup><tbody>" + rowsOut.join("") + "</tbody></table>";
  }

  function codeRow(ln, left, lcls, rn, right, rcls) {
    return '<tr><td class="ln ' + lcls + '">' + (ln >= 0 ? ln + 1 : "") + '</td><td class="' + lcls + '">' +
      esc(left) + '</td><td class="ln mid ' + rcls + '">' + (rn >= 0 ? rn + 1 : "") + '</td><td class="' +
      rcls + '">' + esc(right) + "</td></tr>";
  }

  // ---- images ---------------------------------------------------------------------------
  // Each image key of the first two selected experiments: a step slider, and the image
  // each of them logged at that step (or the last one before it), side by side.
  function renderImages() {
    var holder = document.getElementById("images");
    var chosen = state.selected.slice(0, 2);
    var keys = [];
    chosen.forEach(function (i) {
      Object.keys(rows[i].im).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); });
    });
    document.getElementById("images-panel").style.display = D.images.length ? "" : "none";
    if (!keys.length) {
      holder.innerHTML = '<p class="empty">' + (chosen.length ? "The selected experiments logged no images."
        : "Tick experiments in the table to see their images.") + "</p>";
      return;
    }
    var colour = selectionColours();
    holder.innerHTML = keys.map(function (key, n) {
      var steps = [];
      chosen.forEach(function (i) {
        (rows[i].im[key] || []).forEach(function (f, at) {
          var s = f[0] === null ? at : f[0];
          if (steps.indexOf(s) < 0) steps.push(s);
        });
      });
      steps.sort(function (a, b) { return a - b; });
      var slider = steps.length > 1 ? '<input type="range" class="step" min="0" max="' + (steps.length - 1) +
        '" value="' + (steps.length - 1) + '" data-key="' + n + '" aria-label="step of ' + esc(key) + '">' : "";
      return '<div class="image-key" data-key="' + esc(key) + '" data-n="' + n + '"><div class="image-head"><b>' +
        esc(key) + "</b>" + slider + '<span class="step-label"></span></div><div class="frames">' +
        chosen.map(function (i, side) {
          return '<figure data-row="' + i + '"><img alt=""><figcaption><span class="dot" style="background:' +
            colour[i] + '"></span>' + (side ? "B" : "A") + " · " + esc(rows[i].n) + ' <span class="at"></span>' +
            "</figcaption></figure>";
        }).join("") + "</div></div>";
    }).join("");
    keys.forEach(function (key, n) { showStep(key, n, null); });
  }

  function framesAt(r, key) {
    // An image logged without a step is placed by the order it was logged in.
    return (r.im[key] || []).map(function (f, at) { return [f[0] === null ? at : f[0], f[1], f[0]]; });
  }

  function showStep(key, n, position) {
    var box = document.querySelector('#images .image-key[data-n="' + n + '"]');
    var steps = [];
    state.selected.slice(0, 2).forEach(function (i) {
      framesAt(rows[i], key).forEach(function (f) { if (steps.indexOf(f[0]) < 0) steps.push(f[0]); });
    });
    steps.sort(function (a, b) { return a - b; });
    var step = steps[position === null ? steps.length - 1 : position];
    box.querySelector(".step-label").textContent = steps.length > 1 ? "step " + step : "";
    Array.prototype.forEach.call(box.querySelectorAll("figure"), function (fig) {
      var frames = framesAt(rows[+fig.getAttribute("data-row")], key);
      var shown = null;
      frames.forEach(function (f) { if (f[0] <= step) shown = f; });
      var img = fig.querySelector("img");
      var uri = shown ? D.images[shown[1]] : null;
      if (uri) { img.src = uri; img.style.display = ""; } else { img.removeAttribute("src"); img.style.display = "none"; }
      var where = !shown || shown[2] === null ? "" : "step " + shown[0];
      fig.querySelector(".at").textContent = !shown ? "(none at this step)" : uri ? where
        : where + " (not in the report: not in the cache, or too large)";
      fig.setAttribute("data-step", shown ? shown[0] : "");
    });
  }

  // ---- wiring ---------------------------------------------------------------------------
  // The parallel coordinates draw a slice of their lines per frame, so they never hold
  // the page for long; still, they start (and are laid out again after typing in the
  // filter) only once the page has been left alone for a moment, so the first clicks
  // on a fresh table get the page to themselves.
  var timer = null, quiet = 0, CHART_QUIET_MS = 250, FIRST_QUIET_MS = 600;
  function chartLater(ms) {
    clearTimeout(timer);
    quiet = ms || CHART_QUIET_MS;
    timer = setTimeout(function () { timer = null; renderParcoords(); }, quiet);
  }
  ["pointerdown", "keydown", "wheel"].forEach(function (name) {
    window.addEventListener(name, function () { if (timer !== null) chartLater(quiet); }, true);
  });
  function refilter() {
    applyView();
    chartLater();
  }

  // window.gitexpTimes: milliseconds from the page's start to each stage (tests print
  // them); body[data-ready] once the series and the parallel coordinates are drawn.
  var seriesDone = false;
  function chartDrawn() {
    if (!parcoordsDone) TIMES.parcoords = performance.now();
    parcoordsDone = true;
    ready();
  }
  function ready() {
    if (!seriesDone || !parcoordsDone || document.body.hasAttribute("data-ready")) return;
    document.body.setAttribute("data-ready", "1");
    window.gitexpReadyAt = performance.now();
    if (window.requestIdleCallback) requestIdleCallback(fillHaystack);
  }

  // The table needs no chart library, so it is drawn before plotly.js is parsed;
  // gitexpCharts() runs after it, from the script that follows plotly.js.
  function init() {
    header();
    metricChoices();
    // The best experiment by its goal and the run it is compared against (report/best.py).
    state.selected = (D.pick || []).slice();
    pickWhy();
    seriesCard();
    applyView();
    renderDiff();
    renderImages();
    document.getElementById("images").addEventListener("input", function (event) {
      if (!event.target.classList.contains("step")) return;
      var box = event.target.closest(".image-key");
      showStep(box.getAttribute("data-key"), +box.getAttribute("data-n"), +event.target.value);
    });
    document.body.setAttribute("data-table-ready", "1");
    window.gitexpTableAt = TIMES.table = performance.now();
    paintedAt();
    chartLater(FIRST_QUIET_MS);
    document.getElementById("parcoords-panel").addEventListener("click", function (event) {
      if (event.target.id !== "clear-ranges") return;
      state.brush = {};
      if (chart) chart.setRanges({});
      showRanges();
      applyView();
    });
    document.getElementById("filter").addEventListener("input", refilter);
    document.getElementById("only-ticked").addEventListener("change", applyView);
    document.querySelector("#table thead").addEventListener("click", function (event) {
      var pinned = event.target.closest("tr[data-pin]");
      if (pinned) { toggle(+pinned.getAttribute("data-pin")); return; }
      if (event.target.id === "show-ticked") {
        document.getElementById("only-ticked").checked = true;
        applyView();
        return;
      }
      var th = event.target.closest("th[data-col]");
      if (!th) return;
      var col = +th.getAttribute("data-col");
      // A metric with a goal sorts best first; a second click reverses.
      var goal = columns[col].goal;
      state.dir = state.sort === col ? -state.dir : goal && goal.dir === "max" ? -1 : 1;
      state.sort = col;
      applyView();
    });
    document.querySelector("#table tbody").addEventListener("click", function (event) {
      var tr = event.target.closest("tr[data-i]");
      if (tr) toggle(+tr.getAttribute("data-i"));
    });
    document.getElementById("metric").addEventListener("change", function (event) {
      state.metric = +event.target.value;
      renderParcoords();
    });
    document.getElementById("only-changed").addEventListener("change", renderDiff);
    var pending = false;
    document.getElementById("table-wrap").addEventListener("scroll", function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; renderBody(false); });
    });
    document.getElementById("clear").addEventListener("click", function () {
      state.selected = [];
      ticksChanged();
      highlightChart();
      renderSeries();
      renderDiff();
      renderImages();
    });
  }

  // When the browser painted the count above the table (the Element Timing API; where
  // it is missing, the frame after the table).
  function paintedAt() {
    var seen = function (at) { if (!TIMES.painted) TIMES.painted = at; };
    if (window.PerformanceObserver && PerformanceObserver.supportedEntryTypes.indexOf("element") >= 0) {
      new PerformanceObserver(function (list, observer) {
        list.getEntries().forEach(function (e) { if (e.identifier === "count") seen(e.renderTime || e.loadTime); });
        observer.disconnect();
      }).observe({ type: "element", buffered: true });
    } else {
      requestAnimationFrame(function () { setTimeout(function () { seen(performance.now()); }, 0); });
    }
  }

  // gitexpCharts() runs once plotly.js is there: the series charts need it. They are
  // drawn in a task of their own, after the one that ran plotly.js (each holds the page
  // for a while without a GPU; a click can come in between).
  window.gitexpCharts = function () {
    TIMES.plotly = performance.now();
    setTimeout(function () {
      state.charts = true;
      renderSeries();
      TIMES.series = performance.now();
      seriesDone = true;
      ready();
    }, 0);
  };

  // The live page (gitexp ui) hands newer data to the same views: the table keeps its
  // sort, filter and scroll, the selection follows the experiments by name, and
  // ``live`` updates (values of running experiments) skip redrawing the charts that
  // do not show them.
  window.gitexpReport = {
    data: function () { return D; },
    selected: function () { return state.selected.map(function (i) { return rows[i].n; }); },
    redraw: function () { renderSeries(); renderDiff(); renderImages(); pickWhy(); },
    select: function (names) {
      var at = {};
      rows.forEach(function (r, i) { at[r.n] = i; });
      state.selected = names.filter(function (n) { return n in at; }).map(function (n) { return at[n]; });
      ticksChanged();
      highlightChart();
      renderSeries();
      renderDiff();
      renderImages();
      document.dispatchEvent(new CustomEvent("gitexp-select"));
    },
    reload: function (data, live) {
      var names = this.selected();
      var running = function () {
        return state.selected.some(function (i) { return rows[i].s === "running" || rows[i].lv; });
      };
      var touched = !live || running();
      var metric = D.metrics[state.metric], sortLabel = state.sort === null ? null : columns[state.sort].label;
      D = data; rows = D.rows; GOALS = D.goals;
      buildColumns();
      var at = {};
      rows.forEach(function (r, i) { at[r.n] = i; });
      state.selected = names.filter(function (n) { return n in at; }).map(function (n) { return at[n]; });
      state.sort = null;
      columns.forEach(function (c, i) { if (c.label === sortLabel) state.sort = i; });
      header();
      metricChoices();
      pickWhy();
      if (metric !== undefined && D.metrics.indexOf(metric) >= 0) {
        state.metric = D.metrics.indexOf(metric);
        document.getElementById("metric").value = String(state.metric);
      }
      applyView();
      if (touched || running()) {
        renderSeries();
        renderDiff();
        renderImages();
      }
      if (!live) chartLater(); else highlightChart();
      document.dispatchEvent(new CustomEvent("gitexp-reload"));
    }
  };

  init();
})();
