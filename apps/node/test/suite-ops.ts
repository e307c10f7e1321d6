/**
 * The table operations the process harness proxies to a suite node. The
 * parent (process-harness.ts) and the child (fixtures/suite-node.ts) both
 * read this list, so they cannot drift apart.
 */
import type { SuiteTable } from '@supercache/cluster/testing';

export const SUITE_TABLE_OPS = [
  'insert',
  'insertMany',
  'lookup',
  'delete',
  'deleteObject',
  'member',
  'tab2list',
  'size',
  'select',
  'selectCount',
  'match',
  'matchObject',
  'first',
  'next',
  'last',
  'prev',
  'selectPage',
  'matchDelete',
] as const satisfies readonly (keyof SuiteTable)[];

// Every SuiteTable method is proxied: a method added to the suite's table
// type and not listed above fails the type check here.
type Unproxied = Exclude<keyof SuiteTable, (typeof SUITE_TABLE_OPS)[number]>;
export const SUITE_OPS_COMPLETE: [Unproxied] extends [never] ? true : Unproxied = true;
