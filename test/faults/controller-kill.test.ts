/**
 * Controller processes killed with SIGKILL (no chance to release the Lease
 * or finish a write):
 * - two replicas: the standby takes over within lease duration + renew
 *   deadline (measured), and no Secret is written by both — every write of
 *   the killed leader precedes the standby's first;
 * - one replica killed in the middle of a batch of updates: every Secret is
 *   at all times wholly old or wholly new (never half-written), and after a
 *   restart every ExternalSecret converges.
 * (test/controller/leader.test.ts covers a graceful hand-over.)
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { resourceTypes } from "../../src/kube/resources.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import {
  applyObject,
  ensureCrds,
  externalSecret,
  fakeStore,
  getSecret,
  waitFor,
  waitForCondition,
} from "../controller/harness.ts";
import { startControllerProcess, writes, type ControllerProcess } from "./controller-process.ts";

const LEASE_S = 4;
const RENEW_MS = 3_000;
const RETRY_MS = 500;
const KEYS = 4;

const electionArgs = (ns: string) => (id: string) => [
  "--leader-elect",
  "--lease-namespace",
  ns,
  "--leader-id",
  id,
  "--lease-duration",
  `${LEASE_S}s`,
  "--renew-deadline",
  `${RENEW_MS}ms`,
  "--retry-period",
  "500ms",
];

void describe("controller killed", () => {
  let cluster: Cluster;
  let kube: KubeClient;
  const procs: ControllerProcess[] = [];

  before(async () => {
    cluster = await startCluster({ crds: true });
    kube = await KubeClient.fromKubeConfig(cluster.kc);
    await ensureCrds(kube);
  });
  after(async () => {
    for (const p of procs) await p.kill("SIGKILL");
    kube?.close();
    await cluster?.stop();
  });

  /** A store where key `g<gen>-<j>` holds `g<gen>-<j>`, and ExternalSecrets reading generation `gen`. */
  const store = (ns: string) =>
    fakeStore(
      ns,
      "store",
      [1, 2, 3].flatMap((g) =>
        Array.from({ length: KEYS }, (_, j) => ({ key: `g${g}-${j}`, value: `g${g}-${j}` })),
      ),
    );
  const es = (ns: string, i: number, gen: number) =>
    externalSecret(ns, `es-${i}`, {
      secretStoreRef: { name: "store" },
      refreshInterval: "1h",
      data: Array.from({ length: KEYS }, (_, j) => ({
        secretKey: `k${j}`,
        remoteRef: { key: `g${gen}-${j}` },
      })),
    });
  const apply = async (ns: string, count: number, gen: number) => {
    for (let i = 0; i < count; i += 10)
      await Promise.all(
        Array.from({ length: Math.min(10, count - i) }, (_, k) => applyObject(kube, es(ns, i + k, gen))),
      );
  };
  /** The generation every Secret holds (0: none yet); throws on a Secret that mixes generations. */
  const generations = async (ns: string): Promise<number[]> => {
    const { items } = await kube.list<{ metadata: { name: string }; data?: Record<string, string> }>(
      resourceTypes.secret,
      { namespace: ns },
    );
    return items
      .filter((s) => s.metadata.name.startsWith("es-"))
      .map((s) => {
        const values = Object.values(s.data ?? {}).map((v) => Buffer.from(v, "base64").toString());
        const gens = new Set(values.map((v) => v.split("-")[0]));
        assert.equal(values.length, KEYS, `${s.metadata.name} has ${values.length} keys`);
        assert.equal(gens.size, 1, `${s.metadata.name} is half-written: ${values.join(", ")}`);
        return Number([...gens][0]?.slice(1));
      });
  };
  const converged = async (ns: string, count: number, gen: number) => {
    for (let i = 0; i < count; i++)
      await waitForCondition(kube, ns, `es-${i}`, "Ready", "True", "SecretSynced", 60_000);
    const gens = await generations(ns);
    assert.equal(gens.length, count);
    assert.ok(
      gens.every((g) => g === gen),
      `generations ${gens.join(",")}`,
    );
  };

  /** Leader `a` and standby `b` on one Lease, with `count` ExternalSecrets synced by `a`. */
  const leaderAndStandby = async (ns: string, count: number) => {
    const election = electionArgs(ns);
    const a = startControllerProcess(cluster, ns, election("a"));
    procs.push(a);
    await a.waitForLog("became leader");
    const b = startControllerProcess(cluster, ns, election("b"));
    procs.push(b);
    await applyObject(kube, store(ns));
    await apply(ns, count, 1);
    await converged(ns, count, 1);
    // b is a standby only once its caches are synced and its elector polls the Lease; on a loaded
    // machine starting a process takes seconds, and a takeover measured from before that would
    // measure b's start-up, not the election.
    await b.waitForLog("controller started", 60_000);
    return { a, b };
  };

  /** The election Lease as the replicas wrote it: holder, and times on the writer's own clock. */
  const lease = async (ns: string) => {
    const l = await kube.get<{ spec: { holderIdentity?: string; acquireTime?: string; renewTime?: string } }>(
      resourceTypes.leaderElectionLock,
      ns,
      "refsync-controller",
    );
    assert.ok(l, "the Lease exists");
    return {
      holder: l.spec.holderIdentity,
      acquired: Date.parse(l.spec.acquireTime ?? ""),
      renewed: Date.parse(l.spec.renewTime ?? ""),
    };
  };

  // The promise (src/controller/leader.ts): a standby takes the Lease once it has seen no renewal for
  // the lease duration on its own clock, polling every retry period. So from the dead leader's last
  // renewTime to the standby's acquireTime (both written into the Lease by the replicas themselves)
  // at least the lease duration passes, and at most lease duration + renew deadline + one retry
  // period — the renew deadline is the slack for the two polls (seeing the last renewal, then
  // seeing it expired) and the requests in between. Measured between the replicas' own timestamps,
  // not from when this test got round to sending the signal or reading a log, which a loaded
  // machine delays by seconds.
  void test("leader SIGKILLed: the standby takes over within lease duration + renew deadline; no Secret written by both", async () => {
    const ns = await cluster.createNamespace("fault-leader");
    const count = 20;
    const { a, b } = await leaderAndStandby(ns, count);

    const killedAt = Date.now();
    await a.kill("SIGKILL");
    const last = await lease(ns); // after a's exit: its last renewal
    assert.equal(last.holder, "a");
    assert.ok(last.renewed <= Date.now(), "a renewed before it died");
    const tookOverAt = await b.waitForLog("became leader", 60_000);
    const now = await lease(ns);
    assert.equal(now.holder, "b");
    const expiredAfter = now.acquired - last.renewed;
    const bound = LEASE_S * 1000 + RENEW_MS + RETRY_MS;
    console.log(
      `takeover: acquireTime ${expiredAfter} ms after the last renewTime (lease ${LEASE_S * 1000} ms, ` +
        `bound ${bound} ms); logged ${tookOverAt - killedAt} ms after the test sent SIGKILL`,
    );
    assert.ok(expiredAfter >= LEASE_S * 1000, `b took a live lease: ${expiredAfter} ms after a's renewal`);
    assert.ok(
      expiredAfter <= bound,
      `takeover took ${expiredAfter} ms after a's last renewal (bound ${bound} ms)`,
    );
    assert.ok(tookOverAt >= now.acquired, "b became leader once it held the Lease");

    await apply(ns, count, 2);
    await converged(ns, count, 2);
    const byA = writes(a);
    const byB = writes(b);
    assert.equal(byA.length, count, "the first leader wrote every Secret once");
    assert.equal(byB.length, count, "the new leader wrote every Secret once");
    assert.ok(Math.max(...byA.map((w) => w.time)) < killedAt, "the killed leader wrote nothing afterwards");
    assert.ok(Math.min(...byB.map((w) => w.time)) >= tookOverAt, "the standby wrote nothing before it led");
  });

  // A write computed before the pause carries the resourceVersion it was decided from, so when it
  // lands after the new leader's it is refused (409) instead of overwriting newer data.
  void test("leader paused past its lease (SIGSTOP), then resumed: it steps down and writes nothing the new leader owns", async () => {
    const ns = await cluster.createNamespace("fault-paused");
    const count = 20;
    const { a, b } = await leaderAndStandby(ns, count);

    // Pause the leader with updates pending in its watch stream, so that it has work the moment it resumes.
    a.child.kill("SIGSTOP");
    await apply(ns, count, 2);
    const tookOverAt = await b.waitForLog("became leader", 20_000);
    await converged(ns, count, 2);
    await apply(ns, count, 3);
    const resumedAt = Date.now();
    a.child.kill("SIGCONT");
    await a.waitForLog("stopped leading", 20_000);
    await new Promise((r) => setTimeout(r, 3_000)); // give a split-brain write the time to happen
    const late = writes(a).filter((w) => w.time >= tookOverAt);
    assert.deepEqual(
      late,
      [],
      `the paused leader wrote after ${resumedAt - tookOverAt} ms of someone else's lease`,
    );
    await converged(ns, count, 3);
    assert.deepEqual(await generations(ns), Array(count).fill(3));
  });

  void test("killed mid-batch: no half-written Secret, and all converge after a restart", async () => {
    const ns = await cluster.createNamespace("fault-batch");
    const count = 120;
    await applyObject(kube, store(ns));
    const first = startControllerProcess(cluster, ns, ["--workers", "2"]);
    procs.push(first);
    await apply(ns, count, 1);
    await converged(ns, count, 1);

    // A batch of updates; SIGKILL when some but not all Secrets have the new data.
    const batch = apply(ns, count, 2);
    const partial = await waitFor(
      async () => {
        const gens = await generations(ns);
        const updated = gens.filter((g) => g === 2).length;
        return updated >= count / 4 ? updated : undefined;
      },
      "the first updates",
      60_000,
    );
    await first.kill("SIGKILL");
    await batch;
    const atKill = await generations(ns); // asserts: each Secret wholly generation 1 or 2
    const updated = atKill.filter((g) => g === 2).length;
    console.log(`killed after ${updated}/${count} Secrets were updated (first seen ${partial})`);
    assert.ok(updated < count, "killed before the batch finished");

    const second = startControllerProcess(cluster, ns, ["--workers", "2"]);
    procs.push(second);
    await converged(ns, count, 2);
    const secret = await getSecret(kube, ns, "es-0");
    assert.deepEqual(Object.keys(secret?.data ?? {}).sort(), ["k0", "k1", "k2", "k3"]);
  });
});
