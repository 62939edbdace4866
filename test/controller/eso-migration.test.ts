/**
 * The ESO → refsync walk-through of docs/migrating-from-eso.md, run as
 * written on a real API server: the application's ESO objects (in ESO's
 * CRDs, installed here in their served shape), the Secret ESO wrote for
 * them (owned by the ESO ExternalSecret), a Deployment reading it; then the
 * documented commands with the real kubectl and refsync. The Secret must
 * keep every byte, and the Deployment its pod template and generation (no
 * restart). No ESO controller runs, and the test cluster has no garbage
 * collector: the test does the collector's part of an orphan deletion
 * (drop the owner reference, then the `orphan` finalizer).
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeObject } from "../../src/kube/client.ts";
import { resourceTypes, type ResourceType } from "../../src/kube/resources.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { docBlock } from "../docs/markdown.ts";
import { crds, type TestController } from "./harness.ts";
import {
  applySecretAs,
  assertAdoptedWithoutRestart,
  deploymentState,
  startWalkthrough,
  type Walkthrough,
} from "./walkthrough.ts";

const esoType = (plural: string, kind: string): ResourceType => ({
  group: "external-secrets.io",
  version: "v1",
  plural,
  kind,
  namespaced: true,
});
const esoExternalSecrets = esoType("externalsecrets", "ExternalSecret");

/** ESO's two namespaced kinds the walk-through uses, as their CRDs serve them (schemas kept open). */
const esoCrd = (plural: string, kind: string) => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${plural}.external-secrets.io` },
  spec: {
    group: "external-secrets.io",
    scope: "Namespaced",
    names: { plural, kind, singular: kind.toLowerCase(), listKind: `${kind}List` },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
});

/** What ESO writes for the walk-through's ExternalSecret: its template's one key (mergePolicy Replace). */
const ESO_DATA = { DATABASE_URL: Buffer.from("postgres://shop:s3cr3t-Pa55@db:5432/shop").toString("base64") };

interface Meta {
  metadata: {
    uid: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    ownerReferences?: { uid: string; kind: string; apiVersion: string }[];
  };
}

void describe("docs: migrating one application from ESO to refsync", () => {
  let cluster: Cluster;
  let w: Walkthrough;
  let ns: string;
  let ctl: TestController;

  before(async () => {
    cluster = await startCluster({ crds: true });
    w = await startWalkthrough(cluster, "eso-migration");
    ({ ns, ctl } = w);
    for (const crd of [esoCrd("externalsecrets", "ExternalSecret"), esoCrd("secretstores", "SecretStore")])
      await ctl.kube.apply(crds, crd as unknown as KubeObject, { fieldManager: "test", force: true });
    // A new CRD is served a moment after it is created.
    await waitUntil(async () => {
      try {
        await ctl.kube.list(esoExternalSecrets, { namespace: ns });
        return true;
      } catch {
        return false;
      }
    }, "ESO's CRDs served");
  });
  after(async () => {
    await w?.stop();
    await cluster?.stop();
  });

  void test("the Secret keeps its bytes, the Deployment its pod template and generation", async () => {
    const app = path.join(w.dir, "shop.yaml");
    await writeFile(app, docBlock("test/controller/eso-migration.test.ts", "eso-app"));
    // The application as it runs under ESO: its objects applied, and the Secret ESO wrote, owned by its ExternalSecret.
    await w.kubectl(["apply", "-f", app]);
    const esoEs = await ctl.kube.get<Meta>(esoExternalSecrets, ns, "db");
    assert.ok(esoEs);
    await applySecretAs(w, "externalsecrets.external-secrets.io/db", "db", {
      metadata: {
        labels: { "reconcile.external-secrets.io/managed": "true" },
        annotations: { "reconcile.external-secrets.io/data-hash": "eso-hash" },
        ownerReferences: [
          {
            apiVersion: "external-secrets.io/v1",
            kind: "ExternalSecret",
            name: "db",
            uid: esoEs.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      type: "Opaque",
      data: ESO_DATA,
    });
    const before = await deploymentState(ctl.kube, ns, "web");

    // The garbage collector's part of `kubectl delete … --cascade=orphan`.
    const gc = new AbortController();
    const collector = orphanCollector(gc.signal);
    try {
      await w.sh(docBlock("test/controller/eso-migration.test.ts", "eso-migrate"));
    } finally {
      gc.abort();
      await collector;
    }

    assert.equal(
      await ctl.kube.get(esoExternalSecrets, ns, "db"),
      undefined,
      "the ESO ExternalSecret is gone",
    );
    await assertAdoptedWithoutRestart(w, "db", ESO_DATA, "web", before);
  });

  /** Until `signal`: an ESO ExternalSecret deleted with the orphan policy has its dependents released, then goes. */
  async function orphanCollector(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const { items } = await ctl.kube.list<Meta & { metadata: { name: string } }>(esoExternalSecrets, {
        namespace: ns,
      });
      for (const owner of items) {
        if (!owner.metadata.deletionTimestamp || !owner.metadata.finalizers?.includes("orphan")) continue;
        const secrets = await ctl.kube.list<Meta & { metadata: { name: string } }>(resourceTypes.secret, {
          namespace: ns,
        });
        for (const s of secrets.items) {
          const refs = s.metadata.ownerReferences ?? [];
          if (!refs.some((r) => r.uid === owner.metadata.uid)) continue;
          await ctl.kube.mergePatch(resourceTypes.secret, ns, s.metadata.name, {
            metadata: { ownerReferences: refs.filter((r) => r.uid !== owner.metadata.uid) },
          });
        }
        await ctl.kube.mergePatch(esoExternalSecrets, ns, owner.metadata.name, {
          metadata: { finalizers: owner.metadata.finalizers.filter((f) => f !== "orphan") },
        });
      }
      await sleep(100);
    }
  }
});

async function waitUntil(probe: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await probe()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}
