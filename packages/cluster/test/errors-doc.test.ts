import { readFileSync } from 'node:fs';
import { ERROR_CODES, SuperCacheError } from '@supercache/storage';
import { describe, expect, it } from 'vitest';
import { httpStatusOf } from '../src/index.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

function docRows(): Map<string, { meaning: string; status: number; retryable: boolean }> {
  const rows = new Map<string, { meaning: string; status: number; retryable: boolean }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(SC_ERR_[A-Z_]+)` \| (.*) \| (\d{3}) \| (yes|no) \|$/.exec(line);
    if (m)
      rows.set(m[1] as string, { meaning: m[2] as string, status: Number(m[3]), retryable: m[4] === 'yes' });
  }
  return rows;
}

describe('docs/errors.md', () => {
  it('lists every error code with its meaning, HTTP status and retryable flag', () => {
    const rows = docRows();
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code)).toEqual({
        meaning: info.meaning,
        status: httpStatusOf(code),
        retryable: info.retryable,
      });
    }
  });

  it('maps every code to a real HTTP error status', () => {
    for (const code of Object.keys(ERROR_CODES)) {
      const s = httpStatusOf(code);
      expect(s >= 400 && s < 600).toBe(true);
    }
  });

  it('recognises SuperCache errors by brand, not by instanceof', () => {
    const e = new SuperCacheError('SC_ERR_BAD_ARG', 'x');
    const lookalike = Object.assign(new Error('x'), { code: 'SC_ERR_BAD_ARG' });
    expect(SuperCacheError.is(e)).toBe(true);
    expect(SuperCacheError.is(lookalike)).toBe(false);
    expect(SuperCacheError.is({ ...e })).toBe(false);
  });
});
