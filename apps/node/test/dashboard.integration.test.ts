/**
 * The dashboard in a real browser: Debian's Chromium, driven by
 * playwright-core (never a downloaded browser), against three real node
 * processes. The page must show the three members and the partition grid,
 * then follow a graceful leave down to two.
 */

import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessCluster } from './process-cluster.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.log(`dashboard browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const PARTITIONS = 16;

/** The little of the DOM the waits read (this file is type-checked without the DOM library). */
type PageGlobal = { document: { querySelectorAll(selector: string): { length: number } } };

/** Waits until the page lists `n` members (the page polls once a second). */
async function waitForMembers(page: Page, n: number, timeout: number): Promise<void> {
  // A function, not a string: the page's Content-Security-Policy forbids eval.
  await page.waitForFunction(
    (want) =>
      (globalThis as unknown as PageGlobal).document.querySelectorAll('[data-testid="member"]').length ===
      want,
    n,
    { timeout },
  );
}

async function members(page: Page): Promise<string[]> {
  return page.$$eval('[data-testid="member"]', (rows) => rows.map((r) => r.getAttribute('data-node') ?? ''));
}

async function primaries(page: Page): Promise<string[]> {
  return page.$$eval('[data-table="supercache.main"] [data-testid="partition"]', (cells) =>
    cells.map((c) => c.getAttribute('data-primary') ?? ''),
  );
}

describe.skipIf(!haveChromium)('the /dashboard page in headless Chromium', () => {
  const c = new ProcessCluster(PARTITIONS, { extraArgs: ['--replication-factor', '2'] });
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    await c.start('a');
    await c.start('b');
    await c.start('c');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await c.close();
  });

  it('shows three members and every partition with its primary and replica', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${c.node('a').url}/dashboard`);
    await waitForMembers(page, 3, 20_000);
    expect((await members(page)).sort()).toEqual(['a', 'b', 'c']);
    expect(await page.textContent('[data-testid="member-count"]')).toBe('3');

    const cells = await primaries(page);
    expect(cells).toHaveLength(PARTITIONS);
    for (const p of cells) expect(['a', 'b', 'c']).toContain(p);
    expect(new Set(cells).size).toBe(3);
    // Replication factor 2: one replica stripe under every cell.
    const stripes = await page.$$eval(
      '[data-table="supercache.main"] [data-testid="partition"] .replicas span',
      (s) => s.length,
    );
    expect(stripes).toBe(PARTITIONS);
    // The three traffic charts are drawn.
    expect(await page.$$eval('svg polyline', (l) => l.length)).toBe(4);
    expect(errors).toEqual([]);
  }, 60_000);

  it('drops to two members when one leaves gracefully, and re-draws the grid without it', async () => {
    const epochBefore = Number(await page.getAttribute('body', 'data-epoch'));
    expect(await c.leave('c')).toBe(0);
    await waitForMembers(page, 2, 30_000);
    expect((await members(page)).sort()).toEqual(['a', 'b']);
    expect(await page.textContent('[data-testid="member-count"]')).toBe('2');
    expect(Number(await page.getAttribute('body', 'data-epoch'))).toBeGreaterThan(epochBefore);
    const cells = await primaries(page);
    expect(cells).toHaveLength(PARTITIONS);
    expect(new Set(cells)).toEqual(new Set(['a', 'b']));
  }, 90_000);
});
