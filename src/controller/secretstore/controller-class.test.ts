import assert from "node:assert/strict";
import test from "node:test";
import { DEFAULT_CONTROLLER_CLASS, handlesStore } from "./controller-class.ts";

const store = (controller?: string) => ({
  spec: { provider: { fake: {} }, ...(controller !== undefined && { controller }) },
});

void test("a store with no class or an empty one is every controller's", () => {
  for (const cls of [DEFAULT_CONTROLLER_CLASS, "blue"]) {
    assert.equal(handlesStore(store(), cls), true);
    assert.equal(handlesStore(store(""), cls), true);
  }
});

void test("a store naming a class is only that controller's (ESO's ShouldProcessStore)", () => {
  assert.equal(handlesStore(store("blue"), "blue"), true);
  assert.equal(handlesStore(store("blue"), DEFAULT_CONTROLLER_CLASS), false);
  assert.equal(handlesStore(store("default"), DEFAULT_CONTROLLER_CLASS), true);
  assert.equal(handlesStore(store("default"), "blue"), false);
});
