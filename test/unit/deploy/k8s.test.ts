import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

// No cluster here: the manifest is read and its shape checked, nothing is applied.
const manifestPath = fileURLToPath(new URL('../../../deploy/k8s/sluice.yaml', import.meta.url));

interface Resource {
  kind: string;
  metadata: { name: string };
  // biome-ignore lint/suspicious/noExplicitAny: Kubernetes specs are checked field by field below.
  spec?: any;
  data?: Record<string, string>;
}

const resources = parseAllDocuments(readFileSync(manifestPath, 'utf8')).map((document) => {
  assert.equal(document.errors.length, 0, String(document.errors[0]));
  return document.toJS() as Resource;
});
const byKind = (kind: string) => {
  const found = resources.find((resource) => resource.kind === kind);
  assert.ok(found, kind);
  return found;
};

describe('deploy/k8s/sluice.yaml', () => {
  it('holds a ConfigMap, a headless Service and a StatefulSet', () => {
    assert.deepEqual(resources.map((resource) => resource.kind).sort(), [
      'ConfigMap',
      'Service',
      'StatefulSet',
    ]);
    assert.equal(byKind('Service').spec.clusterIP, 'None');
    assert.equal(byKind('StatefulSet').spec.serviceName, byKind('Service').metadata.name);
  });

  it('gives every pod its own state volume, mounted where the topology keeps state', () => {
    const statefulSet = byKind('StatefulSet').spec;
    const [claim] = statefulSet.volumeClaimTemplates;
    const [container] = statefulSet.template.spec.containers;
    const mount = container.volumeMounts.find(
      (volume: { name: string }) => volume.name === claim.metadata.name,
    );
    const topology = parse(byKind('ConfigMap').data?.['topology.yaml'] ?? '');
    assert.ok(topology.state.dir.startsWith(`${mount.mountPath}/`));
  });

  it('starts the topology from the ConfigMap and probes the admin server it enables', () => {
    const [container] = byKind('StatefulSet').spec.template.spec.containers;
    assert.deepEqual(container.args, ['start', '/etc/sluice/topology.yaml']);
    const topology = parse(byKind('ConfigMap').data?.['topology.yaml'] ?? '');
    assert.equal(container.ports[0].containerPort, topology.admin.port);
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  });
});
