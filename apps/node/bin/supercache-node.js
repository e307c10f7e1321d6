#!/usr/bin/env node
// The `supercache-node` command. A launcher that exists before the build, so
// package managers can link it at install time; the CLI itself is dist/cli.js.
const cli = new URL('../dist/cli.js', import.meta.url);
try {
  await import(cli.href);
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`'${cli.pathname}'`)) {
    process.stderr.write('supercache-node: dist/cli.js is missing; run `pnpm build` first\n');
    process.exit(1);
  }
  throw e;
}
