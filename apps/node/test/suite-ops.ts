/**
 * The table operations the process harness proxies to a suite node. The
 * parent (process-harness.ts) and the child (fixtures/suite-node.ts) both
 * read this list, so they cannot drift apart.
 */
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
] as const;
