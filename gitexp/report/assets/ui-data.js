// gitexp ui: the page data arrives in columns (gitexp/report/ui/columns.py), about half
// the bytes of one object per experiment; gitexpDecode turns it back into the rows the
// report's script draws. Data already in rows is returned as it is.
(function () {
  "use strict";
  function pick(columns, at, empty) {
    var values = new Array(columns.length);
    for (var k = 0; k < columns.length; k++) values[k] = columns[k][at];
    return values.length ? values : empty;
  }
  window.gitexpDecode = function (data) {
    var c = data.cols;
    if (!c) return data;
    var rows = new Array(c.count);
    for (var i = 0; i < c.count; i++) {
      var key = String(i);
      rows[i] = {
        n: c.n[i], s: c.sv[c.s[i]], t: c.t[i], b: c.b[i] < 0 ? null : c.bv[c.b[i]], c: c.c[i],
        p: pick(c.p, i, []), m: pick(c.m, i, []), f: pick(c.f, i, []),
        x: c.x[key] || {}, tg: c.tg[key] || [], nt: c.nt[key] || "", im: c.im[key] || {}
      };
      if (c.lv && c.lv[key]) rows[i].lv = 1;
    }
    var out = {};
    Object.keys(data).forEach(function (k) { if (k !== "cols") out[k] = data[k]; });
    out.rows = rows;
    return out;
  };
})();
