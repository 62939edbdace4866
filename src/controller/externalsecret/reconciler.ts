/**
 * One ExternalSecret, one pass: decide whether a sync is due, resolve the
 * stores its entries read from (sources.ts), fetch, template, write the Secret, run the change hooks, report
 * status. A failure never touches the existing Secret; it sets Ready=False
 * with the reason and is retried with back-off by the queue (retryable), or
 * marks the object Stalled (no retry will fix it; a spec change will).
 */
import {
  ANNOTATION_DATA_HASH,
  FINALIZER,
  FIELD_MANAGER,
  defaults,
  type ExternalSecret,
  type ExternalSecretStatus,
  type LeaseStatus,
} from "../../api/v1alpha1.ts";
import { validateExternalSecretSpec } from "../../api/validate.ts";
import { InvalidSpecError, RefsyncError, TargetConflictError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { ControllerMetrics } from "../metrics.ts";
import type { StoreLookup } from "../secretstore/resolve.ts";
import { readsOtherClass, type GeneratorLookup } from "../secretstore/controller-class.ts";
import type { StoreSessions } from "../secretstore/sessions.ts";
import { getCondition, removeCondition, sameConditions, setCondition } from "../../kube/conditions.ts";
import type { EventRecorder } from "../../kube/events.ts";
import { dataHash } from "../hash.ts";
import type { SecretChangeHook } from "../hooks.ts";
import { needsReconcile } from "../needs-reconcile.ts";
import { errorSummary, type Informer } from "../../kube/informer.ts";
import { isConflict, type KubeClient } from "../../kube/client.ts";
import { apiVersionOf, resourceTypes, type ResourceType } from "../../kube/resources.ts";
import { addFinalizer, hasFinalizer, removeFinalizer } from "../../kube/finalizers.ts";
import type { ReconcileResult } from "../../kube/queue.ts";
import { fetchData, type ReadsSince } from "./fetch.ts";
import { readGenerators, runGenerator } from "./generators.ts";
import { resolveSources } from "./sources.ts";
import { sameLeases, toLeaseStatus } from "./lease-status.ts";
import { LeaseTakeover } from "./lease-takeover.ts";
import type { LeaseTracker } from "./leases.ts";
import { DueReadPrefetcher } from "./prefetch.ts";
import { RefreshPacer } from "./pacer.ts";
import type { RefreshPlacement } from "./placement.ts";
import { annotateKeyHashes } from "./key-hashes.ts";
import {
  decideSync,
  lastSlotMs,
  nextRefreshMs,
  refreshIntervalMs,
  refreshSeed,
  slotReadsSinceMs,
  syncToken,
} from "./schedule.ts";
import { applyTemplate, templateSources } from "./secret-template.ts";
import {
  ManifestTypes,
  applyManifest,
  currentManifest,
  desiredManifest,
  isManifestUpToDate,
  manifestHashInput,
  templateManifest,
  type ManifestReference,
} from "./manifest-target.ts";
import {
  applySecret,
  checkTakeover,
  desiredSecret,
  type TargetObject,
  isUpToDate,
  keptData,
  ownsAllKeys,
  targetName,
  type SecretObject,
} from "./target.ts";

export interface ExternalSecretReconcilerDeps {
  kube: KubeClient;
  log: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  externalSecrets: Informer<ExternalSecret & { metadata: { name: string } }>;
  secrets: Informer<SecretObject>;
  stores: StoreLookup;
  /** --controller-class: an ExternalSecret whose store or generator is of another class is left alone. */
  controllerClass: string;
  /** --unsafe-allow-generic-targets: write spec.target.manifest objects (ESO's opt-in). */
  allowGenericTargets: boolean;
  sessions: StoreSessions;
  leases: LeaseTracker;
  hashKey: Uint8Array;
  hooks: SecretChangeHook[];
  /** The refresh phases of the ExternalSecrets the informer holds, placed evenly. */
  placement: RefreshPlacement;
  /** Longest a Ready object waits before it is looked at again (drift, missed events). */
  resyncMs?: number;
}

type Outcome =
  /** `resumed`: no read; the leases the Secret's data came from were renewed after a restart. */
  | { ok: true; hash: string; written: boolean; resumed?: boolean }
  | { ok: false; reason: string; message: string; retryable: boolean; err: unknown };

const MAX_RESYNC_MS = 10 * 60_000;

export class ExternalSecretReconciler {
  readonly #d: ExternalSecretReconcilerDeps;
  /** Keys whose next sync must bypass the read cache (lease about to expire). */
  readonly #fresh = new Set<string>();
  /** Keys changed in the store, per ExternalSecret: the time their read must start at or after. */
  readonly #changed = new Map<string, Map<string, number>>();
  /** Keys reconciled since this process started (see `#adopt`). */
  readonly #seen = new Set<string>();
  readonly #takeover: LeaseTakeover;
  readonly #prefetcher: DueReadPrefetcher;
  readonly #pacer: RefreshPacer;
  /** Keys whose due refresh spec.syncWindows holds back, with the time their event named. */
  readonly #deferredUntil = new Map<string, string>();
  readonly #manifestTypes: ManifestTypes;
  /** The generators each ExternalSecret names, as last read for their controller class. */
  readonly #generatorsRead = new Map<string, GeneratorLookup>();

  constructor(deps: ExternalSecretReconcilerDeps) {
    this.#d = deps;
    this.#manifestTypes = new ManifestTypes(deps.kube);
    this.#takeover = new LeaseTakeover({
      leases: deps.leases,
      externalSecrets: deps.externalSecrets,
      log: deps.log,
      sessions: async (es) => {
        const spec = validateExternalSecretSpec(es.spec);
        const namespace = es.metadata.namespace as string;
        return [...(await resolveSources(spec, namespace, deps.stores, deps.sessions)).byStore.values()];
      },
    });
    this.#pacer = new RefreshPacer(() => deps.placement.plannedReadsPerMs());
    this.#prefetcher = new DueReadPrefetcher({
      externalSecrets: deps.externalSecrets,
      secrets: deps.secrets,
      phaseOf: deps.placement.phaseOf,
      readsCached: (key) => !this.#fresh.has(key) && !this.#wouldAdopt(key),
      paceWaitMs: (es, now) => this.#paceWaitMs(es, now),
    });
  }

  /** The generators the ExternalSecret `key` names, as its last reconcile read them (controller classes). */
  generatorsRead(key: string): GeneratorLookup | undefined {
    return this.#generatorsRead.get(key);
  }

  requestFresh(key: string): void {
    this.#fresh.add(key);
  }

  /**
   * `storeKey`, which this ExternalSecret reads from `store` (storeId), changed there
   * (src/controller/events/): the next sync comes now, outside the slots, and takes that key of
   * that store only from a read started at or after `sinceMs` (its other keys, and the same key
   * of another store, as a refresh does). The caller enqueues the object.
   */
  requestKeyRefresh(key: string, store: string, storeKey: string, sinceMs: number): void {
    this.#markChanged(key, new Map([[changedKey(store, storeKey), sinceMs]]));
  }

  /** Adds `changed` (changedKey → sinceMs) to the keys changed for ExternalSecret `key`, the latest time winning. */
  #markChanged(key: string, changed: ReadonlyMap<string, number>): void {
    let keys = this.#changed.get(key);
    if (!keys) this.#changed.set(key, (keys = new Map()));
    for (const [id, sinceMs] of changed) keys.set(id, Math.max(keys.get(id) ?? -Infinity, sinceMs));
  }

  /**
   * After a restart the lease tracker is empty: an ExternalSecret that may
   * hold leases (it carries our finalizer) is taken over once. The leases its
   * status lists are renewed when the Secret still holds their data (see
   * LeaseTakeover); otherwise it is re-read, so that its credentials are renewed,
   * rotated and revoked again instead of expiring unnoticed, and the leases
   * the re-read replaced are revoked.
   */
  #adopt(key: string, es: ExternalSecret): boolean {
    const adopt = this.#wouldAdopt(key, es);
    this.#seen.add(key);
    return adopt;
  }

  #wouldAdopt(key: string, es = this.#d.externalSecrets.get(key)): boolean {
    if (this.#seen.has(key) || !es) return false;
    return hasFinalizer(es, FINALIZER) && !this.#d.leases.holds(key);
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const es = this.#d.externalSecrets.get(key);
    if (!es) {
      this.#seen.delete(key);
      this.#changed.delete(key);
      this.#deferredUntil.delete(key);
      this.#takeover.forget(key);
      this.#generatorsRead.delete(key);
      await this.#d.leases.release(key);
      const [namespace = "", name = ""] = key.split("/");
      await this.#d.metrics.forget("ExternalSecret", namespace, name);
      return {};
    }
    if (es.metadata.deletionTimestamp) {
      await this.#finalize(key, es, signal);
      return {};
    }
    // Its store or a generator is another controller class's (spec.controller): not reconciled, no status (as ESO).
    const generators = await readGenerators(this.#d.kube, es, signal);
    if (generators) this.#generatorsRead.set(key, generators);
    else this.#generatorsRead.delete(key);
    if (readsOtherClass(es, this.#d.stores, this.#d.controllerClass, generators)) return {};
    const target = await this.#currentTarget(es, signal);
    const decision = decideSync(es, target, Date.now(), this.#d.placement.phaseOf);
    const adopting = !this.#fresh.has(key) && this.#adopt(key, es);
    const held = es.status?.leases ?? [];
    if (adopting && held.length > 0 && (await this.#takeover.resume(key, es, target, decision, signal))) {
      const outcome: Outcome = { ok: true, hash: es.status?.dataHash ?? "", written: false, resumed: true };
      return this.#requeueAfter(es, await this.#writeStatus(key, es, outcome, signal));
    }
    const fresh = this.#fresh.has(key) || adopting;
    if (decision.reason === "window" && !fresh) this.#deferred(key, es, decision.nextInMs);
    else this.#deferredUntil.delete(key);
    // A changed key refreshes now, unless spec.syncWindows holds refreshes back.
    const changed = decision.reason === "window" ? undefined : this.#changed.get(key);
    // A periodic refresh that comes late waits its turn (pacer.ts); nothing else is paced.
    const paced = decision.reason === "periodic" && !fresh && !changed;
    const waitMs = paced ? this.#paceWaitMs(es, Date.now()) : 0;
    if (waitMs > 0) return { requeueAfterMs: waitMs };
    if (!decision.due && !fresh && !changed) {
      // A renewal moved a lease's expiry: the status shows it, for a restarted controller to resume from.
      if (this.#d.leases.holds(key) && !sameLeases(es.status?.leases, this.#heldStatus(key)))
        await this.#patchStatus(es, { leases: this.#heldStatus(key) }, signal);
      return {
        requeueAfterMs: Math.min(decision.nextInMs ?? MAX_RESYNC_MS, this.#d.resyncMs ?? MAX_RESYNC_MS),
      };
    }
    this.#fresh.delete(key);
    this.#changed.delete(key);
    const why = fresh ? "lease" : decision.due ? decision.reason : "key-changed";
    const log = this.#d.log.child({ externalSecret: key, why });
    const started = performance.now();
    // A lease about to expire (or to adopt) is read afresh.
    const base = fresh
      ? Date.now()
      : (decision.readsSinceMs ?? slotReadsSinceMs(es, Date.now(), this.#d.placement.phaseOf));
    const readsSinceMs: ReadsSince = changed
      ? (r, store) => Math.max(base, changed.get(changedKey(store, r.key)) ?? -Infinity)
      : base;
    const outcome = await this.#sync(key, es, target, readsSinceMs, signal);
    // A failed sync keeps its changed keys: its retry reads them afresh too. Otherwise the retry
    // would take the value cached before the change (its slot's), and undo what the change reported.
    if (!outcome.ok && changed) this.#markChanged(key, changed);
    this.#d.metrics.reconcileDuration.observe(
      { kind: "ExternalSecret", result: outcome.ok ? "success" : "error" },
      (performance.now() - started) / 1000,
    );
    // Deleted while this sync ran: its series are forgotten and must not come back.
    if (this.#d.externalSecrets.get(key))
      this.#d.metrics.recordSync(es.metadata.namespace as string, es.metadata.name, outcome.ok);
    // Leases the status lists are still the Secret's: the next attempt may renew them after all.
    if (adopting && held.length > 0 && !outcome.ok) this.#seen.delete(key);
    // A conflict only says our view was stale: retry with back-off, and leave the status alone.
    if (!outcome.ok && isConflict(outcome.err)) throw outcome.err;
    const refreshTime = await this.#writeStatus(key, es, outcome, signal);
    if (!outcome.ok) {
      log.warn({ reason: outcome.reason, message: outcome.message }, "sync failed");
      if (outcome.retryable) throw outcome.err;
      return {};
    }
    log.debug({ written: outcome.written }, "synced");
    await this.#takeover.retire(key, es, signal);
    return this.#requeueAfter(es, refreshTime);
  }

  /** How long the periodic refresh of `es`, due now, waits for the pacer (0: it reads now). */
  #paceWaitMs(es: ExternalSecret, now: number): number {
    const seed = refreshSeed(es);
    const interval = refreshIntervalMs(es);
    return this.#pacer.admit(seed, lastSlotMs(seed, interval, now, this.#d.placement.phaseOf), interval, now);
  }

  /** A due refresh that spec.syncWindows holds back: one event per wait, saying until when. */
  #deferred(key: string, es: ExternalSecret, nextInMs: number | undefined): void {
    const until =
      nextInMs === undefined
        ? "no window allows one within a year"
        : `next allowed at ${new Date(Date.now() + nextInMs).toISOString().replace(/\.\d+Z$/, "Z")}`;
    if (this.#deferredUntil.get(key) === until) return;
    this.#deferredUntil.set(key, until);
    const kind = es.spec.syncWindows?.kind === "allow" ? "outside the allow windows" : "inside a deny window";
    this.#d.events.record(
      es,
      "Normal",
      "RefreshDeferred",
      `periodic refresh waits (${kind} of spec.syncWindows): ${until}`,
    );
  }

  #requeueAfter(es: ExternalSecret, refreshTime: string | undefined): ReconcileResult {
    const interval = refreshIntervalMs(es);
    const policy = es.spec.refreshPolicy ?? defaults.refreshPolicy;
    const next =
      policy === "Periodic" && interval > 0 && refreshTime
        ? Math.max(
            0,
            nextRefreshMs(refreshSeed(es), interval, Date.parse(refreshTime), this.#d.placement.phaseOf) -
              Date.now(),
          )
        : MAX_RESYNC_MS;
    return { requeueAfterMs: Math.min(next, this.#d.resyncMs ?? MAX_RESYNC_MS) };
  }

  /** The leases the tracker holds for `key`, as the status shows them; undefined for none. */
  #heldStatus(key: string): LeaseStatus[] | undefined {
    const held = this.#d.leases.leasesOf(key);
    return held.length > 0 ? toLeaseStatus(held) : undefined;
  }

  async #currentTarget(es: ExternalSecret, signal: AbortSignal): Promise<TargetObject | undefined> {
    const manifest = es.spec.target?.manifest;
    if (manifest) {
      // Not watched (any kind): read at each look. A failure here is met again by the sync, which reports it.
      if (!this.#d.allowGenericTargets) return undefined;
      try {
        return await currentManifest(
          this.#d.kube,
          await this.#manifestTypes.of(manifest, signal),
          es,
          signal,
        );
      } catch (err) {
        if (signal.aborted) throw err;
        return undefined;
      }
    }
    const ns = es.metadata.namespace as string;
    const name = targetName(es);
    const cached = this.#d.secrets.get(`${ns}/${name}`);
    if (cached) return cached;
    // Not labelled as ours (yet). Merge needs to know whether it exists, CreateOrMerge its type, an
    // immutable target its data; Owner and Orphan need not ask: the apply creates it, and the API
    // server refuses a second controller owner (applySecret then names it).
    const policy = es.spec.target?.creationPolicy ?? defaults.creationPolicy;
    if (policy !== "Merge" && policy !== "CreateOrMerge" && !es.spec.target?.immutable) return undefined;
    return this.#d.kube.get<SecretObject>(resourceTypes.secret, ns, name, signal);
  }

  async #sync(
    key: string,
    es: ExternalSecret,
    target: TargetObject | undefined,
    readsSinceMs: ReadsSince,
    signal: AbortSignal,
  ): Promise<Outcome> {
    try {
      const spec = validateExternalSecretSpec(es.spec);
      if (spec.target?.manifest && !this.#d.allowGenericTargets)
        throw new InvalidSpecError(
          "spec.target.manifest: generic targets are disabled: start the controller with --unsafe-allow-generic-targets (Helm: genericTargets.enabled)",
        );
      const namespace = es.metadata.namespace as string;
      const sources = await resolveSources(spec, namespace, this.#d.stores, this.#d.sessions);
      this.#prefetcher.prefetch(es, sources, signal);
      const fetched = await fetchData(
        spec,
        sources,
        readsSinceMs,
        signal,
        {
          kind: "ExternalSecret",
          namespace,
          name: es.metadata.name,
          ...(es.metadata.uid && { uid: es.metadata.uid }),
        },
        (ref, field) => runGenerator(this.#d, namespace, ref, field, signal, this.#generatorsRead.get(key)),
      );
      if (spec.target?.manifest) {
        const written = await this.#writeManifest(es, spec.target.manifest, fetched.data, signal);
        await this.#trackLeases(key, es, fetched.leases, signal);
        return { ok: true, ...written };
      }
      const secretTarget = target as SecretObject | undefined;
      // On bytes: a value that is not UTF-8 reaches the Secret as it is (ESO's semantics).
      const content = await applyTemplate(
        spec.target?.template,
        fetched.data,
        templateSources(this.#d.kube, namespace, signal),
      );
      const data = (content.data = keptData(es, secretTarget, content.data));
      const type = spec.target?.template?.type ?? "Opaque";
      const hash = dataHash(this.#d.hashKey, type, data);
      checkTakeover(es, secretTarget);
      const desired = desiredSecret(es, content, hash, secretTarget);
      // Undefined: created. Decided from the Secret's bytes, never from hashes (see annotateKeyHashes).
      const changed = annotateKeyHashes(
        desired,
        secretTarget,
        this.#d.hashKey,
        data,
        new Date(),
        ownsAllKeys(es),
      );
      const previousHash = target?.metadata.annotations?.[ANNOTATION_DATA_HASH];
      // Same bytes, another hash: hashes made with another HMAC key, recomputed; no value changed.
      const rehashed = changed?.length === 0 && previousHash !== hash;
      if ((spec.target?.deletionPolicy ?? defaults.deletionPolicy) === "Delete")
        await addFinalizer(this.#d.kube, resourceTypes.externalSecret, es, FINALIZER, signal);
      let written = false;
      if (!isUpToDate(secretTarget, desired)) {
        // Precondition on the version we decided from: a write computed by a leader that was paused
        // past its lease (or from a stale cache) gets a 409 instead of overwriting newer data.
        if (target?.metadata.resourceVersion)
          desired.metadata.resourceVersion = target.metadata.resourceVersion;
        this.#d.secrets.observe(await applySecret(this.#d.kube, es, desired, signal));
        written = true;
        if (rehashed)
          this.#d.log.debug(
            { externalSecret: key },
            "data hashes recomputed with the current key; data unchanged",
          );
        else
          this.#d.events.record(
            es,
            "Normal",
            target ? "Updated" : "Created",
            `${target ? "updated" : "created"} Secret "${desired.metadata.name}" (${Object.keys(data).length === 1 ? "1 key" : `${Object.keys(data).length} keys`})`,
          );
      }
      await this.#trackLeases(key, es, fetched.leases, signal);
      if (changed === undefined || changed.length > 0)
        await this.#runHooks(es, desired, previousHash, hash, changed, signal);
      return { ok: true, hash, written };
    } catch (err) {
      if (signal.aborted) throw err;
      return classify(err);
    }
  }

  async #trackLeases(
    key: string,
    es: ExternalSecret,
    leases: Parameters<LeaseTracker["track"]>[1],
    signal: AbortSignal,
  ): Promise<void> {
    if (leases.length === 0 && !this.#d.leases.holds(key)) return;
    if (leases.length > 0)
      await addFinalizer(this.#d.kube, resourceTypes.externalSecret, es, FINALIZER, signal);
    this.#d.leases.track(key, leases);
  }

  /**
   * Writes the object target.manifest names (manifest-target.ts) as the Secret is written: the
   * same ownership and takeover rules, a write only when it differs. No hook runs: restarts
   * follow a Secret's data (the schema refuses spec.rollout with a manifest).
   */
  async #writeManifest(
    es: ExternalSecret,
    manifest: ManifestReference,
    values: Record<string, Uint8Array>,
    signal: AbortSignal,
  ): Promise<{ hash: string; written: boolean }> {
    const namespace = es.metadata.namespace as string;
    const type = await this.#manifestTypes.of(manifest, signal);
    const content = await templateManifest(
      es.spec.target?.template,
      values,
      templateSources(this.#d.kube, namespace, signal),
    );
    const hash = dataHash(
      this.#d.hashKey,
      `${manifest.apiVersion}/${manifest.kind}`,
      manifestHashInput(content),
    );
    // Read again, not from the look before the sync: nothing watches these objects.
    const existing = await currentManifest(this.#d.kube, type, es, signal);
    checkTakeover(es, existing);
    const desired = desiredManifest(es, type, content, hash);
    if ((es.spec.target?.deletionPolicy ?? defaults.deletionPolicy) === "Delete")
      await addFinalizer(this.#d.kube, resourceTypes.externalSecret, es, FINALIZER, signal);
    if (isManifestUpToDate(existing, desired, content.paths)) return { hash, written: false };
    if (existing?.metadata.resourceVersion)
      desired.metadata.resourceVersion = existing.metadata.resourceVersion;
    await applyManifest(this.#d.kube, type, desired, signal);
    const keys = Object.keys(content.data).length;
    this.#d.events.record(
      es,
      "Normal",
      existing ? "Updated" : "Created",
      `${existing ? "updated" : "created"} ${manifest.kind} "${desired.metadata.name}" (${keys === 1 ? "1 key" : `${keys} keys`})`,
    );
    return { hash, written: true };
  }

  async #runHooks(
    es: ExternalSecret,
    secret: SecretObject,
    previousHash: string | undefined,
    hash: string,
    changed: string[] | undefined,
    signal: AbortSignal,
  ) {
    for (const hook of this.#d.hooks) {
      try {
        await hook(
          {
            externalSecret: es,
            secret: { namespace: secret.metadata.namespace, name: secret.metadata.name },
            previousHash,
            dataHash: hash,
            changedKeys: changed,
          },
          signal,
        );
      } catch (err) {
        const e = errorSummary(err);
        this.#d.log.warn({ err: e, externalSecret: es.metadata.name }, "secret-change hook failed");
        this.#d.events.record(es, "Warning", "HookFailed", e.message);
      }
    }
  }

  /** Returns the status's refreshTime (the new one after a successful sync). */
  async #writeStatus(
    key: string,
    es: ExternalSecret,
    outcome: Outcome,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const old = es.status ?? {};
    const generation = es.metadata.generation;
    const now = new Date();
    let conditions = old.conditions;
    const status: ExternalSecretStatus = { ...old, observedGeneration: generation };
    if (outcome.ok) {
      conditions = setCondition(
        conditions,
        es.spec.target?.manifest
          ? {
              type: "Ready",
              status: "True",
              reason: "ResourceSynced",
              message: `${es.spec.target.manifest.kind} is synced`,
            }
          : { type: "Ready", status: "True", reason: "SecretSynced", message: "Secret is synced" },
        generation,
        now,
      );
      conditions = removeCondition(conditions, "Stalled");
      if (!outcome.resumed) {
        status.refreshTime = now.toISOString().replace(/\.\d+Z$/, "Z");
        status.dataHash = outcome.hash;
        status.binding = { name: targetName(es) };
        status.syncedResourceVersion = syncToken(es);
      }
    } else {
      conditions = setCondition(
        conditions,
        { type: "Ready", status: "False", reason: outcome.reason, message: outcome.message },
        generation,
        now,
      );
      conditions = outcome.retryable
        ? removeCondition(conditions, "Stalled")
        : setCondition(
            conditions,
            { type: "Stalled", status: "True", reason: outcome.reason, message: outcome.message },
            generation,
            now,
          );
    }
    status.conditions = conditions;
    // The leases the data came from; after a failure with none tracked, those the status listed are still the Secret's.
    if (outcome.ok || this.#d.leases.holds(key)) status.leases = this.#heldStatus(key);
    const previous = getCondition(old.conditions, "Ready");
    const current = getCondition(conditions, "Ready");
    if (this.#d.externalSecrets.get(key))
      this.#d.metrics.setCondition(
        "ExternalSecret",
        es.metadata.namespace as string,
        es.metadata.name,
        "Ready",
        current?.status ?? "Unknown",
      );
    if (!outcome.ok && (previous?.reason !== current?.reason || previous?.message !== current?.message)) {
      this.#d.events.record(es, "Warning", outcome.reason, outcome.message);
    }
    const unchanged =
      !outcome.ok &&
      sameConditions(old.conditions, conditions) &&
      old.observedGeneration === generation &&
      sameLeases(old.leases, status.leases);
    if (unchanged) return status.refreshTime;
    await this.#patchStatus(es, status, signal);
    return status.refreshTime;
  }

  /** A merge patch of the status; `leases` undefined removes the field. */
  async #patchStatus(es: ExternalSecret, status: ExternalSecretStatus, signal: AbortSignal): Promise<void> {
    const body = { ...status, leases: status.leases ?? (es.status?.leases ? null : undefined) };
    const updated = await this.#d.kube.mergePatch<ExternalSecret>(
      resourceTypes.externalSecret,
      es.metadata.namespace,
      es.metadata.name,
      { status: body },
      {
        subresource: "status",
        fieldManager: FIELD_MANAGER,
        signal,
      },
    );
    // The response also carries what others changed since `es` was read. A change a reconcile acts
    // on (a force-sync annotation, a new spec) is left to its watch event: cached here, that event
    // would look like our own write and be dropped, and nothing would sync it until the resync.
    if (!needsReconcile(updated, es)) this.#d.externalSecrets.observe(updated);
  }

  /**
   * The kind of target deletionPolicy Delete removes: a Secret, or the manifest's kind; none when
   * generic targets are off (refsync never wrote one then) or the API server no longer serves it.
   */
  async #deletableType(es: ExternalSecret, signal: AbortSignal): Promise<ResourceType | undefined> {
    const manifest = es.spec.target?.manifest;
    if (!manifest) return resourceTypes.secret;
    if (!this.#d.allowGenericTargets) return undefined;
    try {
      return await this.#manifestTypes.of(manifest, signal);
    } catch (err) {
      if (err instanceof TargetConflictError || err instanceof InvalidSpecError) return undefined;
      throw err;
    }
  }

  /** Deletion: apply deletionPolicy and revoke leases, then let the object go. */
  async #finalize(key: string, es: ExternalSecret, signal: AbortSignal): Promise<void> {
    if (!hasFinalizer(es, FINALIZER)) return;
    const policy = es.spec.target?.deletionPolicy ?? defaults.deletionPolicy;
    const creation = es.spec.target?.creationPolicy ?? defaults.creationPolicy;
    const namespace = es.metadata.namespace as string;
    const name = targetName(es);
    const type = await this.#deletableType(es, signal);
    if (policy === "Delete" && type) {
      const kind = type.kind;
      const secret = await this.#d.kube.get<TargetObject>(type, namespace, name, signal);
      const ours = secret?.metadata.annotations?.["refsync.dev/external-secret"] === es.metadata.name;
      if (secret && ours && creation === "Merge") {
        // Give back only our keys: an apply with none of them releases (removes) what we owned.
        await this.#d.kube.apply(
          type,
          { apiVersion: apiVersionOf(type), kind, metadata: { name, namespace } },
          {
            fieldManager: FIELD_MANAGER,
            signal,
          },
        );
      } else if (secret && ours) {
        await this.#d.kube.delete(type, namespace, name, {
          uid: secret.metadata.uid,
          signal,
        });
        this.#d.events.record(es, "Normal", "Deleted", `deleted ${kind} "${name}" (deletionPolicy Delete)`);
      }
    }
    // The leases the status lists and this process does not track (taken over from a previous one) go too.
    const tracked = new Set(this.#d.leases.leasesOf(key).map((h) => h.lease.id));
    await this.#d.leases.release(key);
    await this.#takeover.retire(
      key,
      es,
      signal,
      (es.status?.leases ?? []).filter((l) => !tracked.has(l.id)),
    );
    await removeFinalizer(this.#d.kube, resourceTypes.externalSecret, es, FINALIZER, signal);
  }
}

/** A key changed in one store, as `#changed` holds it. */
const changedKey = (store: string, key: string): string => JSON.stringify([store, key]);

function fail(reason: string, message: string, retryable: boolean, err?: unknown): Outcome {
  return { ok: false, reason, message, retryable, err: err ?? new Error(message) };
}

/** Typed errors to condition reasons; anything unexpected is a retryable SecretSyncError. */
function classify(err: unknown): Outcome {
  if (err instanceof RefsyncError) {
    const reason =
      err.reason === "InvalidReference"
        ? "InvalidSpec"
        : ["NotFound", "AccessDenied", "InvalidSpec", "StoreNotReady"].includes(err.reason)
          ? err.reason
          : "SecretSyncError";
    return fail(reason, err.message, err.retryable, err);
  }
  if (err instanceof TargetConflictError) return fail("SecretSyncError", err.message, true, err);
  const e = errorSummary(err);
  return fail("SecretSyncError", `${e.name}: ${e.message}`, true, err);
}
