import assert from "node:assert/strict";
import { test } from "node:test";
import type { SecretStore } from "../../api/v1alpha1.ts";
import { silentLogger } from "../../log.ts";
import { ControllerMetrics } from "../metrics.ts";
import type { ChangeSource, ChangeSourceFactory, SourceHealth } from "./source.ts";
import { EventSources } from "./sources.ts";

function store(name: string, events: SecretStore["spec"]["events"], generation = 1): SecretStore {
  return {
    apiVersion: "refsync.dev/v1alpha1",
    kind: "SecretStore",
    metadata: { name, namespace: "team", uid: `uid-${name}`, generation },
    spec: { provider: { fake: { data: [] } }, events },
  };
}

/** A source that fails its first start, then runs until aborted. */
class FlakySource implements ChangeSource {
  readonly name = "webhook";
  starts = 0;
  #health: SourceHealth = { up: false, reason: "starting" };
  readonly changed: () => void;
  constructor(changed: () => void) {
    this.changed = changed;
  }
  async start(signal: AbortSignal): Promise<void> {
    this.starts++;
    if (this.starts === 1) throw new Error("connection refused");
    this.#health = { up: true };
    this.changed();
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }
  health(): SourceHealth {
    return this.#health;
  }
}

void test("sources start per configured field, restart after giving up, and refuse what they cannot serve", async () => {
  const metrics = new ControllerMetrics();
  const healthChanges: string[] = [];
  const created: FlakySource[] = [];
  const hookedConditions: ReturnType<EventSources["condition"]>[] = [];
  const webhook: ChangeSourceFactory = {
    field: "webhook",
    create: (_store, ctx) => {
      const s = new FlakySource(() => ctx.healthChanged());
      created.push(s);
      return s;
    },
  };
  const awsOnly: ChangeSourceFactory = { field: "awsSqs", providers: ["aws"], create: () => assert.fail() };
  const sources = new EventSources({
    log: silentLogger,
    metrics,
    factories: [webhook, awsOnly],
    sink: () => undefined,
    providerContext: () => ({ storeName: "test", readCredential: () => Promise.resolve("") }),
    readKeys: () => new Set(),
    // Recorded as each change happens: sampling later would race the 10 ms restart under load.
    onHealthChanged: (s) => {
      healthChanges.push(s.metadata.name);
      if (s.metadata.name === "hooked") hookedConditions.push(sources.condition(s));
    },
    restartMs: 10,
  });
  const abort = new AbortController();
  const hooked = store("hooked", { webhook: { secretRef: { name: "s", key: "k" } } });
  const refused = store("refused", {
    awsSqs: { queueUrl: "https://sqs.eu-west-1.amazonaws.com/1/q" },
    gcpPubSub: { subscription: "projects/p/subscriptions/s" },
  });
  sources.start(abort.signal, [hooked, refused, store("plain", undefined)]);
  try {
    assert.equal(sources.condition(store("plain", undefined)), undefined, "no spec.events, no condition");
    const down = sources.condition(refused);
    assert.equal(down?.status, "False");
    assert.equal(down?.reason, "SourceUnavailable");
    assert.match(down?.message ?? "", /awsSqs serves stores of provider aws, not fake/);
    assert.match(down?.message ?? "", /gcpPubSub is not available in this build/);
    // The first start fails: down, with its reason, then restarted.
    for (let i = 0; i < 2000 && sources.condition(hooked)?.status !== "True"; i++)
      await new Promise((r) => setTimeout(r, 5));
    const failed = hookedConditions.find((c) => c?.message.includes("connection refused"));
    assert.deepEqual([failed?.status, failed?.reason], ["False", "SourceDown"]);
    assert.match(
      failed?.message ?? "",
      /webhook: connection refused; ExternalSecrets refresh on their refreshInterval/,
    );
    assert.deepEqual(sources.condition(hooked), {
      type: "EventsReady",
      status: "True",
      reason: "SourcesUp",
      message: "receiving changes from webhook",
    });
    assert.equal(created.length, 1);
    assert.equal(created[0]?.starts, 2);
    assert.ok(healthChanges.includes("hooked"));
    const up = await metrics.registry.getSingleMetricAsString("refsync_event_source_up");
    assert.match(up, /store="hooked",source="webhook"} 1/);
    // The same generation changes nothing; a new one restarts the source.
    sources.sync(hooked);
    assert.equal(created.length, 1);
    sources.sync(store("hooked", { webhook: { secretRef: { name: "s2", key: "k" } } }, 2));
    assert.equal(created.length, 2);
    sources.remove(hooked);
    assert.equal(sources.condition(hooked), undefined);
    assert.doesNotMatch(
      await metrics.registry.getSingleMetricAsString("refsync_event_source_up"),
      /store="hooked"/,
    );
  } finally {
    abort.abort();
    await sources.stop();
  }
});
