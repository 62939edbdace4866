/**
 * `""` where ESO allows an empty string (a rewrite's regexp target, to strip
 * a prefix; remoteRef.property, the whole secret; a template.data value),
 * on the real API server: kept as "" (never refused, never null) by
 * server-side apply (refsync's client, the controller's write path), by
 * `kubectl apply` and by `kubectl apply --server-side`, and synced by the
 * controller into the Secret ESO would write.
 *
 * Regression: the test cluster's kube-apiserver v1.20, built with a Go
 * newer than 1.15, refused every "" of a custom resource as `must be of
 * type string: "null"` until test/cluster/ensure-apiserver.sh patched its
 * OpenAPI zero-value check out (as Kubernetes 1.21 did).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import type { ExternalSecret, ExternalSecretSpec } from "../../src/api/v1alpha1.ts";
import { ensureTools } from "../argocd/tools.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getExternalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "./harness.ts";

const run = promisify(execFile);

/** Every "" ESO allows that refsync reads: strip a prefix, the whole secret, an empty templated key. */
const spec: ExternalSecretSpec = {
  refreshInterval: "1h",
  secretStoreRef: { name: "store" },
  target: { template: { mergePolicy: "Merge", data: { empty: "" } } },
  data: [{ secretKey: "whole", remoteRef: { key: "db", property: "" } }],
  dataFrom: [
    {
      find: { name: { regexp: "^/team/" }, conversionStrategy: "Default" },
      rewrite: [{ regexp: { source: "^_team_", target: "" } }],
    },
  ],
};

/** The Secret ESO writes for `spec`. */
const written = { whole: '{"password":"p"}', alpha: "a", empty: "" };

/** The three "" of `spec` as the API server holds them. */
function empties(es: ExternalSecret | undefined) {
  return {
    template: es?.spec.target?.template?.data?.empty,
    property: es?.spec.data?.[0]?.remoteRef.property,
    target: es?.spec.dataFrom?.[0]?.rewrite?.[0]?.regexp?.target,
  };
}
const allEmpty = { template: "", property: "", target: "" };

void describe('controller: "" where ESO allows it, on the real API server', () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;
  let dir: string;
  let kubectl: (args: string[]) => Promise<string>;

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("empty-strings");
    ctl = await startTestController(cluster, { namespace: ns });
    dir = await mkdtemp(join(tmpdir(), "refsync-empty-strings-"));
    const tools = await ensureTools();
    kubectl = async (args) =>
      (await run(tools.kubectl, ["--kubeconfig", cluster.kubeconfigPath, "-n", ns, ...args])).stdout;
    await applyObject(
      ctl.kube,
      fakeStore(ns, "store", [
        { key: "/team/alpha", value: "a" },
        { key: "db", value: '{"password":"p"}' },
      ]),
    );
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function assertSynced(name: string): Promise<void> {
    assert.deepEqual(empties(await getExternalSecret(ctl.kube, ns, name)), allEmpty);
    await waitForCondition(ctl.kube, ns, name, "Ready", "True", "SecretSynced");
    const secret = await waitFor(() => getSecret(ctl.kube, ns, name), `Secret ${name}`);
    assert.deepEqual(secret.data, written);
  }

  void test('server-side apply as refsync\'s client does: every "" kept and synced', async () => {
    const applied = await applyObject(ctl.kube, externalSecret(ns, "ssa", spec));
    assert.deepEqual(empties(applied), allEmpty);
    await assertSynced("ssa");
  });

  for (const [name, flags, unchanged] of [
    ["client-side", [], / unchanged\n/],
    ["server-side", ["--server-side"], / serverside-applied\n/],
  ] as const) {
    void test(`${["kubectl apply", ...flags].join(" ")} of a user's manifest, twice: every "" kept`, async () => {
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, stringify(externalSecret(ns, name, spec)));
      await kubectl(["apply", ...flags, "-f", file]);
      // The second apply diffs against what the server holds: a "" turned null would show here.
      const again = await kubectl(["apply", ...flags, "-f", file]);
      assert.match(again, unchanged);
      await assertSynced(name);
    });
  }
});
