// The threaded build: which build createQforget({ threads }) loads and why, and the
// promise that matters: the same seed, data and request give the same model bytes at
// any thread count and in the single-threaded SIMD build.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';

import { startServer } from '../../demo/server.mjs';
import { autoThreads, createQforget, QforgetError } from '../../web/index.js';
import { withChromium } from './browser.mjs';
import { synthetic } from './synthetic.mjs';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const isError = (code, pattern) => (e) => e instanceof QforgetError && e.code === code && pattern.test(e.message);

describe('threads', () => {
  it("loads the threaded build for more than one thread and says what runs", async () => {
    const two = await createQforget({ threads: 2 });
    assert.equal(two.build, 'threads');
    assert.equal(two.threads, 2);
    assert.equal(two.threadsReason, null);
    assert.equal(two.simd, true);
    const one = await createQforget({ threads: 1 });
    assert.equal(one.build, 'simd');
    assert.equal(one.threads, 1);
    const plain = await createQforget({ simd: false, threads: 4 });
    assert.equal(plain.build, 'nosimd');
    assert.equal(plain.threads, 1);
    assert.match(plain.threadsReason, /4 threads asked for, 1 runs: the threaded build has SIMD, and options\.simd is false/);
    const auto = await createQforget();
    assert.equal(auto.threads, Math.min(8, availableParallelism()));
    assert.equal(autoThreads(), auto.threads);
    assert.equal(await createQforget({ threads: 2 }), two, 'one instance per build and thread count');
    // Self-hosted files: the glue, the .wasm and (Node) the pthread script's CommonJS copy.
    const files = [];
    const locateFile = (file) => { files.push(file); return new URL(`../../web/dist/${file}`, import.meta.url); };
    const own = await createQforget({ threads: 2, locateFile });
    assert.equal(own.build, 'threads');
    assert.deepEqual(files.sort(), ['qforget-threads.js', 'qforget-threads.wasm', 'qforget-threads.worker.cjs']);
  });

  it('refuses thread counts it cannot run', async () => {
    for (const threads of [0, 17, 2.5, '2', null]) {
      await assert.rejects(createQforget({ threads }), isError('INVALID_ARGUMENT', /options\.threads must be 'auto' or an integer from 1 to 16/));
    }
  });

  it('fit then forget give the same bytes at 1, 2, 3 and 4 threads and in the SIMD build', async () => {
    const data = synthetic(600, 21);
    const forgetSet = synthetic(30, 22);
    // mobilenetv2 (depthwise convolutions, 1x1 strided ones) on fewer samples and methods:
    // one epoch of it costs what lenet's whole case does.
    const cases = [
      { arch: 'lenet', data, methods: ['qmul', 'salun', 'bs', 'oeu'] },
      { arch: 'resnet8', data, methods: ['qmul', 'salun', 'bs', 'oeu'] },
      { arch: 'mobilenetv2', data: synthetic(200, 21), methods: ['qmul', 'salun'] },
    ];
    for (const { arch, data, methods } of cases) {
      const results = [];
      for (const [simd, threads] of [[true, 1], [true, 2], [true, 3], [true, 4]]) {
        const qf = await createQforget({ simd, threads });
        const model = qf.createModel({ arch, inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 5 });
        await model.fit(data, { epochs: 1, batchSize: 64, lr: 0.05 });
        for (const method of methods) {
          await model.forget(forgetSet, { method, retain: data, epochs: 1, batchSize: 64, lr: 0.01 });
        }
        results.push({ build: qf.build, threads: qf.threads, sha: sha256(model.save()), logits: Array.from(model.predict(forgetSet.x).slice(0, 9)) });
        model.dispose();
      }
      for (const r of results.slice(1)) {
        assert.equal(r.sha, results[0].sha, `${arch}: ${r.build} at ${r.threads} thread(s) gives the bytes of ${results[0].build} at ${results[0].threads}`);
      }
    }
  });

  it('strings from the engine survive wasm memory growth on shared memory', async () => {
    const qf = await createQforget({ threads: 2 });
    const model = qf.createModel({ arch: 'mlp', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4 });
    const { footprint: before, inUse } = qf.memoryStats();
    // Grows wasm memory (more samples in than it has room for), then reads JSON and an error.
    const n = Math.ceil((before - inUse + 2 ** 24) / 144);
    assert.equal(model.predict(new Uint8Array(144 * n)).length, 9 * n);
    assert.ok(qf.memoryStats().footprint > before);
    assert.equal(model.describe().arch, 'mlp');
    assert.throws(() => model.evaluate({ x: new Uint8Array(144), y: new Uint8Array([9]), shape: [1, 12, 12, 1] }), isError('INVALID_ARGUMENT', /dataset\.y\[0\] = 9 is not a class/));
    model.dispose();
  });

  // In Chromium: a cross-origin isolated page (the demo server's headers) runs the threaded
  // build, its pthreads in Web Workers, and trains the same bytes as Node at 2 threads; a
  // page without isolation falls back to one thread and says why.
  for (const isolated of [true, false]) {
    it(`in Chromium, a page ${isolated ? 'with' : 'without'} cross-origin isolation`, { timeout: 180_000 }, async () => {
      const result = await withChromium(async (page, origin, session) => {
        await page.goto(`${origin}/tests/browser/blank.html`);
        const out = await page.evaluate(async () => {
          const { createQforget } = await import('/web/index.js');
          const { synthetic } = await import('/tests/js/synthetic.mjs');
          const qf = await createQforget({ threads: 2 });
          const model = qf.createModel({ arch: 'lenet', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 5 });
          await model.fit(synthetic(300, 21), { epochs: 1, batchSize: 64, lr: 0.05 });
          return { isolated: globalThis.crossOriginIsolated, build: qf.build, threads: qf.threads, reason: qf.threadsReason, bytes: Array.from(model.save()) };
        });
        assert.deepEqual(session.consoleErrors, []);
        return out;
      }, { startServer: () => startServer({ isolated }) });
      assert.equal(result.isolated, isolated);
      const qf = await createQforget({ threads: 2 });
      const model = qf.createModel({ arch: 'lenet', inputShape: [12, 12, 1], numClasses: 9, weightBits: 4, seed: 5 });
      await model.fit(synthetic(300, 21), { epochs: 1, batchSize: 64, lr: 0.05 });
      assert.equal(sha256(Uint8Array.from(result.bytes)), sha256(model.save()), 'the browser trained the bytes Node did');
      if (isolated) {
        assert.deepEqual([result.build, result.threads, result.reason], ['threads', 2, null]);
      } else {
        assert.deepEqual([result.build, result.threads], ['simd', 1]);
        assert.match(result.reason, /not cross-origin isolated: serve it with the headers Cross-Origin-Opener-Policy/);
      }
    });
  }
});
