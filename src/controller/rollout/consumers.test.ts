import assert from "node:assert/strict";
import test from "node:test";
import { ALL_KEYS, keysRead, secretUsage, type PodSpec } from "./consumers.ts";

const spec: PodSpec = {
  initContainers: [{ env: [{ valueFrom: { secretKeyRef: { name: "init", key: "token" } } }] }],
  containers: [
    {
      env: [
        { valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
        { valueFrom: { secretKeyRef: { name: "db", key: "user" } } },
        {},
      ],
      envFrom: [{ secretRef: { name: "api" } }, {}],
    },
  ],
  volumes: [
    { secret: { secretName: "tls" } },
    { secret: { secretName: "db", items: [{ key: "ca.crt" }] } },
    {
      projected: {
        sources: [
          { secret: { name: "proj", items: [{ key: "a" }, { key: "b" }] } },
          { secret: { name: "whole" } },
        ],
      },
    },
  ],
};

void test("secretUsage: env keys, envFrom, whole and item volumes, projected sources, init containers", () => {
  const u = secretUsage(spec);
  const view = Object.fromEntries(
    [...u].map(([name, v]) => [name, { keys: [...v.keys].sort(), env: v.env }]),
  );
  assert.deepEqual(view, {
    init: { keys: ["token"], env: true },
    db: { keys: ["ca.crt", "password", "user"], env: true },
    api: { keys: [ALL_KEYS], env: true },
    tls: { keys: [ALL_KEYS], env: false },
    proj: { keys: ["a", "b"], env: false },
    whole: { keys: [ALL_KEYS], env: false },
  });
  assert.equal(secretUsage(undefined).size, 0);
});

void test("keysRead: only the changed keys a consumer uses; whole-Secret readers use every key", () => {
  const u = secretUsage(spec);
  assert.deepEqual(keysRead(u.get("db")!, ["password", "other"]), ["password"]);
  assert.deepEqual(keysRead(u.get("db")!, ["other"]), []);
  assert.deepEqual(keysRead(u.get("api")!, ["other"]), ["other"]);
  assert.deepEqual(keysRead(u.get("tls")!, []), []);
  // Unknown change set: every key a specific reader uses, ALL_KEYS for whole readers.
  assert.deepEqual(keysRead(u.get("db")!, undefined), ["ca.crt", "password", "user"]);
  assert.deepEqual(keysRead(u.get("whole")!, undefined), [ALL_KEYS]);
});
