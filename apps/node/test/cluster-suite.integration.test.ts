/**
 * The cluster package's transport-agnostic suite, run here over real child
 * processes talking HTTP on 127.0.0.1 (the same suite runs over the memory
 * transport in packages/cluster/test/cluster-memory.test.ts).
 *
 * `@supercache/cluster/testing` resolves only under the workspace's
 * `@supercache/source` condition: it is test code, never published.
 */

import { type ClusterHandle, clusterSuite } from '@supercache/cluster/testing';
import { ProcessHarness } from './process-harness.js';

// ProcessHarness implements ClusterHandle: the type checker sees the whole
// handle; only the table proxy's wire values are cast (see table()).
clusterSuite('cluster suite over processes (HTTP on loopback)', (): ClusterHandle => new ProcessHarness());
