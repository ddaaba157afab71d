// Runs after the threaded module links (CMakeLists.txt): two fixes to Emscripten 3.1.6's
// output, each checked so that a changed Emscripten fails the build instead of shipping
// an unpatched file.
//  1. The glue starts its pthread workers with `new Worker(locateFile(...))`, but keeps a
//     branch for callers without locateFile, `new Worker(new URL("…worker.js",
//     import.meta.url))`. Bundlers read that form as a worker entry point and bundle the
//     pthread script (Vite then refuses the package's own worker build: a worker inside
//     an iife worker). The loader always passes locateFile, so the branch is dead: its
//     URL is wrapped in String(), which bundlers still copy as an asset but do not bundle.
//  2. The pthread script is CommonJS and the package is "type": "module": Node gets a
//     .cjs copy next to it.
//
//   node scripts/patch_threads_glue.mjs web/dist/qforget-threads.js
import { copyFile, readFile, writeFile } from 'node:fs/promises';

const glue = process.argv[2];
const worker = glue.replace(/\.js$/, '.worker.js');
const name = worker.split('/').pop();
const text = await readFile(glue, 'utf8');
const entry = `new Worker(new URL("${name}",import.meta.url))`;
const count = text.split(entry).length - 1;
if (count !== 1 && !text.includes(`new Worker(String(new URL("${name}",import.meta.url)))`)) {
  console.error(`patch_threads_glue: expected ${entry} once in ${glue}, found it ${count} times`);
  process.exit(1);
}
await writeFile(glue, text.replace(entry, `new Worker(String(new URL("${name}",import.meta.url)))`));
await copyFile(worker, worker.replace(/\.js$/, '.cjs'));
