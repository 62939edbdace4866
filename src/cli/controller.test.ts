import assert from "node:assert/strict";
import test from "node:test";
import { parseControllerFlags } from "./controller.ts";

const outside = () => undefined;

void test("the data-hash key lives in the controller's namespace: POD_NAMESPACE, else the service account's", () => {
  assert.deepEqual(parseControllerFlags([], { POD_NAMESPACE: "refsync" }, outside).options.hashKeySecret, {
    namespace: "refsync",
    name: "refsync-hash-key",
  });
  assert.deepEqual(parseControllerFlags([], {}, () => "from-sa").options.hashKeySecret, {
    namespace: "from-sa",
    name: "refsync-hash-key",
  });
  assert.deepEqual(
    parseControllerFlags(["--lease-namespace", "ops"], { POD_NAMESPACE: "refsync" }, outside).options
      .hashKeySecret,
    { namespace: "ops", name: "refsync-hash-key" },
  );
  assert.deepEqual(
    parseControllerFlags(["--hash-key-secret", "keys/hk"], {}, outside).options.hashKeySecret,
    { namespace: "keys", name: "hk" },
  );
});

void test("outside a cluster with no namespace known, start fails with one actionable line", () => {
  assert.throws(
    () => parseControllerFlags([], {}, outside),
    (err: Error) =>
      /^--hash-key-secret: no namespace for the data-hash key Secret .*: pass --hash-key-secret NAMESPACE\/NAME/.test(
        err.message,
      ) && !err.message.includes("\n"),
  );
  assert.throws(
    () => parseControllerFlags(["--leader-elect"], { POD_NAMESPACE: "" }, outside),
    /^Error: --leader-elect: no namespace for the Lease .*: pass --lease-namespace NS$/,
  );
});

void test("--audit-log names the audit file, or - for stdout; unset, nothing is audited", () => {
  const env = { POD_NAMESPACE: "refsync" };
  assert.equal(parseControllerFlags([], env, outside).auditLog, undefined);
  assert.equal(
    parseControllerFlags(["--audit-log", "/var/log/a.jsonl"], env, outside).auditLog,
    "/var/log/a.jsonl",
  );
  assert.equal(parseControllerFlags(["--audit-log", "-"], env, outside).auditLog, "-");
  assert.throws(() => parseControllerFlags(["--audit-log", ""], env, outside), /--audit-log/);
});
