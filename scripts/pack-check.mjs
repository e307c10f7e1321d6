#!/usr/bin/env node
/**
 * `pnpm pack-check`: what a user gets from the registry, checked before it
 * is published. Needs `pnpm build` first (the tarballs carry dist/).
 *
 * 1. `pnpm pack` every published package into a temporary folder, and fail
 *    when a tarball holds build leftovers (`.tsbuildinfo`) or test and
 *    bench files.
 * 2. `publint` every tarball (errors fail, warnings are printed).
 * 3. Install all tarballs with npm into an empty project, and run each
 *    package README's example from there, against dist/ (no source
 *    condition): the first ```ts block, or the one right after a line
 *    `<!-- pack-check: example -->`. `@supercache/node` is run through its
 *    installed `supercache-node` bin: `--help`, then a start and a graceful stop.
 * 4. Install `@supercache/storage` alone, and `@supercache/core` alone, into
 *    empty projects, and fail when either pulls in an HTTP package.
 *
 * External dependencies (fastify, undici, …) come from the npm registry.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE_MARKER = '<!-- pack-check: example -->';
/** Packages that mean "an HTTP stack came along". */
const HTTP_PACKAGES = [
  'fastify',
  'undici',
  'msgpackr',
  'light-my-request',
  'find-my-way',
  'avvio',
  'prom-client',
];
/** Paths a tarball must not hold: build info, tests, benches. */
const FORBIDDEN = [
  /\.tsbuildinfo$/,
  /(^|\/)test\//,
  /(^|\/)bench\//,
  /\.(test|spec|bench)\.[cm]?[jt]sx?$/,
  /\.(test|spec|bench)\.d\.[cm]?ts$/,
];

const failures = [];
const fail = (message) => {
  failures.push(message);
  console.error(`  FAIL ${message}`);
};
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function publishedPackages() {
  const dirs = [
    ...readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d)),
    ...readdirSync(join(root, 'apps')).map((d) => join(root, 'apps', d)),
  ];
  return dirs
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter((p) => p.manifest.private !== true);
}

/** The README's runnable example: the marked ```ts block, else the first one. */
function readmeExample(readme) {
  const lines = readme.split('\n');
  let start = -1;
  const marked = lines.findIndex((l) => l.trim() === EXAMPLE_MARKER);
  if (marked >= 0 && /^```ts\b/.test(lines[marked + 1] ?? '')) start = marked + 1;
  else start = lines.findIndex((l) => /^```ts\s*$/.test(l));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.startsWith('```'));
  return end < 0 ? undefined : lines.slice(start + 1, end).join('\n');
}

function waitForEvent(child, event, timeoutMs) {
  return new Promise((resolvePromise, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`no "${event}" line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk) => {
      buffered += chunk;
      for (const line of buffered.split('\n').slice(0, -1)) {
        try {
          if (JSON.parse(line).event === event) {
            clearTimeout(timer);
            child.stdout.off('data', onData);
            resolvePromise();
            return;
          }
        } catch {}
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before "${event}"`));
    });
  });
}

async function checkNodeBin(project) {
  const bin = join(project, 'node_modules', '.bin', 'supercache-node');
  const help = run(bin, ['--help'], project);
  if (!help.includes('Usage: supercache-node')) fail('supercache-node --help printed no usage');
  const child = spawn(
    bin,
    [
      '--id',
      'pack-check',
      '--secret',
      'pack-check',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--log-level',
      'silent',
    ],
    {
      cwd: project,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await waitForEvent(child, 'ready', 30_000);
    const stopped = waitForEvent(child, 'stopped', 30_000);
    child.kill('SIGTERM');
    await stopped;
    console.log('  ok   @supercache/node: supercache-node --help, start, ready, SIGTERM, stopped');
  } catch (e) {
    fail(`@supercache/node: supercache-node did not start and stop: ${e.message}`);
    child.kill('SIGKILL');
  }
}

function installedNames(project) {
  const tree = JSON.parse(run('npm', ['ls', '--all', '--json'], project));
  const names = new Set();
  const walk = (deps) => {
    for (const [name, info] of Object.entries(deps ?? {})) {
      // An optional peer nobody installed is listed as missing.
      if (info.missing === true || info.version === undefined) continue;
      names.add(name);
      walk(info.dependencies);
    }
  };
  walk(tree.dependencies);
  return names;
}

/** `name` and the workspace packages it depends on (dependencies only: no optional peers). */
function closure(name, packages) {
  const byName = new Map(packages.map((p) => [p.manifest.name, p.manifest]));
  const out = new Set();
  const visit = (n) => {
    if (out.has(n) || !byName.has(n)) return;
    out.add(n);
    for (const dep of Object.keys(byName.get(n).dependencies ?? {})) visit(dep);
  };
  visit(name);
  return [...out];
}

function emptyProject(base, name) {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name, private: true, type: 'module' }, null, 2)}\n`,
  );
  return dir;
}

const npmInstall = (project, tarballs) =>
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], project);

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'supercache-pack-check-'));
  const packs = join(work, 'tarballs');
  mkdirSync(packs);
  try {
    const packages = publishedPackages();
    const tarballs = new Map();
    console.log(`== pack (${packages.length} packages)`);
    for (const { dir, manifest } of packages) {
      const out = JSON.parse(run('pnpm', ['pack', '--json', '--pack-destination', packs], dir));
      const info = Array.isArray(out) ? out[0] : out;
      const tarball = resolve(packs, info.filename);
      tarballs.set(manifest.name, tarball);
      const files = run('tar', ['-tzf', tarball], packs)
        .split('\n')
        .filter((f) => f !== '')
        .map((f) => f.replace(/^package\//, ''));
      const bad = files.filter((f) => FORBIDDEN.some((re) => re.test(f)));
      if (bad.length > 0) fail(`${manifest.name}: the tarball holds ${bad.join(', ')}`);
      if (!files.some((f) => f.startsWith('dist/')))
        fail(`${manifest.name}: the tarball has no dist/ (run pnpm build first)`);
      if (!files.includes('README.md')) fail(`${manifest.name}: the tarball has no README.md`);
      console.log(`  ok   ${manifest.name}: ${files.length} files`);
    }

    console.log('== publint');
    for (const { manifest } of packages) {
      const bytes = readFileSync(tarballs.get(manifest.name));
      const tarball = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      const { messages, pkg } = await publint({ pack: { tarball }, level: 'warning', strict: false });
      for (const m of messages) {
        const text = `${manifest.name}: ${formatMessage(m, pkg) ?? m.code}`;
        if (m.type === 'error') fail(`publint ${text}`);
        else console.log(`  warn ${text}`);
      }
      if (!messages.some((m) => m.type === 'error')) console.log(`  ok   ${manifest.name}`);
    }

    console.log('== install every tarball into an empty project');
    const all = emptyProject(work, 'all');
    npmInstall(all, [...tarballs.values()]);
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    console.log('== README examples, from the installed packages');
    for (const { dir, manifest } of packages) {
      if (manifest.bin !== undefined) continue;
      const example = readmeExample(readFileSync(join(dir, 'README.md'), 'utf8'));
      if (example === undefined) {
        fail(`${manifest.name}: README.md has no \`\`\`ts example`);
        continue;
      }
      const file = join(all, `example-${manifest.name.split('/').pop()}.ts`);
      writeFileSync(file, `${example}\n`);
      try {
        run(process.execPath, [tsx, file], all);
        console.log(`  ok   ${manifest.name}`);
      } catch (e) {
        fail(`${manifest.name}: the README example failed:\n${e.stderr || e.message}`);
      }
    }
    if (tarballs.has('@supercache/node')) await checkNodeBin(all);

    console.log('== a package alone installs no HTTP stack');
    for (const name of ['@supercache/storage', '@supercache/core']) {
      const project = emptyProject(work, name.replace('/', '-'));
      // Its @supercache dependencies come from the tarballs too (they are not on the registry yet).
      npmInstall(
        project,
        closure(name, packages).map((n) => tarballs.get(n)),
      );
      const names = installedNames(project);
      const http = HTTP_PACKAGES.filter((p) => names.has(p));
      if (http.length > 0) fail(`${name} alone installs ${http.join(', ')}`);
      else console.log(`  ok   ${name}: ${[...names].sort().join(', ')}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.error(`pack-check: ${failures.length} failure(s)`);
    process.exit(1);
  }
  console.log('pack-check: every package packs, lints, installs and runs its example');
}

await main();
