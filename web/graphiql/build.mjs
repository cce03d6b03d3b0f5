// Bundles GraphiQL into the package's static files: one script, one stylesheet, the
// page, and a manifest naming the locked version of every runtime npm package and
// each output's sha256. The same inputs give the same bytes, so a rebuild can be compared with
// what is checked in.
//
// Usage: node build.mjs [OUTDIR]   (default: ../../lineage/api/http/static/graphiql)
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "..", "..", "lineage", "api", "static", "graphiql"));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { graphiql: join(here, "src", "main.jsx") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: out,
  legalComments: "eof",
  define: { "process.env.NODE_ENV": '"production"' },
  loader: { ".js": "jsx" },
  logLevel: "warning",
});
copyFileSync(join(here, "index.html"), join(out, "index.html"));

const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const packages = Object.fromEntries(
  Object.entries(lock.packages)
    .filter(([path, meta]) => path !== "" && !meta.dev && !meta.optional)
    .map(([path, meta]) => [path.replace(/^node_modules\//, ""), meta.version])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
);
const root = lock.packages[""];
const files = Object.fromEntries(
  readdirSync(out)
    .sort()
    .map((name) => [name, createHash("sha256").update(readFileSync(join(out, name))).digest("hex")]),
);
const manifest = {
  dependencies: root.dependencies,
  devDependencies: root.devDependencies,
  packages,
  files,
};
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
