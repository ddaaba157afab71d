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
import esbuild from 'esbuild';

import { ROOT, writeBundle } from './bundle_common.mjs';

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

writeBundle(built, {
  out: 'web/dist/onnx_proto.js',
  tag: 'bundle_onnx_proto',
  own: /^no-inquire:|onnx_proto_entry/,
  about: [
    'web/dist/onnx_proto.js: the ONNX protobuf schema for protobufjs, bundled by',
    'scripts/bundle_onnx_proto.mjs (generated; do not edit). The schema is compiled from',
    'onnx/onnx.proto (ONNX 1.10.2, Apache-2.0, Copyright (c) ONNX Project Contributors).',
  ],
});
