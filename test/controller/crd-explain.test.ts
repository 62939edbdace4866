/**
 * What `kubectl explain` reads, from a real API server (v1.20): the field
 * descriptions of the CRDs (written once, in the zod schemas) survive the
 * round trip and are published.
 *
 * - The CRD as the API server serves it back: every field of spec (provider
 *   sections included) and status has a description. That schema is what
 *   servers with /openapi/v3 publish (Kubernetes 1.24+; kubectl explain reads
 *   it since 1.27).
 * - /openapi/v2, which v1.20 publishes and older kubectl reads: every node
 *   there has a description. v1.20 publishes no properties below a node that
 *   keeps unknown fields (kubernetes/kubernetes#79636: kubectl's client-side
 *   validation would refuse them), so under `spec`, which keeps them so that
 *   the controller can refuse typos, v2 shows the descriptions of spec itself;
 *   status is published whole.
 * - `kubectl get`: the printer columns, as the API server fills them in a
 *   Table, carry External Secrets Operator's names in its order.
 */
import assert from "node:assert/strict";
import { request } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { GROUP, VERSION } from "../../src/api/v1alpha1.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";

interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  $ref?: string;
}

const KINDS = ["ExternalSecret", "SecretStore", "ClusterSecretStore"];
const PUBLISH_TIMEOUT_MS = 30_000;

/** Paths of the fields below `schema` without a description. */
function undescribed(schema: Schema, path: string, problems: string[] = []): string[] {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    // metadata is the API server's ObjectMeta, described there (v2: a $ref to it).
    if (!child.description?.trim() && key !== "metadata") problems.push(`${path}.${key}`);
    undescribed(child, `${path}.${key}`, problems);
  }
  if (schema.items) undescribed(schema.items, `${path}[]`, problems);
  if (typeof schema.additionalProperties === "object")
    undescribed(schema.additionalProperties, `${path}{}`, problems);
  return problems;
}

function countFields(schema: Schema): number {
  let n = 0;
  for (const child of Object.values(schema.properties ?? {})) n += 1 + countFields(child);
  if (schema.items) n += countFields(schema.items);
  return n;
}

void describe("CRD descriptions on the API server (kubectl explain)", () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster({ crds: true });
  });
  after(async () => {
    await cluster?.stop();
  });

  /** GET a path of the API server as admin, parsed as JSON. */
  function getJson(path: string, accept = "application/json"): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, cluster.server),
        {
          ca: Buffer.from(cluster.caData, "base64"),
          headers: { Authorization: `Bearer ${cluster.tokens.admin}`, Accept: accept },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => {
            if (res.statusCode !== 200)
              reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`));
            else resolve(JSON.parse(body));
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  void test("the CRDs served back describe every field of spec and status", async () => {
    const api = cluster.kc.makeApiClient(ApiextensionsV1Api);
    for (const kind of KINDS) {
      const crd = await api.readCustomResourceDefinition({ name: `${kind.toLowerCase()}s.${GROUP}` });
      const version = crd.spec.versions.find((v) => v.name === VERSION);
      const root = version?.schema?.openAPIV3Schema as Schema | undefined;
      assert.ok(root, `${kind}: a schema`);
      assert.ok(root.description?.trim(), `${kind} has a description`);
      const spec = root.properties?.spec;
      assert.ok(spec && countFields(spec) > 5, `${kind}: spec has its fields`);
      assert.deepEqual(undescribed(root, kind), [], `${kind}: fields without a description`);
    }
  });

  void test("kubectl get shows ESO's columns, in ESO's order, filled from spec and status", async () => {
    const ns = await cluster.createNamespace("crd-columns");
    const api = cluster.kc.makeApiClient(CustomObjectsApi);
    const group = GROUP;
    const version = VERSION;
    const refreshTime = "2024-05-01T10:00:00Z";
    const ready = { type: "Ready", status: "True", reason: "SecretSynced", message: "synced" };
    const condition = { ...ready, lastTransitionTime: refreshTime };
    await api.createNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural: "secretstores",
      body: {
        apiVersion: `${group}/${version}`,
        kind: "SecretStore",
        metadata: { name: "demo" },
        spec: { provider: { fake: { data: [] } } },
      },
    });
    await api.patchNamespacedCustomObjectStatus(
      {
        group,
        version,
        namespace: ns,
        plural: "secretstores",
        name: "demo",
        body: { status: { conditions: [condition] } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await api.createNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural: "externalsecrets",
      body: {
        apiVersion: `${group}/${version}`,
        kind: "ExternalSecret",
        metadata: { name: "db" },
        spec: { secretStoreRef: { name: "demo", kind: "SecretStore" }, refreshInterval: "15m", data: [] },
      },
    });
    await api.patchNamespacedCustomObjectStatus(
      {
        group,
        version,
        namespace: ns,
        plural: "externalsecrets",
        name: "db",
        body: { status: { conditions: [condition], refreshTime } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const table = "application/json;as=Table;g=meta.k8s.io;v=v1";
    type Table = { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    const es = (await getJson(`/apis/${group}/${version}/namespaces/${ns}/externalsecrets`, table)) as Table;
    assert.deepEqual(
      es.columnDefinitions.map((c) => c.name),
      ["Name", "StoreType", "Store", "Refresh Interval", "Status", "Ready", "Last Sync", "Age"],
    );
    assert.deepEqual(es.rows[0]?.cells.slice(0, 6), [
      "db",
      "SecretStore",
      "demo",
      "15m",
      "SecretSynced",
      "True",
    ]);
    assert.match(String(es.rows[0]?.cells[6]), /^\d+d$|^\d+y/, "Last Sync is shown as an age");
    const ss = (await getJson(`/apis/${group}/${version}/namespaces/${ns}/secretstores`, table)) as Table;
    assert.deepEqual(
      ss.columnDefinitions.map((c) => c.name),
      ["Name", "Age", "Status", "Ready"],
    );
    assert.deepEqual(ss.rows[0]?.cells.slice(2), ["SecretSynced", "True"]);
  });

  void test("/openapi/v2 publishes a description for every node it shows", async () => {
    const deadline = Date.now() + PUBLISH_TIMEOUT_MS;
    const wanted = KINDS.map((kind) => `dev.refsync.${VERSION}.${kind}`);
    let definitions: Record<string, Schema> = {};
    // The OpenAPI controller publishes a CRD shortly after it is Established.
    while (Date.now() < deadline) {
      definitions = ((await getJson("/openapi/v2")) as { definitions: Record<string, Schema> }).definitions;
      if (wanted.every((name) => definitions[name])) break;
      await sleep(200);
    }
    for (const name of wanted) {
      const definition = definitions[name];
      assert.ok(definition, `${name} published within ${PUBLISH_TIMEOUT_MS / 1000}s`);
      assert.ok(definition.description?.trim(), `${name} has a description`);
      assert.ok(definition.properties?.spec?.description?.trim(), `${name}: spec has a description`);
      assert.ok(definition.properties?.status?.description?.trim(), `${name}: status has a description`);
      assert.deepEqual(undescribed(definition, name), [], `${name}: fields without a description`);
    }
    const status = definitions[`dev.refsync.${VERSION}.ExternalSecret`]?.properties?.status;
    assert.ok(status?.properties?.conditions?.items?.properties?.reason?.description);
  });
});
