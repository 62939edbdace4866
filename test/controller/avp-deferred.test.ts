/**
 * argocd-vault-plugin placeholders in deferred mode, end to end (issue 15):
 * the Secrets of test/fixtures/avp/input are rendered as ExternalSecrets,
 * applied with SecretStores holding the fixture's fake data, and reconciled
 * by the controller on a real API server. Each Secret it writes must hold
 * the bytes inline mode gives (expected.yaml, AVP's output), key for key.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import type { ExternalSecret, SecretStoreSpec } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { applyObject, startTestController, waitForCondition, type TestController } from "./harness.ts";

const dir = join(import.meta.dirname, "..", "fixtures", "avp");
const configFile = join(dir, "refsync.yaml");
const config = parseConfig(readFileSync(configFile, "utf8"), configFile);
const requester = { project: "shop", namespace: "shop" };

type Obj = {
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
} & Record<string, unknown>;
const documents = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Obj);

/** A Secret's bytes per key (hex), as the API server holds them. */
function secretBytes(secret: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, "base64").toString("hex");
  for (const [k, v] of Object.entries(secret.stringData ?? {}))
    out[k] = Buffer.from(v, "utf8").toString("hex");
  return out;
}

async function renderDoc(mode: "inline" | "deferred", doc: Obj) {
  const text = JSON.stringify(doc);
  return render({ input: "-", mode, config, requester, stdin: () => Promise.resolve(text) });
}

/** A data/stringData key that deferred mode refuses because only inline mode can render it. */
const INLINE_ONLY_KEY = /: (?:data|stringData)\.([^:]+): .*needs inline mode/;

interface Case {
  name: string;
  externalSecret: ExternalSecret;
  /** Bytes per key the Secret must hold: inline mode's. */
  expected: Record<string, string>;
}

/**
 * The Secret cases of the fixture set for deferred mode. Input and expected
 * documents pair up in order (files sorted, as the inline test renders the
 * directory). A Secret whose name is a placeholder takes its rendered name;
 * keys only inline mode can render (embedded placeholders in data,
 * modifiers that need the value) are left out, as is a Secret left with none.
 */
async function fixtureCases(): Promise<Case[]> {
  const inputs = readdirSync(join(dir, "input"))
    .sort()
    .flatMap((f) => documents(readFileSync(join(dir, "input", f), "utf8")));
  const expected = documents(readFileSync(join(dir, "expected.yaml"), "utf8"));
  assert.equal(inputs.length, expected.length, "input and expected.yaml documents pair up");
  const cases: Case[] = [];
  for (const [i, input] of inputs.entries()) {
    const want = expected[i] as Obj;
    if (input.kind !== "Secret" || want.metadata?.annotations?.["avp.kubernetes.io/ignore"]) continue;
    const doc: Obj = structuredClone(input);
    doc.metadata = { ...doc.metadata, name: want.metadata?.name };
    delete doc.metadata.namespace;
    let result = await renderDoc("deferred", doc);
    if (!result.ok) {
      const keys = result.errors.map((e) => INLINE_ONLY_KEY.exec(e)?.[1]);
      if (keys.some((k) => k === undefined)) continue; // the whole Secret needs inline mode (remove-missing)
      for (const k of keys) {
        delete doc.data?.[k as string];
        delete doc.stringData?.[k as string];
      }
      if (!Object.keys({ ...doc.data, ...doc.stringData }).length) continue;
      result = await renderDoc("deferred", doc);
    }
    assert.ok(result.ok, result.ok ? "" : result.errors.join("\n"));
    const [es, ...rest] = documents(result.output) as unknown as ExternalSecret[];
    assert.equal(rest.length, 0);
    assert.equal(es?.kind, "ExternalSecret", doc.metadata.name);
    const bytes = secretBytes(want);
    const keys = new Set(Object.keys({ ...doc.data, ...doc.stringData }));
    cases.push({
      name: es.metadata.name,
      externalSecret: es,
      expected: Object.fromEntries(Object.entries(bytes).filter(([k]) => keys.has(k))),
    });
  }
  return cases;
}

/** Beyond the fixtures: AVP's data rule mixed with literals and stringData in one Secret (a template). */
const MIXED = `apiVersion: v1
kind: Secret
metadata:
  name: mixed
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

const BINARY = `apiVersion: v1
kind: Secret
metadata:
  name: binary
  annotations: {avp.kubernetes.io/path: secret/webshop, avp.kubernetes.io/kv-version: "1"}
data:
  RAW: <name>
  LITERAL: bGl0ZXJhbA==
`;

/** The ExternalSecret deferred mode renders for a Secret, and the bytes inline mode gives it. */
async function inlineAndDeferred(text: string): Promise<Case> {
  const doc = parseYaml(text) as Obj;
  const inline = await renderDoc("inline", doc);
  const deferred = await renderDoc("deferred", doc);
  assert.ok(inline.ok, inline.ok ? "" : inline.errors.join("\n"));
  assert.ok(deferred.ok, deferred.ok ? "" : deferred.errors.join("\n"));
  const es = documents(deferred.output)[0] as unknown as ExternalSecret;
  return {
    name: es.metadata.name,
    externalSecret: es,
    expected: secretBytes(documents(inline.output)[0] as Obj),
  };
}

/** The plugin configuration's stores, as SecretStores in the test namespace (same fake data). */
function secretStores(namespace: string) {
  const raw = parseYaml(readFileSync(configFile, "utf8")) as {
    stores: Record<string, { provider: SecretStoreSpec["provider"] }>;
  };
  return Object.entries(raw.stores).map(([name, store]) => ({
    apiVersion: "refsync.dev/v1alpha1",
    kind: "SecretStore",
    metadata: { name, namespace },
    spec: { provider: store.provider },
  }));
}

void describe("AVP placeholders in deferred mode, reconciled by the controller", () => {
  let cluster: Cluster;
  let ns: string;
  let ctl: TestController;

  before(async () => {
    cluster = await startCluster({ crds: true });
    ns = await cluster.createNamespace("avp-deferred");
    ctl = await startTestController(cluster, { namespace: ns });
    for (const store of secretStores(ns)) await applyObject(ctl.kube, store);
  });
  after(async () => {
    await ctl?.stop();
    await cluster?.stop();
  });

  void test("each Secret holds the bytes inline mode gives", async () => {
    const cases = [...(await fixtureCases()), await inlineAndDeferred(MIXED)];
    // What the fixtures cover in deferred mode; a change here is a change of coverage.
    assert.deepEqual(Object.fromEntries(cases.map((c) => [c.name, Object.keys(c.expected)])), {
      "cart-json": ["TOKEN", "COUNT"],
      cart: ["TOKEN", "COUNT", "CLEAR", "SPACED"],
      "kv1-versionless": ["BY_ANNOTATION", "INLINE", "SLASHED"],
      "inline-path": ["TOKEN", "NOTE"],
      "inline-path-base64": ["TOKEN", "config.yaml"],
      versioned: ["PINNED_BY_ANNOTATION", "LATEST", "PINNED"],
      "small-strings": ["COUNT", "LOGIN"],
      mixed: ["CLEAR", "AS_IS", "ROUND_TRIP", "LITERAL", "DECODED", "URL"],
    });
    await syncAndCompare(cases);
  });

  void test("a value that is not UTF-8 keeps its bytes in a templated Secret", async () => {
    // <name> is "cart", base64 of the bytes 71 aa ed; the literal makes the ExternalSecret a template.
    const binary = await inlineAndDeferred(BINARY);
    assert.equal(binary.expected.RAW, "71aaed");
    assert.ok(binary.externalSecret.spec.target?.template?.data, "a templated ExternalSecret");
    await syncAndCompare([binary]);
  });

  /** Applies each case's ExternalSecret; once Ready, its Secret must hold the expected bytes. */
  async function syncAndCompare(cases: Case[]): Promise<void> {
    for (const c of cases) {
      const metadata = { ...c.externalSecret.metadata, namespace: ns };
      await applyObject(ctl.kube, { ...c.externalSecret, metadata });
    }
    for (const c of cases) {
      const es = await waitForCondition(ctl.kube, ns, c.name, "Ready", "True", "SecretSynced", 60_000);
      const target = es.spec.target?.name ?? c.name;
      const secret = await ctl.kube.get<Obj>(resourceTypes.secret, ns, target);
      assert.ok(secret, `Secret ${target}`);
      assert.deepEqual(secretBytes({ data: secret.data }), c.expected, c.name);
    }
  }
});
