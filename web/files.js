// Where the package's own files are at run time: the .wasm builds, the threaded build's
// pthread script and glue, and whether the worker script is to be named through the
// package's name (see worker.js). Only URLs
// here, no loading; a CDN or a self-hosted copy is the caller's options.locateFile,
// wasmBaseUrl and workerUrl, not this file.
//
// Every URL is written literally as `new URL('…', import.meta.url)`, the form bundlers
// follow (Vite and webpack, among others, copy the file and rewrite the URL), and twice:
//  - relative ('./dist/…'): right where the package's files are served as they are, and
//    wherever a bundler rewrote it;
//  - through the package's name ('qforget/dist/…', its "exports"): Vite's dev server
//    moves the package's code into its dependency cache (node_modules/.vite/deps/), where
//    the relative URLs name files that are not there; it rewrites these to the real ones.
// A URL through the package's name is used only where a bundler rewrote it: unrewritten,
// it would name a folder 'qforget/' next to this file. webpack is told to leave those
// alone (it rewrites the relative ones), so that a copy installed under another name
// (an npm alias), where 'qforget/…' resolves to nothing, still builds.

/**
 * True where a bundler rewrote the URLs that go through the package's name: they then
 * name the files wherever the bundler put them (or left them, as Vite's dev server does).
 * Unrewritten, such a URL still ends in the path written here.
 */
export const rewrittenByBundler = !new URL(/* webpackIgnore: true */ 'qforget/dist/qforget-simd.wasm', import.meta.url).pathname.endsWith('/qforget/dist/qforget-simd.wasm');

/** The .wasm of each build: 'simd', 'nosimd' or 'threads'. */
export function wasmUrl(build) {
  if (build === 'simd') {
    return rewrittenByBundler ? new URL(/* webpackIgnore: true */ 'qforget/dist/qforget-simd.wasm', import.meta.url) : new URL('./dist/qforget-simd.wasm', import.meta.url);
  }
  if (build === 'threads') {
    return rewrittenByBundler ? new URL(/* webpackIgnore: true */ 'qforget/dist/qforget-threads.wasm', import.meta.url) : new URL('./dist/qforget-threads.wasm', import.meta.url);
  }
  return rewrittenByBundler ? new URL(/* webpackIgnore: true */ 'qforget/dist/qforget-nosimd.wasm', import.meta.url) : new URL('./dist/qforget-nosimd.wasm', import.meta.url);
}

/**
 * The threaded build's glue as a file of its own. Its pthreads import it (the loader
 * hands them this URL): the copy a bundler folded into the app's bundle cannot be
 * imported alone, and the pthread script's own fallback, './qforget-threads.js' next to
 * itself, names nothing once a bundler has moved or renamed that script.
 */
export function threadsGlueUrl() {
  return rewrittenByBundler ? new URL(/* webpackIgnore: true */ 'qforget/dist/qforget-threads.js', import.meta.url) : new URL('./dist/qforget-threads.js', import.meta.url);
}

/**
 * The threaded build's pthread script: 'qforget-threads.worker.js', or its .cjs copy
 * (Node). Two queries for Vite, which servers and the other bundlers ignore:
 *  - `no-inline`: the script is 3 kB, and Vite inlines files under 4 kB as data: URLs,
 *    whose workers have an opaque origin that cannot share the wasm memory (and that a
 *    CSP of 'self' refuses);
 *  - `worker_file&type=classic`: Vite's dev server runs every .js it serves through its
 *    import analysis, which turns the script's `import(url)` into a call of a helper
 *    imported with an `import` statement, a syntax error in the classic worker the glue
 *    starts; a request marked as a classic worker's script gets the helper inline.
 */
export function threadsWorkerUrl(file) {
  if (file.endsWith('.cjs')) return new URL('./dist/qforget-threads.worker.cjs', import.meta.url);
  return rewrittenByBundler ? new URL(/* webpackIgnore: true */ 'qforget/dist/qforget-threads.worker.js?no-inline&worker_file&type=classic', import.meta.url) : new URL('./dist/qforget-threads.worker.js?no-inline', import.meta.url);
}
