#!/usr/bin/env node
// The command-line entry: the bundled CLI built by `npm run build` (run automatically by `npm ci`).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error('diffusion-studio: dist/cli.js is missing. Run `npm run build` (or `npm ci`) in the project first.');
  process.exit(1);
}
require(cli);
