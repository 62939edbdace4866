import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseFreshnessFlags } from "./freshness.ts";

void describe("freshness flags", () => {
  void it("off by default (interval 0)", () => {
    assert.deepEqual(parseFreshnessFlags({}, {}, "refsync-system"), []);
    assert.deepEqual(parseFreshnessFlags({ "freshness-interval": "0s" }, {}, "refsync-system"), []);
  });

  void it("an interval starts one leader loop", () => {
    assert.equal(
      parseFreshnessFlags({ "freshness-interval": "5m" }, { REFSYNC_CONFIG: "/etc/refsync.yaml" }, "ns")
        .length,
      1,
    );
  });

  void it("a bad interval names the flag", () => {
    assert.throws(
      () => parseFreshnessFlags({ "freshness-interval": "soon" }, {}, "ns"),
      /--freshness-interval: "soon"/,
    );
  });
});
