// Event-driven refresh from Vault's event notifications, end to end on the real API server with
// the Vault test server's event websocket: a KV write reaches every ExternalSecret reading the key
// with one read and restarts the opted-in workload; a duplicated event makes one refresh; and when
// the subscription drops, a change made while it is down is caught by the resync after the
// reconnect (Vault keeps no backlog), while the store says EventsReady=False in between.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rollouts } from "../../src/controller/rollout/rollouts.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import {
  applyObject,
  externalSecret,
  getSecret,
  startTestController,
  waitFor,
  waitForCondition,
  type TestController,
} from "../controller/harness.ts";
import { create, getWorkload, restartedFor, workload } from "../rollout/harness.ts";
import {
  createServiceAccount,
  kubernetesAuthSpec,
  kubernetesRole,
  startVaultSuite,
  useSuite,
  vaultStore,
  type VaultSuite,
} from "../vault/setup.ts";

interface Suite extends VaultSuite {
  ns: string;
  ctl: TestController;
}

async function startSuite(): Promise<Suite> {
  const suite = await startVaultSuite();
  const ns = await suite.cluster.createNamespace("vault-events");
  const rollouts = new Rollouts({ tickMs: 100, reportIntervalMs: 500, namespace: ns });
  const ctl = await startTestController(suite.cluster, {
    namespace: ns,
    hooks: [rollouts.hook],
    leaderLoops: [rollouts.loop],
    consumers: rollouts,
  });
  return {
    ...suite,
    ns,
    ctl,
    async stop() {
      await ctl.stop();
      await suite.stop();
    },
  };
}

/** The store's EventsReady condition once it has `status`. */
function eventsReady(suite: Suite, status: "True" | "False") {
  return waitFor(async () => {
    const store = await suite.ctl.kube.get<{
      status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
    }>(resourceTypes.secretStore, suite.ns, "vault");
    const condition = store?.status?.conditions?.find((c) => c.type === "EventsReady");
    return condition?.status === status ? condition : undefined;
  }, `EventsReady=${status} on store vault`);
}

async function hasValue(suite: Suite, name: string, key: string, want: string): Promise<void> {
  await waitFor(
    async () => ((await getSecret(suite.ctl.kube, suite.ns, name))?.data[key] === want ? true : undefined),
    `Secret ${name} with ${key} = ${want}`,
  );
}

const dbReads = (suite: Suite) =>
  suite.vault.count({ method: "GET", path: `secret/data/${suite.ns}/db`, status: 200 });

void describe("event-driven refresh from Vault event notifications", () => {
  const suite = useSuite(startSuite, async (s) => {
    const { ns, vault, ctl } = s;
    await createServiceAccount(ctl.kube, ns, "app");
    // The documented policy of a subscriber: read on the events path, subscribe on the secrets.
    kubernetesRole(vault, ns, ns, [
      { path: `secret/data/${ns}/*`, capabilities: ["read", "subscribe"] },
      { path: `secret/metadata/${ns}/*`, capabilities: ["read", "list"] },
      { path: "sys/events/subscribe/kv*", capabilities: ["read"] },
    ]);
    vault.root.putSecret("secret", `${ns}/db`, { password: "first" });
    await applyObject(
      ctl.kube,
      vaultStore(ns, "vault", kubernetesAuthSpec(vault.url, ns, "app"), { events: { vault: {} } }),
    );
    const every = { secretStoreRef: { name: "vault" }, refreshInterval: "1h" };
    await applyObject(
      ctl.kube,
      externalSecret(ns, "by-data", {
        ...every,
        data: [{ secretKey: "password", remoteRef: { key: `${ns}/db`, property: "password" } }],
      }),
    );
    await applyObject(
      ctl.kube,
      externalSecret(ns, "by-extract", { ...every, dataFrom: [{ extract: { key: `${ns}/db` } }] }),
    );
    await create(
      ctl.kube,
      workload("Deployment", ns, "app", {
        containers: [
          { env: [{ name: "P", valueFrom: { secretKeyRef: { name: "by-data", key: "password" } } }] },
        ],
      }),
    );
    for (const name of ["by-data", "by-extract"]) await waitForCondition(ctl.kube, ns, name, "Ready", "True");
    await eventsReady(s, "True");
  });

  void it("a KV write reaches every reader with one read and restarts the opted-in workload", async () => {
    const before = dbReads(suite);
    const restartedBefore = restartedFor(await getWorkload(suite.ctl.kube, "Deployment", suite.ns, "app"));
    const changed = performance.now();
    suite.vault.root.putSecret("secret", `${suite.ns}/db`, { password: "second" });
    await Promise.all([
      hasValue(suite, "by-data", "password", "second"),
      hasValue(suite, "by-extract", "password", "second"),
    ]);
    const secretMs = performance.now() - changed;
    await waitFor(async () => {
      const now = restartedFor(await getWorkload(suite.ctl.kube, "Deployment", suite.ns, "app"));
      return now !== undefined && now !== restartedBefore ? now : undefined;
    }, "restart annotation on Deployment app");
    const restartMs = performance.now() - changed;
    console.log(
      `vault events: change→Secret ${secretMs.toFixed(0)} ms, change→restart annotation ${restartMs.toFixed(0)} ms`,
    );
    // The periodic refresh is an hour away: anything within seconds was the event.
    assert.ok(secretMs < 20_000, `took ${secretMs} ms`);
    assert.equal(dbReads(suite) - before, 1, "one backend read for both readers");
  });

  void it("a duplicated event makes one refresh", async () => {
    const before = dbReads(suite);
    suite.vault.events.faults.duplicate = 1;
    suite.vault.root.putSecret("secret", `${suite.ns}/db`, { password: "third" });
    await hasValue(suite, "by-data", "password", "third");
    await hasValue(suite, "by-extract", "password", "third");
    await new Promise((r) => setTimeout(r, 1_000)); // a second refresh, if any, would have run by now
    assert.equal(dbReads(suite) - before, 1, "one read");
  });

  void it("a dropped subscription: EventsReady=False, then the resync after the reconnect catches the change made meanwhile", async () => {
    const { vault, ns } = suite;
    vault.events.faults.refuse = true;
    vault.events.dropConnections();
    const down = await eventsReady(suite, "False");
    assert.equal(down.reason, "SourceDown");
    const published = vault.events.published.length;
    vault.root.putSecret("secret", `${ns}/db`, { password: "while-down" });
    assert.equal(vault.events.published.length, published + 1);
    assert.equal(vault.events.subscribers, 0, "the event went to nobody");
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await getSecret(suite.ctl.kube, ns, "by-data"))?.data["password"], "third", "not yet");
    vault.events.faults.refuse = false;
    const restored = performance.now();
    await hasValue(suite, "by-data", "password", "while-down");
    await hasValue(suite, "by-extract", "password", "while-down");
    console.log(`vault events: reconnect→Secret after a gap ${(performance.now() - restored).toFixed(0)} ms`);
    await eventsReady(suite, "True");
  });
});
