// The figure: 100 ExternalSecrets reading 10 Vault paths through one SecretStore cost at most 10 reads
// and one login per refresh cycle (shared read cache with single flight, one cached token per identity).
// ExternalSecrets sharing a path refresh in the same slots; a slot of a path that passes while the
// ExternalSecrets are still being created is one more (periodic) read of that path.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExternalSecret } from "../../src/api/v1alpha1.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { applyObject, refreshSlotsBetween, waitFor } from "../controller/harness.ts";
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

  /** Refresh slots of the paths' ExternalSecrets in (from, to]. */
  const slotsBetween = (from: number, to: number) =>
    refreshSlotsBetween(
      Array.from({ length: PATHS }, (_, p) => externalSecret(p)),
      from,
      to,
    );

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
    console.log(
      `[figure] cycle 1: ${EXTERNAL_SECRETS} ExternalSecrets, ${PATHS} paths → ${cycle1.reads} reads (${cycle1.slots} refresh slot(s) passed meanwhile), ${cycle1.logins} login(s), all Ready in ${cycle1.seconds.toFixed(1)} s`,
    );
    assert.ok(
      cycle1.reads <= PATHS + cycle1.slots,
      `cycle 1: ${cycle1.reads} reads, ${cycle1.slots} slot(s)`,
    );
    assert.equal(cycle1.logins, 1);
    assert.equal(await countedCalls("login"), 1, "the login is in refsync_provider_api_calls_total");
    assert.equal(await countedCalls("read"), cycle1.reads, "so is every read");

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
    const cycle2 = {
      reads: reads() - cycle1.reads,
      logins: logins() - cycle1.logins,
      slots: slotsBetween(cycle1End, Date.now()),
    };
    console.log(
      `[figure] cycle 2: ${cycle2.reads} reads in ${cycle2.slots} refresh slots of the ${PATHS} paths, ${cycle2.logins} login(s) (token TTL ${TOKEN_TTL_SECONDS} s < refresh ${REFRESH_SECONDS} s)`,
    );
    // One read per path per slot, and each path refreshed once (twice when the window spans two slots).
    assert.ok(
      cycle2.reads <= cycle2.slots && cycle2.slots < 2 * PATHS,
      `cycle 2: ${cycle2.reads} reads, ${cycle2.slots} slots`,
    );
    assert.ok(cycle2.logins <= 1, `cycle 2: ${cycle2.logins} logins`);
    assert.equal(suite.vault.count({ status: 403 }), 0, "never used an expired token");
  });
});
