/**
 * Where in its interval each refresh seed's slots fall: evenly placed over
 * the seeds this controller refreshes, not hashed independently. Hashed
 * phases put N keys into the bins of an interval as a Poisson spread (1,000
 * keys in 40 bins: the fullest of a few cycles' bins near 1.5× the mean);
 * placed by rank they fill every bin alike.
 *
 * Each seed keeps a fixed hash u in [0, 1). The seeds of one interval, sorted
 * by u, take the phases (r + ½)/n of the interval, r their rank, n their
 * number, so the phase is a function of the set of seeds alone: a restarted
 * controller or a new leader, whose informer lists the same ExternalSecrets,
 * computes the same phases, and nothing is stored. A seed added or removed
 * keeps the order of the others and moves each of them by less than
 * interval/n (3.6 s at 1 h with 1,000 keys), within the minimum gap before a
 * slot (see schedule.ts), so nobody's next refresh jumps; and as u is the old
 * hashed phase, no seed ends up more than a Poisson deviation from where
 * hashing put it. ExternalSecrets sharing a seed (one key) share its phase
 * and so its read.
 *
 * Only Periodic objects with a refreshInterval are placed (the others never
 * refresh by time); a seed not placed (an object the informer has not
 * delivered yet) falls back to its hashed phase.
 */
import { defaults, type ExternalSecret } from "../../api/v1alpha1.ts";
import { hashedPhaseMs, refreshIntervalMs, refreshSeed, seedHash, type PhaseOf } from "./schedule.ts";

/** One interval's seeds, sorted by (u, seed), with how many objects use each. */
interface Group {
  us: number[];
  seeds: string[];
  users: Map<string, number>;
}

/** Index of (u, seed) in the sorted group, or where it would go. */
function search(group: Group, u: number, seed: string): number {
  let lo = 0;
  let hi = group.us.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const mu = group.us[mid] as number;
    if (mu < u || (mu === u && (group.seeds[mid] as string) < seed)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class RefreshPlacement {
  /** Per refresh interval (ms). */
  readonly #groups = new Map<number, Group>();
  /** Per object key: the seed and interval it is placed under. */
  readonly #placed = new Map<string, { seed: string; intervalMs: number }>();

  /** The phase function for the schedule: placed seeds by rank, others hashed. */
  readonly phaseOf: PhaseOf = (seed, intervalMs) => {
    const group = this.#groups.get(intervalMs);
    if (!group?.users.has(seed)) return hashedPhaseMs(seed, intervalMs);
    const rank = search(group, seedHash(seed), seed);
    return ((rank + 0.5) / group.us.length) * intervalMs;
  };

  /** The periodic reads the placed seeds plan, per ms: one per seed per interval. */
  plannedReadsPerMs(): number {
    let rate = 0;
    for (const [intervalMs, group] of this.#groups) rate += group.us.length / intervalMs;
    return rate;
  }

  /** The object `key` is now `es` (undefined: deleted); called for every informer event. */
  track(key: string, es: ExternalSecret | undefined): void {
    const next = es && placedUnder(es);
    const current = this.#placed.get(key);
    if (current?.seed === next?.seed && current?.intervalMs === next?.intervalMs) return;
    if (current) this.#remove(current.seed, current.intervalMs);
    if (next) {
      this.#add(next.seed, next.intervalMs);
      this.#placed.set(key, next);
    } else this.#placed.delete(key);
  }

  #add(seed: string, intervalMs: number): void {
    let group = this.#groups.get(intervalMs);
    if (!group) this.#groups.set(intervalMs, (group = { us: [], seeds: [], users: new Map() }));
    const users = group.users.get(seed) ?? 0;
    group.users.set(seed, users + 1);
    if (users > 0) return;
    const u = seedHash(seed);
    const at = search(group, u, seed);
    group.us.splice(at, 0, u);
    group.seeds.splice(at, 0, seed);
  }

  #remove(seed: string, intervalMs: number): void {
    const group = this.#groups.get(intervalMs);
    const users = group?.users.get(seed);
    if (!group || users === undefined) return;
    if (users > 1) {
      group.users.set(seed, users - 1);
      return;
    }
    group.users.delete(seed);
    const at = search(group, seedHash(seed), seed);
    group.us.splice(at, 1);
    group.seeds.splice(at, 1);
    if (group.us.length === 0) this.#groups.delete(intervalMs);
  }
}

/** The seed and interval of an object that refreshes by time; undefined for one that does not (or is going). */
function placedUnder(es: ExternalSecret): { seed: string; intervalMs: number } | undefined {
  if (es.metadata.deletionTimestamp) return undefined;
  if ((es.spec.refreshPolicy ?? defaults.refreshPolicy) !== "Periodic") return undefined;
  let intervalMs: number;
  try {
    intervalMs = refreshIntervalMs(es);
  } catch {
    return undefined; // an interval that does not parse: its reconcile reports InvalidSpec
  }
  return intervalMs > 0 ? { seed: refreshSeed(es), intervalMs } : undefined;
}
