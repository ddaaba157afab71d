// Bookkeeping of the wasm objects JS wrappers own: every Embind handle a wrapper takes
// is adopted here and released exactly once, so tests can assert that nothing leaks.
let live = 0;

/** Number of wasm objects currently owned by JS wrappers (a debugging aid). */
export function liveHandles() {
  return live;
}

/** Takes ownership of an Embind handle. */
export function adopt(handle) {
  live++;
  return handle;
}

/** Deletes an adopted handle. */
export function release(handle) {
  handle.delete();
  live--;
}

/** Forgets an adopted handle whose wasm instance crashed (there is nothing to delete). */
export function abandon(handle) {
  live--;
}
