// The browser-test harness: Debian's Chromium driven by playwright-core against the
// demo's server (demo/server.mjs, which also serves tests/browser/). Not a test file
// itself (node --test does not pick it up); browser tests import it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { startServer as startDemoServer } from '../../demo/server.mjs';

export const CHROMIUM = '/usr/bin/chromium';
// ../shared/docs/TOOLCHAIN.md: no network here, so Chromium's own background calls
// would only fail noisily; no GPU in the test machines.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Starts the static server and a headless Chromium with a fresh profile (a persistent
 * context, so IndexedDB survives page reloads and relaunches), calls
 * `fn(page, origin, session)` and always cleans up: browser, server and profile.
 *
 * session:
 *   requests         every URL the pages of the context requested, in order
 *   consoleErrors    console.error messages and uncaught page errors, as text
 *   foreignRequests() the requests that left `origin` (data: URLs excepted)
 *   context          the current playwright BrowserContext
 *   relaunch({crash}) closes Chromium (crash: SIGKILLs its processes instead, as a
 *                    power cut would) and starts it again on the same profile;
 *                    resolves to the new page
 * @template T
 * @param {(page: import('playwright-core').Page, origin: string, session: object) => Promise<T>} fn
 * @param {{executablePath?: string, startServer?: () => Promise<{origin: string, close: () => Promise<void>}>}} [options]
 * @returns {Promise<T>}
 */
export async function withChromium(fn, { executablePath = CHROMIUM, startServer = startDemoServer } = {}) {
  const server = await startServer();
  let profile;
  try {
    profile = await mkdtemp(join(tmpdir(), 'qforget-chromium-'));
  } catch (error) {
    await server.close();
    throw error;
  }
  const session = {
    requests: [],
    consoleErrors: [],
    context: null,
    foreignRequests() {
      return session.requests.filter((url) => !url.startsWith('data:') && new URL(url).origin !== server.origin);
    },
    async relaunch({ crash = false } = {}) {
      const old = session.context;
      session.context = null;
      if (crash) await killBrowser(old);
      await old.close().catch(() => {});  // after a crash: only playwright's side is left
      return launch();
    },
  };
  const launch = async () => {
    const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS });
    session.context = context;
    context.on('request', (request) => session.requests.push(request.url()));
    context.on('console', (message) => {
      if (message.type() === 'error') session.consoleErrors.push(message.location().url ? `${message.text()} (${message.location().url})` : message.text());
    });
    context.on('weberror', (error) => session.consoleErrors.push(`uncaught: ${error.error().stack ?? error.error()}`));
    return context.pages()[0] ?? context.newPage();
  };
  try {
    return await fn(await launch(), server.origin, session);
  } finally {
    await session.context?.close().catch(() => {});
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** SIGKILLs every process of the Chromium instance behind `context` (ids from CDP). */
async function killBrowser(context) {
  const cdp = await context.browser().newBrowserCDPSession();
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
  // The browser process first: the others then cannot finish any work on its behalf.
  const pids = processInfo.sort((a, b) => (a.type === 'browser' ? -1 : b.type === 'browser' ? 1 : 0)).map((p) => p.id);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!context.browser().isConnected()) return;
  await new Promise((done) => {
    const timer = setTimeout(done, 10_000);
    context.once('close', () => {
      clearTimeout(timer);
      done();
    });
  });
}
