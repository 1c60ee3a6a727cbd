// The traces gitexp's pages draw: scatter (step series) and parcoords (params
// against a metric). Every other trace would only make the page slower to open.
'use strict';
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/scatter'), require('plotly.js/lib/parcoords')]);
module.exports = Plotly;
