#!/usr/bin/env node
// Layer boundary check: a package may import only packages in lower layers.
// It reads every package's declared @supercache/* dependencies and every
// import specifier in its src/, test/ and bench/ files, and fails on:
//  - a declared or imported @supercache/* package that is not below it,
//  - a relative import that leaves the package's own directory.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
// Lower number = lower layer. Equal numbers may not import each other.
const LAYERS = {
  '@supercache/buffer': 0,
  '@supercache/storage': 1,
  '@supercache/partition': 2,
  '@supercache/router': 3,
  '@supercache/replication': 4,
  '@supercache/cluster': 5,
  '@supercache/structures': 5,
  '@supercache/core': 6,
  '@supercache/node': 7,
};
// buffer stands alone: nothing it may import.
const STANDALONE = new Set(['@supercache/buffer']);

const pkgDirs = [
  ...readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d)),
  ...readdirSync(join(root, 'apps')).map((d) => join(root, 'apps', d)),
];
const errors = [];
const importRe =
  /(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e === 'node_modules' || e === 'dist') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(e)) out.push(p);
  }
  return out;
}

function allowed(from, to) {
  if (from === to) return true;
  if (STANDALONE.has(from)) return false;
  const a = LAYERS[from];
  const b = LAYERS[to];
  if (a === undefined || b === undefined) return false;
  return b < a;
}

for (const dir of pkgDirs) {
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    continue;
  }
  const name = pkg.name;
  if (!(name in LAYERS)) {
    errors.push(`${relative(root, dir)}: package ${name} has no layer in scripts/check-boundaries.mjs`);
    continue;
  }
  const declared = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies };
  for (const dep of Object.keys(declared)) {
    if (dep.startsWith('@supercache/') && !allowed(name, dep)) {
      errors.push(`${name} declares a dependency on ${dep}, which is not in a lower layer`);
    }
  }
  for (const file of [
    ...walk(join(dir, 'src'), []),
    ...walk(join(dir, 'test'), []),
    ...walk(join(dir, 'bench'), []),
  ]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec) continue;
      if (spec.startsWith('@supercache/')) {
        const target = spec.split('/').slice(0, 2).join('/');
        if (!allowed(name, target)) {
          errors.push(`${relative(root, file)}: imports ${spec}; ${name} may not depend on ${target}`);
        } else if (target !== name && !(target in declared)) {
          errors.push(`${relative(root, file)}: imports ${spec} without declaring it in package.json`);
        }
      } else if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(dir + '/')) {
          errors.push(`${relative(root, file)}: relative import ${spec} leaves the package`);
        }
      }
    }
  }
}

if (errors.length > 0) {
  console.error(`Layer boundary check failed (${errors.length}):`);
  for (const e of errors) console.error(`  - ${e}`);
  process.exit(1);
}
console.log(`Layer boundaries hold across ${pkgDirs.length} packages.`);
