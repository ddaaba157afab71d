// The bad-input sweep: every public entry point of the main-thread API, and a
// representative part of the worker API, against every class of bad input that applies
// (the table is data, in ./bad_input_cases.mjs). Each case must throw (sync entry points)
// or reject (async ones) a QforgetError with the expected code and a message naming the
// argument, and leave the subject model bit-identical (SHA-256 of save()). Known bugs stay
// in the table as `todo`. Per-class counts go to the log and to
// build/test-artifacts/bad_input.json. Not a test of what valid input computes.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';

import { createQforget, liveHandles } from '../../web/index.js';
import { createQforgetWorker } from '../../web/worker.js';
import {
  ASYNC_APIS, MAIN_CASES, SPEC, WORKER_CASES, caseKey, mainContext, modelHash, rebuildModelFile, runCase, workerContext,
} from './bad_input_cases.mjs';

const ARTIFACT = new URL('../../build/test-artifacts/bad_input.json', import.meta.url);
const ISOLATED_TIMEOUT_MS = 30_000;
const PAST = { throw: 'threw', reject: 'rejected', return: 'returned', resolve: 'resolved', crash: 'crashed its thread', timeout: 'timed out' };
const started = performance.now();
const report = { node: process.version, sweeps: {} };

after(() => {
  report.seconds = Number(((performance.now() - started) / 1000).toFixed(2));
  mkdirSync(new URL('.', ARTIFACT), { recursive: true });
  writeFileSync(ARTIFACT, `${JSON.stringify(report, null, 2)}\n`);
});

// Runs a case that may crash the engine in a fresh thread with its own engine instance.
function runIsolated(c, simd) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./bad_input_cases.mjs', import.meta.url), { workerData: { badInputCase: { key: caseKey(c), simd } } });
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      worker.terminate();
      resolve(result);
    };
    const failed = (settled, ctor, message) => finish({ settled, qforgetError: false, ctor, message, changed: true, stillWorks: false });
    const timer = setTimeout(() => failed('timeout', undefined, `no answer in ${ISOLATED_TIMEOUT_MS} ms`), ISOLATED_TIMEOUT_MS);
    worker.once('message', finish);
    worker.once('error', (error) => failed('crash', error?.constructor?.name, String(error?.message ?? error)));
    worker.once('exit', (code) => failed('crash', undefined, `the thread exited with code ${code} before answering`));
  });
}

/** One row of the counts table per class, plus a total. */
function countByClass(rows) {
  const classes = new Map();
  const zero = () => ({ tried: 0, raised: 0, expected: 0, otherError: 0, noError: 0, changed: 0, todo: 0 });
  const total = zero();
  for (const r of rows) {
    if (!classes.has(r.cls)) classes.set(r.cls, zero());
    for (const counts of [classes.get(r.cls), total]) {
      counts.tried++;
      if (r.qforgetError) counts.raised++;
      if (r.ok) counts.expected++;
      if (!r.qforgetError && (r.settled === 'throw' || r.settled === 'reject' || r.settled === 'crash' || r.settled === 'timeout')) counts.otherError++;
      if (r.settled === 'return' || r.settled === 'resolve') counts.noError++;
      if (r.changed) counts.changed++;
      if (r.todo) counts.todo++;
    }
  }
  return { ...Object.fromEntries([...classes].sort(([a], [b]) => a.localeCompare(b))), total };
}

function printCounts(t, title, counts) {
  const columns = ['tried', 'raised', 'expected', 'otherError', 'noError', 'changed', 'todo'];
  t.diagnostic(`${title}: ${'class'.padEnd(16)}${columns.map((c) => c.padStart(11)).join('')}`);
  for (const [cls, row] of Object.entries(counts)) {
    t.diagnostic(`${title}: ${cls.padEnd(16)}${columns.map((c) => String(row[c]).padStart(11)).join('')}`);
  }
}

/**
 * Runs every case as a subtest against `ctx`: hash(ctx) fingerprints the subject model
 * before and after, restore(ctx) replaces it if a case changed it, isAsync(case) says
 * whether the entry point rejects rather than throws. Returns the rows of the report.
 */
async function sweep(t, cases, { ctx, hash, restore, isAsync, simd }) {
  const rows = [];
  for (const c of cases) {
    await t.test(`${caseKey(c)} [${c.cls}]`, { todo: c.todo }, async () => {
      const before = await hash(ctx);
      const t0 = performance.now();
      const out = c.isolated ? await runIsolated(c, simd) : await runCase(c, ctx);
      const ms = performance.now() - t0;
      const changed = c.isolated ? out.changed : (await hash(ctx)) !== before;
      if (changed && !c.isolated) await restore(ctx);
      const mode = isAsync(c) ? 'reject' : 'throw';
      const problems = [];
      if (out.settled !== mode) problems.push(`expected it to ${mode}, but it ${PAST[out.settled]}`);
      if ((out.settled === 'throw' || out.settled === 'reject') && !out.qforgetError) problems.push(`a ${out.ctor}, not a QforgetError`);
      if (out.qforgetError && out.code !== c.code) problems.push(`code ${out.code}, expected ${c.code}`);
      if (out.qforgetError && !(out.message?.length > 0 && c.message.test(out.message))) problems.push(`the message does not match ${c.message}`);
      if (changed) problems.push('the model changed');
      if (c.isolated && !out.stillWorks) problems.push('the instance no longer works');
      rows.push({
        api: c.api, cls: c.cls, name: c.name, expect: { code: c.code, message: String(c.message) },
        settled: out.settled, qforgetError: out.qforgetError, ctor: out.ctor, code: out.code, message: out.message,
        changed, ok: problems.length === 0, problems, todo: c.todo ?? null, isolated: !!c.isolated, ms: Number(ms.toFixed(2)),
      });
      assert.deepEqual(problems, [], `got ${out.ctor ?? out.settled} ${out.code ?? ''}: ${out.message ?? ''}`);
    });
  }
  return rows;
}

for (const simd of [true, false]) {
  const build = simd ? 'simd' : 'nosimd';
  describe(`bad input (${simd ? 'SIMD' : 'no-SIMD'} build)`, () => {
    it('the main-thread API refuses every bad input with a QforgetError and changes nothing', async (t) => {
      const qf = await createQforget({ simd });
      const ctx = await mainContext(qf);
      // The rebuilt-file helper itself must produce a loadable file, or its cases prove nothing.
      qf.loadModel(rebuildModelFile(ctx.bytes)).dispose();
      const probe = ctx.data.x.subarray(0, 3 * 144);
      const baseline = ctx.model.predict(probe);
      const handles = liveHandles();
      const rows = await sweep(t, MAIN_CASES, {
        ctx,
        simd,
        hash: (c) => modelHash(c.model),
        restore: (c) => {
          c.model.dispose();
          c.model = c.qf.loadModel(c.bytes);
        },
        isAsync: (c) => ASYNC_APIS.has(c.api),
      });
      const counts = countByClass(rows);
      printCounts(t, `main ${build}`, counts);
      report.sweeps[`main-${build}`] = { counts, cases: rows };

      // The instance still works: the subject predicts as before, and new models work.
      assert.deepEqual(ctx.model.predict(probe), baseline);
      const fresh = qf.createModel(SPEC);
      assert.equal(fresh.predict(probe).length, 27);
      fresh.dispose();
      assert.equal(liveHandles(), handles, 'the refused calls left no wasm object behind');
      ctx.dispose();
      assert.equal(liveHandles(), 0);
    });

    it('the worker API refuses bad input with a QforgetError and changes nothing', async (t) => {
      const qf = await createQforget({ simd });
      const source = await mainContext(qf);
      const bytes = source.bytes;
      source.dispose();
      const worker = await createQforgetWorker({ simd });
      t.after(() => worker.terminate());
      const ctx = await workerContext(worker, bytes);
      const handles = await worker.liveHandles();
      const probe = ctx.data.x.subarray(0, 3 * 144);
      const baseline = await ctx.remote.predict(probe);
      const rows = await sweep(t, WORKER_CASES, {
        ctx,
        simd,
        hash: (c) => modelHash(c.remote),
        restore: async (c) => {
          await c.remote.dispose();
          c.remote = await c.worker.loadModel(c.bytes);
        },
        isAsync: () => true,
      });
      const counts = countByClass(rows);
      printCounts(t, `worker ${build}`, counts);
      report.sweeps[`worker-${build}`] = { counts, cases: rows };

      assert.deepEqual(await ctx.remote.predict(probe), baseline);
      assert.equal(await worker.liveHandles(), handles, 'the refused calls left no wasm object behind in the worker');
      await ctx.remote.dispose();
      assert.equal(await worker.liveHandles(), 0);
    });
  });
}
