/**
 * Generators (dataFrom[].sourceRef.generatorRef) on a real API server: the
 * Secret gets generated values, two ExternalSecrets referencing one
 * generator get different ones (nothing shared through the read cache),
 * refresh regenerates as ESO does (Periodic yes; CreatedOnce and OnChange
 * keep the first values), ESO's documented fake and cluster generator
 * examples convert and sync, and no generated value reaches a log, event,
 * status or metric.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { convertEsoObject } from "../../src/api/eso.ts";
import type { ExternalSecret } from "../../src/api/v1alpha1.ts";
import type { KubeObject } from "../../src/kube/client.ts";
import { generatorTypes, resourceTypes } from "../../src/kube/resources.ts";
import {
  applyObject,
  deleteObject,
  externalSecret,
  fakeStore,
  getExternalSecret,
  getSecret,
  observableTexts,
  useControllerSuite,
  waitFor,
  waitForCondition,
} from "./harness.ts";
import { docBlock } from "../docs/markdown.ts";

const GENERATORS = "generators.refsync.dev/v1alpha1";

void describe("generators", () => {
  const suite = useControllerSuite("generators");
  const apply = (kind: string, name: string, spec: unknown, namespace: string | undefined = suite.ns) => {
    const type = generatorTypes[kind];
    assert.ok(type);
    return suite.ctl.kube.apply(
      type,
      { apiVersion: GENERATORS, kind, metadata: { name, ...(type.namespaced && { namespace }) }, spec },
      { fieldManager: "test", force: true },
    );
  };
  const generated = (
    name: string,
    kind: string,
    spec: Omit<ExternalSecret["spec"], "dataFrom"> = {},
    generator = "gen",
  ) =>
    externalSecret(suite.ns, name, {
      ...spec,
      dataFrom: [{ sourceRef: { generatorRef: { apiVersion: GENERATORS, kind, name: generator } } }],
    } as ExternalSecret["spec"]);
  /** Every generated value seen, for the leak checks at the end. */
  const seen = new Set<string>();
  const secretData = async (name: string) => {
    const data = (await getSecret(suite.ctl.kube, suite.ns, name))?.data;
    for (const v of Object.values(data ?? {})) seen.add(v);
    return data;
  };

  void test("a Password generator: each ExternalSecret gets its own password", async () => {
    const { ctl, ns } = suite;
    await apply("Password", "gen", { length: 32, digits: 4, symbols: 4, symbolCharacters: "-_=+" });
    await applyObject(ctl.kube, generated("one", "Password"));
    await applyObject(ctl.kube, generated("two", "Password"));
    for (const name of ["one", "two"])
      await waitForCondition(ctl.kube, ns, name, "Ready", "True", "SecretSynced");
    const one = await secretData("one");
    const two = await secretData("two");
    assert.deepEqual(Object.keys(one ?? {}), ["password"]);
    assert.match(one?.password ?? "", /^[A-Za-z0-9=+_-]{32}$/);
    assert.equal(one?.password?.replace(/[^0-9]/g, "").length, 4);
    assert.notEqual(one?.password, two?.password, "two ExternalSecrets, two passwords");
  });

  void test("refresh: Periodic regenerates; CreatedOnce and OnChange keep the first value", async () => {
    const { ctl, ns } = suite;
    await apply("UUID", "gen", {});
    for (const [name, refreshPolicy] of [
      ["periodic", "Periodic"],
      ["onchange", "OnChange"],
      ["once", "CreatedOnce"],
    ] as const) {
      await applyObject(ctl.kube, generated(name, "UUID", { refreshInterval: "1s", refreshPolicy }));
      await waitForCondition(ctl.kube, ns, name, "Ready", "True");
    }
    const first = Object.fromEntries(
      await Promise.all(["periodic", "onchange", "once"].map(async (n) => [n, (await secretData(n))?.uuid])),
    ) as Record<string, string>;
    assert.match(
      first.periodic ?? "",
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // Two new values of the periodic one: its two refresh slots were time enough for the others'.
    let last = first.periodic;
    for (let i = 0; i < 2; i++) {
      last = await waitFor(async () => {
        const now = (await secretData("periodic"))?.uuid;
        return now !== undefined && now !== last ? now : undefined;
      }, "a regenerated uuid");
    }
    assert.equal((await secretData("onchange"))?.uuid, first.onchange);
    assert.equal((await secretData("once"))?.uuid, first.once);
    // CreatedOnce generates again only for a deleted Secret, as it reads again only then.
    await deleteObject(ctl.kube, { kind: "Secret", metadata: { name: "once", namespace: ns } });
    const again = await waitFor(async () => {
      const now = (await secretData("once"))?.uuid;
      return now !== undefined && now !== first.once ? now : undefined;
    }, "CreatedOnce recreated");
    assert.notEqual(again, first.once);
    // OnChange: a spec change generates again.
    await applyObject(
      ctl.kube,
      generated("onchange", "UUID", { refreshInterval: "2s", refreshPolicy: "OnChange" }),
    );
    await waitFor(async () => {
      const now = (await secretData("onchange"))?.uuid;
      return now !== undefined && now !== first.onchange ? now : undefined;
    }, "OnChange regenerated on a spec change");
  });

  void test("generated data merges with store reads in dataFrom order, rewrites applied", async () => {
    const { ctl, ns } = suite;
    await applyObject(
      ctl.kube,
      fakeStore(ns, "store", [{ key: "db", valueMap: { user: "app", password: "stored" } }]),
    );
    await apply("Fake", "fake", { data: { password: "generated", extra: "x" } });
    await applyObject(
      ctl.kube,
      externalSecret(ns, "mixed", {
        secretStoreRef: { name: "store" },
        dataFrom: [
          { extract: { key: "db" } },
          {
            sourceRef: { generatorRef: { apiVersion: GENERATORS, kind: "Fake", name: "fake" } },
            rewrite: [{ regexp: { source: "^extra$", target: "renamed" } }],
          },
        ],
      } as ExternalSecret["spec"]),
    );
    await waitForCondition(ctl.kube, ns, "mixed", "Ready", "True");
    assert.deepEqual(await secretData("mixed"), { user: "app", password: "generated", renamed: "x" });
  });

  void test("ESO's fake and cluster generator examples convert and sync", async () => {
    const { ctl, ns } = suite;
    const eso = (o: Record<string, unknown>) => {
      const c = convertEsoObject(o);
      assert.ok(c.ok, JSON.stringify(c));
      return c.object as unknown as KubeObject;
    };
    const fake = eso({
      apiVersion: "generators.external-secrets.io/v1alpha1",
      kind: "Fake",
      metadata: { name: "fake-key", namespace: ns },
      spec: { data: { foo: "bar", baz: "bang" } },
    });
    await ctl.kube.apply(generatorTypes.Fake as never, fake, { fieldManager: "test", force: true });
    const cluster = eso({
      apiVersion: "generators.external-secrets.io/v1alpha1",
      kind: "ClusterGenerator",
      metadata: { name: `${ns}-cluster-gen` },
      spec: {
        kind: "Password",
        generator: {
          passwordSpec: {
            length: 42,
            digits: 5,
            symbols: 5,
            symbolCharacters: "-_$@",
            noUpper: false,
            allowRepeat: true,
          },
        },
      },
    });
    await ctl.kube.apply(generatorTypes.ClusterGenerator as never, cluster, {
      fieldManager: "test",
      force: true,
    });
    for (const [name, kind, generator] of [
      ["fake", "Fake", "fake-key"],
      ["cluster-secret", "ClusterGenerator", `${ns}-cluster-gen`],
    ] as const) {
      const es = eso({
        apiVersion: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: { name, namespace: ns },
        spec: {
          refreshInterval: "30m0s",
          target: { name },
          dataFrom: [
            {
              sourceRef: {
                generatorRef: {
                  apiVersion: "generators.external-secrets.io/v1alpha1",
                  kind,
                  name: generator,
                },
              },
            },
          ],
        },
      });
      await ctl.kube.apply(resourceTypes.externalSecret, es, { fieldManager: "test", force: true });
      await waitForCondition(ctl.kube, ns, name, "Ready", "True");
    }
    assert.deepEqual(await secretData("fake"), { foo: "bar", baz: "bang" });
    const password = (await secretData("cluster-secret"))?.password ?? "";
    assert.equal(password.length, 42);
    assert.equal(password.replace(/[^-_$@]/g, "").length, 5);
    await ctl.kube.delete(generatorTypes.ClusterGenerator as never, undefined, `${ns}-cluster-gen`);
  });

  void test("a missing or invalid generator: Ready=False naming the field, the Secret kept", async () => {
    const { ctl, ns } = suite;
    const readyOf = async () =>
      (await getExternalSecret(ctl.kube, ns, "broken"))?.status?.conditions?.find((c) => c.type === "Ready");
    await applyObject(ctl.kube, generated("broken", "Password", {}, "flaky"));
    await waitFor(
      async () =>
        /generatorRef: Password "flaky" not found in namespace/.test((await readyOf())?.message ?? "")
          ? true
          : undefined,
      "NotFound naming spec.dataFrom[0].sourceRef.generatorRef",
    );
    assert.match((await readyOf())?.message ?? "", /^spec\.dataFrom\[0\]\.sourceRef\.generatorRef: /);
    await apply("Password", "flaky", { length: 20 });
    await waitForCondition(ctl.kube, ns, "broken", "Ready", "True");
    const kept = (await secretData("broken"))?.password;
    assert.equal(kept?.length, 20);
    // The generator goes bad: the next sync (forced) fails, naming the field, and writes nothing.
    await apply("Password", "flaky", { length: 4, digits: 4, symbols: 4 });
    await ctl.kube.mergePatch(resourceTypes.externalSecret, ns, "broken", {
      metadata: { annotations: { "refsync.dev/force-sync": "1" } },
    });
    await waitFor(async () => {
      const c = await readyOf();
      return c?.reason === "InvalidSpec" &&
        /Password "flaky": spec\.digits: digits and symbols \(8\) exceed length \(4\)/.test(c.message)
        ? true
        : undefined;
    }, "InvalidSpec naming spec.digits");
    assert.equal((await secretData("broken"))?.password, kept);
  });

  void test("the example of docs/generators.md: a CreatedOnce password", async () => {
    const { ctl, ns } = suite;
    for (const doc of parseAllDocuments(docBlock("test/controller/generators.test.ts", "db-password"))) {
      const object = doc.toJS() as KubeObject;
      object.metadata.namespace = ns;
      const type = generatorTypes[object.kind ?? ""] ?? resourceTypes.externalSecret;
      await ctl.kube.apply(type, object, { fieldManager: "test", force: true });
    }
    await waitForCondition(ctl.kube, ns, "db", "Ready", "True", "SecretSynced");
    const password = (await secretData("db"))?.password ?? "";
    assert.match(password, /^[A-Za-z0-9_.~-]{32}$/);
    assert.equal(password.replace(/[^-_.~]/g, "").length, 4);
  });

  void test("no generated value in the log, events, statuses or metrics", async () => {
    const { ctl, ns } = suite;
    const values = [...seen].filter((v) => v.length >= 8); // the fake's short constants are test data
    assert.ok(values.length >= 5);
    const texts = await observableTexts(ctl, ns);
    for (const v of values) {
      for (const [where, text] of Object.entries(texts))
        assert.ok(!text.includes(v), `a generated value in the ${where}`);
    }
  });
});
