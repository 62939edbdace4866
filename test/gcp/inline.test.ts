// The plugin's inline mode resolves ref+gcpsm:// through the gcpsm provider
// with the sidecar's own identity (Application Default Credentials: here a
// key file named by GOOGLE_APPLICATION_CREDENTIALS), only where the
// operator's policy lets the Argo CD project read.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseAllDocuments } from "yaml";
import type { PluginConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { startGcpServer, type GcpTestServer } from "../servers/gcp/index.ts";

const MANIFEST = `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: ref+gcpsm://team-a-db#password
  pinned: ref+gcpsm://team-a-db?version=1#password
  nested: ref+gcpsm://team-a-db#/nested/k
  token: ref+gcpsm://team-a-token
  url: postgres://app:ref+gcpsm://team-a-db#password+@db:5432/app
`;

let gcp: GcpTestServer;
let dir: string;
let config: PluginConfig;
const requester = { project: "team-a", namespace: "team-a" };
const savedEnv = { ...process.env };
const SIDECAR = "argocd-repo-server@refsync-test.iam.gserviceaccount.com";

before(async () => {
  gcp = await startGcpServer();
  gcp.addServiceAccount(SIDECAR);
  // IAM lets the sidecar read everything; refsync's policy is what narrows it per project.
  gcp.bind({ member: `serviceAccount:${SIDECAR}`, role: "secretAccessor", secrets: ["*"] });
  gcp.putSecret("team-a-db", JSON.stringify({ password: "inline-old" }));
  gcp.putSecret("team-a-db", JSON.stringify({ password: "inline-pw", nested: { k: "inline-deep" } }));
  gcp.putSecret("team-a-token", "inline-token");
  gcp.putSecret("team-b-db", JSON.stringify({ password: "inline-pw-b" }));
  dir = await mkdtemp(join(tmpdir(), "refsync-gcp-inline-"));
  await writeFile(join(dir, "key.json"), gcp.createKey(SIDECAR));
  process.env["GOOGLE_APPLICATION_CREDENTIALS"] = join(dir, "key.json");
  config = {
    stores: {
      gcp: {
        provider: {
          gcpsm: {
            projectID: gcp.projectID,
            endpoints: { secretManager: gcp.secretManager },
            caBundle: gcp.caBundle,
          },
        },
      },
    },
    defaultStores: { gcpsm: "gcp" },
    modes: ["deferred", "inline"],
    // Secret ids are one path segment: the policy names them.
    policy: [{ projects: ["team-a"], stores: ["gcp"], paths: ["team-a-db", "team-a-token"] }],
  };
});

after(async () => {
  process.env = savedEnv;
  await rm(dir, { recursive: true, force: true });
  await gcp?.close();
});

function values(output: string): Record<string, string> {
  const [secret] = parseAllDocuments(output).map(
    (doc) => doc.toJS() as { stringData?: Record<string, string> },
  );
  return secret?.stringData ?? {};
}

void test("substitutes values: properties, a pinned version, a pointer, a whole text secret, embedded", async () => {
  await writeFile(join(dir, "secret.yaml"), MANIFEST);
  gcp.clearRequests();
  const result = await render({ input: join(dir, "secret.yaml"), mode: "inline", config, requester });
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  assert.deepEqual(values(result.output), {
    password: "inline-pw",
    pinned: "inline-old",
    nested: "inline-deep",
    token: "inline-token",
    url: "postgres://app:inline-pw@db:5432/app",
  });
  const reads = gcp.requests.filter((r) => r.method === "AccessSecretVersion");
  assert.ok(reads.every((r) => r.principal === `serviceAccount:${SIDECAR}` && r.status === "OK"));
  // One call per distinct secret version: team-a-db latest and 1, team-a-token latest.
  assert.equal(reads.length, 3);
});

void test("refuses a path the project may not read, before asking Google, and never prints a value", async () => {
  await writeFile(join(dir, "other.yaml"), MANIFEST.replaceAll("team-a-", "team-b-"));
  gcp.clearRequests();
  const result = await render({ input: join(dir, "other.yaml"), mode: "inline", config, requester });
  assert.equal(result.ok, false);
  const errors = result.ok ? "" : result.errors.join("\n");
  assert.match(errors, /policy denies project "team-a".*team-b-db/);
  assert.doesNotMatch(errors, /inline-pw-b/);
  assert.equal(gcp.requests.length, 0);
});
