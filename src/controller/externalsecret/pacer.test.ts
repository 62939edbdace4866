/**
 * RefreshPacer with simulated time (each ask carries its own clock): on-time
 * refreshes never wait, a burst of late ones is released at the headroom the
 * on-time ones leave, and no late one waits more than 1/8 of its interval.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_DELAY, PACE_HEADROOM, RefreshPacer } from "./pacer.ts";

const INTERVAL = 40_000;
/** 1,000 keys over a 40 s interval: 25 reads/s planned, as bench/herd.ts. */
const PLANNED_PER_MS = 1000 / INTERVAL;
const BURST = Math.max(1, PACE_HEADROOM * PLANNED_PER_MS * INTERVAL * (1 / 400));

interface Ask {
  seed: string;
  slotMs: number;
  atMs: number;
}

/**
 * Runs the asks ms by ms: a refused ask asks again when told. Returns, per seed, when it was
 * admitted and when it first asked.
 */
function simulate(pacer: RefreshPacer, asks: Ask[], untilMs: number) {
  const byTime = new Map<number, Ask[]>();
  const at = (t: number, ask: Ask) => byTime.set(t, [...(byTime.get(t) ?? []), ask]);
  for (const ask of asks) at(ask.atMs, ask);
  const admitted = new Map<string, { askedMs: number; atMs: number }>();
  for (let t = 0; t <= untilMs; t++) {
    for (const ask of byTime.get(t) ?? []) {
      const wait = pacer.admit(ask.seed, ask.slotMs, INTERVAL, t);
      if (wait > 0) at(t + wait, ask);
      else admitted.set(ask.seed, { askedMs: ask.atMs, atMs: t });
    }
    byTime.delete(t);
  }
  return admitted;
}

/** Reads per bin of `binMs`. */
function bins(times: number[], binMs: number): number[] {
  const out: number[] = [];
  for (const t of times) out[Math.floor(t / binMs)] = (out[Math.floor(t / binMs)] ?? 0) + 1;
  return Array.from(out, (n) => n ?? 0);
}

/** Keys on their slots at the planned rate from `fromMs` to `toMs`, each asking `lateMs` after its slot. */
function onTime(fromMs: number, toMs: number, lateMs: number, prefix = "t"): Ask[] {
  const asks: Ask[] = [];
  for (let slot = fromMs; slot < toMs; slot += 1 / PLANNED_PER_MS)
    asks.push({ seed: `${prefix}${slot}`, slotMs: slot, atMs: slot + lateMs });
  return asks;
}

void test("on-time refreshes never wait, even all at once with the bucket empty", () => {
  const pacer = new RefreshPacer(() => PLANNED_PER_MS);
  for (let k = 0; k < 200; k++) assert.equal(pacer.admit(`k${k}`, 1000, INTERVAL, 1000 + (k % 100)), 0);
});

void test("a controller that keeps up is never held, even a steady 300 ms behind its slots", () => {
  const pacer = new RefreshPacer(() => PLANNED_PER_MS);
  const asks = onTime(0, 2 * INTERVAL, 300);
  const admitted = simulate(pacer, asks, 2 * INTERVAL + 1000);
  assert.equal(admitted.size, asks.length);
  for (const { askedMs, atMs } of admitted.values()) assert.equal(atMs, askedMs);
});

void test("a controller 150–650 ms behind, jittered, is held a second at most", () => {
  const pacer = new RefreshPacer(() => PLANNED_PER_MS);
  let x = 1;
  const jitter = () => ((x = (x * 48271) % 2147483647) / 2147483647) * 500;
  const asks = onTime(0, 2 * INTERVAL, 0).map((a) => ({ ...a, atMs: Math.round(a.slotMs + 150 + jitter()) }));
  const admitted = simulate(pacer, asks, 3 * INTERVAL);
  assert.equal(admitted.size, asks.length);
  const waits = [...admitted.values()].map((a) => a.atMs - a.askedMs);
  assert.ok(Math.max(...waits) <= 1000, `longest wait ${Math.max(...waits)} ms`);
});

void test("a burst of late refreshes is released at the headroom the on-time ones leave", () => {
  const pacer = new RefreshPacer(() => PLANNED_PER_MS);
  // A stall: 20 keys whose slots fell a second or more before 2 s all ask at 2 s; on-time keys go on at 25/s.
  const late = Array.from({ length: 20 }, (_, k) => ({ seed: `late${k}`, slotMs: 500 + k * 25, atMs: 2000 }));
  const steady = [...onTime(0, 1000, 0, "a"), ...onTime(2000, 30_000, 0, "b")];
  const admitted = simulate(pacer, [...late, ...steady], 30_000);
  assert.equal(admitted.size, late.length + steady.length);
  // Every on-time key read at its slot.
  for (const ask of steady) assert.equal(admitted.get(ask.seed)?.atMs, ask.atMs, ask.seed);
  // No one-second bin above 1.2 × the planned 25 reads plus the burst allowance (unpaced: 45 in bin 2).
  const perSecond = bins(
    [...admitted.values()].map((a) => a.atMs),
    1000,
  );
  const bound = PACE_HEADROOM * PLANNED_PER_MS * 1000 + BURST;
  for (const [i, n] of perSecond.entries()) assert.ok(n <= bound, `bin ${i}: ${n} reads > ${bound}`);
  // The late ones went out at about the headroom, 0.2 × 25 = 5/s: 20 of them over ~3.5 s, not at once.
  const lateAt = late.map((a) => admitted.get(a.seed)?.atMs ?? NaN).sort((a, b) => a - b);
  const span = (lateAt.at(-1) as number) - (lateAt[0] as number);
  assert.ok(span >= 2_500 && span < INTERVAL * MAX_DELAY, `late reads spread over ${span} ms`);
});

void test("no late refresh waits more than 1/8 of its interval, however long the backlog", () => {
  const pacer = new RefreshPacer(() => PLANNED_PER_MS);
  // 2,000 late keys at once: at the headroom they would take 400 s; the bound is 5 s.
  const late = Array.from({ length: 2000 }, (_, k) => ({ seed: `k${k}`, slotMs: 0, atMs: 1000 + (k % 7) }));
  const admitted = simulate(pacer, late, 20_000);
  assert.equal(admitted.size, late.length);
  const delays = [...admitted.values()].map((a) => a.atMs - a.askedMs);
  const bound = INTERVAL * MAX_DELAY;
  assert.ok(Math.max(...delays) <= bound, `max delay ${Math.max(...delays)} ms > ${bound} ms`);
  // And the pacer did hold them (the bound is not met by releasing everything at once).
  assert.ok(delays.filter((d) => d > 0).length > 1900);
});

void test("ExternalSecrets sharing a key share its turn: one read, no second token", () => {
  const pacer = new RefreshPacer(() => PLANNED_PER_MS);
  // Late keys drain the bucket; then the first ExternalSecret of key s is admitted at its turn.
  let t = 5000;
  const drain = (prefix: string) => {
    for (let k = 0; pacer.admit(`${prefix}${k}`, 0, INTERVAL, t) === 0; k++);
  };
  drain("a");
  let wait: number;
  while ((wait = pacer.admit("s", 0, INTERVAL, t)) > 0) t += wait;
  drain("b");
  assert.equal(pacer.admit("s", 0, INTERVAL, t), 0, "another ExternalSecret of key s, same slot");
  assert.ok(pacer.admit("other", 0, INTERVAL, t) > 0, "a different late key still waits");
  t = INTERVAL + 5000;
  drain("c");
  assert.ok(pacer.admit("s", INTERVAL, INTERVAL, t) > 0, "key s's next slot is a new turn");
});

void test("nothing planned (no placed keys): nothing is paced", () => {
  const pacer = new RefreshPacer(() => 0);
  for (let k = 0; k < 10; k++) assert.equal(pacer.admit(`k${k}`, 0, INTERVAL, 30_000), 0);
});
