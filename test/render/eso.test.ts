/**
 * The plugin reads External Secrets Operator manifests as they are: in
 * deferred (and inline) mode each external-secrets.io ExternalSecret,
 * SecretStore, ClusterSecretStore and ClusterExternalSecret comes out as the refsync kind, marked
 * with the apiVersion it came from and validated like every emitted object.
 * A field refsync does not implement fails the whole render, nothing on
 * stdout, naming file, document, object and field.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { runRefsync } from "../cli-process.ts";

const FIXTURES = join(import.meta.dirname, "eso");
const root = mkdtempSync(join(tmpdir(), "refsync-eso-render-"));
after(() => rmSync(root, { recursive: true, force: true }));
const env = { HOME: root };
const config = join(root, "refsync.yaml");
writeFileSync(config, "modes: [deferred, inline]\n");

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
};
/** ESO's ClusterExternalSecret example, shortened: the apiVersion is ESO's. */
const CES = `apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata:
  name: hello
spec:
  externalSecretName: hello-es
  namespaceSelectors:
    - matchLabels: { cool: label }
  refreshTime: 1m
  externalSecretSpec:
    secretStoreRef: { name: vault-backend, kind: ClusterSecretStore }
    refreshInterval: 1h
    data:
      - secretKey: password
        remoteRef: { key: db, property: password }
`;
const docs = (text: string): Doc[] => parseAllDocuments(text).map((d) => d.toJS() as Doc);

void describe("plugin: ESO manifests", () => {
  for (const mode of ["deferred", "inline"]) {
    void it(`${mode} mode converts every ESO object and validates it`, async () => {
      const run = await runRefsync(["render", FIXTURES, "--mode", mode, "--config", config], { env });
      assert.equal(run.stderr, "");
      assert.equal(run.code, 0);
      const out = docs(run.stdout);
      assert.deepEqual(out.map((d) => `${d.apiVersion} ${d.kind}/${d.metadata.name}`).sort(), [
        "refsync.dev/v1alpha1 ClusterSecretStore/aws-secrets",
        "refsync.dev/v1alpha1 ExternalSecret/api-keys",
        "refsync.dev/v1alpha1 ExternalSecret/db-credentials",
        "refsync.dev/v1alpha1 SecretStore/azure",
        "refsync.dev/v1alpha1 SecretStore/cluster-secrets",
        "refsync.dev/v1alpha1 SecretStore/demo",
        "refsync.dev/v1alpha1 SecretStore/gcp",
        "refsync.dev/v1alpha1 SecretStore/gcp-gke",
        "refsync.dev/v1alpha1 SecretStore/vault-backend",
        "refsync.dev/v1alpha1 SecretStore/vault-backend-aws-iam",
      ]);
      const origin = Object.fromEntries(
        out.map((d) => [d.metadata.name, d.metadata.annotations?.["refsync.dev/converted-from"]]),
      );
      assert.equal(origin["db-credentials"], "external-secrets.io/v1");
      assert.equal(origin["aws-secrets"], "external-secrets.io/v1beta1");
      // ESO's defaults written out, template engine v2.
      const db = out.find((d) => d.metadata.name === "db-credentials") as unknown as {
        spec: { target: Record<string, unknown> & { template: { engineVersion: string } } };
      };
      assert.equal(db.spec.target.creationPolicy, "Owner");
      assert.equal(db.spec.target.deletionPolicy, "Retain");
      assert.equal(db.spec.target.template.engineVersion, "v2");
    });
  }

  void it("a refused field fails the render naming file, document, object and field", async () => {
    const dir = mkdtempSync(join(root, "refused-"));
    cpSync(join(FIXTURES, "vault.yaml"), join(dir, "vault.yaml"));
    writeFileSync(
      join(dir, "ssm.yaml"),
      `apiVersion: v1
kind: ConfigMap
metadata: { name: c, namespace: shop }
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: { name: ssm, namespace: shop }
spec:
  provider:
    aws: { service: ParameterStore, region: eu-west-1 }
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: { name: push, namespace: shop }
spec: {}
`,
    );
    const run = await runRefsync(["render", dir], { env });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    const lines = run.stderr.trim().split("\n");
    assert.ok(
      lines.some((l) =>
        /ssm\.yaml: document 1: SecretStore\/shop\/ssm: spec\.provider\.aws\.service: refsync implements only "SecretsManager"/.test(
          l,
        ),
      ),
      run.stderr,
    );
    assert.ok(
      lines.some((l) =>
        /ssm\.yaml: document 2: PushSecret\/shop\/push: apiVersion: refsync converts only external-secrets\.io\/v1/.test(
          l,
        ),
      ),
      run.stderr,
    );
  });

  void it("a ClusterExternalSecret comes out as refsync's, validated like the others", async () => {
    const dir = mkdtempSync(join(root, "ces-"));
    writeFileSync(join(dir, "ces.yaml"), CES);
    const run = await runRefsync(["render", dir], { env });
    assert.equal(run.stderr, "");
    assert.equal(run.code, 0);
    const [ces] = docs(run.stdout) as (Doc & { spec: Record<string, unknown> })[];
    assert.equal(
      `${ces?.apiVersion} ${ces?.kind}/${ces?.metadata.name}`,
      "refsync.dev/v1alpha1 ClusterExternalSecret/hello",
    );
    assert.equal(ces?.metadata.annotations?.["refsync.dev/converted-from"], "external-secrets.io/v1");
    assert.deepEqual(ces?.spec.namespaceSelectors, [{ matchLabels: { cool: "label" } }]);
    assert.equal(ces?.spec.refreshTime, "1m");

    // A value ESO takes and refsync's schema refuses fails the render, naming the field.
    writeFileSync(join(dir, "ces.yaml"), CES.replace("refreshTime: 1m", "refreshTime: 500ms"));
    const bad = await runRefsync(["render", dir], { env });
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.match(
      bad.stderr,
      /ces\.yaml: document 0: ClusterExternalSecret\/hello: spec\.refreshTime: must be a duration/,
    );
  });

  void it("per-entry stores (sourceRef.storeRef) render; an entry with no store fails naming it", async () => {
    const dir = mkdtempSync(join(root, "source-ref-"));
    const es = (secretStoreRef: string) => `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: signing, namespace: shop }
spec:
${secretStoreRef}  data:
    - secretKey: privatekey
      remoteRef: { key: signing-keys, property: privatekey }
      sourceRef:
        storeRef: { name: kubernetes }
    - secretKey: ciphertext
      remoteRef: { key: /credentials/ciphertext }
`;
    writeFileSync(join(dir, "es.yaml"), es("  secretStoreRef: { name: vault-backend }\n"));
    const run = await runRefsync(["render", dir], { env });
    assert.equal(run.stderr, "");
    const [out] = docs(run.stdout) as unknown as { spec: { data: { sourceRef?: unknown }[] } }[];
    assert.deepEqual(out?.spec.data[0]?.sourceRef, { storeRef: { name: "kubernetes", kind: "SecretStore" } });
    writeFileSync(join(dir, "es.yaml"), es(""));
    const storeless = await runRefsync(["render", dir], { env });
    assert.equal(storeless.code, 1);
    assert.equal(storeless.stdout, "");
    assert.match(
      storeless.stderr,
      /es\.yaml: document 0: ExternalSecret\/shop\/signing: spec\.data\[1\]: names no store: set spec\.secretStoreRef, or sourceRef\.storeRef on the entry/,
    );
  });

  void it("a converted object that refsync's schema rejects fails the render too", async () => {
    const dir = mkdtempSync(join(root, "invalid-"));
    writeFileSync(
      join(dir, "es.yaml"),
      `apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: es, namespace: shop }
spec:
  secretStoreRef: { name: s }
  refreshInterval: 500ms
  data: [{ secretKey: k, remoteRef: { key: a } }]
`,
    );
    const run = await runRefsync(["render", dir], { env });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /es\.yaml: document 0: ExternalSecret\/shop\/es: spec\.refreshInterval: /);
  });

  void it("fields ESO ignores are dropped with a note: on stderr (Argo CD logs it) and as an annotation", async () => {
    const dir = mkdtempSync(join(root, "notes-"));
    writeFileSync(
      join(dir, "stores.yaml"),
      `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: { name: vault, namespace: shop }
spec:
  provider:
    vault:
      server: https://vault.example:8200
      path: kv
      checkAndSet: { required: true }
      auth:
        jwt:
          role: app
          secretRef: { name: login-jwt, key: token }
          kubernetesServiceAccountToken: { serviceAccountRef: { name: app } }
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: { name: plain, namespace: shop }
spec:
  provider:
    vault: { server: "https://vault.example:8200", path: kv, auth: { tokenSecretRef: { name: t, key: token } } }
`,
    );
    // generate is what argocd-cmp-server runs; it exits 0 and writes the stream to stdout.
    const run = await runRefsync(["generate", dir], { env });
    assert.equal(run.code, 0, run.stderr);
    const notes = run.stderr.trim().split("\n");
    assert.equal(notes.length, 2, run.stderr);
    assert.match(
      notes[0] ?? "",
      /^refsync: note: .*stores\.yaml: document 0: SecretStore\/shop\/vault: spec\.provider\.vault\.(auth\.jwt\.kubernetesServiceAccountToken|checkAndSet): dropped \(/,
    );
    assert.ok(
      notes.some((n) =>
        n.includes(
          "spec.provider.vault.auth.jwt.kubernetesServiceAccountToken: dropped (ESO uses secretRef when both are set and ignores kubernetesServiceAccountToken)",
        ),
      ),
      run.stderr,
    );
    const [vault, plain] = docs(run.stdout);
    const annotation = vault?.metadata.annotations?.["refsync.dev/conversion-notes"] ?? "";
    // The same notes, without the file prefix, one per line; an object with nothing dropped has none.
    assert.deepEqual(
      annotation.split("\n").sort(),
      notes.map((n) => n.replace(/^refsync: note: .*SecretStore\/shop\/vault: /, "")).sort(),
    );
    assert.equal(plain?.metadata.annotations?.["refsync.dev/conversion-notes"], undefined);
  });
});
