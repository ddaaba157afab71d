// Single-thread GEMM throughput of qforget's int8 wasm kernels against peer libraries,
// measured in one node process.
//
//   node bench/kernels.mjs [--json] [--quick]
//
// What is measured, for each shape M×K×N (C[M,N] = A[M,K] · B[K,N]):
//   qforget-simd    qforget's SIMD128 build, u8×s8 → s32. B is packed once
//                   (kernels.packMatrixS8, untimed); timed call: packed.matmul(A, M).
//   qforget-scalar  qforget's no-SIMD build, same packed path.
//   ort-wasm        onnxruntime-web MatMulInteger on the wasm backend, numThreads = 1.
//                   B is a constant initializer of the model, which ORT may prepack when
//                   the session is created (untimed); timed call: await session.run({A}).
//   tfjs-wasm-f32   @tensorflow/tfjs-backend-wasm, fp32 tf.matMul on the same values, one
//                   thread. A and B are tensors made once (untimed); timed call: matMul,
//                   then dataSync() to read C, then dispose of C.
// Every timed call includes what a caller pays: A copied into the wasm heap (except for
// tfjs, where A already lives in a tensor) and C copied out into a fresh typed array.
// Every call is awaited, so the async ORT API and the sync others are timed alike.
//
// How: shapes run one after another; for each shape every implementation is set up and
// then called round-robin (one call each per round) through warm-up rounds and timed
// rounds, until every implementation made at least minRuns calls and the rounds lasted
// minMs per implementation. Round-robin makes a busy spell of this shared machine hit
// every implementation alike. The MEDIAN call time is reported, with GOPS = 2·M·K·N /
// time (for tfjs these are fp32 GFLOP/s). Compare ratios from one run, never absolute
// times from different runs. --quick cuts repetitions for a smoke test.
//
// Correctness, in the same run: A (uint8) and B (int8) come from a seeded generator;
// for every shape qforget-simd's Int32 result must equal ort-wasm's and qforget-scalar's
// exactly, and tfjs's fp32 result must be close. Any mismatch is reported and the script
// exits with status 1 (after measuring every shape).
//
// Output: a table per shape (ms, GOPS, ratios of qforget-simd's GOPS to the others').
// With --json, stdout carries only one JSON object per measurement and line,
// {"impl","m","k","n","gops","ms"}; the human-readable report goes to stderr.

import os from 'node:os';
import process from 'node:process';

import * as ort from 'onnxruntime-web';
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

import { createQforget } from '../web/index.js';
import { matmulIntegerModel } from './onnx_matmul_integer.mjs';

const SHAPES = [
  [256, 1024, 1024],
  [64, 784, 256],
  [1, 784, 256],
  [128, 3136, 64],
];

const TIMING = {
  full: { warmupRuns: 2, warmupMs: 100, minRuns: 5, minMs: 500 },
  quick: { warmupRuns: 1, warmupMs: 0, minRuns: 3, minMs: 20 },
};

const BASELINE = 'qforget-simd';
const EXACT_PEERS = ['ort-wasm', 'qforget-scalar'];  // must equal BASELINE bit for bit
const APPROX_PEER = 'tfjs-wasm-f32';
const F32_TOLERANCE = 1e-5;  // relative to the largest |C| of the shape

// ---- command line ------------------------------------------------------------------

function parseArgs(argv) {
  const options = { json: false, quick: false };
  for (const arg of argv) {
    if (arg === '--json') options.json = true;
    else if (arg === '--quick') options.quick = true;
    else {
      process.stderr.write(`unknown argument ${arg}\nusage: node bench/kernels.mjs [--json] [--quick]\n`);
      process.exit(2);
    }
  }
  return options;
}

// ---- data --------------------------------------------------------------------------

/** xorshift32: a small seeded generator of uint32 values. */
function xorshift32(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** A[m,k] uint8 in [0,255] and B[k,n] int8 in [-128,127], from the top byte of each draw. */
function makeProblem([m, k, n], seed) {
  const next = xorshift32(seed);
  const a = new Uint8Array(m * k).map(() => next() >>> 24);
  const b = new Int8Array(k * n).map(() => (next() >>> 24) - 128);
  return { m, k, n, a, b };
}

// ---- implementations ---------------------------------------------------------------
// Each implementation has a name and setup(problem) → { run(), dispose() }: setup does
// the untimed preparation (packing, session creation), run() performs one timed product
// and returns C, dispose() releases what setup made.

function qforgetPacked(name, qf) {
  return {
    name,
    async setup({ m, k, n, a, b }) {
      const packed = qf.kernels.packMatrixS8(b, k, n);
      return {
        run: () => packed.matmul(a, m),
        dispose: () => packed.dispose(),
      };
    },
  };
}

function ortMatmulInteger() {
  return {
    name: 'ort-wasm',
    async setup({ m, k, n, a, b }) {
      const session = await ort.InferenceSession.create(matmulIntegerModel(b, m, k, n), {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
      });
      const feeds = { A: new ort.Tensor('uint8', a, [m, k]) };
      return {
        async run() {
          const { Y } = await session.run(feeds);
          const c = Y.data;
          Y.dispose();
          return c;
        },
        dispose: () => session.release(),
      };
    },
  };
}

function tfjsMatmulF32() {
  return {
    name: 'tfjs-wasm-f32',
    async setup({ m, k, n, a, b }) {
      const ta = tf.tensor2d(Float32Array.from(a), [m, k]);
      const tb = tf.tensor2d(Float32Array.from(b), [k, n]);
      return {
        run() {
          const c = tf.matMul(ta, tb);
          try {
            return c.dataSync();
          } finally {
            c.dispose();
          }
        },
        dispose() {
          ta.dispose();
          tb.dispose();
        },
      };
    },
  };
}

async function loadImplementations() {
  ort.env.wasm.numThreads = 1;  // before the first session: ORT reads it once
  ort.env.logLevel = 'error';
  setThreadsCount(1);  // before the backend initializes; node has no wasm threads anyway
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not initialize its wasm backend');
  const [simd, scalar] = [await createQforget({ simd: true, threads: 1 }), await createQforget({ simd: false })];
  return {
    simd,
    scalar,
    impls: [qforgetPacked('qforget-simd', simd), qforgetPacked('qforget-scalar', scalar), ortMatmulInteger(), tfjsMatmulF32()],
  };
}

// ---- timing ------------------------------------------------------------------------

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times every implementation on one problem, round-robin: each round calls each
 * implementation once, so a busy spell on the machine slows them all alike instead of
 * whichever happened to be running. Keeps each one's first output for checking.
 */
async function measureShape(impls, problem, timing) {
  const runners = [];
  try {
    for (const impl of impls) runners.push(await impl.setup(problem));
    const outputs = [];
    for (const runner of runners) outputs.push(await runner.run());
    const rounds = async (minRuns, minMs, record) => {
      const start = performance.now();
      for (let round = 0; round < minRuns || performance.now() - start < minMs * impls.length; round++) {
        for (const [i, runner] of runners.entries()) {
          const t0 = performance.now();
          await runner.run();
          record?.(i, performance.now() - t0);
        }
      }
    };
    await rounds(timing.warmupRuns, timing.warmupMs);
    const times = impls.map(() => []);
    await rounds(timing.minRuns, timing.minMs, (i, ms) => times[i].push(ms));
    const { m, k, n } = problem;
    return impls.map((impl, i) => {
      const ms = median(times[i]);
      return { impl: impl.name, m, k, n, ms, gops: (2 * m * k * n) / (ms * 1e6), runs: times[i].length, output: outputs[i] };
    });
  } finally {
    for (const runner of runners) await runner.dispose();
  }
}

// ---- correctness -------------------------------------------------------------------

function firstDifference(x, y) {
  if (x.length !== y.length) return { index: -1, detail: `lengths ${x.length} and ${y.length}` };
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) return { index: i, detail: `${x[i]} vs ${y[i]}` };
  }
  return null;
}

function maxRelativeError(exact, approx) {
  let scale = 0;
  let error = 0;
  for (let i = 0; i < exact.length; i++) {
    scale = Math.max(scale, Math.abs(exact[i]));
    error = Math.max(error, Math.abs(exact[i] - approx[i]));
  }
  return error / Math.max(scale, 1);
}

/** Compares the results of one shape; returns a list of failure messages. */
function checkShape(results, { n }) {
  const byImpl = Object.fromEntries(results.map((r) => [r.impl, r.output]));
  const base = byImpl[BASELINE];
  const failures = [];
  for (const peer of EXACT_PEERS) {
    const diff = firstDifference(base, byImpl[peer]);
    if (diff) {
      const where = diff.index < 0 ? '' : ` at C[${Math.floor(diff.index / n)}][${diff.index % n}]`;
      failures.push(`${BASELINE} != ${peer}${where}: ${diff.detail}`);
    }
  }
  const error = maxRelativeError(base, byImpl[APPROX_PEER]);
  if (!(error <= F32_TOLERANCE)) failures.push(`${APPROX_PEER} off by ${error.toExponential(2)} (relative)`);
  return failures;
}

// ---- report ------------------------------------------------------------------------

const shapeName = ({ m, k, n }) => `${m}x${k}x${n}`;

function header(simd, scalar, timing) {
  return [
    'qforget int8 GEMM benchmark, single thread',
    `date      ${new Date().toISOString()}`,
    `node      ${process.version} (${os.platform()} ${os.arch()})`,
    `cpu       ${os.cpus()[0]?.model ?? 'unknown'} (${os.cpus().length} logical cores)`,
    `qforget   ${simd.version} (isa ${simd.kernels.isa}; ${scalar.kernels.isa})`,
    `peers     onnxruntime-web ${ort.env.versions.web}, tfjs-core ${tf.version_core} wasm backend`,
    `timing    round-robin; median of >= ${timing.minRuns} calls and >= ${timing.minMs} ms per implementation and shape`,
    `ratios    GOPS of ${BASELINE} / GOPS of the other (> 1: ${BASELINE} is faster); tfjs is fp32`,
  ].join('\n') + '\n\n';
}

function shapeTable(results, failures) {
  const { m, k, n } = results[0];
  const gops = Object.fromEntries(results.map((r) => [r.impl, r.gops]));
  const lines = [`${shapeName(results[0])}   (${((2 * m * k * n) / 1e6).toFixed(1)} M ops per call)`];
  lines.push(`  ${'impl'.padEnd(16)}${'ms'.padStart(10)}${'GOPS'.padStart(9)}${'runs'.padStart(8)}`);
  for (const r of results) {
    lines.push(`  ${r.impl.padEnd(16)}${r.ms.toFixed(3).padStart(10)}${r.gops.toFixed(2).padStart(9)}${String(r.runs).padStart(8)}`);
  }
  for (const other of ['ort-wasm', 'qforget-scalar', 'tfjs-wasm-f32']) {
    lines.push(`  ${`${BASELINE} / ${other}`.padEnd(33)}${(gops[BASELINE] / gops[other]).toFixed(2)}x`);
  }
  lines.push(failures.length ? failures.map((f) => `  MISMATCH ${f}`).join('\n')
    : `  check     ${BASELINE} == ${EXACT_PEERS.join(' == ')} exactly; ${APPROX_PEER} within ${F32_TOLERANCE.toExponential()} relative`);
  return `${lines.join('\n')}\n\n`;
}

const jsonLine = ({ impl, m, k, n, gops, ms }) =>
  `${JSON.stringify({ impl, m, k, n, gops: Number(gops.toFixed(4)), ms: Number(ms.toFixed(6)) })}\n`;

// ---- main --------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const timing = options.quick ? TIMING.quick : TIMING.full;
  const report = options.json ? process.stderr : process.stdout;
  const { simd, scalar, impls } = await loadImplementations();
  report.write(header(simd, scalar, timing));

  const allFailures = [];
  for (const [i, shape] of SHAPES.entries()) {
    const problem = makeProblem(shape, 0x9e3779b9 + i);
    const results = await measureShape(impls, problem, timing);
    const failures = checkShape(results, problem);
    allFailures.push(...failures.map((f) => `${shapeName(problem)}: ${f}`));
    report.write(shapeTable(results, failures));
    if (options.json) for (const r of results) process.stdout.write(jsonLine(r));
  }

  if (allFailures.length) {
    process.stderr.write(`FAILED: results differ\n${allFailures.map((f) => `  ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench/kernels.mjs: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
