/* eslint-disable */
// What `npm run render` runs TypeScript with (bench/README.md, "Transpiling"): a `.ts` hook that
// transpiles each file once with the TypeScript compiler @pulumi/pulumi already loads, and caches the
// JavaScript by content hash. tsx instead runs an ES-module lexer over every .js file it loads
// (8.9 MB of typescript.js among them) and enables source-mapped stack traces, which Pulumi captures
// for every resource. Types are not checked here, as with tsx: `npm run build` does that.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");

const root = path.resolve(__dirname, "..");
const cacheDir = process.env.DJANGOSTACK_TS_CACHE || path.join(root, "node_modules", ".cache", "djangostack-ts");
let ts;

require.extensions[".ts"] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, "utf8");
  const key = crypto.createHash("sha256").update(filename).update("\0").update(source).digest("hex").slice(0, 32);
  const cached = path.join(cacheDir, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, "utf8");
  } catch {
    ts ??= require(require.resolve("typescript", { paths: [root] }));
    output = ts.transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
    }).outputText;
    // Written under a unique name and renamed, so concurrent renders never read half a file.
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, output);
    fs.renameSync(tmp, cached);
  }
  module._compile(output, filename);
};
