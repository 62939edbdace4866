// Vault Enterprise replication states (X-Vault-Index) merged as Vault's Go client merges them.
import assert from "node:assert/strict";
import { it } from "node:test";
import { mergeReplicationStates, parseReplicationState } from "./consistency.ts";

const state = (cluster: string, local: number, replicated: number): string =>
  Buffer.from(`v1:${cluster}:${local}:${replicated}:0a1b`).toString("base64");

void it("parses v1 states and refuses anything else", () => {
  assert.deepEqual(parseReplicationState(state("c1", 5, 7)), { cluster: "c1", local: 5n, replicated: 7n });
  assert.equal(parseReplicationState(Buffer.from("v2:c1:5:7:00").toString("base64")), undefined);
  assert.equal(parseReplicationState(Buffer.from("v1::5:7:00").toString("base64")), undefined);
  assert.equal(parseReplicationState(Buffer.from("v1:c1:x:7:00").toString("base64")), undefined);
  assert.equal(parseReplicationState("not base64!"), undefined);
});

void it("keeps the newer state of a cluster, both when neither is newer, and starts over otherwise", () => {
  const a = state("c1", 5, 5);
  assert.deepEqual(mergeReplicationStates([], a), [a]);
  assert.deepEqual(mergeReplicationStates([a], state("c1", 6, 5)), [state("c1", 6, 5)]);
  assert.deepEqual(mergeReplicationStates([a], state("c1", 4, 5)), [a]);
  assert.deepEqual(mergeReplicationStates([a], a), [a]);
  const crossed = state("c1", 6, 4);
  assert.deepEqual(mergeReplicationStates([a], crossed), [a, crossed]);
  assert.deepEqual(mergeReplicationStates([a, crossed], state("c1", 7, 7)), [state("c1", 7, 7)]);
  assert.deepEqual(mergeReplicationStates([a], state("c2", 1, 1)), [state("c2", 1, 1)]);
  assert.deepEqual(mergeReplicationStates([a], "garbage"), ["garbage"]);
  assert.deepEqual(mergeReplicationStates([a, a, a], crossed), [crossed]);
});
