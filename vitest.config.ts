import { defineConfig } from 'vitest/config';

// Tests read sibling packages' TypeScript source through the
// "@supercache/source" export condition, so nothing has to be built first.
const conditions = ['@supercache/source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@supercache/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // CI counts results from this JSON report (see .ci/run).
    reporters: ['default', ['json', { outputFile: '.ci/vitest-report.json' }]],
  },
});
