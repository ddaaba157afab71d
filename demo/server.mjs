// The demo's static server (sirv): the page, the package it imports, the prepared data
// and the chart library, from this repository, on localhost only and read-only. `npm
// start` runs it; the browser tests (tests/js/browser.mjs) start it in-process.
//
//   node demo/server.mjs [--port 8080]
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import sirv from 'sirv';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Only these folders are served; everything else in the repository is 404.
const SERVED = ['/demo/', '/web/', '/node_modules/uplot/dist/', '/tests/browser/', '/tests/js/synthetic.mjs'];

/**
 * Starts the server; resolves to { origin, close() }. port 0 picks a free port.
 * `isolated` (default true) sends the headers that make its pages cross-origin isolated
 * (COOP same-origin, COEP require-corp): what a page needs for SharedArrayBuffer, so for
 * qforget's threaded build. Everything it serves is same-origin, so nothing else breaks.
 * @param {{port?: number, host?: string, isolated?: boolean}} [options]
 */
export function startServer({ port = 0, host = '127.0.0.1', isolated = true } = {}) {
  const files = sirv(ROOT, { dev: true, dotfiles: false });
  const reply = (res, status, text, headers = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'read-only server', { allow: 'GET, HEAD' });
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      return reply(res, 400, 'bad URL');
    }
    if (path === '/') return reply(res, 302, '', { location: '/demo/' });
    // Decoding may bring back dot segments (%2e%2e) or backslashes the URL parser kept.
    if (/\\|\0|(^|\/)\./.test(path) || !SERVED.some((prefix) => path.startsWith(prefix))) return reply(res, 404, 'not found');
    if (isolated) {
      res.setHeader('cross-origin-opener-policy', 'same-origin');
      res.setHeader('cross-origin-embedder-policy', 'require-corp');
    }
    files(req, res, () => reply(res, 404, 'not found'));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      resolve({
        origin: `http://${host}:${bound}`,
        close: () => new Promise((done) => {
          server.closeAllConnections?.();
          server.close(() => done());
        }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' } } });
  const { origin } = await startServer({ port: Number(values.port) });
  console.log(`qforget demo: ${origin}/demo/  (Ctrl+C to stop)`);
}
