// Bundles the console: src/main.ts -> OUT/app.js (esbuild, minified, ES2020, no source map),
// src/app.css -> OUT/app.css, src/index.html copied. Run by ../console.cmake:
//   node build.mjs OUT_DIR
// Fails (exit 1) on any esbuild error. Prints the sizes, to keep the bundle small in view.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUT_DIR");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(here, "src/main.ts"), "app-style": join(here, "src/app.css") },
  outdir: out,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "none",
  logLevel: "warning",
});
// esbuild names a CSS entry after its key; the page links app.css.
const { renameSync } = await import("node:fs");
renameSync(join(out, "app-style.css"), join(out, "app.css"));
copyFileSync(join(here, "src/index.html"), join(out, "index.html"));
for (const f of ["index.html", "app.js", "app.css"]) {
  console.log(`console: ${f} ${(statSync(join(out, f)).size / 1024).toFixed(1)} KiB`);
}
