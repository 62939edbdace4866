/**
 * Leak test: one end-to-end run with distinctive secret values in a fake, a
 * Vault and an AWS store, synced and failing ExternalSecrets, the plugin in
 * deferred and inline mode (successes and errors, as real processes; inline
 * against the fake store and, with the sidecar's own identities, the Vault
 * and AWS test servers), the controller's metrics and the dashboard.
 * Everything an operator or a tenant can see is captured — every controller
 * log line (debug level), both audit streams (controller and plugin) and
 * /api/v1/audit, every event, every status, the metric exposition,
 * the plugin's stderr (and its output, but for the successful inline runs),
 * the dashboard page and each JSON API response — and the test fails if any
 * value, or its base64, appears in any of it.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import type { ExternalSecretSpec } from "../../src/api/v1alpha1.ts";
import { GENERATORS_API_VERSION } from "../../src/api/generators.ts";
import { generatorTypes, resourceTypes, type ResourceType } from "../../src/kube/resources.ts";
import { Auditor, AuditWriter } from "../../src/store/audit.ts";
import { AuditWindow } from "../../src/store/audit-window.ts";
import { CONTROLLER_TOKEN_FILE_ENV } from "../../src/providers/vault/index.ts";
import type { PluginConfig } from "../../src/render/config.ts";
import type { RunningServer } from "../../src/server/app.ts";
import { serveDashboard } from "../../src/server/dashboard/serve.ts";
import { awsStore } from "../aws/fixtures.ts";
import {
  applyObject,
  externalSecret,
  fakeStore,
  getSecret,
  waitFor,
  waitForCondition,
} from "../controller/harness.ts";
import { startAwsServer, type AwsTestServer } from "../servers/aws/index.ts";
import { kubeTokenReviewer } from "../servers/aws/token-review.ts";
import {
  grantNamespace,
  kubernetesAuthSpec,
  pluginIdentity,
  startNamespaceSuite,
  vaultStore,
  type NamespaceSuite,
} from "../vault/setup.ts";
import { runRefsync, type RefsyncRun } from "../cli-process.ts";

const VALUES = {
  fake: "LeakCanary-Fake-7f3a9c21",
  fakeJson: "LeakCanary-FakeJson-0d4e",
  vault: "LeakCanary-Vault-2b8e1d55",
  vaultOther: "LeakCanary-VaultOther-88",
  aws: "LeakCanary-Aws-9c4d0e13",
  plugin: "LeakCanary-Plugin-51aa70",
  pluginJson: "LeakCanary-PluginJson-6b",
  pluginVault: "LeakCanary-PluginVault-e41c",
  pluginVaultJson: "LeakCanary-PluginVaultJson-93",
  pluginAws: "LeakCanary-PluginAws-7d02",
  pluginAwsNested: "LeakCanary-PluginAwsNested-c5",
  pluginAwsPlain: "LeakCanary-PluginAwsPlain-1f",
  generator: "LeakCanary-Generator-3e9d71",
};
/** Passwords a Password generator made during the run (random, so read back from the Secret). */
const generated: string[] = [];
const REPO = join(import.meta.dirname, "..", "..");
/**
 * Inline references to the Vault and AWS test servers that fail after the policy allowed them, by
 * Secret key: the reference, and the reason its error must give.
 */
const BACKEND_ERRORS: Record<string, [(ns: string) => string, RegExp]> = {
  vaultProperty: [(ns) => `ref+vault://${ns}/plugin#nope`, /property not found/],
  vaultPointer: [(ns) => `ref+vault://${ns}/plugin#/json/k/deeper`, /property not found/],
  vaultDecode: [(ns) => `ref+vault://${ns}/plugin?decode=base64#password`, /not valid Base64/],
  vaultDenied: [(ns) => `ref+vault://other-${ns}/db#password`, /permission denied \(403\)/],
  vaultMissing: [(ns) => `ref+vault://${ns}/missing#password`, /not found \(404\)/],
  awsProperty: [(ns) => `ref+awssecrets://${ns}/plugin#nope`, /property not found/],
  awsPlainProperty: [(ns) => `ref+awssecrets://${ns}/plain#password`, /not JSON/],
  awsDecode: [(ns) => `ref+awssecrets://${ns}/plugin?decode=base64#/nested/a`, /not valid Base64/],
  awsDenied: [(ns) => `ref+awssecrets://other-${ns}/db#password`, /AccessDenied/],
  awsMissing: [(ns) => `ref+awssecrets://${ns}/missing#password`, /ResourceNotFound/],
};
const savedEnv = { ...process.env };

let suite: NamespaceSuite;
let aws: AwsTestServer;
let dashboard: RunningServer | undefined;
/** The controller's latest audit records, served at /api/v1/audit. */
const auditWindow = new AuditWindow();
let dir: string;
/** The plugin's inline stores (fake, Vault, AWS) and policy, written to dir/refsync.yaml. */
let pluginConfig: PluginConfig;
/** The plugin sidecar's identities: its projected token (Vault) and its AWS keys. */
let sidecarEnv: Record<string, string>;
/** Everything visible, by where it was seen. */
const seen = new Map<string, string>();

function forbidden(): [string, string][] {
  const values: [string, string][] = [
    ...Object.entries(VALUES),
    ...generated.map((v, i): [string, string] => [`generated password ${i}`, v]),
  ];
  return values.flatMap(([name, v]) => [
    [name, v],
    [`${name} (base64)`, Buffer.from(v).toString("base64")],
    [`${name} (base64url)`, Buffer.from(v).toString("base64url")],
  ]);
}

function plugin(stdin: string, env: Record<string, string>): Promise<RefsyncRun> {
  return runRefsync(["generate", "-"], {
    cwd: REPO,
    env: {
      REFSYNC_CONFIG: join(dir, "refsync.yaml"),
      REFSYNC_AUDIT_LOG: join(dir, "plugin-audit.jsonl"),
      ARGOCD_APP_NAMESPACE: "team-a",
      ...sidecarEnv,
      ...env,
    },
    stdin,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "refsync-leak-"));
  suite = await startNamespaceSuite(
    "leak",
    {},
    {
      audit: new Auditor(
        new AuditWriter(join(dir, "controller-audit.jsonl")),
        { component: "controller", version: "leak" },
        { window: auditWindow },
      ),
    },
  );
  const { ns, ctl, vault, cluster } = suite;
  grantNamespace(vault, ns);
  vault.root.putSecret("secret", `${ns}/db`, { password: VALUES.vault, json: `{"k": "${VALUES.vault}"}` });
  vault.root.putSecret("secret", `other-${ns}/db`, { password: VALUES.vaultOther });
  aws = await startAwsServer({ reviewToken: kubeTokenReviewer(cluster.kc) });
  const user = aws.addUser({ name: "controller", read: [`${ns}/*`] });
  process.env["AWS_ACCESS_KEY_ID"] = user.accessKeyId;
  process.env["AWS_SECRET_ACCESS_KEY"] = user.secretAccessKey;
  process.env["AWS_EC2_METADATA_DISABLED"] = "true";
  aws.putSecret(`${ns}/db`, JSON.stringify({ password: VALUES.aws, blob: VALUES.aws }));
  aws.putSecret(`other-${ns}/db`, JSON.stringify({ password: VALUES.aws }));

  // The plugin sidecar reads Vault as its own service account (Kubernetes auth) and AWS with its own keys.
  // Both backends let it read only ${ns}/*, so other-${ns}/* is denied by the backend, not by refsync's policy.
  const vaultConfig = await pluginIdentity(suite, ns, dir);
  vault.root.writePolicy("argocd", [{ path: `secret/data/${ns}/*`, capabilities: ["read"] }]);
  vault.root.putSecret("secret", `${ns}/plugin`, {
    password: VALUES.pluginVault,
    json: `{"k": "${VALUES.pluginVaultJson}"}`,
  });
  const sidecar = aws.addUser({ name: "argocd-repo-server", read: [`${ns}/*`] });
  aws.putSecret(
    `${ns}/plugin`,
    JSON.stringify({ password: VALUES.pluginAws, nested: { a: VALUES.pluginAwsNested } }),
  );
  aws.putSecret(`${ns}/plain`, VALUES.pluginAwsPlain);
  sidecarEnv = {
    [CONTROLLER_TOKEN_FILE_ENV]: join(dir, "token"),
    AWS_ACCESS_KEY_ID: sidecar.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sidecar.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  pluginConfig = {
    stores: {
      demo: {
        provider: {
          fake: {
            data: [
              {
                key: "team-a/db",
                valueMap: { password: VALUES.plugin, json: `{"k": "${VALUES.pluginJson}"}` },
              },
              { key: "team-b/db", valueMap: { password: VALUES.plugin } },
            ],
          },
        },
      },
      ...vaultConfig.stores,
      aws: { provider: awsStore(aws, { name: "aws" }).spec.provider },
    },
    defaultStores: { fake: "demo", vault: "vault", awssecrets: "aws" },
    avp: { provider: "fake", store: "demo" },
    modes: ["deferred", "inline"],
    policy: [
      { projects: ["team-a"], stores: ["demo"], paths: ["team-a/"] },
      { projects: ["team-a"], stores: ["vault", "aws"], paths: [`${ns}/`, `other-${ns}/`] },
    ],
  };

  await applyObject(
    ctl.kube,
    fakeStore(ns, "fake", [
      { key: "db", valueMap: { password: VALUES.fake, json: `{"k": "${VALUES.fakeJson}"}` } },
      { key: "plain", value: VALUES.fake },
    ]),
  );
  await applyObject(ctl.kube, vaultStore(ns, "vault", kubernetesAuthSpec(vault.url, ns, "app")));
  const generator = (kind: "Fake" | "Password", name: string, spec: unknown) =>
    ctl.kube.apply(
      generatorTypes[kind] as ResourceType,
      { apiVersion: GENERATORS_API_VERSION, kind, metadata: { name, namespace: ns }, spec },
      { fieldManager: "test", force: true },
    );
  await generator("Fake", "canary", { data: { g: VALUES.generator } });
  await generator("Password", "pw", { length: 40 });
  await generator("Password", "bad", { length: 4, digits: 4, symbols: 4 });
  await applyObject(ctl.kube, awsStore(aws, { name: "aws", namespace: ns }));
  dashboard = await serveDashboard(
    { addr: "127.0.0.1:0", tokenReview: false, perObjectLabels: true },
    { kube: ctl.kube, metrics: ctl.controller.metrics, audit: auditWindow },
  );
});
after(async () => {
  process.env = savedEnv;
  await dashboard?.close();
  await aws?.close();
  await suite?.stop();
  await rm(dir, { recursive: true, force: true });
});

void test("no secret value, nor its base64, in any log, event, status, metric, plugin stderr or dashboard view", async () => {
  const { ns, ctl } = suite;
  const es = (name: string, spec: Omit<ExternalSecretSpec, "refreshInterval">) =>
    applyObject(ctl.kube, externalSecret(ns, name, { refreshInterval: "2s", ...spec }));
  const ok: [string, ExternalSecretSpec][] = [
    [
      "fake-ok",
      {
        secretStoreRef: { name: "fake" },
        data: [{ secretKey: "p", remoteRef: { key: "db", property: "password" } }],
        dataFrom: [{ extract: { key: "db" } }],
      },
    ],
    [
      "vault-ok",
      {
        secretStoreRef: { name: "vault" },
        data: [
          { secretKey: "p", remoteRef: { key: `${ns}/db`, property: "password" } },
          { secretKey: "k", remoteRef: { key: `${ns}/db`, property: "json" } },
        ],
      },
    ],
    [
      "aws-ok",
      {
        secretStoreRef: { name: "aws" },
        data: [{ secretKey: "p", remoteRef: { key: `${ns}/db`, property: "password" } }],
        target: { template: { data: { url: "x://{{p}}@h", b64: "{{b64enc p}}" } } },
      },
    ],
    [
      "generator-ok",
      {
        dataFrom: [
          { sourceRef: { generatorRef: { kind: "Fake", name: "canary" } } },
          { sourceRef: { generatorRef: { kind: "Password", name: "pw" } } },
        ],
      },
    ],
  ];
  const failing: [string, ExternalSecretSpec][] = [
    // A generator whose settings no password satisfies.
    ["generator-invalid", { dataFrom: [{ sourceRef: { generatorRef: { kind: "Password", name: "bad" } } }] }],
    // A template error on the value (not JSON), a property that does not exist, a decoding that fails,
    // a path the identity may not read (Vault, AWS), a key missing in the fake store.
    [
      "fake-template",
      {
        secretStoreRef: { name: "fake" },
        data: [{ secretKey: "p", remoteRef: { key: "plain" } }],
        target: { template: { data: { x: "{{fromJson p}}{{fromYaml p}}{{b64dec p}}" } } },
      },
    ],
    [
      "fake-property",
      {
        secretStoreRef: { name: "fake" },
        data: [{ secretKey: "p", remoteRef: { key: "plain", property: "nope" } }],
      },
    ],
    [
      "fake-decode",
      {
        secretStoreRef: { name: "fake" },
        data: [{ secretKey: "p", remoteRef: { key: "plain", decodingStrategy: "Base64" } }],
      },
    ],
    [
      "fake-missing",
      { secretStoreRef: { name: "fake" }, data: [{ secretKey: "p", remoteRef: { key: "missing" } }] },
    ],
    [
      "vault-property",
      {
        secretStoreRef: { name: "vault" },
        data: [
          { secretKey: "p", remoteRef: { key: `${ns}/db`, property: "json", decodingStrategy: "Base64" } },
        ],
      },
    ],
    [
      "vault-denied",
      {
        secretStoreRef: { name: "vault" },
        data: [{ secretKey: "p", remoteRef: { key: `other-${ns}/db`, property: "password" } }],
      },
    ],
    [
      "aws-denied",
      {
        secretStoreRef: { name: "aws" },
        data: [{ secretKey: "p", remoteRef: { key: `other-${ns}/db`, property: "password" } }],
      },
    ],
    [
      "aws-property",
      {
        secretStoreRef: { name: "aws" },
        data: [{ secretKey: "p", remoteRef: { key: `${ns}/db`, property: "blob/x" } }],
      },
    ],
  ];
  for (const [name, spec] of [...ok, ...failing]) await es(name, spec);
  for (const [name] of ok)
    await waitForCondition(ctl.kube, ns, name, "Ready", "True", "SecretSynced", 30_000);
  for (const [name] of failing)
    await waitForCondition(ctl.kube, ns, name, "Ready", "False", undefined, 30_000);
  // The values really went through: the test would prove nothing otherwise.
  assert.equal((await getSecret(ctl.kube, ns, "fake-ok"))?.data.p, VALUES.fake);
  assert.equal((await getSecret(ctl.kube, ns, "vault-ok"))?.data.p, VALUES.vault);
  assert.equal((await getSecret(ctl.kube, ns, "aws-ok"))?.data.url, `x://${VALUES.aws}@h`);
  const password = async () => (await getSecret(ctl.kube, ns, "generator-ok"))?.data.password ?? "";
  assert.equal((await getSecret(ctl.kube, ns, "generator-ok"))?.data.g, VALUES.generator);
  generated.push(await password());
  assert.equal(generated[0]?.length, 40);
  // A few refreshes and retries more, each logging at debug level: two more syncs of each
  // ExternalSecret that syncs (every 2 s; the failing ones are retried meanwhile). Counted by the
  // controller's own sync metric, not slept for, so a loaded machine cannot leave the window empty.
  const syncs = async (name: string) =>
    (await ctl.controller.metrics.syncCalls.get()).values
      .filter((v) => v.labels.namespace === ns && v.labels.name === name)
      .reduce((sum, v) => sum + v.value, 0);
  const before = new Map(await Promise.all(ok.map(async ([name]) => [name, await syncs(name)] as const)));
  for (const [name] of ok)
    await waitFor(
      async () => ((await syncs(name)) >= (before.get(name) ?? 0) + 2 ? true : undefined),
      `two more syncs of ${name}`,
    );

  generated.push(await password());

  // The plugin: deferred (no value anywhere) and inline (values only on stdout), with errors.
  await writeFile(join(dir, "refsync.yaml"), stringify(pluginConfig));
  const secret = (data: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n${data}`;
  const runs = {
    deferred: await plugin(secret("  p: ref+fake://team-a/db#password\n"), {
      ARGOCD_APP_PROJECT_NAME: "team-a",
    }),
    inline: await plugin(secret("  p: ref+fake://team-a/db#password\n  j: ref+fake://team-a/db#/json/k\n"), {
      ARGOCD_APP_PROJECT_NAME: "team-a",
      ARGOCD_ENV_REFSYNC_MODE: "inline",
    }),
    inlineDenied: await plugin(
      secret(
        [
          "  a: ref+fake://team-b/db#password",
          "  b: ref+vault://team-b/db#password",
          "  c: ref+awssecrets://team-b/db#password",
        ].join("\n") + "\n",
      ),
      { ARGOCD_APP_PROJECT_NAME: "team-a", ARGOCD_ENV_REFSYNC_MODE: "inline" },
    ),
    inlineErrors: await plugin(
      secret(
        [
          "  b: ref+fake://team-a/db#nope", // no such property
          "  c: ref+fake://team-a/db?decode=base64#password", // not base64
          "  d: <path:team-a/db#password | jsonParse>", // not JSON
          "  e: <path:team-a/db#json | jsonPath {.nope}>",
          "  f: ref+fake://team-a/db#/json/k/deeper",
        ].join("\n") + "\n",
      ),
      { ARGOCD_APP_PROJECT_NAME: "team-a", ARGOCD_ENV_REFSYNC_MODE: "inline" },
    ),
    // Vault and AWS through the sidecar's identities: whole values, properties, pointers, a plain string,
    // in a Secret and embedded in a ConfigMap.
    inlineBackends: await plugin(
      secret(
        [
          `  v: ref+vault://${ns}/plugin#password`,
          `  vj: ref+vault://${ns}/plugin#/json/k`,
          `  a: ref+awssecrets://${ns}/plugin#password`,
          `  an: ref+awssecrets://${ns}/plugin#/nested/a`,
          `  ap: ref+awssecrets://${ns}/plain`,
        ].join("\n") + "\n",
      ) +
        `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n` +
        `  url: x://ref+awssecrets://${ns}/plugin#password+@ref+vault://${ns}/plugin#password+\n`,
      { ARGOCD_APP_PROJECT_NAME: "team-a", ARGOCD_ENV_REFSYNC_MODE: "inline" },
    ),
    // Every way a read or its value can fail after the policy allowed it: a missing property, a pointer
    // into a string, a value that is not base64, a property of a plain string, a path the backend denies
    // (Vault policy, IAM), a key that does not exist.
    inlineBackendErrors: await plugin(
      secret(
        Object.entries(BACKEND_ERRORS)
          .map(([key, [ref]]) => `  ${key}: ${ref(ns)}`)
          .join("\n") + "\n",
      ),
      {
        ARGOCD_APP_PROJECT_NAME: "team-a",
        ARGOCD_ENV_REFSYNC_MODE: "inline",
      },
    ),
  };
  assert.equal(runs.deferred.code, 0, runs.deferred.stderr);
  assert.equal(runs.inline.code, 0, runs.inline.stderr);
  assert.ok(runs.inline.stdout.includes(VALUES.plugin) && runs.inline.stdout.includes(VALUES.pluginJson));
  assert.equal(runs.inlineErrors.code, 1);
  assert.equal(runs.inlineDenied.code, 1);
  assert.equal(runs.inlineDenied.stderr.match(/policy denies/g)?.length, 3, runs.inlineDenied.stderr);
  assert.equal(runs.inlineBackends.code, 0, runs.inlineBackends.stderr);
  assert.equal(runs.inlineBackends.stderr, "");
  for (const name of [
    "pluginVault",
    "pluginVaultJson",
    "pluginAws",
    "pluginAwsNested",
    "pluginAwsPlain",
  ] as const)
    assert.ok(runs.inlineBackends.stdout.includes(VALUES[name]), `${name} rendered inline`);
  assert.ok(runs.inlineBackends.stdout.includes(`x://${VALUES.pluginAws}@${VALUES.pluginVault}`));
  assert.equal(runs.inlineBackendErrors.code, 1);
  assert.equal(runs.inlineBackendErrors.stdout, "", "no partial output");
  const errorLines = runs.inlineBackendErrors.stderr.split("\n").filter(Boolean);
  assert.equal(errorLines.length, Object.keys(BACKEND_ERRORS).length, runs.inlineBackendErrors.stderr);
  for (const [key, [, reason]] of Object.entries(BACKEND_ERRORS)) {
    const line = errorLines.find((l) => l.includes(`stringData.${key}: `)) ?? `no error for ${key}`;
    assert.match(line, reason);
  }
  assert.ok(runs.inlineErrors.stderr.split("\n").filter(Boolean).length >= 3, runs.inlineErrors.stderr);
  for (const [name, run] of Object.entries(runs)) {
    seen.set(`plugin ${name} stderr`, run.stderr);
    if (name !== "inline" && name !== "inlineBackends") seen.set(`plugin ${name} stdout`, run.stdout);
  }

  // What the cluster shows.
  seen.set("controller log", ctl.logText());
  seen.set("controller audit", await readFile(join(dir, "controller-audit.jsonl"), "utf8"));
  seen.set("plugin audit", await readFile(join(dir, "plugin-audit.jsonl"), "utf8"));
  const list = async (type: (typeof resourceTypes)[keyof typeof resourceTypes]) =>
    JSON.stringify((await ctl.kube.list<unknown>(type, { namespace: ns })).items);
  seen.set("events", await list(resourceTypes.event));
  seen.set("ExternalSecrets (status)", await list(resourceTypes.externalSecret));
  // A fake store holds its data in its spec by design (demos and tests): its status is what is reported.
  const stores = await ctl.kube.list<{ status?: unknown }>(resourceTypes.secretStore, { namespace: ns });
  seen.set("SecretStores (status)", JSON.stringify(stores.items.map((s) => s.status)));
  seen.set("metrics", await ctl.controller.metrics.registry.metrics());
  const base = dashboard?.url.replace(/\/\/[^:]+:/, "//127.0.0.1:") ?? "";
  for (const path of [
    "/",
    `/?namespace=${ns}`,
    ...["summary", "stores", "externalsecrets", "secrets", "events", "overview", "audit"].map(
      (s) => `/api/v1/${s}`,
    ),
    `/api/v1/audit?namespace=${ns}&outcome=denied`,
  ]) {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, 200, path);
    seen.set(`dashboard ${path}`, await res.text());
  }

  // The captures are not empty: failures were logged, evented and shown.
  assert.match(seen.get("controller log") ?? "", /sync failed/);
  assert.match(seen.get("controller audit") ?? "", /"operation":"read"[^\n]*"outcome":"denied"/);
  assert.match(seen.get("plugin audit") ?? "", /"component":"plugin"/);
  assert.match(seen.get("events") ?? "", /fake-template/);
  assert.match(seen.get("dashboard /api/v1/externalsecrets") ?? "", /vault-denied/);
  assert.match(
    seen.get(`dashboard /api/v1/audit?namespace=${ns}&outcome=denied`) ?? "",
    /"name":"vault-denied"/,
  );
  const leaks: string[] = [];
  for (const [where, text] of seen) {
    for (const [what, needle] of forbidden()) if (text.includes(needle)) leaks.push(`${what} in ${where}`);
  }
  assert.deepEqual(leaks, []);
  console.log(
    `leak test: ${seen.size} captures, ${[...seen.values()].reduce((n, t) => n + t.length, 0)} characters, no value`,
  );
});
