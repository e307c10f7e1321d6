#!/usr/bin/env node
// Runs every benchmark script (packages/*/bench/*.bench.ts, apps/*/bench/*.bench.ts)
// one after another, each in its own Node process with --expose-gc, reading
// workspace packages from source. Each script prints a markdown table and
// writes bench/results/<name>.json. Pass name filters to run a subset:
//   pnpm bench storage core
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const filters = process.argv.slice(2);
const files = [];
for (const group of ['packages', 'apps']) {
  for (const pkg of readdirSync(join(root, group))) {
    const dir = join(root, group, pkg, 'bench');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.bench.ts')) files.push(join(dir, f));
  }
}
const chosen = files.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (chosen.length === 0) {
  console.error(`no benchmark matches ${filters.join(' ')}`);
  process.exit(1);
}
let failed = 0;
for (const f of chosen) {
  console.log(`\n## ${relative(root, f)}\n`);
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=8192', '--conditions=@supercache/source', '--import', 'tsx', f],
    { cwd: root, stdio: 'inherit' },
  );
  if (r.status !== 0) {
    failed++;
    console.error(`benchmark ${relative(root, f)} exited with ${r.status ?? r.signal}`);
  }
}
console.log(`\n${chosen.length - failed} benchmark scripts ran, ${failed} failed; results in bench/results/`);
process.exit(failed === 0 ? 0 : 1);
