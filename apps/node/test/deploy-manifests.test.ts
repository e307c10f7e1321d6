/**
 * The deployment examples in docs/deploy/ say what they promise: the YAML
 * parses, the StatefulSet finds its peers through its own headless Service,
 * probes `/ready`, waits long enough for a graceful leave, and gives
 * `supercache-node` flags it accepts; the systemd unit's environment file
 * is a configuration the CLI accepts too.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseNodeArgs } from '../src/args.js';

const deploy = resolve(dirname(fileURLToPath(import.meta.url)), '../../../docs/deploy');
/** The cluster's default handoff timeout: a leave may take that long. */
const HANDOFF_TIMEOUT_S = 120;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is walked by path; a wrong shape fails the test.
type Doc = Record<string, any>;

function manifests(): Doc[] {
  return (loadAll(readFileSync(resolve(deploy, 'kubernetes/supercache.yaml'), 'utf8')) as Doc[]).filter(
    (d) => d !== null && d !== undefined,
  );
}

/** `$(VAR)` expansion as the kubelet does it, from the container's env and sample field values. */
function expand(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\(([A-Z_]+)\)/g, (_, name: string) => env[name] ?? `$(${name})`);
}

describe('docs/deploy/kubernetes/supercache.yaml', () => {
  const docs = manifests();
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

  it('holds a headless Service that lists pods before they are ready', () => {
    const headless = byKind('Service').find((s) => s.spec.clusterIP === 'None');
    expect(headless).toBeDefined();
    expect(headless!.spec.publishNotReadyAddresses).toBe(true);
    const sts = byKind('StatefulSet')[0]!;
    expect(sts.spec.serviceName).toBe(headless!.metadata.name);
    expect(headless!.spec.selector).toEqual(sts.spec.selector.matchLabels);
  });

  it('runs supercache-node with flags it accepts, discovering peers through that Service', () => {
    const sts = byKind('StatefulSet')[0]!;
    const container = sts.spec.template.spec.containers[0];
    const fieldSamples: Record<string, string> = {
      'metadata.name': 'supercache-0',
      'status.podIP': '10.1.2.3',
    };
    const env: Record<string, string> = {};
    for (const e of container.env as Doc[]) {
      if (e.value !== undefined) env[e.name] = String(e.value);
      else if (e.valueFrom?.fieldRef) env[e.name] = fieldSamples[e.valueFrom.fieldRef.fieldPath]!;
      else if (e.valueFrom?.secretKeyRef) env[e.name] = 'sample-secret-0123456789';
    }
    const args = (container.args as string[]).map((a) => expand(a, env));
    const parsed = parseNodeArgs(args, env);
    if (parsed.kind !== 'run') throw new Error('expected a run configuration');
    const headless = byKind('Service').find((s) => s.spec.clusterIP === 'None')!;
    const ns = headless.metadata.namespace ?? 'default';
    expect(parsed.config.id).toBe('supercache-0');
    expect(parsed.config.host).toBe('10.1.2.3');
    expect(parsed.config.discover).toEqual({
      records: 'a',
      name: `${headless.metadata.name}.${ns}.svc.cluster.local`,
    });
    // A/AAAA records carry no port: every pod listens on the Service's port.
    expect(parsed.config.port).toBe(headless.spec.ports[0].port);
    // Off loopback the JSON client API needs a token: the manifest gives one.
    expect(parsed.config.clientTokens).toHaveLength(1);
  });

  it('probes /ready for readiness and waits longer than a handoff before killing a leaving pod', () => {
    const spec = byKind('StatefulSet')[0]!.spec.template.spec;
    const container = spec.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(HANDOFF_TIMEOUT_S);
    expect(byKind('PodDisruptionBudget')[0]!.spec.maxUnavailable).toBe(1);
  });
});

describe('docs/deploy/systemd', () => {
  it('has an environment file the CLI accepts, and a stop timeout longer than a handoff', () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(resolve(deploy, 'systemd/supercache.env'), 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) env[m[1]!] = m[2]!;
    }
    const parsed = parseNodeArgs([], env);
    if (parsed.kind !== 'run') throw new Error('expected a run configuration');
    expect(parsed.config.peers.map((p) => p.id)).toEqual(['cache-2', 'cache-3']);
    expect(parsed.config.clientTokens).toHaveLength(1);
    const unit = readFileSync(resolve(deploy, 'systemd/supercache.service'), 'utf8');
    const stop = /^TimeoutStopSec=(\d+)$/m.exec(unit);
    expect(Number(stop?.[1])).toBeGreaterThan(HANDOFF_TIMEOUT_S);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/env supercache-node$/m);
  });
});
