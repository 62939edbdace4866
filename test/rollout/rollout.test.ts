/**
 * Rotation reaches the pods, on a real API server: per-key restarts,
 * batching, the per-namespace bound, stuck rollouts, the stale-pod report,
 * Argo Rollouts' restartAt, and all keys of a rotation in one Secret write.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ANNOTATION_CHANGED_AT,
  ANNOTATION_CHANGED_KEYS,
  ANNOTATION_DATA_HASH,
  ANNOTATION_KEY_HASHES,
} from "../../src/api/v1alpha1.ts";
import { Informer } from "../../src/kube/informer.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import type { PodSpec } from "../../src/controller/rollout/consumers.ts";
import {
  podType,
  workloadTypes,
  type Workload,
  type WorkloadKind,
} from "../../src/controller/rollout/workloads.ts";
import { buildOverview } from "../../src/server/api/model.ts";
import { silentLogger } from "../../src/log.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { getExternalSecret, getSecret, waitFor } from "../controller/harness.ts";
import {
  create,
  envKey,
  events,
  getWorkload,
  installRolloutCrd,
  markRolledOut,
  restartedFor,
  rolloutEnv,
  runningPod,
  waitForRestartsCounted,
  workload,
} from "./harness.ts";

const OLD = { user: "app-user-4a1", password: "old-pass-9c3e" };
const NEW_PASSWORD = "new-pass-77d2";

void describe("rollout restarts", () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ crds: true });
  });
  after(async () => {
    await cluster.stop();
  });

  void test("only workloads that read a changed key are restarted, with events naming the keys", async () => {
    const env = await rolloutEnv(
      cluster,
      "ro-keys",
      OLD,
      { windowMs: 300, maxConcurrent: 20 },
      {
        targets: [{ kind: "StatefulSet", name: "listed" }],
      },
    );
    const { ns, kube } = env;
    try {
      const specs: Record<string, { kind: WorkloadKind; spec: PodSpec }> = {
        "env-password": { kind: "Deployment", spec: envKey("password") },
        "env-user": { kind: "Deployment", spec: envKey("user") },
        "env-from": {
          kind: "Deployment",
          spec: { containers: [{ envFrom: [{ secretRef: { name: "db" } }] }] },
        },
        "file-user": {
          kind: "Deployment",
          spec: {
            volumes: [{ name: "v", secret: { secretName: "db", items: [{ key: "user", path: "u" }] } }],
          },
        },
        "projected-password": {
          kind: "Deployment",
          spec: {
            volumes: [
              {
                name: "v",
                projected: { sources: [{ secret: { name: "db", items: [{ key: "password", path: "p" }] } }] },
              },
            ],
          },
        },
        "whole-mount": {
          kind: "DaemonSet",
          spec: { volumes: [{ name: "v", secret: { secretName: "db" } }] },
        },
        "other-secret": {
          kind: "Deployment",
          spec: { containers: [{ envFrom: [{ secretRef: { name: "other" } }] }] },
        },
      };
      for (const [name, { kind, spec }] of Object.entries(specs))
        await create(kube, workload(kind, ns, name, spec));
      await create(kube, workload("Deployment", ns, "not-opted-in", envKey("password"), false));
      const annotated = workload("Deployment", ns, "annotated", envKey("password"), false);
      (annotated.metadata as { annotations?: Record<string, string> }).annotations = {
        "refsync.dev/reload": "true",
      };
      await create(kube, annotated);
      await create(kube, workload("StatefulSet", ns, "listed", envKey("password"), false));
      // Let the controller's workload watch see them.
      await new Promise((r) => setTimeout(r, 500));

      await env.rotate({ password: NEW_PASSWORD });
      const hash = (await getSecret(kube, ns, "db"))?.metadata.annotations?.[ANNOTATION_DATA_HASH];
      const expected = [
        "env-password",
        "env-from",
        "projected-password",
        "whole-mount",
        "listed",
        "annotated",
      ];
      const kindOf = (n: string) =>
        n === "listed" ? "StatefulSet" : n === "whole-mount" ? "DaemonSet" : "Deployment";
      await waitFor(async () => {
        for (const n of expected)
          if (!restartedFor(await getWorkload(kube, kindOf(n), ns, n))) return undefined;
        return true;
      }, "restarts of password readers");
      // Nothing else follows, even after several windows.
      await new Promise((r) => setTimeout(r, 1500));
      const restarted: Record<string, string | undefined> = {};
      for (const n of [...Object.keys(specs), "not-opted-in", "listed", "annotated"])
        restarted[n] = restartedFor(await getWorkload(kube, kindOf(n), ns, n));
      assert.deepEqual(
        Object.keys(restarted)
          .filter((n) => restarted[n])
          .sort(),
        [...expected].sort(),
      );
      assert.equal(restarted["env-password"], `db@${hash}`);

      // Events, metrics: recorded after each restart's patch has answered (events posted in the background).
      const workloadEvents = await waitFor(async () => {
        const e = await events(kube, ns, "env-password");
        return e.length > 0 ? e : undefined;
      }, "the event of env-password's restart");
      assert.deepEqual(
        workloadEvents.map((e) => [e.reason, e.message]),
        [["SecretRotated", 'restarted: Secret "db" (keys password) changed']],
      );
      const esEvents = await waitFor(async () => {
        const e = (await events(kube, ns, "db")).filter((x) => x.reason === "WorkloadRestarted");
        return e.length >= expected.length ? e : undefined;
      }, "a WorkloadRestarted event per restart");
      assert.equal(esEvents.length, expected.length);
      assert.ok(
        esEvents.some(
          (e) => e.message === 'restarted DaemonSet "whole-mount": Secret "db" (keys password) changed',
        ),
      );
      const text = await waitForRestartsCounted(env, "Deployment", 4);
      for (const v of [...Object.values(OLD), NEW_PASSWORD]) {
        assert.equal(env.ctl.logText().includes(v), false, "no value in the log");
        assert.equal(JSON.stringify(await events(kube, ns)).includes(v), false, "no value in events");
        assert.equal(text.includes(v), false, "no value in metrics");
      }

      // Now only the user changes: its readers restart, the password-only readers do not.
      const before = restarted["env-password"];
      await env.rotate({ user: "app-user-2" });
      await waitFor(async () => {
        for (const n of ["env-user", "file-user"])
          if (!restartedFor(await getWorkload(kube, "Deployment", ns, n))) return undefined;
        return true;
      }, "restarts of user readers");
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(restartedFor(await getWorkload(kube, "Deployment", ns, "env-password")), before);
      assert.notEqual(restartedFor(await getWorkload(kube, "Deployment", ns, "env-from")), before);
    } finally {
      await env.stop();
    }
  });

  void test("spec.rollout.enabled opts in the whole namespace; enabled: false opts out", async () => {
    for (const enabled of [true, false]) {
      const env = await rolloutEnv(cluster, "ro-ns", OLD, { windowMs: 200, maxConcurrent: 5 }, { enabled });
      const { ns, kube } = env;
      try {
        await create(kube, workload("Deployment", ns, "unlabelled", envKey("password"), false));
        await create(kube, workload("Deployment", ns, "labelled", envKey("password")));
        await new Promise((r) => setTimeout(r, 300));
        await env.rotate({ password: NEW_PASSWORD });
        if (enabled) {
          await waitFor(async () => {
            for (const n of ["unlabelled", "labelled"])
              if (!restartedFor(await getWorkload(kube, "Deployment", ns, n))) return undefined;
            return true;
          }, "restarts of every reader in the namespace");
        } else {
          await new Promise((r) => setTimeout(r, 1200));
          for (const n of ["unlabelled", "labelled"])
            assert.equal(restartedFor(await getWorkload(kube, "Deployment", ns, n)), undefined, n);
        }
      } finally {
        await env.stop();
      }
    }
  });

  void test("ten changes within the window give one restart", async () => {
    const env = await rolloutEnv(cluster, "ro-batch", OLD, { windowMs: 6000, maxConcurrent: 5 });
    const { ns, kube } = env;
    try {
      await create(kube, workload("Deployment", ns, "api", envKey("password")));
      await new Promise((r) => setTimeout(r, 300));
      const generation = (await getWorkload(kube, "Deployment", ns, "api")).metadata.generation ?? 0;
      const started = Date.now();
      for (let i = 0; i < 10; i++) await env.rotate({ password: `pass-${i}` });
      const rotatedIn = Date.now() - started;
      assert.ok(rotatedIn < 6000, `ten rotations took ${rotatedIn} ms, longer than the window`);
      assert.equal(
        restartedFor(await getWorkload(kube, "Deployment", ns, "api")),
        undefined,
        "still batching",
      );
      const w = await waitFor(
        async () => {
          const d = await getWorkload(kube, "Deployment", ns, "api");
          return restartedFor(d) ? d : undefined;
        },
        "one restart",
        15_000,
      );
      await new Promise((r) => setTimeout(r, 1000));
      const final = await getWorkload(kube, "Deployment", ns, "api");
      assert.equal(final.metadata.generation, generation + 1, "exactly one template change");
      const hash = (await getSecret(kube, ns, "db"))?.metadata.annotations?.[ANNOTATION_DATA_HASH];
      assert.equal(restartedFor(w), `db@${hash}`);
      // The event is posted in the background after the restart's patch has answered.
      const rotatedEvents = await waitFor(async () => {
        const n = (await events(kube, ns, "api")).filter((e) => e.reason === "SecretRotated").length;
        return n > 0 ? n : undefined;
      }, "the SecretRotated event");
      assert.equal(rotatedEvents, 1);
      console.log(`# ten rotations in ${rotatedIn} ms → 1 restart`);
    } finally {
      await env.stop();
    }
  });

  void test("a new leader restarts what the old one still had pending, and nothing else", async () => {
    const env = await rolloutEnv(cluster, "ro-failover", OLD, { windowMs: 3000, maxConcurrent: 5 });
    const { ns, kube } = env;
    try {
      await create(kube, workload("Deployment", ns, "reads-password", envKey("password")));
      await create(kube, workload("Deployment", ns, "reads-user", envKey("user")));
      await new Promise((r) => setTimeout(r, 300));
      await env.rotate({ password: NEW_PASSWORD });
      // The leader dies within the window, before restarting anything.
      await env.failover();
      const hash = (await getSecret(kube, ns, "db"))?.metadata.annotations?.[ANNOTATION_DATA_HASH];
      await waitFor(
        async () =>
          restartedFor(await getWorkload(kube, "Deployment", ns, "reads-password")) === `db@${hash}`
            ? true
            : undefined,
        "restart by the new leader",
        15_000,
      );
      assert.equal(restartedFor(await getWorkload(kube, "Deployment", ns, "reads-user")), undefined);
      // A later leader finds the restart done and does not repeat it.
      const generation = (await getWorkload(kube, "Deployment", ns, "reads-password")).metadata.generation;
      await env.failover();
      await new Promise((r) => setTimeout(r, 3600));
      assert.equal(
        (await getWorkload(kube, "Deployment", ns, "reads-password")).metadata.generation,
        generation,
      );
    } finally {
      await env.stop();
    }
  });

  void test("a new HMAC key is no change: hashes are recomputed, nothing restarts, no rotation is reported", async () => {
    const env = await rolloutEnv(cluster, "ro-hashkey", OLD, { windowMs: 200, maxConcurrent: 5 });
    const { ns, kube } = env;
    const generation = async (name: string) =>
      (await getWorkload(kube, "Deployment", ns, name)).metadata.generation;
    const reasons = async (reason: string) =>
      (await events(kube, ns)).filter((e) => e.reason === reason).map((e) => e.message);
    try {
      await create(kube, workload("Deployment", ns, "reads-password", envKey("password")));
      await create(kube, workload("Deployment", ns, "reads-user", envKey("user")));
      await new Promise((r) => setTimeout(r, 300));
      // One real change first, so that the Secret has a change to resume and a workload a restart mark.
      await env.rotate({ password: NEW_PASSWORD });
      const rotated = await getSecret(kube, ns, "db");
      const h1 = rotated?.metadata.annotations?.[ANNOTATION_DATA_HASH];
      await waitFor(
        async () =>
          restartedFor(await getWorkload(kube, "Deployment", ns, "reads-password")) === `db@${h1}`
            ? true
            : undefined,
        "restart for the real change",
      );
      await markRolledOut(kube, ns, "reads-password");
      const generations = {
        password: await generation("reads-password"),
        user: await generation("reads-user"),
      };
      await waitFor(async () => ((await reasons("SecretRotated")).length === 1 ? true : undefined), "event");
      // The rotation's Updated event is posted in the background after its Secret write: count it too.
      const updated = await waitFor(async () => {
        const n = (await events(kube, ns, "db")).filter((e) => e.reason === "Updated").length;
        return n > 0 ? n : undefined;
      }, "the rotation's Updated event");

      // The key Secret is deleted (an uninstall, a reinstall elsewhere): the next controller makes a new key.
      await kube.delete(resourceTypes.secret, ns, "refsync-hash-key");
      await env.failover();
      await kube.mergePatch(resourceTypes.externalSecret, ns, "db", {
        metadata: { annotations: { "refsync.dev/force-sync": "after-new-key" } },
      });
      const rehashed = await waitFor(async () => {
        const s = await getSecret(kube, ns, "db");
        const h = s?.metadata.annotations?.[ANNOTATION_DATA_HASH];
        const es = await getExternalSecret(kube, ns, "db");
        return h && h !== h1 && es?.status?.dataHash === h ? s : undefined;
      }, "hashes recomputed with the new key");
      const a = rehashed.metadata.annotations ?? {};
      const r = rotated?.metadata.annotations ?? {};
      assert.deepEqual(rehashed.data, rotated?.data, "same data");
      assert.notEqual(a[ANNOTATION_KEY_HASHES], r[ANNOTATION_KEY_HASHES], "per-key hashes recomputed");
      assert.equal(a[ANNOTATION_CHANGED_AT], r[ANNOTATION_CHANGED_AT], "still the last real change");
      assert.equal(r[ANNOTATION_CHANGED_KEYS], "password");
      assert.equal(a[ANNOTATION_CHANGED_KEYS], undefined, "no pending change for a new leader to resume");

      // Nothing restarts, now or after another failover (a new leader resumes pending restarts).
      await env.failover();
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(
        { password: await generation("reads-password"), user: await generation("reads-user") },
        generations,
      );
      assert.equal(restartedFor(await getWorkload(kube, "Deployment", ns, "reads-user")), undefined);
      assert.deepEqual(await reasons("SecretRotated"), ['restarted: Secret "db" (keys password) changed']);
      assert.equal((await reasons("WorkloadRestarted")).length, 1);
      assert.equal(
        (await events(kube, ns, "db")).filter((e) => e.reason === "Updated").length,
        updated,
        "no Updated event: no value changed",
      );

      // A real change is still found, by its bytes, and restarts only its readers.
      await env.rotate({ user: "app-user-new" });
      await waitFor(
        async () =>
          restartedFor(await getWorkload(kube, "Deployment", ns, "reads-user")) ? true : undefined,
        "restart of the user reader",
      );
      assert.equal(
        (await getSecret(kube, ns, "db"))?.metadata.annotations?.[ANNOTATION_CHANGED_KEYS],
        "user",
      );
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(await generation("reads-password"), generations.password);
    } finally {
      await env.stop();
    }
  });

  void test("at most N workloads roll at once per namespace; a stuck one is held until it recovers", async () => {
    const env = await rolloutEnv(cluster, "ro-bound", OLD, { windowMs: 200, maxConcurrent: 2 });
    const { ns, kube } = env;
    try {
      const names = ["a1", "a2", "a3", "a4", "a5"];
      // Created first, so its held restart comes first in line and must not keep a slot.
      await create(kube, workload("Deployment", ns, "stuck", envKey("password")));
      await kube.mergePatch(
        workloadTypes.Deployment,
        ns,
        "stuck",
        {
          status: {
            conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
          },
        },
        { subresource: "status" },
      );
      for (const n of names) await create(kube, workload("Deployment", ns, n, envKey("password")));
      await new Promise((r) => setTimeout(r, 300));
      await env.rotate({ password: NEW_PASSWORD });

      const rolling = new Set<string>();
      const done = new Set<string>();
      let maxRolling = 0;
      const deadline = Date.now() + 30_000;
      while (done.size < names.length) {
        assert.ok(Date.now() < deadline, `only ${[...done].join(", ")} rolled out within 30 s`);
        const restarted = [];
        for (const n of names)
          if (restartedFor(await getWorkload(kube, "Deployment", ns, n))) restarted.push(n);
        for (const n of restarted) if (!done.has(n)) rolling.add(n);
        maxRolling = Math.max(maxRolling, rolling.size);
        assert.ok(rolling.size <= 2, `rolling at once: ${[...rolling].join(", ")}`);
        if (rolling.size === 2 || (rolling.size > 0 && done.size + rolling.size === names.length)) {
          // Stays at the bound for a while, then the test finishes their rollouts.
          await new Promise((r) => setTimeout(r, 600));
          for (const n of names)
            if (!rolling.has(n) && !done.has(n))
              assert.equal(
                restartedFor(await getWorkload(kube, "Deployment", ns, n)),
                undefined,
                `${n} waits`,
              );
          for (const n of rolling) {
            await markRolledOut(kube, ns, n);
            done.add(n);
          }
          rolling.clear();
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(maxRolling, 2);
      // The stuck Deployment was never restarted, and both it and the ExternalSecret say why.
      assert.equal(restartedFor(await getWorkload(kube, "Deployment", ns, "stuck")), undefined);
      const stuckEvents = await events(kube, ns, "stuck");
      assert.deepEqual(
        stuckEvents.map((e) => e.reason),
        ["RolloutStuck"],
      );
      assert.match(stuckEvents[0]!.message, /stuck; not restarting for Secret "db" \(keys password\)/);
      assert.ok((await events(kube, ns, "db")).some((e) => e.reason === "RolloutStuck"));
      // It recovers: the held restart goes through.
      await markRolledOut(kube, ns, "stuck");
      await waitFor(
        async () => (restartedFor(await getWorkload(kube, "Deployment", ns, "stuck")) ? true : undefined),
        "restart after recovery",
      );
    } finally {
      await env.stop();
    }
  });

  void test("stale-pod report: env readers started before the change, in status, the JSON API and the metric", async () => {
    const env = await rolloutEnv(cluster, "ro-stale", OLD, { windowMs: 200, maxConcurrent: 5 });
    const { ns, kube } = env;
    try {
      await create(kube, workload("Deployment", ns, "api", envKey("password")));
      await runningPod(kube, ns, "api-old-1", envKey("password"), "api");
      await runningPod(
        kube,
        ns,
        "api-old-2",
        { containers: [{ envFrom: [{ secretRef: { name: "db" } }] }] },
        "api",
      );
      await runningPod(kube, ns, "files-only", { volumes: [{ name: "v", secret: { secretName: "db" } }] });
      await runningPod(kube, ns, "unrelated", { containers: [{}] });
      // Pod times have whole seconds: let the change fall in a later second.
      await new Promise((r) => setTimeout(r, 1100));
      await env.rotate({ password: NEW_PASSWORD });
      await new Promise((r) => setTimeout(r, 1100));
      await runningPod(kube, ns, "api-new", envKey("password"), "api");

      const es = await waitFor(async () => {
        const e = await getExternalSecret(kube, ns, "db");
        const c = e?.status?.consumers;
        return c?.stalePods === 2 && c.workloads === 1 ? e : undefined;
      }, "status.consumers");
      assert.deepEqual(es.status?.consumers, { workloads: 1, stalePods: 2 });
      await waitFor(
        () => (env.rollouts.consumersOf(ns, "db")?.[0]?.stalePods.length === 2 ? true : undefined),
        "report",
      );
      assert.deepEqual(env.rollouts.consumersOf(ns, "db"), [
        { kind: "Deployment", name: "api", stalePods: ["api-old-1", "api-old-2"] },
      ]);
      const metrics = env.ctl.controller.metrics;
      const overview = await buildOverview(metrics.view!, metrics.registry, { namespace: ns });
      assert.deepEqual(overview.secrets.find((s) => s.name === "db")?.consumers, [
        { kind: "Deployment", name: "api", stalePods: ["api-old-1", "api-old-2"] },
      ]);
      assert.match(
        await metrics.registry.metrics(),
        new RegExp(`refsync_stale_pods\\{namespace="${ns}",secret="db"\\} 2`),
      );

      // The old pods go (as the restart would replace them): the count follows.
      for (const p of ["api-old-1", "api-old-2"]) await kube.delete(podType, ns, p);
      await waitFor(
        async () =>
          (await getExternalSecret(kube, ns, "db"))?.status?.consumers?.stalePods === 0 ? true : undefined,
        "no stale pods",
      );
    } finally {
      await env.stop();
    }
  });

  void test("Argo Rollouts are restarted through spec.restartAt", async () => {
    const kube0 = await KubeClient.fromKubeConfig(cluster.kc);
    await installRolloutCrd(kube0);
    kube0.close();
    const env = await rolloutEnv(cluster, "ro-argo", OLD, { windowMs: 200, maxConcurrent: 5 });
    const { ns, kube } = env;
    try {
      await create(kube, workload("Rollout", ns, "canary", envKey("password")));
      await new Promise((r) => setTimeout(r, 500));
      const before = Date.now();
      await env.rotate({ password: NEW_PASSWORD });
      const r = await waitFor(async () => {
        const w = await getWorkload(kube, "Rollout", ns, "canary");
        return w.spec?.restartAt ? w : undefined;
      }, "restartAt");
      assert.ok(Date.parse(r.spec!.restartAt!) >= Math.floor(before / 1000) * 1000);
      assert.equal(restartedFor(r), undefined, "the template is left alone (no new revision)");
      assert.match(
        (r as Workload & { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.[
          "refsync.dev/restarted-for"
        ] ?? "",
        /^db@/,
      );
      await waitForRestartsCounted(env, "Rollout", 1);
    } finally {
      await env.stop();
    }
  });

  void test("all keys of one rotation change in one Secret write", async () => {
    const env = await rolloutEnv(
      cluster,
      "ro-atomic",
      { a: "a0", b: "b0", c: "c0" },
      { windowMs: 200, maxConcurrent: 5 },
    );
    const { ns, kube } = env;
    const seen: Record<string, string>[] = [];
    const secrets = new Informer<{
      metadata: { name: string; namespace: string };
      data?: Record<string, string>;
    }>(kube, resourceTypes.secret, silentLogger, { namespace: ns });
    secrets.on((_event, s) => {
      if (s.metadata.name !== "db") return;
      seen.push(
        Object.fromEntries(
          Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
        ),
      );
    });
    secrets.start();
    try {
      await secrets.waitForSync();
      for (let i = 1; i <= 5; i++) await env.rotate({ a: `a${i}`, b: `b${i}`, c: `c${i}` });
      await new Promise((r) => setTimeout(r, 300));
      const versions = seen.map((d) => [d.a, d.b, d.c].map((v) => v?.slice(1)).join(""));
      for (const v of versions) assert.match(v, /^(\d)\1\1$/, `a version mixes rotations: ${v}`);
      assert.deepEqual([...new Set(versions)], ["000", "111", "222", "333", "444", "555"]);
    } finally {
      await secrets.stop();
      await env.stop();
    }
  });
});
