/**
 * @packageDocumentation
 * `@supercache/structures` — KeyValue namespaces, FIFO queues, LIFO stacks
 * and struct stores, built on the router's table API.
 *
 * Every operation that reads and then writes (`Queue.out`, `Stack.pop`,
 * `KeyValue.increment`, …) is one named shard command that runs
 * synchronously on the table owning the structure's partition, so it is
 * atomic in one process and in a cluster alike. Register the commands into
 * the registry of every table that carries structures with
 * {@link registerStructureCommands}; then construct the classes over a
 * `TableRouter`:
 *
 * - {@link KeyValue}: `new KeyValue(kvRouter, name)`, over a table of any type;
 * - {@link Queue}, {@link Stack}, {@link StructStore}: over the system table
 *   (a `set`), keyed and partitioned at position 0.
 *
 * Record layouts and atomicity guarantees are in the package README.
 */

export { registerStructureCommands, structureCommands } from './commands.js';
export type { KeyValueWriteOptions } from './key-value.js';
export { KeyValue } from './key-value.js';
export type { StructureReadOptions, StructureWriteOptions } from './options.js';
export { Queue } from './queue.js';
export { Stack } from './stack.js';
export type { StructClass, StructStoreOptions } from './struct-store.js';
export { DEFAULT_KEY_FIELD, StructStore } from './struct-store.js';
