/**
 * ESO manifests using metadataPolicy, conversionStrategy, nullBytePolicy and
 * rewrite merge/transform, read as they are by the plugin (deferred mode)
 * and, the same, after `refsync convert --from eso`; then synced by the
 * controller on a real API server into the Secrets ESO would write.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { convertCommand } from "../../src/cli/convert.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import type { KubeObject } from "../../src/kube/client.ts";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { collector } from "../git/io.ts";
import {
  applyObject,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

const manifests = (ns: string) => `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: { name: fake-eso, namespace: ${ns} }
spec:
  provider:
    fake:
      data:
        - key: shop-dev
          value: '{"password":"bar","user":"dev"}'
        - key: shop-prod
          value: '{"password":"safebar"}'
        - key: shop-cfg
          value: '{"db/host":"h","db$port":"5432"}'
        - key: /team/alpha
          value: a
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: { name: kube-eso, namespace: ${ns} }
spec:
  provider:
    kubernetes:
      remoteNamespace: ${ns}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: merged, namespace: ${ns} }
spec:
  refreshInterval: 1h
  secretStoreRef: { name: fake-eso, kind: SecretStore }
  dataFrom:
    - find:
        name: { regexp: "^shop-(dev|prod)$" }
      rewrite:
        - merge: { conflictPolicy: Ignore, priority: [shop-prod] }
        - transform: { template: 'APP_{{ .value | upper }}' }
    - extract: { key: shop-cfg }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: found, namespace: ${ns} }
spec:
  refreshInterval: 1h
  secretStoreRef: { name: fake-eso, kind: SecretStore }
  dataFrom:
    - find:
        name: { regexp: "^/team/" }
      rewrite:
        - regexp: { source: "^_team_", target: "" }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: labels, namespace: ${ns} }
spec:
  refreshInterval: 1h
  secretStoreRef: { name: kube-eso, kind: SecretStore }
  data:
    - secretKey: team
      remoteRef: { key: source, property: labels.team, metadataPolicy: Fetch }
  dataFrom:
    - extract: { key: source, metadataPolicy: Fetch }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: binary, namespace: ${ns} }
spec:
  refreshInterval: 1h
  secretStoreRef: { name: kube-eso, kind: SecretStore }
  data:
    - secretKey: blob
      remoteRef: { key: source, property: blob, nullBytePolicy: Fail }
`;

void describe("controller: ESO's metadataPolicy, conversion, nullBytePolicy and rewrites", () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;
  const dir = mkdtempSync(join(tmpdir(), "refsync-eso-fields-"));

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("eso-fields");
    ctl = await startTestController(cluster, { namespace: ns });
    await ctl.kube.apply(
      resourceTypes.secret,
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "source", namespace: ns, labels: { team: "shop" }, annotations: { owner: "R&D" } },
        data: { blob: Buffer.from([1, 0, 2]).toString("base64") },
      },
      { fieldManager: "test", force: true },
    );
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rendered(file: string): Promise<string> {
    const result = await render({
      input: file,
      mode: "deferred",
      config: parseConfig("{}\n", "refsync.yaml"),
      requester: { project: "p", namespace: ns },
    });
    assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
    return result.output;
  }

  void test("the plugin and refsync convert --from eso give the same objects", async () => {
    const original = join(dir, "eso.yaml");
    writeFileSync(original, manifests(ns));
    const converted = join(dir, "converted.yaml");
    writeFileSync(converted, manifests(ns));
    const io = collector();
    assert.equal(await convertCommand([converted, "--from", "eso"], io), 0, io.err());
    assert.doesNotMatch(readFileSync(converted, "utf8"), /external-secrets\.io\/v1\n/);
    const output = await rendered(original);
    assert.equal(await rendered(converted), output);
    for (const doc of parseAllDocuments(output)) await applyObject(ctl.kube, doc.toJS() as KubeObject);
  });

  void test("merge and transform, then the default conversion: the Secret ESO writes", async () => {
    await waitForCondition(ctl.kube, ns, "merged", "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "merged"), "Secret merged");
    assert.deepEqual(secret.data, {
      APP_PASSWORD: "safebar",
      APP_USER: "dev",
      db_host: "h",
      db_port: "5432",
    });
  });

  void test("the fake provider's find converts its keys before the rewrite, as ESO's", async () => {
    await waitForCondition(ctl.kube, ns, "found", "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "found"), "Secret found");
    assert.deepEqual(secret.data, { alpha: "a" });
  });

  void test("metadataPolicy Fetch: one label, and labels and annotations as JSON", async () => {
    await waitForCondition(ctl.kube, ns, "labels", "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, "labels"), "Secret labels");
    assert.deepEqual(secret.data, {
      team: "shop",
      labels: '{"team":"shop"}',
      annotations: '{"owner":"R&D"}',
    });
  });

  void test("nullBytePolicy Fail: not synced, the key named and never the value", async () => {
    const es = await waitForCondition(ctl.kube, ns, "binary", "Ready", "False");
    const ready = es.status?.conditions?.find((c) => c.type === "Ready");
    assert.match(ready?.message ?? "", /nullBytePolicy: the value for key "blob" holds NUL bytes/);
    assert.equal(await getSecret(ctl.kube, ns, "binary"), undefined);
  });
});
