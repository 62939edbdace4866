// The figure: 100 ExternalSecrets reading 10 Vault paths through one SecretStore cost at most 10 reads
// and one login per refresh cycle (shared read cache with single flight, one cached token per identity).
// ExternalSecrets sharing a path refresh in the same slots; a slot of a path that passes while the
// ExternalSecrets are still being created is one more (periodic) read of that path.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExternalSecret } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { applyObject, refreshSlotAt, refreshSlotsBetween, waitFor } from "../controller/harness.ts";
import {
  grantNamespace,
  applyKubernetesAuthStore,
  startNamespaceSuite,
  useSuite,
  propertyExternalSecret,
} from "./setup.ts";

const EXTERNAL_SECRETS = 100;
const PATHS = 10;
const REFRESH_SECONDS = 20;
/** Shorter than the refresh interval: the second cycle needs a new login, and gets exactly one. */
const TOKEN_TTL_SECONDS = 12;

void describe("100 ExternalSecrets on 10 Vault paths", () => {
  const suite = useSuite(
    () => startNamespaceSuite("vault-scale"),
    async ({ vault, ns, ctl }) => {
      grantNamespace(vault, ns, TOKEN_TTL_SECONDS);
      for (let p = 0; p < PATHS; p++)
        vault.root.putSecret("secret", `${ns}/path-${p}`, { value: `value-${p}` });
      await applyKubernetesAuthStore(ctl.kube, vault, ns);
    },
  );

  async function refreshTimes(): Promise<Map<string, string | undefined>> {
    const { items } = await suite.ctl.kube.list<ExternalSecret>(resourceTypes.externalSecret, {
      namespace: suite.ns,
    });
    return new Map(
      items
        .filter((es) => es.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
        .map((es) => [es.metadata.name, es.status?.refreshTime]),
    );
  }

  /** refsync_provider_api_calls_total for this store's Vault calls named `call`. */
  async function countedCalls(call: string): Promise<number> {
    const { values } = await suite.ctl.controller.metrics.providerCalls.get();
    return values
      .filter(
        (v) =>
          v.labels.provider === "vault" &&
          v.labels.store === `SecretStore/${suite.ns}/vault` &&
          v.labels.call === call,
      )
      .reduce((sum, v) => sum + v.value, 0);
  }

  const externalSecret = (i: number) =>
    propertyExternalSecret(suite.ns, `es-${i}`, { name: "vault" }, `${suite.ns}/path-${i % PATHS}`, "value", {
      refreshInterval: `${REFRESH_SECONDS}s`,
    });

  /** One ExternalSecret per path: their slots are the slots of all 100. */
  const perPath = () => Array.from({ length: PATHS }, (_, p) => externalSecret(p));

  /** Refresh slots of the paths' ExternalSecrets in (from, to]. */
  const slotsBetween = (from: number, to: number) => refreshSlotsBetween(perPath(), from, to);

  /**
   * The reads of the paths after `from`, each with the slot whose refreshes it serves: the latest
   * slot of its path at or before it (a periodic refresh takes a value read since its latest slot).
   */
  function readsAfter(from: number): { path: number; at: number; slot: number }[] {
    const prefix = `secret/data/${suite.ns}/path-`;
    return suite.vault.requests
      .filter((r) => r.method === "GET" && r.path.startsWith(prefix) && r.time > from)
      .map((r) => {
        const path = Number(r.path.slice(prefix.length));
        return { path, at: r.time, slot: refreshSlotAt(perPath(), externalSecret(path), r.time) };
      });
  }

  void it("reads each path at most once and logs in once per identity per refresh cycle", async () => {
    const reads = () => suite.vault.count({ method: "GET", path: new RegExp(`^secret/data/${suite.ns}/`) });
    const logins = () => suite.vault.count({ path: "auth/kubernetes/login", status: 200 });
    suite.vault.clearLog();
    const started = Date.now();
    for (let i = 0; i < EXTERNAL_SECRETS; i++) await applyObject(suite.ctl.kube, externalSecret(i));
    const firstCycle = await waitFor(
      async () => {
        const times = await refreshTimes();
        return times.size === EXTERNAL_SECRETS ? times : undefined;
      },
      "all ExternalSecrets Ready",
      60_000,
    );
    const cycle1End = Date.now();
    const cycle1 = {
      reads: reads(),
      logins: logins(),
      seconds: (cycle1End - started) / 1000,
      slots: slotsBetween(started, cycle1End),
    };
    assert.equal(cycle1.logins, 1);
    assert.equal(await countedCalls("login"), 1, "the login is in refsync_provider_api_calls_total");
    // Vault logs a read when it arrives, the metric once its answer is back: wait out reads in flight.
    let counted = { metric: -1, logged: 0 };
    await waitFor(async () => {
      counted = { metric: await countedCalls("read"), logged: reads() };
      return counted.metric === counted.logged ? true : undefined;
    }, "every read counted").catch(() => undefined);
    assert.equal(counted.metric, counted.logged, "so is every read");

    await waitFor(
      async () => {
        const times = await refreshTimes();
        return [...firstCycle].every(
          ([name, time]) => times.get(name) !== undefined && times.get(name) !== time,
        )
          ? true
          : undefined;
      },
      "every ExternalSecret refreshed again",
      REFRESH_SECONDS * 3 * 1000,
    );
    const cycle2End = Date.now();
    // A read is counted with the slot it serves, not with the window it arrives in: a refresh for a
    // slot of cycle 1 may read after cycle 1 ended (its reconcile was queued behind the first syncs,
    // or the pacer held it: late refreshes wait up to 1/8 interval, pacer.ts). That read is cycle 1's.
    const after = readsAfter(cycle1End).filter((r) => r.at <= cycle2End);
    const late = after.filter((r) => r.slot <= cycle1End);
    const cycle2 = {
      reads: after.length - late.length,
      logins: logins() - cycle1.logins,
      slots: slotsBetween(cycle1End, cycle2End),
    };
    const shown = after
      .map(
        (r) => `path-${r.path} at slot+${r.at - r.slot} ms${r.slot <= cycle1End ? " (cycle 1's slot)" : ""}`,
      )
      .join(", ");
    console.log(
      `[figure] cycle 1: ${EXTERNAL_SECRETS} ExternalSecrets, ${PATHS} paths → ${cycle1.reads} reads + ${late.length} after it for its slots (${cycle1.slots} refresh slot(s) passed meanwhile), ${cycle1.logins} login(s), all Ready in ${cycle1.seconds.toFixed(1)} s`,
    );
    console.log(
      `[figure] cycle 2: ${cycle2.reads} reads in ${cycle2.slots} refresh slots of the ${PATHS} paths, ${cycle2.logins} login(s) (token TTL ${TOKEN_TTL_SECONDS} s < refresh ${REFRESH_SECONDS} s)`,
    );
    assert.ok(
      cycle1.reads + late.length <= PATHS + cycle1.slots,
      `cycle 1: ${cycle1.reads} + ${late.length} reads, ${cycle1.slots} slot(s): ${shown}`,
    );
    // A shared key is read once per slot: never twice for one path between two of its slots.
    const perSlot = new Map<string, number>();
    for (const r of after) perSlot.set(`${r.path}@${r.slot}`, (perSlot.get(`${r.path}@${r.slot}`) ?? 0) + 1);
    assert.ok(
      [...perSlot.values()].every((n) => n === 1),
      `a path read twice for one slot: ${shown}`,
    );
    // One read per path per slot, and each path refreshed once (twice when the window spans two slots).
    assert.ok(
      cycle2.reads <= cycle2.slots && cycle2.slots < 2 * PATHS,
      `cycle 2: ${cycle2.reads} reads, ${cycle2.slots} slots: ${shown}`,
    );
    assert.ok(cycle2.logins <= 1, `cycle 2: ${cycle2.logins} logins`);
    assert.equal(suite.vault.count({ status: 403 }), 0, "never used an expired token");
  });
});
