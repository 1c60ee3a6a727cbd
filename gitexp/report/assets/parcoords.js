// gitexp's parallel coordinates: an axis per param and one for the chosen metric, a line
// per experiment coloured by that metric. Drawn on a 2D canvas, not WebGL (which a
// machine without a GPU draws in software, for seconds, holding the page), and a few
// hundred lines per animation frame: the page answers a click between two frames
// however many experiments there are, and a new drawing abandons the one under way.
//
//   var chart = window.gitexpParcoords(box);
//   chart.draw({dims: [{label, values, ticktext?}], colour: {values, reverse, title},
//               ids, brush, onBrush, onDrawn, describe, onPick});
//   chart.highlight([{id, colour}]);
//
// dims[k].values holds one number per line (NaN where missing); a dim with ticktext is
// categorical and its values index ticktext. ids names each line (the caller's row).
// Dragging along an axis keeps a range on it (brush); onBrush receives every range as
// {label: {lo, hi}} or {label: {names: [...]}}, and a click on an axis outside its range
// clears it. Pointing at a line shows describe(id); clicking it calls onPick(id).
// The chart marks its element with data-lines (lines to draw), data-drawn
// (drawn so far), data-slices (frames used so far) and data-done="1" once every line
// is on the canvas.
(function () {
  "use strict";
  var VIRIDIS = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
    "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"];
  var SHADES = 64, SLICE_MS = 6, SLICE_LINES = 1000, HEIGHT = 420;
  var MARGIN = { left: 64, right: 132, top: 58, bottom: 26 };
  var OUT = "#c9d1d9", SVG = "http://www.w3.org/2000/svg";

  function hex(c) { return [1, 3, 5].map(function (i) { return parseInt(c.slice(i, i + 2), 16); }); }
  var STOPS = VIRIDIS.map(hex);
  function viridis(t) {
    t = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
    var i = Math.min(STOPS.length - 2, Math.floor(t)), f = t - i;
    var a = STOPS[i], b = STOPS[i + 1];
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + (b[k] - a[k]) * f); }).join(",") + ")";
  }
  var SHADE = [];
  for (var s = 0; s < SHADES; s++) SHADE.push(viridis(s / (SHADES - 1)));

  function short(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a < 1e-3 || a >= 1e6) return v.toExponential(1).replace("e+", "e");
    return String(+v.toPrecision(4));
  }

  // About `count` round values between lo and hi (steps of 1, 2 or 5 times a power of ten).
  function niceTicks(lo, hi, count) {
    var span = hi - lo;
    if (!(span > 0)) return [lo];
    var raw = span / count, power = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * power; })
      .filter(function (st) { return st >= raw; })[0];
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  // Where each value sits on its axis, 0 (bottom) to 1 (top), and the ticks to label.
  // A numeric axis whose values are all positive and span two decades or more is
  // logarithmic (learning rates); few distinct values are each a tick.
  function scaleOf(dim) {
    var values = dim.values, lo = Infinity, hi = -Infinity, distinct = Object.create(null), many = 0;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (!isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (many <= 12 && !(v in distinct)) { distinct[v] = 1; many++; }
    }
    if (lo === Infinity) { lo = 0; hi = 1; }
    var cat = !!dim.ticktext;
    if (cat) { lo = 0; hi = Math.max(0, dim.ticktext.length - 1); }
    var log = !cat && lo > 0 && hi / lo >= 100;
    var f = log ? Math.log10 : function (x) { return x; };
    var a = f(lo), b = f(hi);
    if (a === b) { a -= 1; b += 1; }
    var ticks;
    if (cat) {
      var every = Math.ceil(dim.ticktext.length / 12);
      ticks = dim.ticktext.map(function (t, k) { return [k, t]; }).filter(function (_, k) { return k % every === 0; });
    } else if (many <= 8) {
      ticks = Object.keys(distinct).map(Number).sort(function (x, y) { return x - y; })
        .map(function (v) { return [v, short(v)]; });
    } else if (log) {
      ticks = [];
      for (var e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) {
        ticks.push([Math.pow(10, e), short(Math.pow(10, e))]);
      }
    } else {
      ticks = niceTicks(lo, hi, 5).map(function (v) { return [v, short(v)]; });
    }
    return {
      lo: lo, hi: hi, log: log, cat: cat, ticks: ticks,
      at: function (v) { return (f(v) - a) / (b - a); },
      value: function (t) { var x = a + t * (b - a); return log ? Math.pow(10, x) : x; }
    };
  }

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, words, attrs) {
    var node = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = words;
    return node;
  }

  function Chart(box) {
    this.box = box;
    this.pass = 0;
    this.per = 200;
    this.brush = {};
    this.chosen = [];
    box.innerHTML = "";
    var root = this.root = document.createElement("div");
    root.className = "parcoords";
    root.style.position = "relative";
    root.style.height = HEIGHT + "px";
    this.lines = document.createElement("canvas");
    this.top = document.createElement("canvas");
    [this.lines, this.top].forEach(function (c) {
      c.style.position = "absolute";
      c.style.left = c.style.top = "0";
      c.style.pointerEvents = "none";
      root.appendChild(c);
    });
    this.svg = el("svg", { class: "pc-axes", role: "img" }, root);
    this.svg.style.position = "absolute";
    this.svg.style.left = this.svg.style.top = "0";
    this.tip = document.createElement("div");
    this.tip.className = "pc-tip";
    this.tip.hidden = true;
    root.appendChild(this.tip);
    box.appendChild(root);
    var self = this, width = 0;
    this.resized = function () {
      if (self.spec && self.box.clientWidth && self.box.clientWidth !== width) {
        width = self.box.clientWidth;
        self.spec.brush = self.ranges();
        self.draw(self.spec);
      }
    };
    window.addEventListener("resize", this.resized);
  }

  // Lay the chart out for `spec` and start drawing its lines; any drawing under way stops.
  Chart.prototype.draw = function (spec) {
    this.spec = spec;
    var count = spec.ids.length;
    this.brush = {};
    var labels = spec.dims.map(function (d) { return d.label; });
    Object.keys(spec.brush || {}).forEach(function (label) {
      if (labels.indexOf(label) >= 0) this.brush[label] = spec.brush[label];
    }, this);
    this.scales = spec.dims.map(scaleOf);
    var width = this.width = Math.max(360, this.box.clientWidth || 900);
    var ratio = Math.min(2, Math.max(1, Math.round(window.devicePixelRatio || 1)));
    [this.lines, this.top].forEach(function (c) {
      c.width = width * ratio;
      c.height = HEIGHT * ratio;
      c.style.width = width + "px";
      c.style.height = HEIGHT + "px";
      c.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
    });
    var n = spec.dims.length, inner = width - MARGIN.left - MARGIN.right;
    this.xs = spec.dims.map(function (_, k) { return MARGIN.left + (n > 1 ? inner * k / (n - 1) : inner / 2); });
    this.y0 = MARGIN.top;
    this.h = HEIGHT - MARGIN.top - MARGIN.bottom;
    // Each line's height on each axis, once: a brush or a highlight draws from these.
    var at = this.at = new Float32Array(count * n);
    this.scales.forEach(function (scale, k) {
      var values = spec.dims[k].values;
      for (var i = 0; i < count; i++) at[i * n + k] = isFinite(values[i]) ? scale.at(values[i]) : NaN;
    });
    var colour = spec.colour, clo = Infinity, chi = -Infinity;
    colour.values.forEach(function (v) { if (v < clo) clo = v; if (v > chi) chi = v; });
    if (!(chi > clo)) { clo -= 1; chi += 1; }
    this.clo = clo;
    this.chi = chi;
    var shade = this.shade = new Uint8Array(count);
    for (var i = 0; i < count; i++) {
      var t = (colour.values[i] - clo) / (chi - clo);
      shade[i] = Math.round((colour.reverse ? 1 - t : t) * (SHADES - 1));
    }
    // Better lines last, on top: the order of their shade, the best yellow.
    this.order = Array.from({ length: count }, function (_, k) { return k; })
      .sort(function (p, q) { return shade[p] - shade[q] || p - q; });
    this.index = {};
    for (var j = 0; j < count; j++) this.index[spec.ids[j]] = j;
    this.root.setAttribute("data-lines", count);
    this.axes();
    this.restart();
    this.highlight(this.chosen);
  };

  // Is line i inside every brushed range?
  Chart.prototype.inside = function (i) {
    var spec = this.spec;
    for (var k = 0; k < spec.dims.length; k++) {
      var range = this.brush[spec.dims[k].label];
      if (!range) continue;
      var v = spec.dims[k].values[i];
      if (!isFinite(v)) return false;
      if (range.names ? range.names.indexOf(spec.dims[k].ticktext[v]) < 0 : v < range.lo || v > range.hi) return false;
    }
    return true;
  };

  // Draw every line again from the start, a slice per animation frame: the lines outside
  // the brushed ranges first in grey, then the others by their shade.
  Chart.prototype.restart = function () {
    var self = this, pass = ++this.pass, spec = this.spec, n = spec.dims.length;
    var ctx = this.lines.getContext("2d");
    ctx.clearRect(0, 0, this.width, HEIGHT);
    var any = Object.keys(this.brush).length > 0;
    var outs = [], ins = [];
    this.order.forEach(function (i) { (any && !self.inside(i) ? outs : ins).push(i); });
    var seq = outs.concat(ins), at = 0, total = seq.length, slices = 0;
    var alpha = Math.max(0.12, Math.min(0.85, 14 / Math.sqrt(Math.max(1, ins.length))));
    this.root.setAttribute("data-drawn", "0");
    this.root.removeAttribute("data-done");
    this.root.setAttribute("data-inside", ins.length);
    var last = 0;
    function step(now) {
      if (pass !== self.pass) return;
      // Lines on the canvas are painted after the script, as the frame ends: a slow
      // frame (a loaded machine) halves the next slice, a quick one lets it grow.
      if (last) {
        var frame = now - last;
        self.per = frame > 40 ? Math.max(50, self.per >> 1) : frame < 24 ? Math.min(SLICE_LINES, Math.round(self.per * 1.5)) : self.per;
      }
      last = now;
      var start = performance.now(), done = 0, current = -2;
      ctx.lineWidth = 1;
      ctx.lineJoin = "round";
      while (at < total && done < self.per) {
        var i = seq[at], shade = at < outs.length ? -1 : self.shade[i];
        if (shade !== current) {
          if (current !== -2) ctx.stroke();
          ctx.beginPath();
          ctx.strokeStyle = shade < 0 ? OUT : SHADE[shade];
          ctx.globalAlpha = shade < 0 ? 0.35 : alpha;
          current = shade;
        }
        self.trace(ctx, i, n);
        at++;
        done++;
        if ((done & 63) === 0 && performance.now() - start > SLICE_MS) break;
      }
      if (current !== -2) ctx.stroke();
      ctx.globalAlpha = 1;
      self.root.setAttribute("data-drawn", at);
      self.root.setAttribute("data-slices", ++slices);
      if (at < total) { requestAnimationFrame(step); return; }
      self.root.setAttribute("data-done", "1");
      if (spec.onDrawn) spec.onDrawn();
    }
    requestAnimationFrame(step);
  };

  // Line i as a path; a missing value leaves a gap.
  Chart.prototype.trace = function (ctx, i, n) {
    var on = false;
    for (var k = 0; k < n; k++) {
      var t = this.at[i * n + k];
      if (t !== t) { on = false; continue; }
      var y = this.y0 + (1 - t) * this.h;
      if (on) ctx.lineTo(this.xs[k], y); else ctx.moveTo(this.xs[k], y);
      on = true;
    }
  };

  // The experiments chosen in the table, drawn over the rest in their own colours.
  Chart.prototype.highlight = function (chosen) {
    this.chosen = chosen || [];
    if (!this.spec) return;
    var ctx = this.top.getContext("2d"), n = this.spec.dims.length, self = this;
    ctx.clearRect(0, 0, this.width, HEIGHT);
    ctx.lineJoin = "round";
    var shown = 0;
    this.chosen.forEach(function (c) {
      var i = self.index[c.id];
      if (i === undefined) return;
      shown++;
      [["#ffffff", 5], [c.colour, 2.5]].forEach(function (pen) {
        ctx.beginPath();
        ctx.strokeStyle = pen[0];
        ctx.lineWidth = pen[1];
        self.trace(ctx, i, n);
        ctx.stroke();
      });
    });
    if (this.hover !== undefined && this.hover !== null) {
      ctx.beginPath();
      ctx.strokeStyle = "#1f2328";
      ctx.lineWidth = 1.5;
      this.trace(ctx, this.hover, n);
      ctx.stroke();
    }
    this.root.setAttribute("data-highlighted", shown);
  };

  // The line nearest to (x, y) between the two axes around x, if within 6 px.
  Chart.prototype.nearest = function (x, y) {
    var xs = this.xs, n = xs.length, k = 0;
    if (n < 2 || x < xs[0] || x > xs[n - 1]) return null;
    while (k < n - 2 && x > xs[k + 1]) k++;
    var f = (x - xs[k]) / (xs[k + 1] - xs[k]), best = null, gap = 6, at = this.at;
    for (var i = 0; i < this.spec.ids.length; i++) {
      var a = at[i * n + k], b = at[i * n + k + 1];
      if (a !== a || b !== b) continue;
      var d = Math.abs(this.y0 + (1 - (a + (b - a) * f)) * this.h - y);
      if (d < gap) { gap = d; best = i; }
    }
    return best;
  };

  // Pointing at a line names its experiment; a click on it hands it to onPick.
  Chart.prototype.point = function (event) {
    var box = this.svg.getBoundingClientRect(), spec = this.spec;
    var i = this.nearest(event.clientX - box.left, event.clientY - box.top);
    if (i !== this.hover) { this.hover = i; this.highlight(this.chosen); }
    this.tip.hidden = i === null;
    this.root.setAttribute("data-hover", i === null ? "" : spec.ids[i]);
    if (i === null) return;
    this.tip.textContent = spec.describe ? spec.describe(spec.ids[i]) : String(spec.ids[i]);
    this.tip.style.left = Math.min(event.clientX - box.left + 12, this.width - 220) + "px";
    this.tip.style.top = Math.max(0, event.clientY - box.top - 30) + "px";
  };

  // Axes with their names, ticks and brushed ranges, and the colour bar.
  Chart.prototype.axes = function () {
    var svg = this.svg, spec = this.spec, self = this;
    svg.innerHTML = "";
    svg.setAttribute("width", this.width);
    svg.setAttribute("height", HEIGHT);
    this.hover = null;
    this.tip.hidden = true;
    var area = el("rect", { class: "pc-area", x: 0, y: this.y0 - 6, width: this.width, height: this.h + 12 }, svg);
    var waiting = null;
    area.addEventListener("pointermove", function (event) {
      if (waiting) { waiting = event; return; }
      waiting = event;
      requestAnimationFrame(function () { self.point(waiting); waiting = null; });
    });
    area.addEventListener("pointerleave", function () {
      waiting = null;
      self.hover = null;
      self.tip.hidden = true;
      self.highlight(self.chosen);
    });
    area.addEventListener("click", function (event) {
      var i = self.nearest(event.clientX - svg.getBoundingClientRect().left, event.clientY - svg.getBoundingClientRect().top);
      if (i !== null && spec.onPick) spec.onPick(spec.ids[i]);
    });
    var titles = [];
    spec.dims.forEach(function (dim, k) {
      var x = self.xs[k], scale = self.scales[k];
      var g = el("g", { class: "pc-axis", "data-label": dim.label }, svg);
      titles.push(text(g, x, MARGIN.top - 20, dim.label, { class: "pc-title", "text-anchor": "middle" }));
      el("line", { x1: x, x2: x, y1: self.y0, y2: self.y0 + self.h, class: "pc-line" }, g);
      scale.ticks.forEach(function (tick) {
        var y = self.y0 + (1 - scale.at(tick[0])) * self.h;
        el("line", { x1: x - 4, x2: x, y1: y, y2: y, class: "pc-line" }, g);
        text(g, x - 7, y + 4, tick[1], { class: "pc-tick", "text-anchor": "end" });
      });
      el("rect", { class: "pc-range", x: x - 6, width: 12, y: 0, height: 0, visibility: "hidden" }, g);
      var hit = el("rect", { class: "pc-hit", x: x - 14, width: 28, y: self.y0 - 6, height: self.h + 12 }, g);
      hit.addEventListener("pointerdown", function (event) { self.drag(event, k, hit); });
      self.showRange(k);
    });
    this.titles(titles);
    this.colourBar();
  };

  // The axes' names never overlap nor leave the chart. Each name has a slot on its line:
  // halfway to the next names on that line (the chart's edge for the first and the
  // last); when a name is wider than its slot, the names go on two lines, every other
  // axis, which doubles the slots; one still too wide is shortened, its leading parts
  // dropped first (train.learning_rate: …learning_rate; metrics.json:val_accuracy:
  // …val_accuracy), then its middle. Each keeps its full name as its title (a tooltip).
  // Widths are measured as drawn.
  Chart.prototype.titles = function (nodes) {
    var xs = this.xs, n = xs.length, gap = n > 1 ? xs[1] - xs[0] : this.width;
    var left = 2, right = this.width - MARGIN.right + 24;
    var width = function (node) {
      var measured = node.getComputedTextLength();
      return measured > 0 ? measured : node.textContent.length * 7;  // not laid out: about 7 px a letter
    };
    var slot = function (k, step) {
      return [k - step < 0 ? left : xs[k] - step * gap / 2 + 5, k + step > n - 1 ? right : xs[k] + step * gap / 2 - 5];
    };
    var wide = nodes.some(function (node, k) { var s = slot(k, 1); return width(node) > s[1] - s[0]; });
    nodes.forEach(function (node, k) {
      var label = node.textContent, words = node.firstChild, own = slot(k, wide ? 2 : 1);
      tooltip(node.parentNode, label);
      var shown = shorter(label, function (candidate) {
        words.textContent = candidate;
        return width(node) <= own[1] - own[0];
      });
      words.textContent = shown;
      if (shown !== label) node.setAttribute("data-short", "1");
      var half = width(node) / 2;
      node.setAttribute("x", Math.max(own[0] + half, Math.min(own[1] - half, xs[k])));
      if (wide && k % 2) node.setAttribute("y", MARGIN.top - 36);
    });
  };

  // A tooltip on the whole of a group: its SVG title, the group's first child.
  function tooltip(group, words) {
    var node = document.createElementNS(SVG, "title");
    node.textContent = words;
    group.insertBefore(node, group.firstChild);
  }

  // The longest form of label that fits: as it is, then without its file (FILE:KEY),
  // then without each leading part of the key (a.b.c: …b.c, …c), then cut in the middle.
  function shorter(label, fits) {
    if (fits(label)) return label;
    var file = label.lastIndexOf(":"), tail = label;
    var cuts = file >= 0 ? [file] : [];
    for (var at = file + 1; at < label.length - 1; at++) if (".:/".indexOf(label[at]) >= 0) cuts.push(at);
    for (var c = 0; c < cuts.length; c++) {
      tail = label.slice(cuts[c] + 1);
      if (fits("…" + tail)) return "…" + tail;
    }
    for (var keep = tail.length - 1; keep > 1; keep--) {
      var head = Math.ceil(keep / 2), candidate = tail.slice(0, head) + "…" + tail.slice(tail.length - (keep - head));
      if (fits(candidate)) return candidate;
    }
    return "…";
  }

  Chart.prototype.colourBar = function () {
    var svg = this.svg, colour = this.spec.colour;
    var x = this.width - MARGIN.right + 36, bar = el("g", { class: "pc-colorbar" }, svg);
    var grad = el("linearGradient", { id: "pc-shade-" + (++Chart.made), x1: 0, y1: 0, x2: 0, y2: 1 },
      el("defs", {}, bar));
    for (var k = 0; k <= 10; k++) {
      // offset 0 is the top of the bar, the highest value
      var t = 1 - k / 10;
      el("stop", { offset: k / 10, "stop-color": viridis(colour.reverse ? 1 - t : t) }, grad);
    }
    el("rect", { x: x, y: this.y0, width: 12, height: this.h, fill: "url(#" + grad.id + ")" }, bar);
    var lo = this.clo, hi = this.chi, y0 = this.y0, h = this.h;
    niceTicks(lo, hi, 5).forEach(function (v) {
      var y = y0 + (1 - (v - lo) / (hi - lo)) * h;
      el("line", { x1: x + 12, x2: x + 16, y1: y, y2: y, class: "pc-line" }, bar);
      text(bar, x + 19, y + 4, short(v), { class: "pc-tick" });
    });
    var title = text(bar, x - 6, MARGIN.top - 36, "", { class: "pc-colorbar-title" });
    tooltip(bar, colour.title.join(", "));
    var room = this.width - (x - 6) - 2;
    colour.title.forEach(function (line, n) {
      var span = el("tspan", { x: x - 6, dy: n ? 14 : 0 }, title);
      span.textContent = shorter(line, function (candidate) {
        span.textContent = candidate;
        var measured = span.getComputedTextLength();
        return (measured > 0 ? measured : candidate.length * 7) <= room;
      });
    });
  };

  Chart.prototype.showRange = function (k) {
    var dim = this.spec.dims[k], range = this.brush[dim.label], scale = this.scales[k];
    var rect = this.svg.querySelectorAll(".pc-range")[k];
    if (!range) { rect.setAttribute("visibility", "hidden"); return; }
    var ends;
    if (range.names) {
      var at = range.names.map(function (nm) { return dim.ticktext.indexOf(nm); }).filter(function (p) { return p >= 0; });
      ends = at.length ? [scale.at(Math.min.apply(null, at)), scale.at(Math.max.apply(null, at))] : [0, 0];
    } else {
      ends = [scale.at(Math.max(range.lo, scale.lo)), scale.at(Math.min(range.hi, scale.hi))];
    }
    var top = this.y0 + (1 - ends[1]) * this.h, bottom = this.y0 + (1 - ends[0]) * this.h;
    rect.setAttribute("y", top - 3);
    rect.setAttribute("height", Math.max(6, bottom - top + 6));
    rect.setAttribute("visibility", "visible");
  };

  // A range from pixel heights on axis k: numbers between, or the names inside.
  Chart.prototype.rangeOf = function (k, ya, yb) {
    var scale = this.scales[k], dim = this.spec.dims[k];
    var ta = 1 - (Math.max(ya, yb) - this.y0) / this.h, tb = 1 - (Math.min(ya, yb) - this.y0) / this.h;
    if (scale.cat) {
      var names = dim.ticktext.filter(function (_, p) { var t = scale.at(p); return t >= ta && t <= tb; });
      return { names: names };
    }
    var lo = scale.value(Math.max(0, ta)), hi = scale.value(Math.min(1, tb));
    if (ta <= 0) lo = -Infinity;
    if (tb >= 1) hi = Infinity;
    return { lo: lo, hi: hi };
  };

  Chart.prototype.drag = function (event, k, hit) {
    var self = this, label = this.spec.dims[k].label;
    var box = this.svg.getBoundingClientRect(), from = event.clientY - box.top, moved = false;
    event.preventDefault();
    hit.setPointerCapture(event.pointerId);
    function move(e) {
      var to = e.clientY - box.top;
      if (Math.abs(to - from) < 3 && !moved) return;
      moved = true;
      self.brush[label] = self.rangeOf(k, from, to);
      self.showRange(k);
      self.restart();
    }
    function up(e) {
      hit.removeEventListener("pointermove", move);
      hit.removeEventListener("pointerup", up);
      hit.removeEventListener("pointercancel", up);
      if (moved) {
        if (e.type === "pointerup") move(e);
      } else {
        // a click outside this axis's range clears it
        var range = self.brush[label];
        if (!range || self.inRange(k, 1 - (from - self.y0) / self.h)) return;
        delete self.brush[label];
        self.showRange(k);
        self.restart();
      }
      if (self.spec.onBrush) self.spec.onBrush(self.ranges());
    }
    hit.addEventListener("pointermove", move);
    hit.addEventListener("pointerup", up);
    hit.addEventListener("pointercancel", up);
  };

  Chart.prototype.inRange = function (k, t) {
    var dim = this.spec.dims[k], range = this.brush[dim.label], scale = this.scales[k];
    if (range.names) {
      return range.names.some(function (nm) { return Math.abs(scale.at(dim.ticktext.indexOf(nm)) - t) < 0.05; });
    }
    var v = scale.value(t);
    return v >= range.lo && v <= range.hi;
  };

  Chart.prototype.ranges = function () {
    var out = {}, brush = this.brush;
    Object.keys(brush).forEach(function (label) { out[label] = brush[label]; });
    return out;
  };

  // Set the ranges from outside (a cleared filter, say) and draw again.
  Chart.prototype.setRanges = function (ranges) {
    this.brush = {};
    var labels = this.spec ? this.spec.dims.map(function (d) { return d.label; }) : [];
    Object.keys(ranges || {}).forEach(function (label) {
      if (labels.indexOf(label) >= 0) this.brush[label] = ranges[label];
    }, this);
    if (!this.spec) return;
    for (var k = 0; k < labels.length; k++) this.showRange(k);
    this.restart();
  };

  Chart.prototype.destroy = function () {
    this.pass++;
    window.removeEventListener("resize", this.resized);
    this.box.innerHTML = "";
  };
  Chart.made = 0;

  window.gitexpParcoords = function (box) { return new Chart(box); };
})();
