/**
 * StoreSession: batched reads through the shared cache, single flight, and
 * back-off after a throttled call, with a recording ProviderClient.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeConfig } from "@kubernetes/client-node";
import type { SecretStore } from "../../api/v1alpha1.ts";
import type { KubeClient } from "../../kube/client.ts";
import { BackendUnavailableError, SecretNotFoundError, ThrottledError } from "../../errors.ts";
import type { ProviderClient, ProviderContext, ReadRequest, SecretValue } from "../../providers/types.ts";
import { ReadCache } from "../../store/read-cache.ts";
import { Auditor, type AuditRecord } from "../../store/audit.ts";
import { StoreSessions } from "./sessions.ts";

const store: SecretStore = {
  apiVersion: "refsync.dev/v1alpha1",
  kind: "SecretStore",
  metadata: { name: "s", namespace: "ns", uid: "u", generation: 1 },
  spec: { provider: { fake: {} }, rateLimit: { qps: 1000, burst: 1000 } },
};

function recordingClient(withReadMany: boolean, fail?: (key: string) => Error | undefined) {
  const calls: string[] = [];
  const value = (r: ReadRequest): SecretValue | Error => fail?.(r.key) ?? { data: { v: r.key } };
  const client: ProviderClient = {
    provider: "fake",
    read: (r) => {
      calls.push(`read:${r.key}`);
      const v = value(r);
      return v instanceof Error ? Promise.reject(v) : Promise.resolve(v);
    },
    list: () => Promise.resolve([]),
    validate: () => Promise.resolve({ status: "Ready" }),
    close: () => Promise.resolve(),
  };
  if (withReadMany) {
    client.readMany = (rs) => {
      calls.push(`readMany:${rs.map((r) => r.key).join(",")}`);
      return Promise.resolve(rs.map(value));
    };
  }
  return { calls, client };
}

function sessions(client: ProviderClient, calls: { provider: string; call: string; result: string }[] = []) {
  return new StoreSessions({
    kube: {} as KubeClient,
    kc: {} as KubeConfig,
    cache: new ReadCache(),
    onCall: (provider, _store, call, result) => calls.push({ provider, call, result }),
    createClient: () => client,
  });
}

void describe("StoreSession", () => {
  void test("several distinct misses go out as one readMany; hits and duplicates cost nothing", async () => {
    const { calls, client } = recordingClient(true);
    const session = sessions(client).session(store);
    await session.readAll([{ key: "a" }], 0);
    const values = await session.readAll([{ key: "a" }, { key: "b" }, { key: "c" }, { key: "b" }], 0);
    assert.deepEqual(calls, ["read:a", "readMany:b,c"]);
    assert.deepEqual(
      values.map((v) => (v as SecretValue).data),
      [{ v: "a" }, { v: "b" }, { v: "c" }, { v: "b" }],
    );
  });

  void test("without readMany, misses are read one by one; a failed entry is an Error in its place", async () => {
    const { calls, client } = recordingClient(false, (k) =>
      k === "x" ? new SecretNotFoundError("x not found") : undefined,
    );
    const metrics: { provider: string; call: string; result: string }[] = [];
    const session = sessions(client, metrics).session(store);
    const values = await session.readAll([{ key: "a" }, { key: "x" }], 0);
    assert.deepEqual(calls.sort(), ["read:a", "read:x"]);
    assert.ok(values[1] instanceof SecretNotFoundError);
    assert.deepEqual(metrics.map((m) => m.result).sort(), ["not_found", "success"]);
  });

  void test("per-request readsSince: each entry is taken from the cache only when read since then", async () => {
    const { calls, client } = recordingClient(true);
    const session = sessions(client).session(store);
    await session.readAll([{ key: "a" }, { key: "b" }], 0);
    const later = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5)); // so the next read starts after `later`
    await session.readAll([{ key: "a" }, { key: "b" }], [0, later]);
    assert.deepEqual(calls, ["readMany:a,b", "read:b"]);
    assert.ok(session.isCached({ key: "b" }, later));
    assert.ok(!session.isCached({ key: "a" }, later));
  });

  void test("a client that limits its own calls is charged nothing by the session and gets the store's bucket", async () => {
    const { calls, client } = recordingClient(true);
    let context: ProviderContext | undefined;
    const limited: ProviderClient = { ...client, metersOwnRequests: true };
    const oneToken: SecretStore = { ...store, spec: { ...store.spec, rateLimit: { qps: 0, burst: 1 } } };
    const session = new StoreSessions({
      kube: {} as KubeClient,
      kc: {} as KubeConfig,
      cache: new ReadCache(),
      onCall: () => {},
      createClient: (_spec, ctx) => ((context = ctx), limited),
    }).session(oneToken);
    await session.readAll([{ key: "a" }, { key: "b" }], 0);
    await session.readAll([{ key: "c" }], 0);
    await session.readAll([{ key: "d" }], 0);
    assert.equal(calls.length, 3, "no token was taken for the session's calls");
    await context?.takeToken?.();
    await assert.rejects(
      async () => context?.takeToken?.(),
      /qps is 0/,
      "the client's tokens come from the store's bucket",
    );
  });

  void test("concurrent reads of one key share one backend call", async () => {
    const { calls, client } = recordingClient(false);
    const session = sessions(client).session(store);
    await Promise.all(Array.from({ length: 50 }, () => session.readAll([{ key: "k", version: "1" }], 0)));
    assert.deepEqual(calls, ["read:k"]);
  });

  void test("a throttled call pauses the store for the time the backend asked", async () => {
    let throttle = true;
    const { client } = recordingClient(false, () => {
      if (!throttle) return undefined;
      throttle = false;
      return new ThrottledError("slow down", 0.5);
    });
    const metrics: { provider: string; call: string; result: string }[] = [];
    const session = sessions(client, metrics).session(store);
    const [throttled] = await session.readAll([{ key: "a" }], 0);
    assert.ok(throttled instanceof ThrottledError);
    const t0 = Date.now();
    await session.readAll([{ key: "b" }], 0);
    assert.ok(Date.now() - t0 >= 450, `waited ${Date.now() - t0} ms`);
    assert.equal(metrics[0]?.result, "throttled");
  });
});

void test("a request a client batches by itself lists every ExternalSecret waiting on its keys", async () => {
  const records: AuditRecord[] = [];
  let context: ProviderContext | undefined;
  const pending: (() => void)[] = [];
  const client: ProviderClient = {
    provider: "awssecrets",
    metersOwnRequests: true,
    // Like the AWS coalescer: reads wait, then one request for all of them is reported.
    read: (r) =>
      new Promise((resolve) => {
        pending.push(() => resolve({ data: { v: "x" } }));
        if (pending.length === 2) {
          context?.onCall?.("BatchGetSecretValue", "success", 0.01, {
            requestId: "req-9",
            keys: [{ key: "a" }, { key: "b" }],
          });
          for (const done of pending) done();
        }
        void r;
      }),
    list: () => Promise.resolve([]),
    validate: () => Promise.resolve({ status: "Ready" }),
    close: () => Promise.resolve(),
  };
  const all = new StoreSessions({
    kube: {} as KubeClient,
    kc: {} as KubeConfig,
    cache: new ReadCache(),
    onCall: () => {},
    audit: new Auditor({ write: (r) => records.push(r) }, { component: "controller", version: "t" }),
    createClient: (_spec, ctx) => {
      context = ctx;
      return client;
    },
  });
  const session = all.session(store);
  const subject = (name: string) => ({ kind: "ExternalSecret" as const, namespace: "ns", name });
  await Promise.all([
    session.readAll([{ key: "a" }], 0, undefined, subject("one")),
    session.readAll([{ key: "b" }], 0, undefined, subject("two")),
  ]);
  assert.equal(records.length, 1);
  assert.deepEqual(records[0]?.subjects.map((s) => s.name).sort(), ["one", "two"]);
  assert.equal(records[0]?.requestId, "req-9");
  assert.equal(records[0]?.operation, "BatchGetSecretValue");
});

void test("spec.retrySettings: a read that may pass is made again, each attempt counted; not found is not", async () => {
  let failures = 2;
  const { calls, client } = recordingClient(false, (k) => {
    if (k === "gone") return new SecretNotFoundError("gone");
    return failures-- > 0 ? new BackendUnavailableError("connection reset") : undefined;
  });
  const metrics: { provider: string; call: string; result: string }[] = [];
  const retrying: SecretStore = {
    ...store,
    spec: { ...store.spec, retrySettings: { maxRetries: 2, retryInterval: "1ms" } },
  };
  const session = sessions(client, metrics).session(retrying);
  const [value] = await session.readAll([{ key: "a" }], 0);
  assert.deepEqual((value as SecretValue).data, { v: "a" });
  assert.deepEqual(calls, ["read:a", "read:a", "read:a"]);
  assert.deepEqual(
    metrics.map((m) => m.result),
    ["error", "error", "success"],
  );
  const [missing] = await session.readAll([{ key: "gone" }], 0);
  assert.ok(missing instanceof SecretNotFoundError);
  assert.deepEqual(calls.slice(3), ["read:gone"]);
  // Without retrySettings, one attempt: the controller's back-off retries the ExternalSecret.
  failures = 1;
  const plain = recordingClient(false, () =>
    failures-- > 0 ? new BackendUnavailableError("down") : undefined,
  );
  const [failed] = await sessions(plain.client)
    .session(store)
    .readAll([{ key: "b" }], 0);
  assert.ok(failed instanceof BackendUnavailableError);
  assert.deepEqual(plain.calls, ["read:b"]);
});
