// refsync convert --from eso: ESO objects rewritten in place as refsync kinds,
// comments and other documents kept, a report line per change, all or
// nothing, --check for CI; the rewritten file renders as the plugin would
// render the ESO original.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { convertCommand } from "../../src/cli/convert.ts";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { parse } from "yaml";
import { collector } from "./io.ts";

const FIXTURES = join(import.meta.dirname, "../render/eso");
const root = mkdtempSync(join(tmpdir(), "refsync-convert-eso-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function rendered(input: string): Promise<string> {
  const result = await render({
    input,
    mode: "deferred",
    config: parseConfig("{}\n", "refsync.yaml"),
    requester: { project: "p", namespace: "shop" },
  });
  assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
  return result.output;
}

void describe("refsync convert --from eso", () => {
  void it("rewrites in place, keeps comments and other documents, reports every change", async () => {
    const dir = mkdtempSync(join(root, "ok-"));
    cpSync(FIXTURES, dir, { recursive: true });
    const extra =
      "# the app's config, not ESO's\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n---\n";
    writeFileSync(join(dir, "vault.yaml"), extra + readFileSync(join(FIXTURES, "vault.yaml"), "utf8"));
    const before = await rendered(dir);

    const check = collector();
    assert.equal(await convertCommand([dir, "--from", "eso", "--check"], check), 1);
    assert.match(check.err(), /would convert 10 ESO object\(s\) in 3 file\(s\)\n$/);
    assert.match(
      check.err(),
      /^would change: .*aws\.yaml: document 0: ClusterSecretStore\/aws-secrets: spec\.provider\.aws\.service: removed \("SecretsManager"/m,
    );
    assert.equal(
      readFileSync(join(dir, "aws.yaml"), "utf8"),
      readFileSync(join(FIXTURES, "aws.yaml"), "utf8"),
    );

    const run = collector();
    assert.equal(await convertCommand([dir, "--from", "eso"], run), 0);
    const text = readFileSync(join(dir, "vault.yaml"), "utf8");
    assert.ok(text.startsWith(extra), "the untouched document keeps its exact text");
    assert.match(text, /# A team's Vault store/);
    assert.doesNotMatch(text, /^apiVersion: external-secrets/m);
    assert.match(
      run.err(),
      /vault\.yaml: document 2: ExternalSecret\/shop\/db-credentials: spec\.target\.creationPolicy: set to "Owner"/,
    );
    assert.match(run.err(), /converted 10 ESO object\(s\) in 3 file\(s\)\n$/);
    // The same objects as the plugin renders from the ESO originals.
    assert.equal(await rendered(dir), before);
    // Converted files are refsync's now: nothing more to do.
    const again = collector();
    assert.equal(await convertCommand([dir, "--from", "eso", "--check"], again), 0);
  });

  void it("all or nothing: a refused field names file, document, object and field, and writes nothing", async () => {
    const dir = mkdtempSync(join(root, "refused-"));
    cpSync(FIXTURES, dir, { recursive: true });
    writeFileSync(
      join(dir, "zz-ssm.yaml"),
      "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: { name: ssm }\nspec:\n  provider:\n    aws: { service: ParameterStore, region: eu-west-1 }\n",
    );
    const io = collector();
    assert.equal(await convertCommand([dir, "--from", "eso"], io), 2);
    assert.match(
      io.err(),
      /nothing written:\n.*zz-ssm\.yaml: document 0: SecretStore\/ssm: spec\.provider\.aws\.service: refsync implements only "SecretsManager"/,
    );
    assert.equal(
      readFileSync(join(dir, "vault.yaml"), "utf8"),
      readFileSync(join(FIXTURES, "vault.yaml"), "utf8"),
    );
  });

  void it("a converted object refsync's schema refuses is an error too, nothing written", async () => {
    const dir = mkdtempSync(join(root, "invalid-"));
    const text =
      "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: es }\nspec:\n  secretStoreRef: { name: s }\n  refreshInterval: 500ms\n  data: [{ secretKey: k, remoteRef: { key: a } }]\n";
    writeFileSync(join(dir, "es.yaml"), text);
    const io = collector();
    assert.equal(await convertCommand([dir, "--from", "eso"], io), 2);
    assert.match(
      io.err(),
      /nothing written:\n.*es\.yaml: document 0: ExternalSecret\/es: spec\.refreshInterval: /,
    );
    assert.equal(readFileSync(join(dir, "es.yaml"), "utf8"), text);
  });

  void it("a ClusterExternalSecret is rewritten, its deprecated selector folded into namespaceSelectors", async () => {
    const dir = mkdtempSync(join(root, "ces-"));
    const text =
      "# every team namespace\napiVersion: external-secrets.io/v1beta1\nkind: ClusterExternalSecret\nmetadata: { name: db }\nspec:\n  namespaceSelector: { matchLabels: { team: a } }\n  externalSecretSpec:\n    secretStoreRef: { name: vault, kind: ClusterSecretStore }\n    data: [{ secretKey: k, remoteRef: { key: a } }]\n";
    writeFileSync(join(dir, "ces.yaml"), text);
    const io = collector();
    assert.equal(await convertCommand([dir, "--from", "eso"], io), 0);
    const out = readFileSync(join(dir, "ces.yaml"), "utf8");
    assert.match(
      out,
      /^# every team namespace\napiVersion: refsync\.dev\/v1alpha1\nkind: ClusterExternalSecret\n/,
    );
    const spec = (parse(out) as { spec: Record<string, unknown> }).spec;
    assert.deepEqual(spec.namespaceSelectors, [{ matchLabels: { team: "a" } }]);
    assert.equal(spec.namespaceSelector, undefined);
    assert.equal(spec.refreshTime, "1h");
    assert.match(
      io.err(),
      /ces\.yaml: document 0: ClusterExternalSecret\/db: spec\.refreshTime: set to "1h"/,
    );
  });

  void it("fields without effect in ESO's reading are dropped, each with a report line saying why", async () => {
    const dir = mkdtempSync(join(root, "dropped-"));
    const text = [
      "apiVersion: external-secrets.io/v1",
      "kind: SecretStore",
      "metadata: { name: vault }",
      "spec:",
      "  provider:",
      "    vault:",
      "      server: https://vault.example:8200",
      "      path: kv",
      "      checkAndSet: { required: true }",
      "      auth:",
      "        jwt:",
      "          role: app",
      "          secretRef: { name: login-jwt, key: token }",
      "          kubernetesServiceAccountToken: { serviceAccountRef: { name: app } }",
      "---",
      "apiVersion: external-secrets.io/v1",
      "kind: SecretStore",
      "metadata: { name: aws }",
      "spec:",
      "  provider:",
      "    aws:",
      "      service: SecretsManager",
      "      region: eu-west-1",
      "      secretsManager: { recoveryWindowInDays: 10 }",
      "",
    ].join("\n");
    writeFileSync(join(dir, "stores.yaml"), text);
    const io = collector();
    assert.equal(await convertCommand([dir, "--from", "eso"], io), 0);
    const docs = readFileSync(join(dir, "stores.yaml"), "utf8").split("\n---\n");
    type Vault = { checkAndSet?: unknown; auth: { jwt: unknown } };
    const vault = (parse(docs[0]!) as { spec: { provider: { vault: Vault } } }).spec.provider.vault;
    assert.deepEqual(vault.auth.jwt, { role: "app", secretRef: { name: "login-jwt", key: "token" } });
    assert.equal(vault.checkAndSet, undefined);
    const aws = (parse(docs[1]!) as { spec: { provider: { aws: Record<string, unknown> } } }).spec.provider
      .aws;
    assert.equal(aws.secretsManager, undefined);
    const err = io.err();
    assert.match(
      err,
      /SecretStore\/vault: spec\.provider\.vault\.auth\.jwt\.kubernetesServiceAccountToken: removed \(\(a structure\), ESO uses secretRef when both are set and ignores kubernetesServiceAccountToken\)/,
    );
    for (const field of ["vault\\.checkAndSet", "aws\\.secretsManager"]) {
      assert.match(
        err,
        new RegExp(
          `spec\\.provider\\.${field}: removed \\(\\(a structure\\), no effect: refsync never writes to or deletes from the backend`,
        ),
      );
    }
  });

  void it("--help names both sources and the default; avp flags are refused with eso", async () => {
    const help = collector();
    await convertCommand(["--help"], help);
    assert.match(help.out() + help.err(), /--from avp\|eso +avp \(the default\)/);
    const bad = collector();
    assert.equal(await convertCommand([".", "--from", "eso", "--store", "x"], bad), 2);
    assert.match(bad.err(), /--store is for --from avp/);
  });
});
