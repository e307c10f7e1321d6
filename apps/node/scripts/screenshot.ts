/**
 * Makes `apps/node/docs/dashboard.png`: starts three nodes (replication
 * factor 2) from source, sends them a few seconds of bounded traffic, and
 * photographs `/dashboard` in Debian's Chromium.
 *
 *   pnpm --filter @supercache/node screenshot
 */

import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { JsonClient } from '../src/json-client.js';
import { type NodeProcess, sourceCliCommand, spawnNode } from '../src/node-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const out = join(here, '../docs/dashboard.png');
const TRAFFIC_MS = 12_000;
const MAX_OPS = 40_000;

const secret = randomBytes(12).toString('hex');
const nodes: NodeProcess[] = [];
try {
  for (const id of ['a', 'b', 'c']) {
    const peers = Object.fromEntries(nodes.map((n) => [n.id, n.url]));
    const node = await spawnNode(sourceCliCommand(root), {
      id,
      secret,
      peers,
      partitions: 32,
      extraArgs: ['--replication-factor', '2'],
    });
    await node.ready;
    nodes.push(node);
  }
  const first = nodes[0] as NodeProcess;
  const client = new JsonClient(first.url, { connections: 4 });
  const deadline = Date.now() + TRAFFIC_MS;
  let ops = 0;
  // Four workers, bounded in count and time: a put and a get per key. The
  // picture is taken while they run, so the charts end on live traffic.
  const traffic = Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      while (Date.now() < deadline && ops < MAX_OPS) {
        const key = `w${w}-k${ops % 500}`;
        await client.put([key, ops]);
        await client.get(key);
        ops += 2;
      }
    }),
  );
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    await page.goto(`${first.url}/dashboard`);
    await page.waitForSelector('[data-testid="member"]');
    // Some seconds of traffic in the charts.
    await page.waitForTimeout(TRAFFIC_MS - 2_000);
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
    await traffic;
    await client.close();
  }
  console.log(`wrote ${out} after ${ops} operations`);
} finally {
  await Promise.allSettled(nodes.map((n) => n.stop(30_000)));
}
