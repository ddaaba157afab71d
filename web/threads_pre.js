// Prepended to the threaded module (qforget-threads.js), an ES module: Emscripten 3.1.6's
// Node branch, which starts pthreads as worker_threads, reads the CommonJS globals
// `require` and `__dirname`. Defined here from import.meta.url, through
// process.getBuiltinModule (Node 20.16+) rather than an import, so that browsers and
// bundlers, which load this file too, see no Node module.
var require, __dirname;
if (typeof process == 'object' && typeof process.getBuiltinModule == 'function') {
  require = process.getBuiltinModule('module').createRequire(import.meta.url);
  __dirname = process.getBuiltinModule('path').dirname(process.getBuiltinModule('url').fileURLToPath(import.meta.url));
}
