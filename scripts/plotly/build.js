// Bundle entry.js the way plotly.js builds its own dist files (its esbuild-config.js),
// minified, with the version and the licence in a header comment.
'use strict';
const fs = require('fs');
const esbuild = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const { glsl } = require('esbuild-plugin-glsl');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');

const out = process.argv[2];
const version = require('plotly.js/package.json').version;
const header = `/**
* plotly.js v${version}, scatter trace only (built by gitexp's scripts/build-plotly)
* Copyright 2012-2026, Plotly, Inc.
* All rights reserved.
* Licensed under the MIT license
*/
`;
esbuild
  .build({
    entryPoints: [__dirname + '/entry.js'],
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    legalComments: 'eof',
    write: false,
    plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    target: 'es2016',
    logLevel: 'warning',
  })
  .then((result) => {
    fs.writeFileSync(out + '.tmp', header + result.outputFiles[0].text);
    fs.renameSync(out + '.tmp', out);
  })
  .catch(() => process.exit(1));
