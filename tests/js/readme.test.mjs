// The README's Node example and its ONNX example are complete programs: run them as written
// (with 'qforget' resolved to this package through its own "exports") so they cannot drift
// from the API.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';

import { generateFloatModel } from './onnx_models.mjs';

it('the README Node example runs and prints what it promises', { timeout: 240_000 }, async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const code = readme.split('### Node')[1].match(/```js\n([\s\S]*?)```/)[1];
  // In the repository, the package resolves itself by name (package.json "exports").
  const file = new URL('../../readme-example.tmp.mjs', import.meta.url);
  await writeFile(file, code);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file.pathname], { timeout: 230_000 });
    assert.match(stdout, /test accuracy 0\.[6-9]/);
    assert.match(stdout, /FA: \{\s*value: [\d.]+,\s*n: 20,\s*low: [\d.]+,\s*high: [\d.]+/);
    assert.match(stdout, /MIA: \{\s*value: [\d.]+,\s*n: 20,/, "the attack had 500 retain and 500 test samples");
    assert.match(stdout, /\{ ok: true, count: 2 \}/);
    assert.match(stdout, /true \[ \{ samples: 54, removed: 6, epochs: 2 \} \]/, 'the rewind replayed the fit without the six samples');
    assert.match(stdout, /reloaded/);
  } finally {
    await rm(file, { force: true });
  }
});

it('the README server-side verification example runs and prints what it promises', { timeout: 120_000 }, async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const code = readme.split('#### Verifying a log on a server')[1].match(/```js\n([\s\S]*?)```/)[1];
  const file = new URL('../../readme-example-verify.tmp.mjs', import.meta.url);
  await writeFile(file, code);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file.pathname], { timeout: 110_000 });
    assert.match(stdout, /^\{ ok: true, count: 2 \}\n\{\s+ok: false,\s+count: 2,\s+brokenAt: 1,\s+reason: 'its contents do not match its sha256 \(altered\)'\s+\}\n$/);
  } finally {
    await rm(file, { force: true });
  }
});

it('the README ONNX example runs: import, personalize, forget, export, run in onnxruntime-web', { timeout: 240_000 }, async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const code = readme.split('### Bring an ONNX model')[1].match(/```js\n([\s\S]*?)```/)[1];
  // Next to package.json, so 'qforget' resolves; run in a folder holding model.onnx.
  const file = new URL('../../readme-example-onnx.tmp.mjs', import.meta.url);
  const dir = await mkdtemp(join(tmpdir(), 'qforget-readme-onnx-'));
  await writeFile(join(dir, 'model.onnx'), generateFloatModel('lenet').bytes);
  await writeFile(file, code);
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file.pathname], { cwd: dir, timeout: 230_000 });
    assert.match(stdout, /\[ 1, 12, 12 \] qforget-tests onnx_models\.mjs/);
    assert.match(stdout, /forgotten 8/);
    assert.match(stdout, /same class in onnxruntime: true/);
    assert.match(await readFile(join(dir, 'personal.onnx'), 'latin1'), /qforget/, 'the exported file names its producer');
  } finally {
    await rm(file, { force: true });
    await rm(dir, { recursive: true, force: true });
  }
});
