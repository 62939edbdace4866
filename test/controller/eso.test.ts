/**
 * An ESO ExternalSecret and SecretStore, rendered by the plugin, on a real
 * API server with the refsync controller: the Secret holds the bytes ESO's
 * fake provider and template engine v2 would write. Then the migration's
 * adoption: a Secret left behind by ESO (orphaned, as the migration guide
 * says) is taken over with the same data.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { resourceTypes } from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/client.ts";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

const esoManifests = (ns: string, name: string) => `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: fake-eso
  namespace: ${ns}
spec:
  provider:
    fake:
      data:
        - key: /app/db
          value: '{"username":"app","password":"pa55-w0rd"}'
        - key: /app/greeting
          value: hello
          version: v1
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: fake-eso
    kind: SecretStore
  target:
    name: ${name}
    template:
      data:
        dsn: "postgres://{{ .username }}:{{ .password }}@db/app"
        greeting: "{{ .greeting | upper }}"
        username: "{{ .username }}"
  data:
    - secretKey: username
      remoteRef: { key: /app/db, property: username }
    - secretKey: password
      remoteRef: { key: /app/db, property: password }
    - secretKey: greeting
      remoteRef: { key: /app/greeting, version: v1 }
`;

/** What ESO writes for these manifests: the template's keys only (mergePolicy Replace), each as rendered. */
const ESO_BYTES = {
  dsn: "postgres://app:pa55-w0rd@db/app",
  greeting: "HELLO",
  username: "app",
};

void describe("controller: ESO manifests rendered by the plugin", () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;
  const dir = mkdtempSync(join(tmpdir(), "refsync-eso-controller-"));

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("eso");
    ctl = await startTestController(cluster, { namespace: ns });
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function renderAndApply(name: string): Promise<void> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, esoManifests(ns, name));
    const result = await render({
      input: file,
      mode: "deferred",
      config: parseConfig("{}\n", "refsync.yaml"),
      requester: { project: "p", namespace: ns },
    });
    assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
    for (const doc of parseAllDocuments(result.output)) await applyObject(ctl.kube, doc.toJS() as KubeObject);
  }

  async function rawData(name: string): Promise<Record<string, string>> {
    const secret = await ctl.kube.get<{ data?: Record<string, string> }>(resourceTypes.secret, ns, name);
    return secret?.data ?? {};
  }
  const base64 = (data: Record<string, string>) =>
    Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));

  void test("the Secret holds the bytes ESO would write", async () => {
    await renderAndApply("app-db");
    await waitForCondition(ctl.kube, ns, "app-db", "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "app-db"), "Secret app-db");
    assert.equal(secret.type, "Opaque");
    assert.deepEqual(await rawData("app-db"), base64(ESO_BYTES));
  });

  void test("a Secret ESO left behind (orphaned) is adopted with its data unchanged", async () => {
    await ctl.kube.apply(
      resourceTypes.secret,
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "left-behind",
          namespace: ns,
          labels: { "reconcile.external-secrets.io/managed": "true" },
        },
        type: "Opaque",
        data: base64(ESO_BYTES),
      },
      { fieldManager: "external-secrets", force: true },
    );
    await renderAndApply("left-behind");
    const es = await waitForCondition(ctl.kube, ns, "left-behind", "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "left-behind"), "Secret left-behind");
    assert.deepEqual(await rawData("left-behind"), base64(ESO_BYTES));
    assert.equal(secret.metadata.ownerReferences?.[0]?.uid, es.metadata.uid);
  });

  void test("while ESO still owns the Secret, refsync reports it and leaves it; orphaned, it adopts it", async () => {
    const owner = {
      apiVersion: "external-secrets.io/v1",
      kind: "ExternalSecret",
      name: "still-eso",
      uid: "0d6f5a7e-1111-4222-8333-944445555666",
      controller: true,
      blockOwnerDeletion: true,
    };
    const secret = (ownerReferences: (typeof owner)[]) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "still-eso", namespace: ns, ownerReferences },
      type: "Opaque",
      data: base64(ESO_BYTES),
    });
    // No garbage collector runs in the test cluster, so an owner that does not exist keeps its Secret.
    await ctl.kube.apply(resourceTypes.secret, secret([owner]), {
      fieldManager: "external-secrets",
      force: true,
    });
    await renderAndApply("still-eso");
    const blocked = await waitForCondition(ctl.kube, ns, "still-eso", "Ready", "False", "SecretSyncError");
    const ready = blocked.status?.conditions?.find((c) => c.type === "Ready");
    // The controller watches only the Secrets it manages, so it does not see ESO's before writing: the
    // API server refuses a second controlling owner, the Secret is left as ESO wrote it, and the
    // condition says, in one line, who owns it and what to do.
    assert.equal(
      ready?.message,
      `target Secret "still-eso" is still owned by ESO's ExternalSecret "still-eso": orphan-delete it to hand the Secret over (kubectl delete externalsecrets.external-secrets.io still-eso -n ${ns} --cascade=orphan)`,
    );
    assert.deepEqual(await rawData("still-eso"), base64(ESO_BYTES));
    // What `kubectl delete … --cascade=orphan` (or Argo CD's PrunePropagationPolicy=orphan) leaves.
    await ctl.kube.apply(resourceTypes.secret, secret([]), { fieldManager: "external-secrets", force: true });
    const es = await waitForCondition(ctl.kube, ns, "still-eso", "Ready", "True", "SecretSynced", 60_000);
    const adopted = await waitFor(() => getSecret(ctl.kube, ns, "still-eso"), "Secret still-eso");
    assert.deepEqual(await rawData("still-eso"), base64(ESO_BYTES));
    assert.deepEqual(
      adopted.metadata.ownerReferences?.map((o) => o.uid),
      [es.metadata.uid],
    );
  });
});
