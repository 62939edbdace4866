/**
 * The controller: informers for ExternalSecrets, both store kinds and the
 * Secrets we manage; one work queue for all of them; the reconcilers; leader
 * election (only the leader runs the queue, so only the leader writes; every
 * replica keeps its caches warm to take over at once); and plug-in points
 * for what later features add (secret-change hooks, leader-only loops such
 * as the freshness poller).
 */
import os from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import {
  LABEL_MANAGED_BY,
  MANAGED_BY,
  ANNOTATION_EXTERNAL_SECRET,
  type ClusterExternalSecret,
  type ExternalSecret,
  type SecretStore,
} from "../api/v1alpha1.ts";
import { storesNamed } from "../api/store-refs.ts";
import { silentLogger, type Logger } from "../log.ts";
import type { ConsumerSource } from "./view.ts";
import { ControllerMetrics } from "./metrics.ts";
import { ReadCache } from "../store/read-cache.ts";
import type { Auditor } from "../store/audit.ts";
import type { StoreLookup } from "./secretstore/resolve.ts";
import { StoreSessions } from "./secretstore/sessions.ts";
import { EventRecorder } from "../kube/events.ts";
import { ExternalSecretReconciler } from "./externalsecret/reconciler.ts";
import { LeaseTracker } from "./externalsecret/leases.ts";
import { RefreshPlacement } from "./externalsecret/placement.ts";
import type { SecretObject } from "./externalsecret/target.ts";
import { loadHashKey } from "./hash-key.ts";
import type { ControllerContext, LeaderLoop, SecretChangeHook } from "./hooks.ts";
import { needsReconcile, ownerMetadataChanged } from "./needs-reconcile.ts";
import { Informer, errorSummary, objectKey, type InformerOptions } from "../kube/informer.ts";
import { KubeClient, type KubeObject } from "../kube/client.ts";
import { resourceOfPath, resourceTypes } from "../kube/resources.ts";
import { LeaderElector } from "../kube/leader-election.ts";
import { WorkQueue } from "../kube/queue.ts";
import { StoreReconciler } from "./secretstore/reconciler.ts";
import { DEFAULT_CONTROLLER_CLASS, handlesStore, readsOtherClass } from "./secretstore/controller-class.ts";
import { EventRefresh } from "./events/index.ts";
import {
  ClusterExternalSecretReconciler,
  controllerOf,
  externalSecretNameOf,
  selects,
  type NamespaceObject,
} from "./clusterexternalsecret/reconciler.ts";

export interface LeaderElectionConfig {
  name: string;
  namespace: string;
  identity?: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ControllerOptions {
  kc: KubeConfig;
  log?: Logger;
  metrics?: ControllerMetrics;
  /** Concurrent reconciles; default 4. */
  workers?: number;
  /** --controller-class: the stores' spec.controller this controller serves; default "default". */
  controllerClass?: string;
  /** --unsafe-allow-generic-targets: write spec.target.manifest objects (ESO's opt-in); default false. */
  allowGenericTargets?: boolean;
  /** Watch only this namespace (ClusterSecretStores are still read cluster-wide, but their status is not written). */
  namespace?: string;
  /** Undefined: no election, this replica always leads. */
  leaderElection?: LeaderElectionConfig;
  /**
   * Where the data-hash HMAC key lives (created when missing). Required: a key that moves (a default
   * namespace that differs between runs) changes every hash; see hash-key.ts.
   */
  hashKeySecret: { namespace: string; name: string };
  hooks?: SecretChangeHook[];
  /** Who consumes each Secret and which pods are stale (the rollout work); shown by the dashboard and refsync_stale_pods. */
  consumers?: ConsumerSource;
  leaderLoops?: LeaderLoop[];
  informer?: Pick<InformerOptions, "silenceMs" | "watchTimeoutSeconds">;
  /** Longest time before a synced object is looked at again; default 10 min. */
  resyncMs?: number;
  /** Queue back-off after a failure (doubles per failure); default 200 ms … 5 min. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Audit records of every backend operation (--audit-log); none when unset. */
  audit?: Auditor;
}

type Kind = "ExternalSecret" | "SecretStore" | "ClusterSecretStore" | "ClusterExternalSecret";

/** Without leader election: how long to wait before loading the data-hash key again. */
const HASH_KEY_RETRY_MS = 5_000;

/** How long stopping waits for leader loops to return. */
const LOOP_STOP_MS = 5_000;

export class Controller {
  readonly kube: KubeClient;
  readonly metrics: ControllerMetrics;
  readonly sessions: StoreSessions;
  readonly cache: ReadCache;
  readonly log: Logger;
  readonly externalSecrets: Informer<ExternalSecret>;
  readonly secretStores: Informer<SecretStore>;
  readonly clusterSecretStores: Informer<SecretStore>;
  readonly secrets: Informer<SecretObject>;
  /** Event-driven refresh: who reads which key, the change sources, the refresh trigger. */
  readonly events: EventRefresh;
  /** ClusterExternalSecrets and the namespaces they select: a cluster-wide controller only. */
  readonly clusterExternalSecrets: Informer<ClusterExternalSecret> | undefined;
  readonly namespaces: Informer<NamespaceObject> | undefined;
  readonly #opts: ControllerOptions;
  readonly #queue: WorkQueue;
  readonly #events: EventRecorder;
  readonly #leases: LeaseTracker;
  readonly #stores: StoreLookup;
  readonly #elector: LeaderElector | undefined;
  #esReconciler: ExternalSecretReconciler | undefined;
  readonly #storeReconciler: StoreReconciler;
  readonly #cesReconciler: ClusterExternalSecretReconciler | undefined;
  #leading = false;
  #leaderAbort: AbortController | undefined;
  #leaderLoops: Promise<void>[] = [];
  #stopping = new AbortController();
  readonly #inflight = { count: 0 };
  /** Refresh phases, placed evenly over the ExternalSecrets the informer holds (kept across leaderships). */
  readonly #placement = new RefreshPlacement();
  #namespaceLabels = new Map<string, { labels: Record<string, string>; at: number }>();

  private constructor(kube: KubeClient, opts: ControllerOptions) {
    this.kube = kube;
    this.#opts = opts;
    this.log = opts.log ?? silentLogger;
    this.metrics = opts.metrics ?? new ControllerMetrics();
    kube.onRequest = (method, path, status) =>
      this.metrics.kubeRequests.inc({ verb: method, resource: resourceOfPath(path), code: String(status) });
    const hit = (store: string) => this.metrics.cacheHits.inc({ store: store.replace(/#.*$/, "") });
    const miss = (store: string) => this.metrics.cacheMisses.inc({ store: store.replace(/#.*$/, "") });
    this.cache = new ReadCache({ onHit: hit, onMiss: miss });
    this.sessions = new StoreSessions({
      kube,
      inflight: this.#inflight,
      kc: opts.kc,
      cache: this.cache,
      onCall: (p, s, c, r, secs) => this.metrics.recordProviderCall(p, s, c, r, secs),
      audit: opts.audit,
    });
    const informerOpts = { ...opts.informer, namespace: opts.namespace };
    this.externalSecrets = new Informer(kube, resourceTypes.externalSecret, this.log, informerOpts);
    this.secretStores = new Informer(kube, resourceTypes.secretStore, this.log, informerOpts);
    this.clusterSecretStores = new Informer(kube, resourceTypes.clusterSecretStore, this.log, opts.informer);
    // Only Secrets we manage: memory follows what we own, not the cluster's size.
    this.secrets = new Informer(kube, resourceTypes.secret, this.log, {
      ...informerOpts,
      labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
    });
    if (opts.namespace === undefined) {
      this.clusterExternalSecrets = new Informer(
        kube,
        resourceTypes.clusterExternalSecret,
        this.log,
        opts.informer,
      );
      this.namespaces = new Informer(kube, resourceTypes.namespace, this.log, opts.informer);
    }
    this.#events = new EventRecorder(kube, this.log, opts.leaderElection?.namespace);
    if (this.clusterExternalSecrets && this.namespaces)
      this.#cesReconciler = new ClusterExternalSecretReconciler({
        kube,
        log: this.log,
        metrics: this.metrics,
        events: this.#events,
        clusterExternalSecrets: this.clusterExternalSecrets,
        namespaces: this.namespaces,
        externalSecrets: this.externalSecrets,
        enqueueExternalSecret: (ns, name) => this.enqueueExternalSecret(ns, name),
      });
    this.#stores = {
      secretStore: (ns, name) => this.secretStores.get(`${ns}/${name}`),
      clusterSecretStore: (name) => this.clusterSecretStores.get(name),
      namespaceLabels: (ns) => this.#labelsOf(ns),
    };
    this.#leases = new LeaseTracker({
      log: this.log,
      onRefreshNeeded: (key) => {
        this.#esReconciler?.requestFresh(key);
        this.#enqueue("ExternalSecret", key);
      },
      onRenewed: (key) => this.#enqueue("ExternalSecret", key),
    });
    this.events = new EventRefresh({
      log: this.log,
      metrics: this.metrics,
      externalSecrets: this.externalSecrets,
      stores: this.#stores,
      sessions: this.sessions,
      refresh: (esKey, store, key, sinceMs) => {
        this.#esReconciler?.requestKeyRefresh(esKey, store, key, sinceMs);
        this.#enqueue("ExternalSecret", esKey);
      },
      storeHealthChanged: (store) => {
        if (store.kind === "SecretStore" || this.#managesClusterStores)
          this.#enqueue(store.kind, objectKey(store));
      },
    });
    this.#storeReconciler = new StoreReconciler({
      eventsCondition: (store) => this.events.condition(store),
      kube,
      log: this.log,
      metrics: this.metrics,
      events: this.#events,
      secretStores: this.secretStores,
      clusterSecretStores: this.clusterSecretStores,
      sessions: this.sessions,
      controllerClass: opts.controllerClass ?? DEFAULT_CONTROLLER_CLASS,
    });
    this.#queue = new WorkQueue({
      workers: opts.workers ?? 4,
      baseDelayMs: opts.backoff?.baseMs,
      maxDelayMs: opts.backoff?.maxMs,
      handler: (key) => this.#reconcile(key),
      onError: (key, err, failures) => {
        this.log.debug({ key, failures, err: errorSummary(err) }, "reconcile failed; backing off");
        const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
        return retryAfter !== undefined ? retryAfter * 1000 : undefined;
      },
    });
    this.#wireEvents();
    this.metrics.view = {
      // Another controller class's objects are that controller's to report.
      externalSecrets: () =>
        this.externalSecrets
          .list()
          .filter(
            (es) =>
              !readsOtherClass(
                es,
                this.#stores,
                this.#controllerClass,
                this.#esReconciler?.generatorsRead(objectKey(es)),
              ),
          ),
      stores: () =>
        [...this.secretStores.list(), ...this.clusterSecretStores.list()].filter((s) => this.#handles(s)),
      managedSecrets: () => this.secrets.list(),
      recentEvents: () => this.#events.recent,
      queueDepth: () => this.#queue.length,
      inflightReads: () => this.#inflight.count,
      isLeader: () => this.#leading,
      consumers: opts.consumers,
    };
    const le = opts.leaderElection;
    if (le) {
      this.#elector = new LeaderElector(
        kube,
        {
          name: le.name,
          namespace: le.namespace,
          identity: le.identity ?? `${os.hostname()}-${process.pid}`,
          leaseDurationSeconds: le.leaseDurationSeconds ?? 15,
          renewDeadlineMs: le.renewDeadlineMs ?? 10_000,
          retryPeriodMs: le.retryPeriodMs ?? 2_000,
          onStartedLeading: () => void this.#startLeading(),
          onStoppedLeading: () => void this.#stopLeading(),
        },
        this.log,
      );
    }
  }

  static async create(opts: ControllerOptions): Promise<Controller> {
    return new Controller(await KubeClient.fromKubeConfig(opts.kc), opts);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** Every informer this controller runs. */
  get #informers(): Informer<KubeObject>[] {
    return [
      this.externalSecrets,
      this.secretStores,
      this.clusterSecretStores,
      this.secrets,
      this.clusterExternalSecrets,
      this.namespaces,
    ].filter((i) => i !== undefined) as Informer<KubeObject>[];
  }

  /**
   * The informers readiness and the start wait for: all but ClusterExternalSecrets', so that a
   * controller upgraded before its CRDs (Helm installs CRDs only once) still serves everything
   * else; that informer keeps retrying (and warning) until the CRD exists.
   */
  get #required(): Informer<KubeObject>[] {
    const optional: unknown = this.clusterExternalSecrets;
    return this.#informers.filter((i) => i !== optional);
  }

  /** Ready: every required cache has been listed once. */
  get ready(): boolean {
    return this.#required.every((i) => i.synced);
  }

  /** Starts informers and (leader election permitting) reconciling; resolves when the caches are synced. */
  async start(): Promise<void> {
    for (const informer of this.#informers) informer.start();
    await Promise.all(this.#required.map((i) => i.waitForSync()));
    if (this.#stopping.signal.aborted) return; // stopped while the caches were syncing
    if (this.#elector) this.#elector.start();
    else await this.#startLeading();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#stopLeading();
    await this.#elector?.stop();
    await Promise.all(this.#informers.map((i) => i.stop()));
    this.#queue.clear();
    this.#leases.stop();
    await this.sessions.close();
    this.kube.close();
  }

  enqueueExternalSecret(namespace: string, name: string): void {
    this.#enqueue("ExternalSecret", `${namespace}/${name}`);
  }

  /**
   * A namespace-scoped controller reads ClusterSecretStores but leaves their
   * status to the cluster-wide one (several scoped controllers must not fight over it).
   */
  /** spec.controller names this controller's class, or none (controller-class.ts). */
  #handles(store: SecretStore): boolean {
    return handlesStore(store, this.#controllerClass);
  }

  get #controllerClass(): string {
    return this.#opts.controllerClass ?? DEFAULT_CONTROLLER_CLASS;
  }

  get #managesClusterStores(): boolean {
    return this.#opts.namespace === undefined;
  }

  async #startLeading(): Promise<void> {
    if (this.#leading || this.#stopping.signal.aborted) return;
    const ref = this.#opts.hashKeySecret;
    const where = `${ref.namespace}/${ref.name}`;
    const loaded = await loadHashKey(this.kube, ref).catch((err: unknown) => {
      this.log.error(
        { err: errorSummary(err), hashKeySecret: where },
        this.#elector
          ? "cannot load the data-hash key; giving leadership up"
          : `cannot load the data-hash key; trying again in ${HASH_KEY_RETRY_MS / 1000} s`,
      );
      return undefined;
    });
    if (!loaded) {
      // Leading without reconciling would stall every replica: let another one lead, or try again.
      if (this.#elector) this.#elector.resign("cannot load the data-hash key");
      else if (!this.#stopping.signal.aborted)
        setTimeout(() => void this.#startLeading(), HASH_KEY_RETRY_MS).unref();
      return;
    }
    const hashKey = loaded.key;
    if (loaded.created)
      this.log.info(
        { hashKeySecret: where },
        "created the data-hash key Secret; hashes made with another key are recomputed at each Secret's next sync, restarting nothing",
      );
    else this.log.info({ hashKeySecret: where }, "using the data-hash key Secret");
    this.#esReconciler = new ExternalSecretReconciler({
      kube: this.kube,
      log: this.log,
      metrics: this.metrics,
      events: this.#events,
      externalSecrets: this.externalSecrets,
      secrets: this.secrets,
      stores: this.#stores,
      controllerClass: this.#opts.controllerClass ?? DEFAULT_CONTROLLER_CLASS,
      allowGenericTargets: this.#opts.allowGenericTargets ?? false,
      sessions: this.sessions,
      leases: this.#leases,
      hashKey,
      hooks: this.#opts.hooks ?? [],
      resyncMs: this.#opts.resyncMs,
      placement: this.#placement,
    });
    this.#leading = true;
    this.metrics.isLeader.set(1);
    this.#leaderAbort = new AbortController();
    this.#queue.start();
    this.events.startLeading(
      this.#leaderAbort.signal,
      [
        ...this.secretStores.list(),
        ...(this.#managesClusterStores ? this.clusterSecretStores.list() : []),
      ].filter((s) => this.#handles(s)),
    );
    for (const s of this.secretStores.list()) this.#enqueue("SecretStore", objectKey(s));
    if (this.#managesClusterStores) {
      for (const s of this.clusterSecretStores.list()) this.#enqueue("ClusterSecretStore", objectKey(s));
    }
    for (const es of this.externalSecrets.list()) this.#enqueue("ExternalSecret", objectKey(es));
    for (const ces of this.clusterExternalSecrets?.list() ?? [])
      this.#enqueue("ClusterExternalSecret", objectKey(ces));
    const ctx: ControllerContext = {
      kube: this.kube,
      kc: this.#opts.kc,
      log: this.log,
      metrics: this.metrics,
      sessions: this.sessions,
      stores: this.#stores,
      events: this.#events,
      externalSecrets: this.externalSecrets,
      secrets: this.secrets,
      enqueueExternalSecret: (ns, name) => this.enqueueExternalSecret(ns, name),
    };
    const signal = this.#leaderAbort.signal;
    this.#leaderLoops = (this.#opts.leaderLoops ?? []).map((loop) =>
      loop(ctx, signal).catch((err: unknown) =>
        this.log.error({ err: errorSummary(err) }, "leader loop failed"),
      ),
    );
  }

  async #stopLeading(): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    this.metrics.isLeader.set(0);
    this.#leaderAbort?.abort();
    await this.events.stopLeading();
    await this.#queue.stop();
    // A plug-in loop that ignores its abort signal must not keep the controller from stopping.
    const loops = Promise.all(this.#leaderLoops).then(() => true);
    const timeout = new Promise<false>((resolve) => setTimeout(resolve, LOOP_STOP_MS, false).unref());
    if (!(await Promise.race([loops, timeout])))
      this.log.warn({ waitedMs: LOOP_STOP_MS }, "a leader loop did not stop");
    this.#leaderLoops = [];
  }

  #enqueue(kind: Kind, key: string): void {
    this.#queue.add(`${kind}:${key}`);
  }

  async #reconcile(item: string): Promise<{ requeueAfterMs?: number }> {
    const at = item.indexOf(":");
    const kind = item.slice(0, at) as Kind;
    const key = item.slice(at + 1);
    const signal = this.#leaderAbort?.signal ?? this.#stopping.signal;
    if (!this.#leading) return {};
    if (kind === "ExternalSecret")
      return (this.#esReconciler as ExternalSecretReconciler).reconcile(key, signal);
    if (kind === "ClusterExternalSecret") return this.#cesReconciler?.reconcile(key, signal) ?? {};
    return this.#storeReconciler.reconcile(kind, key, signal);
  }

  #wireEvents(): void {
    this.externalSecrets.on((event, es, old) => {
      const key = objectKey(es);
      this.#placement.track(key, event === "delete" ? undefined : es);
      if (event === "delete") {
        this.#queue.forget(`ExternalSecret:${key}`);
        // Here too, not only in the reconcile: a standby replica (no reconciles) may still export its series.
        void this.metrics.forget("ExternalSecret", es.metadata.namespace ?? "", es.metadata.name);
      }
      // Our own status writes change nothing we act on.
      if (event === "update" && old && !needsReconcile(es, old)) {
        if (ownerMetadataChanged(es, old)) this.#externalSecretChanged(es, old);
        return;
      }
      this.#enqueue("ExternalSecret", key);
      this.#externalSecretChanged(es, old);
    });
    this.#wireClusterExternalSecrets();
    const onStore =
      (kind: "SecretStore" | "ClusterSecretStore") =>
      (event: string, store: SecretStore, old?: SecretStore) => {
        // A namespace-scoped controller leaves ClusterSecretStores (their status, their sources) to the cluster-wide one.
        // Another controller class's store: its event sources are that controller's (stopped if running).
        if (kind === "SecretStore" || this.#managesClusterStores)
          this.events.storeChanged(event === "delete" || !this.#handles(store) ? "delete" : "update", store);
        const specChanged =
          !old || old.metadata.generation !== store.metadata.generation || event === "delete";
        if (specChanged && (kind === "SecretStore" || this.#managesClusterStores))
          this.#enqueue(kind, objectKey(store));
        if (event === "delete")
          void this.metrics.forget(kind, store.metadata.namespace ?? "", store.metadata.name);
        // ExternalSecrets using the store: its spec or readiness changed.
        const readyOf = (s?: SecretStore) =>
          JSON.stringify(s?.status?.conditions?.find((c) => c.type === "Ready")?.status);
        if (!specChanged && readyOf(old) === readyOf(store)) return;
        for (const es of this.externalSecrets.list()) {
          if (kind === "SecretStore" && es.metadata.namespace !== store.metadata.namespace) continue;
          // Any store it names: spec.secretStoreRef or an entry's sourceRef.storeRef.
          const named = storesNamed(es.spec).some(
            (ref) => ref.kind === kind && ref.name === store.metadata.name,
          );
          if (named) this.#enqueue("ExternalSecret", objectKey(es));
        }
      };
    this.secretStores.on(onStore("SecretStore"));
    this.clusterSecretStores.on(onStore("ClusterSecretStore"));
    this.secrets.on((event, secret) => {
      const owner = secret.metadata.annotations?.[ANNOTATION_EXTERNAL_SECRET];
      if (owner && (event !== "add" || this.#leading))
        this.#enqueue("ExternalSecret", `${secret.metadata.namespace}/${owner}`);
    });
  }

  #wireClusterExternalSecrets(): void {
    this.clusterExternalSecrets?.on((event, ces, old) => {
      if (event === "delete") void this.metrics.forget("ClusterExternalSecret", "", ces.metadata.name);
      if (event === "update" && old && !needsReconcile(ces, old)) return;
      this.#enqueue("ClusterExternalSecret", objectKey(ces));
    });
    // A namespace created, deleted or relabelled: the ClusterExternalSecrets that select it, before or after.
    this.namespaces?.on((event, ns, old) => {
      const labels = (n?: NamespaceObject) => JSON.stringify(n?.metadata.labels ?? {});
      if (event === "update" && old && labels(old) === labels(ns)) return;
      for (const ces of this.clusterExternalSecrets?.list() ?? []) {
        if (selects(ces.spec, ns) || (old !== undefined && selects(ces.spec, old)))
          this.#enqueue("ClusterExternalSecret", objectKey(ces));
      }
    });
  }

  /**
   * An ExternalSecret a ClusterExternalSecret controls, or controlled before this update,
   * was changed or deleted (it is restored, or its namespace reported failed), or one of
   * another owner left a namespace where a ClusterExternalSecret failed.
   */
  #externalSecretChanged(es: ExternalSecret, old?: ExternalSecret): void {
    if (!this.clusterExternalSecrets) return;
    for (const owner of new Set([controllerOf(es), old && controllerOf(old)]))
      if (owner !== undefined) this.#enqueue("ClusterExternalSecret", owner);
    for (const ces of this.clusterExternalSecrets.list()) {
      if (
        externalSecretNameOf(ces) === es.metadata.name &&
        ces.status?.failedNamespaces?.some((f) => f.namespace === es.metadata.namespace)
      )
        this.#enqueue("ClusterExternalSecret", objectKey(ces));
    }
  }

  async #labelsOf(namespace: string): Promise<Record<string, string>> {
    const cached = this.#namespaceLabels.get(namespace);
    if (cached && Date.now() - cached.at < 30_000) return cached.labels;
    const ns = await this.kube.get<{ metadata: { labels?: Record<string, string> } }>(
      resourceTypes.namespace,
      undefined,
      namespace,
    );
    const labels = ns?.metadata.labels ?? {};
    this.#namespaceLabels.set(namespace, { labels, at: Date.now() });
    return labels;
  }
}
