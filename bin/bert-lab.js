#!/usr/bin/env node
// The headless CLI: a thin launcher for the bundled dist/cli.js.
require('../dist/cli.js');
