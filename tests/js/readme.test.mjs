// The README's Node example is a complete program: run it as written (with 'qforget'
// resolved to this package through its own "exports") so it cannot drift from the API.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { it } from 'node:test';
import { promisify } from 'node:util';

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
