/**
 * One freshness round: find the objects rendered inline, read the current
 * version of every distinct secret they reference (once each, at most
 * `concurrency` at a time and `qps` a second), recompute each object's
 * version digest the way the plugin computed it, and ask the owner of each
 * object whose digest changed to render again. An owner is asked once per
 * change, not every round: a manually synced Application then shows
 * OutOfSync until someone syncs it.
 */
import type { Logger } from "../../log.ts";
import { versionsDigest } from "../../render/annotation.ts";
import { limiter } from "../../render/limit.ts";
import { TokenBucket } from "../../store/rate-limit.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { ResourceType } from "../../kube/resources.ts";
import { resourceTypes } from "../../kube/resources.ts";
import { sleep } from "../../kube/sleep.ts";
import { ownerKey, ownerOf, requestRefresh, type Owner } from "./owners.ts";
import { findInlineObjects, type InlineObject } from "./scan.ts";
import type { VersionSource } from "./reference-versions.ts";

export interface FreshnessOptions {
  /** Kinds to look for inline-rendered objects in; default Secrets and ConfigMaps. */
  resources?: ResourceType[];
  /** Only this namespace (default: all). */
  namespace?: string;
  /** Narrows the lists, e.g. a label the rendered objects carry. */
  labelSelector?: string;
  /** Where Argo CD's Applications live when the tracking label names no namespace; default argocd. */
  argocdNamespace?: string;
  /** Backend version reads in flight at once; default 4. */
  concurrency?: number;
  /** Backend version reads a second, across stores; default 10. */
  qps?: number;
  now?: () => Date;
}

export interface RoundReport {
  objects: number;
  /** Distinct backend version reads made. */
  reads: number;
  readErrors: number;
  /** Objects whose versions changed since they were rendered. */
  stale: string[];
  /** Owners asked to render again in this round. */
  refreshed: string[];
  /** Stale objects with no Argo CD or Flux owner found. */
  unowned: string[];
}

export class FreshnessChecker {
  readonly #kube: KubeClient;
  readonly #log: Logger;
  readonly #versions: VersionSource;
  readonly #opts: FreshnessOptions;
  readonly #bucket: TokenBucket;
  /** uid → the (rendered digest, current digest) already acted on. */
  readonly #requested = new Map<string, string>();

  constructor(
    deps: { kube: KubeClient; log: Logger; versions: VersionSource },
    options: FreshnessOptions = {},
  ) {
    this.#kube = deps.kube;
    this.#log = deps.log;
    this.#versions = deps.versions;
    this.#opts = options;
    const qps = options.qps ?? 10;
    this.#bucket = new TokenBucket(qps, qps);
  }

  async checkOnce(signal?: AbortSignal): Promise<RoundReport> {
    const { objects, invalid } = await findInlineObjects(
      this.#kube,
      this.#opts.resources ?? [resourceTypes.secret, resourceTypes.configMap],
      { namespace: this.#opts.namespace, labelSelector: this.#opts.labelSelector, signal },
    );
    for (const bad of invalid)
      this.#log.warn(bad, "freshness: unreadable refsync.dev/refs annotation; skipped");

    const versions = await this.#readVersions(objects, signal);
    const report: RoundReport = {
      objects: objects.length,
      reads: versions.size,
      readErrors: 0,
      stale: [],
      refreshed: [],
      unowned: [],
    };
    report.readErrors = [...versions.values()].filter((v) => v instanceof Error).length;

    const owners = new Map<string, Owner>();
    const seen = new Set<string>();
    for (const object of objects) {
      seen.add(object.uid);
      const current = this.#digest(object, versions);
      if (current === undefined || current === object.digest) continue;
      const name = `${object.kind} ${object.namespace}/${object.name}`;
      report.stale.push(name);
      const change = `${object.digest}→${current}`;
      if (this.#requested.get(object.uid) === change) continue;
      const owner = ownerOf(object, this.#opts.argocdNamespace ?? "argocd");
      if (!owner) {
        report.unowned.push(name);
        this.#log.info(
          { object: name },
          "freshness: referenced versions changed, but no Argo CD or Flux owner is known",
        );
        this.#requested.set(object.uid, change);
        continue;
      }
      owners.set(ownerKey(owner), owner);
      this.#requested.set(object.uid, change);
    }
    // Forget objects that are gone, so the map follows the cluster.
    for (const uid of this.#requested.keys()) if (!seen.has(uid)) this.#requested.delete(uid);

    const now = (this.#opts.now ?? (() => new Date()))();
    for (const [key, owner] of owners) {
      if (await requestRefresh(this.#kube, owner, now, signal)) {
        report.refreshed.push(key);
        this.#log.info({ owner: key }, "freshness: referenced versions changed; requested a new render");
      } else {
        this.#log.info({ owner: key }, "freshness: the owner of a stale object does not exist");
      }
    }
    return report;
  }

  /** Every distinct version read of this round: the version, or the error that read ended with. */
  async #readVersions(
    objects: InlineObject[],
    signal?: AbortSignal,
  ): Promise<Map<string, string | undefined | Error>> {
    const wanted = new Map<string, { ref: InlineObject["refs"][number]; namespace: string }>();
    for (const object of objects) {
      for (const ref of object.refs)
        wanted.set(this.#versions.key(ref, object.namespace), { ref, namespace: object.namespace });
    }
    const limit = limiter(this.#opts.concurrency ?? 4);
    const results = new Map<string, string | undefined | Error>();
    await Promise.all(
      [...wanted].map(([key, { ref, namespace }]) =>
        limit(async () => {
          const wait = this.#bucket.reserve();
          if (wait > 0) {
            await sleep(wait, signal);
            signal?.throwIfAborted();
          }
          try {
            results.set(key, await this.#versions.currentVersion(ref, namespace, signal));
          } catch (err) {
            results.set(key, err as Error);
            this.#log.warn(
              { store: ref.store, key: ref.path, err: (err as Error).message },
              "freshness: cannot read the current version",
            );
          }
        }),
      ),
    );
    return results;
  }

  /** The digest the plugin would write now, or undefined when a read failed (no decision on partial data). */
  #digest(object: InlineObject, versions: Map<string, string | undefined | Error>): string | undefined {
    const reads = [];
    for (const ref of object.refs) {
      const read = versions.get(this.#versions.key(ref, object.namespace));
      if (read instanceof Error) return undefined;
      reads.push({ store: ref.store ?? "", key: ref.path, pinned: ref.version, read });
    }
    return versionsDigest(reads);
  }
}
