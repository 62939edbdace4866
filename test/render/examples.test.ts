// The example app renders in both modes, as docs/plugin.md and the demo show it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { runRender } from "../../src/cli/render.ts";

const examples = join(import.meta.dirname, "..", "..", "examples");

async function renderExample(args: string[]): Promise<unknown[]> {
  let stdout = "";
  let stderr = "";
  const code = await runRender([join(examples, "demo-app"), ...args], undefined, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  });
  assert.equal(stderr, "");
  assert.equal(code, 0);
  return parseAllDocuments(stdout).map((d) => d.toJS() as unknown);
}

const find = (docs: unknown[], kind: string): unknown =>
  docs.find((d) => (d as { kind: string }).kind === kind);

void test("deferred: the Secret becomes an ExternalSecret on the fake SecretStore", async () => {
  const docs = await renderExample([]);
  assert.deepEqual(
    docs.map((d) => (d as { kind: string }).kind),
    ["Deployment", "ExternalSecret", "SecretStore"],
  );
  const es = find(docs, "ExternalSecret") as {
    spec: { secretStoreRef: unknown; target: { template: { data: Record<string, string> } } };
  };
  assert.deepEqual(es.spec.secretStoreRef, { name: "fake", kind: "SecretStore" });
  assert.equal(es.spec.target.template.data.LOG_LEVEL, "info");
});

void test("inline: values substituted, with the refs annotation", async () => {
  const docs = await renderExample([
    "--mode",
    "inline",
    "--config",
    join(examples, "refsync.yaml"),
    "--project",
    "demo",
  ]);
  const secret = find(docs, "Secret") as {
    stringData: Record<string, string>;
    metadata: { annotations: Record<string, string> };
  };
  assert.deepEqual(secret.stringData, {
    DB_USER: "demo",
    DB_PASSWORD: "demo-password-1",
    DATABASE_URL: "postgres://demo:demo-password-1@db:5432/app",
    API_TOKEN: "demo-api-token",
    LOG_LEVEL: "info",
  });
  assert.match(secret.metadata.annotations["refsync.dev/refs"] ?? "", /"digest":"sha256:[0-9a-f]{64}"/);
});
