// Writes web/dist/decoders.js: the image and array decoders the `qforget poc` command reads
// datasets with (pngjs, jpeg-js, npyjs, and fflate for .npz archives), bundled by esbuild
// into one ES module for Node, so the package keeps zero runtime dependencies. Only
// packaging: cli/datasets.mjs uses it; the browser API never loads it.
//
// pngjs and jpeg-js are CommonJS that require Node's zlib, stream and buffer: an ES module
// has no `require`, so the bundle makes one with createRequire for those built-ins.
import esbuild from 'esbuild';

import { ROOT, writeBundle } from './bundle_common.mjs';

const entry = [
  "export { PNG } from 'pngjs';",
  "export { decode as decodeJpeg } from 'jpeg-js';",
  "export { parse as parseNpy } from 'npyjs';",
  "export { unzipSync } from 'fflate';",
].join('\n');

const built = await esbuild.build({
  stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'decoders_entry.mjs', loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node18',
  minify: true,
  legalComments: 'inline',
  banner: { js: "import { createRequire as __qfCreateRequire } from 'node:module'; const require = __qfCreateRequire(import.meta.url);" },
  metafile: true,
  write: false,
  logLevel: 'error',
});

writeBundle(built, {
  out: 'web/dist/decoders.js',
  tag: 'bundle_decoders',
  own: /decoders_entry/,
  about: [
    'web/dist/decoders.js: PNG, JPEG, .npy and zip (.npz) decoders for the qforget poc',
    'command (cli/datasets.mjs), bundled by scripts/bundle_decoders.mjs (generated; do not edit).',
  ],
});
