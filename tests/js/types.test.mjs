// The package's TypeScript types, from a consumer's side: tests/types/consumer.ts imports
// 'qforget' (resolved through the package's own "exports") and walks the whole API under
// strict settings, with `@ts-expect-error` lines for misuse the types must refuse; tsc
// must accept it. Also: the values web/index.d.ts declares are exactly those
// web/index.js exports.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('types', () => {
  it('a strict TypeScript consumer type-checks (tsc -p tests/types)', { timeout: 60_000 }, async () => {
    const tsc = join(repo, 'node_modules', '.bin', 'tsc');
    try {
      await promisify(execFile)(tsc, ['-p', 'tests/types', '--pretty', 'false'], { cwd: repo, timeout: 55_000 });
    } catch (error) {
      assert.fail(`tsc -p tests/types exited with ${error.code}:\n${error.stdout}${error.stderr}`);
    }
  });

  it('web/index.d.ts declares exactly the values web/index.js exports', async () => {
    const { default: ts } = await import('typescript');
    const dts = join(repo, 'web', 'index.d.ts');
    const program = ts.createProgram([dts], {
      noEmit: true,
      strict: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: [],
    });
    const checker = program.getTypeChecker();
    const module = checker.getSymbolAtLocation(program.getSourceFile(dts));
    const declared = checker
      .getExportsOfModule(module)
      .filter((symbol) => symbol.flags & ts.SymbolFlags.Value)
      .map((symbol) => symbol.name)
      .sort();
    const runtime = Object.keys(await import('../../web/index.js')).sort();
    const undeclared = runtime.filter((name) => !declared.includes(name));
    const missing = declared.filter((name) => !runtime.includes(name));
    assert.deepEqual(
      { undeclared, missing },
      { undeclared: [], missing: [] },
      `undeclared: exported by web/index.js, not declared in web/index.d.ts; missing: declared, not exported`,
    );
  });
});
