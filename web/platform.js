// Where the package runs (Node or a browser), and Node's built-in modules reached in a
// way no bundler follows: a bundle for a browser never needs them, and webpack and
// esbuild refuse a literal `import('node:…')` there. Not a polyfill of anything.

/** True under Node (main thread or a worker thread). */
export const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';

/**
 * A Node built-in module by its name without the `node:` prefix, e.g. 'fs/promises'.
 * Node only (a browser has none). `process.getBuiltinModule` (Node ≥ 20.16) is no import
 * at all; older Node imports a specifier that bundlers are told to leave alone.
 * @param {string} name
 * @returns {Promise<any>} the module (its namespace or its exports object)
 */
export async function nodeBuiltin(name) {
  const builtin = globalThis.process.getBuiltinModule?.(name);
  return builtin ?? import(/* webpackIgnore: true */ /* @vite-ignore */ `node:${name}`);
}
