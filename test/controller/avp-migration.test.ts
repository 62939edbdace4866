/**
 * The argocd-vault-plugin → refsync walk-through of
 * docs/migrating-from-avp.md, run as written on a real API server: the
 * Secret as AVP's render applied it (values filled in, no owner) and a
 * Deployment reading it; then the documented commands with the real kubectl
 * and refsync. The Secret must keep every byte, and the Deployment its pod
 * template and generation (no restart).
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { docBlock } from "../docs/markdown.ts";
import {
  applySecretAs,
  assertAdoptedWithoutRestart,
  deploymentState,
  startWalkthrough,
  type Walkthrough,
} from "./walkthrough.ts";

/** What AVP writes for the walk-through's Secret: its placeholders filled in. */
const AVP_DATA = {
  password: Buffer.from("s3cr3t-Pa55").toString("base64"),
  DATABASE_URL: Buffer.from("postgres://shop:s3cr3t-Pa55@db:5432/shop").toString("base64"),
};

void describe("docs: migrating one application from argocd-vault-plugin to refsync", () => {
  let cluster: Cluster;
  let w: Walkthrough;

  before(async () => {
    cluster = await startCluster({ crds: true });
    w = await startWalkthrough(cluster, "avp-migration");
  });
  after(async () => {
    await w?.stop();
    await cluster?.stop();
  });

  void test("the Secret keeps its bytes, the Deployment its pod template and generation", async () => {
    const { ctl, ns } = w;
    const app = docBlock("test/controller/avp-migration.test.ts", "avp-app");
    await writeFile(path.join(w.dir, "shop.yaml"), app);
    await writeFile(
      path.join(w.dir, "refsync.yaml"),
      docBlock("test/controller/avp-migration.test.ts", "avp-config"),
    );
    await writeFile(
      path.join(w.dir, "vault-store.yaml"),
      docBlock("test/controller/avp-migration.test.ts", "avp-store"),
    );
    // The application as AVP's render left it: the Deployment, and the Secret with its values, owned by nobody.
    await writeFile(path.join(w.dir, "deployment.yaml"), app.split(/^---$/m)[1] ?? "");
    await w.kubectl(["apply", "-f", "deployment.yaml"]);
    await applySecretAs(w, "argocd-controller", "db", {
      metadata: { annotations: { "avp.kubernetes.io/path": "secret/data/shop/db" } },
      data: AVP_DATA,
    });
    const before = await deploymentState(ctl.kube, ns, "web");

    await w.sh(docBlock("test/controller/avp-migration.test.ts", "avp-migrate"));

    await assertAdoptedWithoutRestart(w, "db", AVP_DATA, "web", before);
  });
});
