// Writes web/dist/onnx_proto.js: the ONNX protobuf schema (the npm package onnx-proto, ONNX
// 1.10 compiled for protobufjs's minimal runtime, both CommonJS) bundled by esbuild into one
// ES module exporting `onnx` (ModelProto, GraphProto, ...), so the package keeps zero runtime
// dependencies and a browser loads it unbundled. Only packaging: web/onnx.js uses it.
//
// Every bundled package's license text goes into the file's head as a legal comment.
// protobufjs's optional `require` helper (@protobufjs/inquire) is replaced by one that finds
// nothing: the bundle then never reaches for Node's Buffer or the `long` package, so it
// behaves the same in Node and in browsers, and int64 fields decode to plain numbers
// (web/onnx.js refuses those past 2^53).
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'web/dist/onnx_proto.js');

// The folder of the package a bundled file belongs to (the nearest package.json with a name).
function packageDir(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name) return dir;
  }
  throw new Error(`no package.json above ${file}`);
}

// "name version (license)\n\n<LICENSE text>" of a package folder.
function licenseOf(dir) {
  const { name, version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `${license} (no license file in the package)`;
  return `${name} ${version} (${license})\n\n${text}`;
}

const noInquire = {
  name: 'no-inquire',
  setup(build) {
    build.onResolve({ filter: /^@protobufjs\/inquire$/ }, () => ({ path: 'inquire', namespace: 'no-inquire' }));
    build.onLoad({ filter: /.*/, namespace: 'no-inquire' }, () => ({ contents: 'module.exports = function inquire() { return null; };', loader: 'js' }));
  },
};

const entry = "import root from 'onnx-proto';\nexport const onnx = root.onnx;\n";

const built = await esbuild.build({
  stdin: { contents: entry, resolveDir: ROOT, sourcefile: 'onnx_proto_entry.mjs', loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['main'],
  target: 'es2020',
  minify: true,
  legalComments: 'inline',
  plugins: [noInquire],
  metafile: true,
  write: false,
  logLevel: 'error',
});

const packages = [...new Set(Object.keys(built.metafile.inputs)
  .filter((input) => !input.startsWith('no-inquire:') && !input.includes('onnx_proto_entry'))
  .map((input) => packageDir(join(ROOT, input))))].sort();
const notice = [
  'web/dist/onnx_proto.js: the ONNX protobuf schema for protobufjs, bundled by',
  'scripts/bundle_onnx_proto.mjs (generated; do not edit). The schema is compiled from',
  'onnx/onnx.proto (ONNX 1.10.2, Apache-2.0, Copyright (c) ONNX Project Contributors).',
  'Bundled packages and their licenses:',
  ...packages.map((dir) => `\n--- ${relative(ROOT, dir)}\n${licenseOf(dir)}`),
].join('\n');
const code = built.outputFiles[0].text;
if (/\beval\s*\(|new Function\b/.test(code)) throw new Error('bundle_onnx_proto: the bundle evaluates strings (a strict CSP would refuse it)');

mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `/*! ${notice.replaceAll('*/', '* /')}\n*/\n${code}`);
console.log(`bundle_onnx_proto: wrote ${relative(ROOT, OUT)} (${(code.length / 1024).toFixed(0)} kB, ${packages.length} packages)`);
