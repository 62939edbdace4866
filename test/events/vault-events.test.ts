// Event-driven refresh from Vault's event notifications, end to end on the real API server with
// the Vault test server's event websocket: a KV write reaches every ExternalSecret reading the key
// with one read and restarts the opted-in workload; a duplicated event makes one refresh; and when
// the subscription drops, a change made while it is down is caught by the resync after the
// reconnect (Vault keeps no backlog), while the store says EventsReady=False in between.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyObject, getSecret, type TestController } from "../controller/harness.ts";
import {
  createServiceAccount,
  kubernetesAuthSpec,
  kubernetesRole,
  startVaultSuite,
  useSuite,
  vaultStore,
  type VaultSuite,
} from "../vault/setup.ts";
import {
  eventsController,
  eventsReady,
  everyReaderHas,
  readersOf,
  restartOf,
  restartedSince,
} from "./harness.ts";

interface Suite extends VaultSuite {
  ns: string;
  ctl: TestController;
  readers: string[];
}

async function startSuite(): Promise<Suite> {
  const suite = await startVaultSuite();
  const ns = await suite.cluster.createNamespace("vault-events");
  const ctl = await eventsController(suite.cluster, ns);
  return {
    ...suite,
    ns,
    ctl,
    readers: [],
    async stop() {
      await ctl.stop();
      await suite.stop();
    },
  };
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
    s.readers = await readersOf(ctl.kube, ns, "vault", `${ns}/db`);
    await eventsReady(ctl.kube, ns, "vault", "True");
  });
  const everyReaderHasPassword = (want: string) =>
    everyReaderHas(suite.ctl.kube, suite.ns, suite.readers, want);

  void it("a KV write reaches every reader with one read and restarts the opted-in workload", async () => {
    const before = dbReads(suite);
    const restartBefore = await restartOf(suite.ctl.kube, suite.ns);
    const changed = performance.now();
    suite.vault.root.putSecret("secret", `${suite.ns}/db`, { password: "second" });
    await everyReaderHasPassword("second");
    const secretMs = performance.now() - changed;
    await restartedSince(suite.ctl.kube, suite.ns, restartBefore);
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
    await everyReaderHasPassword("third");
    await new Promise((r) => setTimeout(r, 1_000)); // a second refresh, if any, would have run by now
    assert.equal(dbReads(suite) - before, 1, "one read");
  });

  void it("a dropped subscription: EventsReady=False, then the resync after the reconnect catches the change made meanwhile", async () => {
    const { vault, ns, ctl } = suite;
    vault.events.faults.refuse = true;
    vault.events.dropConnections();
    const down = await eventsReady(ctl.kube, ns, "vault", "False");
    assert.equal(down.reason, "SourceDown");
    const published = vault.events.published.length;
    vault.root.putSecret("secret", `${ns}/db`, { password: "while-down" });
    assert.equal(vault.events.published.length, published + 1);
    assert.equal(vault.events.subscribers, 0, "the event went to nobody");
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await getSecret(ctl.kube, ns, "by-data"))?.data["password"], "third", "not yet");
    vault.events.faults.refuse = false;
    const restored = performance.now();
    await everyReaderHasPassword("while-down");
    console.log(`vault events: reconnect→Secret after a gap ${(performance.now() - restored).toFixed(0)} ms`);
    await eventsReady(ctl.kube, ns, "vault", "True");
  });
});
