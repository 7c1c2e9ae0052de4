// Builds the console into ../assets, the directory the Go package embeds:
// one bundled, minified app.js (Chart.js tree-shaken into it), the minified
// style sheet and the page. Run with `make console`; the output is committed.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';

// CONSOLE_OUT builds elsewhere (make console-check compares the result with
// the committed assets).
const out = process.env.CONSOLE_OUT ? new URL(`file://${process.env.CONSOLE_OUT}/`) : new URL('../assets/', import.meta.url);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: 'src/main.js', style: 'src/style.css' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  outdir: out.pathname,
  legalComments: 'eof',
  logLevel: process.argv.includes('--quiet') ? 'warning' : 'info',
});
await copyFile('src/index.html', new URL('index.html', out));
