import { memoryClusterFactory } from './cluster-memory-harness.js';
import { clusterSuite } from './cluster-suite.js';

clusterSuite('cluster over the memory transport', memoryClusterFactory());

// The same suite with 1 ms per message and small handoff chunks, so joins and
// leaves take long enough for the load loops to run through every phase.
clusterSuite(
  'cluster over the memory transport with network delay',
  memoryClusterFactory({ delayMs: 1, handoffChunkSize: 64, seed: 5 }),
);
