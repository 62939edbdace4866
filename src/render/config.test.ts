import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../errors.ts";
import { denial, parseConfig, pathUnder } from "./config.ts";

const config = parseConfig(
  `
stores:
  vault: { provider: { vault: { server: https://vault } } }
  files: { provider: { fake: { file: data.yaml } } }
modes: [deferred, inline]
policy:
  - projects: [team-a]
    stores: [vault]
    paths: [team-a/]
  - namespaces: ["shared-*"]
    stores: [vault]
    paths: [shared]
  - projects: [ops]
    namespaces: [ops]
    stores: [vault, files]
    paths: [""]
`,
  "/etc/refsync/refsync.yaml",
);

void test("defaults, and fake data files resolve next to the config", () => {
  assert.deepEqual(parseConfig("", "x.yaml"), {
    stores: {},
    defaultStores: {},
    modes: ["deferred"],
    policy: [],
  });
  assert.deepEqual(config.stores.files?.provider, { fake: { file: "/etc/refsync/data.yaml" } });
});

void test("paths match on whole segments", () => {
  assert.ok(pathUnder("team-a/db", "team-a/"));
  assert.ok(pathUnder("team-a/db", "team-a"));
  assert.ok(pathUnder("team-a", "team-a"));
  assert.ok(!pathUnder("team-ab/db", "team-a"));
  assert.ok(pathUnder("anything", ""));
});

void test("the policy allows only what a rule names; denials name project, namespace, store and path", () => {
  const who = (project: string, namespace: string) => ({ project, namespace });
  assert.equal(denial(config, who("team-a", "any"), "vault", "team-a/db"), undefined);
  assert.equal(
    denial(config, who("team-a", "any"), "vault", "team-b/db"),
    'policy denies project "team-a" (namespace "any") reading store "vault" path "team-b/db"',
  );
  assert.match(denial(config, who("team-a", "any"), "files", "team-a/db") ?? "", /store "files"/);
  assert.equal(denial(config, who("anyone", "shared-1"), "vault", "shared/db"), undefined);
  assert.notEqual(denial(config, who("anyone", "shared"), "vault", "shared/db"), undefined);
  assert.equal(denial(config, who("ops", "ops"), "files", "x"), undefined);
  assert.notEqual(denial(config, who("ops", "team-a"), "files", "x"), undefined, "both selectors must match");
  assert.match(denial(config, who("ops", "ops"), "vault", "a/../b") ?? "", /"\." or "\.\." segment/);
});

void test("invalid configurations name the field", () => {
  const bad: [string, RegExp][] = [
    [
      "policy: [{ stores: [v], paths: [a] }]",
      /^c\.yaml: policy\[0\]: a rule must name projects or namespaces$/,
    ],
    ["modes: [sometimes]", /^c\.yaml: modes\[0\]: /],
    ["defaultStores: { gcp: x }", /^c\.yaml: defaultStores/],
    ["stores: [", /^c\.yaml: invalid YAML/],
  ];
  for (const [text, message] of bad) {
    assert.throws(
      () => parseConfig(text, "c.yaml"),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      text,
    );
  }
});
