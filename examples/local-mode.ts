/**
 * SuperCache — local mode example.
 *
 * Mirrors the seed's `examples/local_mode_example.exs`: tuple storage, the
 * KeyValue, Queue, Stack and Struct structures, batch operations, and a
 * PartitionedTable. Run it with:
 *
 *     pnpm example:local
 *
 * It prints what it does and exits by itself.
 */

import { _, $, PartitionedEts, PartitionedTable, SuperCache } from '@supercache/core';

class User {
  id = 0;
  name = '';
  email = '';
}

function show(value: unknown): string {
  return JSON.stringify(value);
}

async function main(): Promise<void> {
  // ── 1. Start SuperCache ──────────────────────────────────────────────────
  console.log('=== Starting SuperCache (Local Mode) ===\n');
  // The seed keys `{:user, 1, "Alice"}` at position 0, so its three users
  // replace one another in a set. Here the id (position 1) is the key and
  // the partition data.
  const cache = new SuperCache({ keyPos: 1, partitionPos: 1, numPartition: 4 });
  await cache.start();
  console.log('SuperCache started successfully!');
  console.log(`Distributed mode? ${cache.distributed}`);
  console.log(`Partitions: ${cache.config.numPartition}\n`);

  // ── 2. Tuple storage ─────────────────────────────────────────────────────
  console.log('=== Tuple Storage ===\n');
  await cache.put(['user', 1, 'Alice']);
  await cache.put(['user', 2, 'Bob']);
  await cache.put(['user', 3, 'Charlie']);
  console.log('Inserted 3 user tuples');
  console.log(`Get user 1: ${show(await cache.get(['user', 1]))}`);
  console.log(`Get user 1 (sync local read): ${show(cache.local.get(['user', 1]))}`);

  // Batch insert: each partition's share is written in one command, into
  // the same partition that get() reads.
  const batch = [];
  for (let i = 4; i <= 10; i++) batch.push(['user', i, `User_${i}`]);
  await cache.putBatch(batch);
  console.log('Batch inserted 7 more users (total: 10)');
  console.log(`Get user 7 after batch: ${show(await cache.get(['user', 7]))}`);

  const matches = await cache.getByMatchObject(['user', _, _]);
  console.log(`All users matching ['user', _, _]: ${matches.length} records`);
  const names = await cache.getByMatch(['user', $(1), $(2)]);
  console.log(`Ids and names via $1/$2: ${names.length} bindings`);

  // lazyPut buffers writes; the last write to a key wins.
  for (let v = 1; v <= 100; v++) await cache.lazyPut(['counter', 'hits', v]);
  await cache.flush();
  console.log(`Lazy counter after 100 lazyPuts: ${show(await cache.get(['counter', 'hits']))}`);

  await cache.delete(['user', 10]);
  console.log('Deleted user 10');
  const total = await cache.scan((_obj, n: number) => n + 1, 0);
  console.log(`Tuples after delete (scan): ${total}`);

  const stats = await cache.stats();
  console.log(
    `Cache stats: size=${stats.totals.size} inserts=${stats.totals.inserts} hits=${stats.totals.hits} ` +
      `partitions=${show(stats.partitions.map((p) => p.size))}\n`,
  );

  // ── 3. Key-Value API ─────────────────────────────────────────────────────
  console.log('=== Key-Value API ===\n');
  const sessions = cache.keyValue('session');
  await sessions.add('user_1', { name: 'Alice', role: 'admin' });
  await sessions.add('user_2', { name: 'Bob', role: 'user' });
  await sessions.add('user_3', { name: 'Charlie', role: 'user' });
  console.log('Added 3 sessions');
  console.log(`Session user_1: ${show(await sessions.get('user_1'))}`);
  await sessions.addBatch([
    ['user_4', { name: 'Diana', role: 'moderator' }],
    ['user_5', { name: 'Eve', role: 'user' }],
  ]);
  console.log('Batch added 2 more sessions');
  console.log(`Session keys: ${show((await sessions.keys()).sort())}`);
  console.log(`Session count: ${await sessions.count()}`);
  await sessions.remove('user_1');
  console.log('Removed user_1 session');
  console.log(`Session count after removal: ${await sessions.count()}`);
  await sessions.removeAll();
  console.log('Cleared all sessions');
  console.log(`Session count after clear: ${await sessions.count()}\n`);

  // ── 4. Queue (FIFO) ──────────────────────────────────────────────────────
  console.log('=== Queue (FIFO) ===\n');
  const jobs = cache.queue<string>('jobs');
  await jobs.add('process_order_1');
  await jobs.add('process_order_2');
  await jobs.add('process_order_3');
  console.log('Added 3 jobs to queue');
  console.log(`Queue count: ${await jobs.count()}`);
  console.log(`Next job (peak): ${await jobs.peak()}`);
  const job1 = await jobs.out();
  const job2 = await jobs.out();
  console.log(`Dequeued: ${job1}, ${job2}`);
  console.log(`Queue count after dequeue: ${await jobs.count()}`);
  // getAll empties the queue, oldest first.
  console.log(`Remaining jobs: ${show(await jobs.getAll())}\n`);

  // ── 5. Stack (LIFO) ──────────────────────────────────────────────────────
  console.log('=== Stack (LIFO) ===\n');
  const history = cache.stack<string>('history');
  await history.push('page_a');
  await history.push('page_b');
  await history.push('page_c');
  console.log('Pushed 3 pages onto stack');
  console.log(`Stack count: ${await history.count()}`);
  const page1 = await history.pop();
  const page2 = await history.pop();
  console.log(`Popped: ${page1}, ${page2}`);
  console.log(`Stack count after pop: ${await history.count()}`);
  // getAll empties the stack, top first (the seed listed it bottom first when distributed).
  console.log(`Remaining pages, top first: ${show(await history.getAll())}\n`);

  // ── 6. Struct storage ────────────────────────────────────────────────────
  console.log('=== Struct Storage ===\n');
  const users = cache.struct(User, 'id');
  console.log('Initialized Struct storage for User with key field id');
  await users.add(Object.assign(new User(), { id: 1, name: 'Alice', email: 'alice@example.com' }));
  await users.add(Object.assign(new User(), { id: 2, name: 'Bob', email: 'bob@example.com' }));
  await users.add(Object.assign(new User(), { id: 3, name: 'Charlie', email: 'charlie@example.com' }));
  console.log('Added 3 users');
  const alice = await users.get(1);
  console.log(`Get user 1: ${show(alice)} (a User instance: ${alice instanceof User})`);
  console.log(`All users: ${(await users.getAll()).length} records`);
  await users.remove(3);
  console.log('Removed user 3');
  console.log(`Users after removal: ${await users.count()}`);
  await users.removeAll();
  console.log('Cleared all users');
  console.log(`Users after clear: ${await users.count()}\n`);

  // ── 7. PartitionedTable (PartitionedEts) ────────────────────────────────
  console.log('=== PartitionedTable ===\n');
  const table = await PartitionedTable.start({ name: 'my_cache', partitions: 4, type: 'ordered_set' });
  await table.insert([
    ['b', 2],
    ['a', 1],
    ['c', 3],
  ]);
  console.log(`Lookup a: ${show(await table.lookup('a'))}`);
  // The module form reaches the same table by name.
  await PartitionedEts.insert('my_cache', ['d', 4]);
  console.log(`Module-form lookup d: ${show(await PartitionedEts.lookup('my_cache', 'd'))}`);
  console.log(`Keys in order: ${show(await table.select([[[$(1), _], [], [$(1)]]]))}`);
  console.log(`Sum with foldl: ${await table.foldl((o, acc: number) => acc + (o[1] as number), 0)}`);
  const info = await table.info();
  console.log(
    `Table info: name=${info.name} type=${info.type} size=${info.size} partitions=${info.partitions}`,
  );
  await table.stop();
  console.log('Table stopped\n');

  // ── 8. Cleanup ───────────────────────────────────────────────────────────
  console.log('=== Cleanup ===\n');
  const removed = await cache.deleteAll();
  console.log(`Cleared all cache data (${removed} tuples)`);
  await cache.stop();
  console.log('SuperCache stopped');
  console.log('\n=== Example Complete ===');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
