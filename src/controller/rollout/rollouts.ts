/**
 * Rotation reaches the pods. When an ExternalSecret's data changes (the
 * secret-change hook), every consuming workload that reads a changed key is
 * queued for a restart; restarts are batched per workload, bounded per
 * namespace, and held back while a workload's rollout is stuck. A periodic
 * report counts the pods still running with old values (env readers started
 * before the change) for status.consumers, the JSON API and refsync_stale_pods.
 *
 * Consumers: workloads labelled `refsync.dev/reload: "true"` (watched with a
 * label selector, so memory follows the opted-in workloads, not the cluster),
 * workloads annotated so (found with a metadata-only list when a change
 * happens), the ExternalSecret's `spec.rollout.targets`, and with
 * `spec.rollout.enabled: true` every workload of the namespace (listed when a change happens).
 */
import {
  ANNOTATION_CHANGED_AT,
  ANNOTATION_CHANGED_KEYS,
  ANNOTATION_DATA_HASH,
  ANNOTATION_EXTERNAL_SECRET,
  ANNOTATION_RELOAD,
  FIELD_MANAGER,
  type ExternalSecret,
} from "../../api/v1alpha1.ts";
import type { ConsumerSource, SecretConsumer } from "../view.ts";
import type { EventTarget } from "../../kube/events.ts";
import type { SecretChangeHook } from "../hooks.ts";
import { Informer, errorSummary } from "../../kube/informer.ts";
import { isNotFound } from "../../kube/client.ts";
import { resourceTypes } from "../../kube/resources.ts";
import { sleep } from "../../kube/sleep.ts";
import type { ControllerContext, LeaderLoop } from "../hooks.ts";
import { RestartBatcher, workloadKey, type PendingRestart, type WorkloadRef } from "./batch.ts";
import { ALL_KEYS, keysRead, secretUsage } from "./consumers.ts";
import { consumerReport, type KnownWorkload, type Pod } from "./stale.ts";
import {
  annotatedWorkloads,
  podType,
  restartPatch,
  restartedFor,
  rolloutState,
  workloadTypes,
  type Workload,
  type WorkloadKind,
} from "./workloads.ts";

/** The opt-in label (a label, not only an annotation, so the API server can filter the watch). */
export const LABEL_RELOAD = ANNOTATION_RELOAD;

export interface RolloutOptions {
  /** Changes within this window merge into one restart per workload; default 10 s. */
  windowMs?: number;
  /** Workloads rolling at once per namespace; default 2. */
  maxConcurrent?: number;
  /** The controller's namespace scope (undefined: all). */
  namespace?: string;
  /** How often pending restarts and rolling workloads are looked at; default 1 s. */
  tickMs?: number;
  /** How often the stale-pod report is rebuilt (pods listed); default 30 s. */
  reportIntervalMs?: number;
  /** A rollout not done this long after our restart is stuck (Deployments use their progressDeadlineSeconds); default 10 min. */
  progressDeadlineMs?: number;
}

const KINDS = Object.keys(workloadTypes) as WorkloadKind[];
const SYNC_WAIT_MS = 30_000;

export class Rollouts implements ConsumerSource {
  readonly #opts: Required<Omit<RolloutOptions, "namespace">> & Pick<RolloutOptions, "namespace">;
  readonly #batcher: RestartBatcher;
  #ctx: ControllerContext | undefined;
  #informers = new Map<WorkloadKind, Informer<Workload>>();
  /** When we last restarted each workload (for the lag deadline). */
  readonly #restartedAt = new Map<string, number>();
  /** Stuck workloads already reported (one event per episode). */
  readonly #stuckReported = new Set<string>();
  #report = new Map<string, SecretConsumer[]>();
  #reportedAt = 0;

  constructor(opts: RolloutOptions = {}) {
    this.#opts = {
      windowMs: 10_000,
      maxConcurrent: 2,
      tickMs: 1_000,
      reportIntervalMs: 30_000,
      progressDeadlineMs: 600_000,
      ...opts,
    };
    this.#batcher = new RestartBatcher({
      windowMs: this.#opts.windowMs,
      maxConcurrent: this.#opts.maxConcurrent,
    });
  }

  consumersOf(namespace: string, secretName: string): SecretConsumer[] | undefined {
    return this.#report.get(`${namespace}/${secretName}`);
  }

  /** The secret-change hook: queue restarts of the consumers that read a changed key. */
  readonly hook: SecretChangeHook = async (change, signal) => {
    const ctx = this.#ctx;
    // Created (nothing ran with older data) or not leading.
    if (!ctx || change.previousHash === undefined) return;
    const { namespace, name } = change.secret;
    await this.#queue(
      ctx,
      change.externalSecret,
      { namespace, name, hash: change.dataHash },
      change.changedKeys,
      signal,
    );
  };

  /** Queues a restart of every consumer of the Secret that reads one of `changed` (after a failover: that passes the filter). */
  async #queue(
    ctx: ControllerContext,
    es: ExternalSecret,
    secret: { namespace: string; name: string; hash: string },
    changed: string[] | undefined,
    signal: AbortSignal,
    resume?: { filter: (w: Workload) => boolean; annotated: Map<string, string[]> },
  ): Promise<void> {
    if (es.spec.rollout?.enabled === false) return;
    const now = Date.now();
    const candidates = await this.#candidates(ctx, es, secret.namespace, signal, resume?.annotated);
    for (const { ref, workload } of candidates) {
      const usage = secretUsage(workload.spec?.template?.spec).get(secret.name);
      if (!usage || (resume && !resume.filter(workload))) continue;
      const keys = keysRead(usage, changed);
      if (keys.length === 0) continue;
      this.#batcher.add(
        ref,
        { name: secret.name, hash: secret.hash, externalSecret: es.metadata.name },
        keys,
        now,
      );
      ctx.log.debug({ workload: workloadKey(ref), keys: keys.length }, "restart queued");
    }
  }

  /**
   * A new leader has no pending restarts in memory: it re-queues, for each
   * Secret's last change, the consumers that read a changed key, existed
   * before the change and carry no restart for the current data hash.
   */
  async #resume(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    const annotated = new Map<string, string[]>();
    for (const s of ctx.secrets.list()) {
      const a = s.metadata.annotations ?? {};
      const es = ctx.externalSecrets.get(`${s.metadata.namespace}/${a[ANNOTATION_EXTERNAL_SECRET] ?? ""}`);
      const hash = a[ANNOTATION_DATA_HASH];
      const changedAt = Date.parse(a[ANNOTATION_CHANGED_AT] ?? "");
      const changed = a[ANNOTATION_CHANGED_KEYS];
      if (!es || !hash || Number.isNaN(changedAt) || changed === undefined) continue;
      const mark = `${s.metadata.name}@${hash}`;
      await this.#queue(
        ctx,
        es,
        { namespace: s.metadata.namespace, name: s.metadata.name, hash },
        changed ? changed.split(",") : [],
        signal,
        {
          annotated,
          filter: (w) =>
            Date.parse(w.metadata.creationTimestamp ?? "") < changedAt &&
            !(restartedFor(w) ?? "").split(",").includes(mark),
        },
      );
    }
  }

  /** The leader loop: watch opted-in workloads, restart what is due, rebuild the report. */
  readonly loop: LeaderLoop = async (ctx, signal) => {
    this.#ctx = ctx;
    try {
      for (const kind of KINDS) {
        if (!(await this.#served(ctx, kind, signal))) continue;
        const informer = new Informer<Workload>(ctx.kube, workloadTypes[kind], ctx.log, {
          namespace: this.#opts.namespace,
          labelSelector: `${LABEL_RELOAD}=true`,
        });
        informer.start();
        this.#informers.set(kind, informer);
      }
      // A kind we may not watch (RBAC) must not stop restarts of the others: wait a while, then go on.
      await Promise.race([
        Promise.all([...this.#informers.values()].map((i) => i.waitForSync())),
        sleep(SYNC_WAIT_MS, signal),
      ]);
      await this.#resume(ctx, signal).catch((err: unknown) => {
        if (!signal.aborted) ctx.log.warn({ err: errorSummary(err) }, "cannot resume pending restarts");
      });
      while (!signal.aborted) {
        await this.#tick(ctx, signal).catch((err: unknown) => {
          if (!signal.aborted) ctx.log.warn({ err: errorSummary(err) }, "rollout pass failed");
        });
        await sleep(this.#opts.tickMs, signal);
      }
    } finally {
      this.#ctx = undefined;
      await Promise.all([...this.#informers.values()].map((i) => i.stop()));
      this.#informers.clear();
      this.#batcher.clear();
      // Another replica leads now; the API and metric fall back to status.consumers.
      this.#report = new Map();
    }
  };

  /** Argo Rollouts may not be installed; apps/v1 always is. */
  async #served(ctx: ControllerContext, kind: WorkloadKind, signal: AbortSignal): Promise<boolean> {
    const t = workloadTypes[kind];
    if (t.group === "apps") return true;
    try {
      const list = await ctx.kube.request<{ resources?: { name: string }[] }>(
        "GET",
        `/apis/${t.group}/${t.version}`,
        { signal },
      );
      return list.resources?.some((r) => r.name === t.plural) ?? false;
    } catch (err) {
      if (!isNotFound(err))
        ctx.log.warn({ err: errorSummary(err), kind }, "cannot tell whether the API serves this kind");
      return false;
    }
  }

  async #candidates(
    ctx: ControllerContext,
    es: ExternalSecret,
    namespace: string,
    signal: AbortSignal,
    /** Annotation opt-ins already listed in this pass ("kind/namespace" → names). */
    annotated?: Map<string, string[]>,
  ): Promise<{ ref: WorkloadRef; workload: Workload }[]> {
    const found = new Map<string, { ref: WorkloadRef; workload: Workload }>();
    const add = (kind: WorkloadKind, workload: Workload) => {
      const ref = { kind, namespace, name: workload.metadata.name };
      found.set(workloadKey(ref), { ref, workload });
    };
    for (const [kind, informer] of this.#informers) {
      for (const w of informer.list()) if (w.metadata.namespace === namespace) add(kind, w);
    }
    const named: { kind: WorkloadKind; name: string }[] = [...(es.spec.rollout?.targets ?? [])];
    for (const kind of this.#informers.keys()) {
      if (es.spec.rollout?.enabled === true) {
        const { items } = await ctx.kube.list<Workload>(workloadTypes[kind], { namespace, signal });
        for (const w of items) add(kind, w);
      } else {
        const key = `${kind}/${namespace}`;
        const names = annotated?.get(key) ?? (await annotatedWorkloads(ctx.kube, kind, namespace, signal));
        annotated?.set(key, names);
        for (const name of names) named.push({ kind, name });
      }
    }
    for (const { kind, name } of named) {
      if (!this.#informers.has(kind) || found.has(workloadKey({ kind, namespace, name }))) continue;
      const w = await ctx.kube.get<Workload>(workloadTypes[kind], namespace, name, signal);
      if (w) add(kind, w);
    }
    return [...found.values()];
  }

  async #tick(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    const now = Date.now();
    for (const key of this.#batcher.rolling()) {
      const [kind, namespace, name] = key.split("/") as [WorkloadKind, string, string];
      const w = await ctx.kube.get<Workload>(workloadTypes[kind], namespace, name, signal);
      const state = w
        ? rolloutState(kind, w, this.#restartedAt.get(key), now, this.#opts.progressDeadlineMs)
        : "complete";
      if (state !== "progressing") this.#batcher.settled(key);
    }
    let restarted = 0;
    for (const p of this.#batcher.due(now)) {
      if (this.#batcher.hasSlot(p) && (await this.#restart(ctx, p, now, signal))) restarted++;
    }
    if (restarted > 0 || now - this.#reportedAt >= this.#opts.reportIntervalMs) {
      this.#reportedAt = now;
      await this.#buildReport(ctx, signal);
    }
  }

  /** Restarts one workload unless it is stuck; true when restarted. */
  async #restart(
    ctx: ControllerContext,
    p: PendingRestart,
    now: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    const { workload: ref } = p;
    const kind = ref.kind as WorkloadKind;
    const key = workloadKey(ref);
    const type = workloadTypes[kind];
    const w = await ctx.kube.get<Workload>(type, ref.namespace, ref.name, signal);
    if (!w) {
      this.#batcher.drop(p);
      return false;
    }
    const target: EventTarget = {
      apiVersion: `${type.group}/${type.version}`,
      kind,
      metadata: { ...w.metadata, name: ref.name },
    };
    const keyList = [...p.secrets]
      .map(([name, s]) => `Secret "${name}" (${describeKeys(s.keys)})`)
      .join(", ");
    if (rolloutState(kind, w, this.#restartedAt.get(key), now, this.#opts.progressDeadlineMs) === "stuck") {
      if (!this.#stuckReported.has(key)) {
        this.#stuckReported.add(key);
        const message = `rollout is stuck; not restarting for ${keyList} until it recovers`;
        ctx.events.record(target, "Warning", "RolloutStuck", message);
        for (const es of this.#externalSecretsOf(ctx, p))
          ctx.events.record(es, "Warning", "RolloutStuck", `${kind} "${ref.name}": ${message}`);
      }
      return false;
    }
    this.#stuckReported.delete(key);
    const marks = [...p.secrets].map(([name, s]) => `${name}@${s.hash}`).join(",");
    try {
      await ctx.kube.mergePatch(type, ref.namespace, ref.name, restartPatch(kind, marks, new Date(now)), {
        fieldManager: FIELD_MANAGER,
        signal,
      });
    } catch (err) {
      ctx.metrics.observability.recordRollout(ref.namespace, kind, "error");
      if (isNotFound(err)) this.#batcher.drop(p);
      throw err;
    }
    this.#batcher.started(p);
    this.#restartedAt.set(key, now);
    ctx.metrics.observability.recordRollout(ref.namespace, kind, "success");
    ctx.log.info({ workload: key, restartedFor: marks }, "restarted workload for changed secret keys");
    ctx.events.record(target, "Normal", "SecretRotated", `restarted: ${keyList} changed`);
    for (const es of this.#externalSecretsOf(ctx, p))
      ctx.events.record(
        es,
        "Normal",
        "WorkloadRestarted",
        `restarted ${kind} "${ref.name}": ${keyList} changed`,
      );
    return true;
  }

  #externalSecretsOf(ctx: ControllerContext, p: PendingRestart): ExternalSecret[] {
    const names = new Set([...p.secrets.values()].map((s) => s.externalSecret));
    return [...names]
      .map((n) => ctx.externalSecrets.get(`${p.workload.namespace}/${n}`))
      .filter((es): es is ExternalSecret & { metadata: { name: string } } => es !== undefined);
  }

  /** Rebuilds the stale-pod report and writes changed counts to status.consumers. */
  async #buildReport(ctx: ControllerContext, signal: AbortSignal): Promise<void> {
    const byNamespace = new Map<string, { name: string; changedAt?: string; owner: string }[]>();
    for (const s of ctx.secrets.list()) {
      const owner = s.metadata.annotations?.[ANNOTATION_EXTERNAL_SECRET];
      if (!owner) continue;
      const list = byNamespace.get(s.metadata.namespace) ?? [];
      list.push({ name: s.metadata.name, changedAt: s.metadata.annotations?.[ANNOTATION_CHANGED_AT], owner });
      byNamespace.set(s.metadata.namespace, list);
    }
    const report = new Map<string, SecretConsumer[]>();
    for (const [namespace, secrets] of byNamespace) {
      const { items: pods } = await ctx.kube.list<Pod>(podType, {
        namespace,
        fieldSelector: "status.phase=Running",
        signal,
      });
      const workloads = await this.#knownWorkloads(
        ctx,
        namespace,
        secrets.map((s) => s.owner),
        signal,
      );
      const consumers = consumerReport(secrets, workloads, pods);
      for (const s of secrets) {
        const list = consumers.get(s.name) ?? [];
        report.set(`${namespace}/${s.name}`, list);
        await this.#writeCounts(ctx, namespace, s.owner, list, signal);
      }
    }
    this.#report = report;
  }

  /** Opted-in workloads of the namespace and the ExternalSecrets' listed targets. */
  async #knownWorkloads(
    ctx: ControllerContext,
    namespace: string,
    externalSecrets: string[],
    signal: AbortSignal,
  ): Promise<KnownWorkload[]> {
    const known = new Map<string, KnownWorkload>();
    const add = (kind: string, w: Workload) =>
      known.set(`${kind}/${w.metadata.name}`, {
        kind,
        name: w.metadata.name,
        usage: secretUsage(w.spec?.template?.spec),
      });
    for (const [kind, informer] of this.#informers)
      for (const w of informer.list()) if (w.metadata.namespace === namespace) add(kind, w);
    for (const name of new Set(externalSecrets)) {
      for (const t of ctx.externalSecrets.get(`${namespace}/${name}`)?.spec.rollout?.targets ?? []) {
        if (known.has(`${t.kind}/${t.name}`) || !this.#informers.has(t.kind)) continue;
        const w = await ctx.kube.get<Workload>(workloadTypes[t.kind], namespace, t.name, signal);
        if (w) add(t.kind, w);
      }
    }
    return [...known.values()];
  }

  async #writeCounts(
    ctx: ControllerContext,
    namespace: string,
    name: string,
    consumers: SecretConsumer[],
    signal: AbortSignal,
  ): Promise<void> {
    const es = ctx.externalSecrets.get(`${namespace}/${name}`);
    if (!es) return;
    const counts = {
      workloads: consumers.length,
      stalePods: consumers.reduce((n, c) => n + c.stalePods.length, 0),
    };
    const old = es.status?.consumers;
    if (old?.workloads === counts.workloads && old.stalePods === counts.stalePods) return;
    // Nothing consumes it and nothing was reported: no write (thousands of unconsumed ExternalSecrets stay quiet).
    if (!old && counts.workloads === 0) return;
    // Not put into the cache by hand: the response may carry a spec or annotation change
    // whose watch event would then look like a no-op and never reach the reconciler.
    await ctx.kube.mergePatch(
      resourceTypes.externalSecret,
      namespace,
      name,
      { status: { consumers: counts } },
      { subresource: "status", fieldManager: FIELD_MANAGER, signal },
    );
  }
}

function describeKeys(keys: Set<string>): string {
  return keys.has(ALL_KEYS) ? "all keys" : `keys ${[...keys].sort().join(", ")}`;
}
