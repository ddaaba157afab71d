// What the scripts that bundle npm packages into web/dist/ share (bundle_onnx_proto.mjs,
// bundle_decoders.mjs): finding the packages esbuild bundled and their license texts, and
// writing a bundle with those texts in its head. Not a bundler itself.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// The folder of the package a bundled file belongs to (the nearest package.json with a name).
export function packageDir(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name) return dir;
  }
  throw new Error(`no package.json above ${file}`);
}

// "name version (license)\n\n<LICENSE text>" of a package folder.
export function licenseOf(dir) {
  const { name, version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  const text = file ? readFileSync(join(dir, file), 'utf8').trim() : `${license} (no license file in the package)`;
  return `${name} ${version} (${license})\n\n${text}`;
}

/**
 * Writes esbuild's output `built` (built with metafile: true, write: false) to `out`
 * (relative to the repository), headed by `about` (lines) and the license of every package
 * it bundled; inputs matching `own` (the entry, a plugin's namespace) are not packages.
 * Refuses a bundle that evaluates strings: a strict CSP would refuse it.
 */
export function writeBundle(built, { out, about, own, tag }) {
  const packages = [...new Set(Object.keys(built.metafile.inputs)
    .filter((input) => !own.test(input))
    .map((input) => packageDir(join(ROOT, input))))].sort();
  const notice = [...about, 'Bundled packages and their licenses:',
    ...packages.map((dir) => `\n--- ${relative(ROOT, dir)}\n${licenseOf(dir)}`)].join('\n');
  const code = built.outputFiles[0].text;
  if (/\beval\s*\(|new Function\b/.test(code)) throw new Error(`${tag}: the bundle evaluates strings (a strict CSP would refuse it)`);
  const file = join(ROOT, out);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `/*! ${notice.replaceAll('*/', '* /')}\n*/\n${code}`);
  console.log(`${tag}: wrote ${out} (${(code.length / 1024).toFixed(0)} kB, ${packages.length} packages)`);
}
