// The traces gitexp's pages draw with plotly.js: scatter (step series). The parallel
// coordinates are gitexp's own (assets/parcoords.js, a 2D canvas: plotly's are WebGL,
// which holds the page for seconds without a GPU). Every other trace would only make
// the page slower to open.
'use strict';
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/scatter')]);
module.exports = Plotly;
