/**
 * Pacing of late periodic refreshes. The placement (placement.ts) plans the
 * slots evenly, R reads per ms over all placed keys; a controller that keeps
 * up reads at that rate. One starved for a moment (a loaded machine, slow
 * status patches) falls behind, and the refreshes whose slots passed
 * meanwhile would all run as soon as it catches up: a burst in the next
 * bins. This pacer spreads them forward instead.
 *
 * A token bucket refilled at PACE_HEADROOM × R (1.2 × the planned rate) with
 * room for a small burst (1/400 of an interval's planned reads, at least
 * one) is drawn by every periodic refresh read, once per key and slot (the
 * ExternalSecrets sharing a key share its read and its turn):
 * - a refresh within 1/400 of its interval of its slot is on time: it reads
 *   at once, whatever the bucket holds (it may overdraw it);
 * - a later one reads when a token is there; else it waits (the reconcile is
 *   requeued for about when its turn comes, in the order the keys asked);
 * - none waits more than 1/8 of its interval from when it first asked: then
 *   it reads anyway.
 * So while the controller keeps up the bucket stays full and no refresh
 * waits; after a stall the on-time refreshes go on at R and the late ones
 * take the remaining 0.2 R, so no stretch of time gets more than 1.2 × its
 * planned reads plus the burst. 1.2 leaves the late reads a fifth of the
 * planned rate: a stall of d is made up within 5 d, and the 1/8-interval
 * bound holds for any stall up to 1/40 of the interval (one bin of the herd
 * bench; 90 s at 1 h) without the cap releasing anything early.
 *
 * First syncs, spec changes, forced syncs, event-driven refreshes, lease
 * renewals and restores of a changed Secret are not paced: they are not the
 * schedule's reads (the reconciler asks only for reason "periodic").
 */

/** How far above the planned rate late refreshes may bring the reads. */
export const PACE_HEADROOM = 1.2;
/** A refresh this close to its slot (fraction of its interval) is on time; also the burst's span. */
const ON_TIME = 1 / 400;
/** The longest a late refresh waits from its first ask (fraction of its interval). */
export const MAX_DELAY = 1 / 8;
/** Turns of slots older than an interval are dropped this often. */
const SWEEP_MS = 60_000;

/** One key's (refresh seed's) turn for one slot. */
interface Turn {
  slotMs: number;
  intervalMs: number;
  /** When it first asked: the delay bound counts from here. */
  askedMs: number;
  /** When its turn is expected (a requeue hint; the bucket decides). */
  turnMs: number;
  admitted: boolean;
}

export class RefreshPacer {
  /** The planned periodic reads per ms (RefreshPlacement.plannedReadsPerMs). */
  readonly #plannedPerMs: () => number;
  readonly #turns = new Map<string, Turn>();
  #tokens = 0;
  #refilledMs = -Infinity;
  /** When the last waiting turn is expected: a new one queues behind it. */
  #tailMs = -Infinity;
  #sweptMs = -Infinity;

  constructor(plannedReadsPerMs: () => number) {
    this.#plannedPerMs = plannedReadsPerMs;
  }

  /**
   * A periodic refresh of `seed` for its slot at `slotMs` wants to read at `nowMs`: 0 to read now,
   * else how long to wait before asking again.
   */
  admit(seed: string, slotMs: number, intervalMs: number, nowMs: number): number {
    const rate = PACE_HEADROOM * this.#plannedPerMs();
    if (!(rate > 0)) return 0;
    const burst = Math.max(1, rate * intervalMs * ON_TIME);
    this.#refill(nowMs, rate, burst);
    this.#sweep(nowMs);
    let turn = this.#turns.get(seed);
    if (turn?.slotMs !== slotMs) {
      turn = { slotMs, intervalMs, askedMs: nowMs, turnMs: nowMs, admitted: false };
      this.#turns.set(seed, turn);
    }
    if (turn.admitted) return 0; // a key shared with an ExternalSecret that already read it for this slot
    const onTime = nowMs - slotMs <= intervalMs * ON_TIME;
    const capMs = turn.askedMs + intervalMs * MAX_DELAY;
    if (onTime || this.#tokens >= 1 || nowMs >= capMs) {
      this.#tokens = Math.max(-burst, this.#tokens - 1);
      turn.admitted = true;
      return 0;
    }
    if (turn.turnMs <= nowMs) {
      // Queue behind the turns already waiting, one token apart. Spaced at the headroom alone (what
      // the on-time reads leave) the hints ran late: the tokens that came before a turn asked again
      // overflowed the bucket unused, and the backlog went out at the 1/8 bound, bunched (1.44× in
      // the herd bench). Asked again too early, a turn only queues again.
      turn.turnMs = Math.max(this.#tailMs, nowMs + (1 - this.#tokens) / rate);
      this.#tailMs = turn.turnMs + 1 / rate;
    }
    return Math.ceil(Math.min(turn.turnMs, capMs) - nowMs);
  }

  #refill(nowMs: number, rate: number, burst: number): void {
    const since = nowMs - this.#refilledMs;
    this.#tokens = since === Infinity ? burst : Math.min(burst, this.#tokens + Math.max(0, since) * rate);
    this.#refilledMs = Math.max(this.#refilledMs, nowMs);
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#sweptMs < SWEEP_MS) return;
    this.#sweptMs = nowMs;
    for (const [seed, turn] of this.#turns)
      if (nowMs - turn.slotMs > turn.intervalMs) this.#turns.delete(seed);
  }
}
