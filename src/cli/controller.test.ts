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

void test("--audit-log: stdout, stderr or file:PATH, rotation and --audit-required; unset, nothing is audited", () => {
  const env = { POD_NAMESPACE: "refsync" };
  const audit = (argv: string[], e: NodeJS.ProcessEnv = env) => parseControllerFlags(argv, e, outside).audit;
  assert.equal(audit([]), undefined);
  assert.deepEqual(audit(["--audit-log", "/var/log/a.jsonl"]), {
    target: { kind: "file", path: "/var/log/a.jsonl" },
    maxBytes: 100 * 1024 * 1024,
    maxFiles: 5,
    required: false,
  });
  assert.deepEqual(audit(["--audit-log", "-"])?.target, { kind: "stdout" });
  assert.deepEqual(audit(["--audit-log", "stderr"])?.target, { kind: "stderr" });
  assert.deepEqual(audit([], { ...env, REFSYNC_AUDIT_LOG: "file:/a" })?.target, { kind: "file", path: "/a" });
  assert.deepEqual(
    audit([
      "--audit-log",
      "file:/a",
      "--audit-log-max-size",
      "10Mi",
      "--audit-log-max-files",
      "2",
      "--audit-required",
    ]),
    { target: { kind: "file", path: "/a" }, maxBytes: 10 * 1024 * 1024, maxFiles: 2, required: true },
  );
  assert.throws(() => audit(["--audit-log", ""]), /--audit-log/);
  assert.throws(() => audit(["--audit-log", "file:"]), /--audit-log: want stdout, stderr or file:PATH/);
  assert.throws(() => audit(["--audit-log", "-", "--audit-log-max-size", "lots"]), /--audit-log-max-size/);
  assert.throws(() => audit(["--audit-log", "-", "--audit-log-max-files", "-1"]), /--audit-log-max-files/);
  assert.throws(() => audit(["--audit-required"]), /--audit-required: needs --audit-log/);
});

void test("--controller-class: ESO's default class unless given; an empty class is refused", () => {
  const env = { POD_NAMESPACE: "refsync" };
  assert.equal(parseControllerFlags([], env, outside).options.controllerClass, "default");
  assert.equal(
    parseControllerFlags(["--controller-class", "blue"], env, outside).options.controllerClass,
    "blue",
  );
  assert.throws(
    () => parseControllerFlags(["--controller-class="], env, outside),
    /^Error: --controller-class: must not be empty$/,
  );
});
