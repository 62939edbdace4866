/**
 * argocd-vault-plugin compatibility: test/fixtures/avp/ holds the cases of
 * AVP's own fixtures and placeholder tests (our names and values), its
 * refsync.yaml two fake stores standing in for a KV v1 and a KV v2 mount.
 * Inline mode must give AVP's output (expected.yaml); deferred mode must
 * give the same Secret bytes once the controller has read and templated.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import type { ExternalSecret } from "../../src/api/v1alpha1.ts";
import { runRender } from "../../src/cli/render.ts";
import { extractValue } from "../../src/providers/extract.ts";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { storeClient } from "../../src/render/provider-client.ts";
import { renderTemplates } from "../../src/template/engine.ts";

const dir = join(import.meta.dirname, "..", "fixtures", "avp");
const configFile = join(dir, "refsync.yaml");
const config = parseConfig(readFileSync(configFile, "utf8"), configFile);
const requester = { project: "shop", namespace: "shop" };

type Obj = { kind?: string; metadata?: { name?: string; annotations?: Record<string, string> } } & Record<
  string,
  unknown
>;
const documents = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Obj);

/** The object without refsync's own annotation (references and a digest, no value). */
function withoutRefsAnnotation(o: Obj): Obj {
  const annotations = { ...o.metadata?.annotations };
  delete annotations["refsync.dev/refs"];
  const { annotations: _, ...metadata } = o.metadata ?? {};
  return { ...o, metadata: Object.keys(annotations).length ? { ...metadata, annotations } : metadata };
}

async function renderText(mode: "inline" | "deferred", text: string, avp = config) {
  return render({ input: "-", mode, config: avp, requester, stdin: () => Promise.resolve(text) });
}

void test("inline mode gives AVP's output for AVP's cases", async () => {
  let stdout = "";
  let stderr = "";
  const spec = parseYaml(readFileSync(join(dir, "case.yaml"), "utf8")) as {
    args: string[];
    env: Record<string, string>;
  };
  const code = await runRender([...spec.args, "--config", configFile, join(dir, "input")], undefined, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { PATH: process.env.PATH, ...spec.env },
    stdin: () => Promise.resolve(""),
  });
  assert.equal(stderr, "");
  assert.equal(code, 0);
  const rendered = documents(stdout);
  const expected = documents(readFileSync(join(dir, "expected.yaml"), "utf8"));
  assert.equal(rendered.length, expected.length);
  rendered.forEach((doc, i) => {
    const name = `${doc.kind}/${doc.metadata?.name}`;
    assert.deepEqual(withoutRefsAnnotation(doc), expected[i], name);
    const untouched = name === "Secret/left-alone";
    assert.equal(doc.metadata?.annotations?.["refsync.dev/refs"] === undefined, untouched, name);
  });
});

/** Each case: a manifest, and the one error it must give (exit non-zero, nothing written). */
const failures: [string, string, RegExp][] = [
  [
    "AVP's embedded base64 shape that is not base64 (AVP emits it, the API server refuses it)",
    "data:\n  x: c29tZQ==<path:secret/webshop#token-clear | base64encode>dmFsdWU=",
    /Secret\/f: data\.x: the value is not base64 once the placeholders are replaced/,
  ],
  [
    "two base64 values joined by a comma in data",
    "data:\n  x: <path:secret/webshop#token-b64>,<path:secret/webshop#token2-b64>",
    /data\.x: the value is not base64/,
  ],
  [
    "base64decode on a map",
    "stringData:\n  x: <path:secret/structured#data | base64decode>",
    /stringData\.x: ref\+fake:\/\/structured\?store=kv1#data: base64decode: invalid datatype: the value is a map, not a string$/,
  ],
  [
    "jsonParse on text that is not JSON",
    "stringData:\n  x: <path:secret/webshop#token-clear | jsonParse>",
    /stringData\.x: .*: jsonParse: the value is not JSON$/,
  ],
  [
    "an object in stringData",
    "stringData:\n  x: <path:secret/structured#data>",
    /stringData\.x: the value is a map, which has no text form here$/,
  ],
  [
    "a missing key without remove-missing",
    "stringData:\n  x: <path:secret/webshop#nope>",
    /stringData\.x: .*property not found$/,
  ],
];

for (const [what, body, error] of failures) {
  void test(`inline mode refuses ${what}`, async () => {
    const text = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: f\n  annotations: {avp.kubernetes.io/kv-version: "1"}\n${body}\n`;
    const result = await renderText("inline", text);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.errors.length, 1, result.errors.join("\n"));
    assert.match(result.errors[0] as string, error);
    assert.doesNotMatch(result.errors[0] as string, /shop-token|c2hvcC10b2tlbg|cart-img/);
  });
}

void test("remove-missing only on Secrets and ConfigMaps, as in AVP", async () => {
  const result = await renderText(
    "inline",
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  annotations:\n    avp.kubernetes.io/path: kv/data/webshop\n    avp.kubernetes.io/remove-missing: 'True'\nspec:\n  selector: {app: <name>}\n",
  );
  assert.deepEqual(result, {
    ok: false,
    errors: [
      "stdin: document 0: Service/s: avp.kubernetes.io/remove-missing can only be used on Secret or ConfigMap resources",
    ],
  });
});

void test("two Vault mounts read through one store are an error, not one path", async () => {
  const oneStore = parseConfig("avp: { provider: vault, store: vault }\n", "refsync.yaml");
  const text = `apiVersion: v1
kind: Secret
metadata: {name: a, annotations: {avp.kubernetes.io/kv-version: "1"}}
stringData: {x: "<path:secret/testing#k>"}
---
apiVersion: v1
kind: Secret
metadata: {name: b}
stringData: {x: "<path:kv/data/testing#k>"}
`;
  const result = await renderText("deferred", text, oneStore);
  assert.deepEqual(result, {
    ok: false,
    errors: [
      'AVP placeholders read Vault mounts kv, secret through one store "vault"; map each mount to its own store in the plugin configuration\'s avp.mounts',
    ],
  });
  const mapped = parseConfig("avp: { provider: vault, mounts: { secret: v1, kv: v2 } }\n", "refsync.yaml");
  const ok = await renderText("deferred", text, mapped);
  assert.ok(ok.ok);
  const [a, b] = documents(ok.output) as unknown as ExternalSecret[];
  assert.deepEqual(
    [a, b].map((es) => [es?.spec.secretStoreRef?.name, es?.spec.data?.[0]?.remoteRef.key]),
    [
      ["v1", "testing"],
      ["v2", "testing"],
    ],
  );
});

/** A Secret's bytes per key, as the API server holds them. */
function secretBytes(secret: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((secret.data ?? {}) as Record<string, string>))
    out[k] = Buffer.from(v, "base64").toString("hex");
  for (const [k, v] of Object.entries((secret.stringData ?? {}) as Record<string, string>))
    out[k] = Buffer.from(v, "utf8").toString("hex");
  return out;
}

/** What the controller writes for an ExternalSecret: read data[] from the store, then render the template. */
async function controllerBytes(es: ExternalSecret): Promise<Record<string, string>> {
  const store = es.spec.secretStoreRef?.name ?? "";
  const client = storeClient(config, store);
  const fetched: Record<string, Uint8Array> = {};
  for (const d of es.spec.data ?? []) {
    const value = await client.read({ key: d.remoteRef.key, version: d.remoteRef.version });
    fetched[d.secretKey] = extractValue(value, { store, ...d.remoteRef });
  }
  await client.close();
  const templates = es.spec.target?.template?.data;
  if (!templates)
    return Object.fromEntries(Object.entries(fetched).map(([k, v]) => [k, Buffer.from(v).toString("hex")]));
  return Object.fromEntries(
    Object.entries(renderTemplates(templates, fetched)).map(([k, v]) => [k, Buffer.from(v).toString("hex")]),
  );
}

void test("deferred mode gives the Secret bytes inline mode gives", async () => {
  const files = ["secret_path.yaml", "secret_path_base64.yaml", "secret_versioned.yaml"];
  const extra = `apiVersion: v1
kind: Secret
metadata:
  name: deferred-extra
  annotations: {avp.kubernetes.io/path: secret/webshop, avp.kubernetes.io/kv-version: "1"}
data:
  CLEAR: <token-clear | base64encode>
  AS_IS: <token-b64>
  ROUND_TRIP: <token-b64 | base64decode | base64encode>
  LITERAL: bGl0ZXJhbA==
stringData:
  DECODED: <token-b64 | base64decode>
  URL: https://<name>.example/<token-clear>
`;
  const text = [...files.map((f) => readFileSync(join(dir, "input", f), "utf8")), extra].join("\n---\n");
  const inline = await renderText("inline", text);
  const deferred = await renderText("deferred", text);
  assert.ok(inline.ok, inline.ok ? "" : inline.errors.join("\n"));
  assert.ok(deferred.ok, deferred.ok ? "" : deferred.errors.join("\n"));
  const secrets = documents(inline.output);
  const externalSecrets = documents(deferred.output) as unknown as ExternalSecret[];
  assert.equal(externalSecrets.length, secrets.length);
  for (const [i, es] of externalSecrets.entries()) {
    assert.equal(es.kind, "ExternalSecret");
    assert.deepEqual(await controllerBytes(es), secretBytes(secrets[i] as Obj), es.metadata.name);
  }
  // AVP's data rule in deferred mode: <key> reads as Base64, <key | base64encode> as it is.
  const extraEs = externalSecrets.at(-1) as ExternalSecret;
  assert.match(JSON.stringify(extraEs.spec.data), /"decodingStrategy":"Base64"/);
  assert.doesNotMatch(JSON.stringify(extraEs.spec.target?.template), /b64enc/);
});
