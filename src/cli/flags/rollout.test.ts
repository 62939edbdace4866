import assert from "node:assert/strict";
import test from "node:test";
import { parseControllerFlags } from "../controller.ts";
import { parseRolloutFlags } from "./rollout.ts";
import { Rollouts } from "../../controller/rollout/rollouts.ts";

void test("rollout flags: defaults, bad values named, wired into the controller options", () => {
  assert.ok(parseRolloutFlags({}) instanceof Rollouts);
  assert.throws(
    () => parseRolloutFlags({ "rollout-window": "soon" }),
    /--rollout-window: "soon" is not a duration/,
  );
  assert.throws(() => parseRolloutFlags({ "rollout-max-concurrent": "0" }), /--rollout-max-concurrent/);
  assert.throws(() => parseRolloutFlags({ "rollout-deadline": "-" }), /--rollout-deadline/);
  const flags = parseControllerFlags(["--rollout-window", "2s", "--rollout-max-concurrent", "3"], {
    POD_NAMESPACE: "refsync",
  });
  const rollouts = flags.options.consumers;
  assert.ok(rollouts instanceof Rollouts);
  assert.deepEqual(flags.options.hooks, [rollouts.hook]);
  assert.ok(flags.options.leaderLoops?.includes(rollouts.loop));
});
