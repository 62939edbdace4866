/**
 * DueReadPrefetcher: which ExternalSecrets' reads go into the store's batch,
 * with a recording ProviderClient behind a real StoreSession and read cache.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate } from "node:timers/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import type { ExternalSecret, ExternalSecretSpec, SecretStore } from "../../api/v1alpha1.ts";
import type { ProviderClient } from "../../providers/types.ts";
import { ReadCache } from "../../store/read-cache.ts";
import { StoreSessions } from "../secretstore/sessions.ts";
import type { KubeClient } from "../../kube/client.ts";
import { DueReadPrefetcher } from "./prefetch.ts";
import { Sources } from "./sources.ts";
import { hashedPhaseMs } from "./schedule.ts";

const store: SecretStore = {
  apiVersion: "refsync.dev/v1alpha1",
  kind: "SecretStore",
  metadata: { name: "s", namespace: "ns", uid: "u", generation: 1 },
  spec: { provider: { fake: {} } },
};

function externalSecret(
  name: string,
  key: string,
  options: { namespace?: string; store?: string; specChanged?: boolean; version?: string } = {},
): ExternalSecret {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "ExternalSecret",
    metadata: { name, namespace: options.namespace ?? "ns", uid: name, generation: 2 },
    spec: {
      secretStoreRef: { name: options.store ?? "s" },
      data: [
        { secretKey: "v", remoteRef: { key, ...(options.version ? { version: options.version } : {}) } },
      ],
    },
    // A spec change since the last sync: that sync reads past the cache.
    ...(options.specChanged
      ? { status: { refreshTime: "2026-01-01T00:00:00Z", syncedResourceVersion: "1/" } }
      : {}),
  };
}

function setup(withReadMany: boolean, list: ExternalSecret[], fresh: string[] = [], now = Date.now) {
  const calls: string[] = [];
  const client: ProviderClient = {
    provider: "fake",
    read: (r) => (calls.push(`read:${r.key}`), Promise.resolve({ data: r.key })),
    list: () => Promise.resolve([]),
    validate: () => Promise.resolve({ status: "Ready" }),
    close: () => Promise.resolve(),
  };
  if (withReadMany)
    client.readMany = (rs) => (
      calls.push(`readMany:${rs.map((r) => r.key + (r.version ? `@${r.version}` : "")).join(",")}`),
      Promise.resolve(rs.map((r) => ({ data: r.key })))
    );
  const session = new StoreSessions({
    kube: {} as KubeClient,
    kc: {} as KubeConfig,
    cache: new ReadCache({ now }),
    onCall: () => {},
    createClient: () => client,
  }).session(store);
  const prefetcher = new DueReadPrefetcher({
    externalSecrets: { list: () => list },
    secrets: { get: () => undefined },
    phaseOf: hashedPhaseMs,
    readsCached: (key) => !fresh.includes(key),
    paceWaitMs: () => 0,
  });
  // What the reconciler resolves for an ExternalSecret of store s (reads through other stores aside).
  const sources = new Sources(round[0]?.spec as ExternalSecretSpec, new Map([["SecretStore/s", session]]));
  return { calls, session, sources, prefetcher };
}

const round = [
  externalSecret("a", "k1"),
  externalSecret("b", "k2"),
  externalSecret("c", "k1"),
  externalSecret("pinned", "k1", { version: "2" }),
  externalSecret("changed", "k3", { specChanged: true }),
  externalSecret("lease", "k4"),
  externalSecret("other-store", "k5", { store: "t" }),
  externalSecret("other-namespace", "k6", { namespace: "ns2" }),
  // Store t by default, one entry from s (sourceRef.storeRef): only that entry is in s's batch.
  {
    ...externalSecret("two-stores", "k8", { store: "t" }),
    spec: {
      secretStoreRef: { name: "t" },
      data: [
        { secretKey: "a", remoteRef: { key: "k8" } },
        { secretKey: "b", remoteRef: { key: "k9" }, sourceRef: { storeRef: { name: "s" } } },
      ],
    },
  },
  {
    ...externalSecret("invalid", "k7"),
    spec: { ...externalSecret("invalid", "k7").spec, refreshInterval: "soon" },
  },
];

void test("one readMany for the distinct reads of the store's due ExternalSecrets in the namespace", async () => {
  const { calls, session, sources, prefetcher } = setup(true, round, ["ns/lease"]);
  prefetcher.prefetch(round[0] as ExternalSecret, sources);
  await setImmediate();
  // Not: the spec-changed one (reads past the cache), the one asked to read fresh, other stores and
  // namespaces (k8: two-stores reads it from t), an invalid spec (its reconcile fails before reading).
  assert.deepEqual(calls, ["readMany:k1,k2,k1@2,k9"]);
  assert.ok(session.isCached({ key: "k2" }, 0));
});

void test("a second reconcile of the round does not scan again; cached reads are not asked for", async () => {
  const { calls, sources, prefetcher } = setup(true, round);
  prefetcher.prefetch(round[0] as ExternalSecret, sources);
  prefetcher.prefetch(round[1] as ExternalSecret, sources);
  await setImmediate();
  assert.equal(calls.length, 1);
  const again = setup(true, round);
  await again.session.readAll([{ key: "k1" }, { key: "k2" }, { key: "k4" }, { key: "k9" }], 0);
  again.calls.length = 0;
  again.prefetcher.prefetch(round[0] as ExternalSecret, again.sources);
  await setImmediate();
  assert.deepEqual(again.calls, [], "only k1@2 is missing: a single read is left to its reconcile");
});

void test("values read before the due ExternalSecrets' latest slot are read again", async () => {
  let clock = 0; // the first reads happen long ago
  const { calls, session, sources, prefetcher } = setup(true, round, [], () => clock);
  await session.readAll([{ key: "k1" }, { key: "k2" }, { key: "k4" }], 0);
  calls.length = 0;
  clock = Date.now();
  prefetcher.prefetch(round[0] as ExternalSecret, sources);
  await setImmediate();
  assert.deepEqual(calls, ["readMany:k1,k2,k1@2,k4,k9"]);
});

void test("no prefetch for a provider without readMany", async () => {
  const { calls, sources, prefetcher } = setup(false, round);
  prefetcher.prefetch(round[0] as ExternalSecret, sources);
  await setImmediate();
  assert.deepEqual(calls, []);
});
