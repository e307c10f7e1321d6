// Regenerates the code table in docs/errors.md from the two sources of
// truth: ERROR_CODES (storage) and HTTP_STATUS_BY_CODE (cluster).
// Run: pnpm docs:errors
import { readFileSync, writeFileSync } from 'node:fs';
import { httpStatusOf } from '../packages/cluster/src/http-status.ts';
import { ERROR_CODES } from '../packages/storage/src/errors.ts';

const path = new URL('../docs/errors.md', import.meta.url);
const begin = '<!-- codes:begin -->';
const end = '<!-- codes:end -->';
const rows = Object.entries(ERROR_CODES).map(
  ([code, info]) =>
    `| \`${code}\` | ${info.meaning} | ${httpStatusOf(code)} | ${info.retryable ? 'yes' : 'no'} |`,
);
const table = [
  '| code | meaning | HTTP status (peer protocol) | retryable |',
  '|---|---|---|---|',
  ...rows,
].join('\n');
const doc = readFileSync(path, 'utf8');
const a = doc.indexOf(begin);
const b = doc.indexOf(end);
if (a < 0 || b < 0) throw new Error('docs/errors.md lacks the codes markers');
writeFileSync(path, `${doc.slice(0, a + begin.length)}\n${table}\n${doc.slice(b)}`);
console.log(`docs/errors.md: ${rows.length} codes`);
