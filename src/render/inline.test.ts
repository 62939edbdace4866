import assert from "node:assert/strict";
import { test } from "node:test";
import { findInDocument } from "../refs/find.ts";
import { parseConfig } from "./config.ts";
import { InlineRenderer } from "./inline.ts";
import { limiter } from "./limit.ts";

const config = parseConfig(
  `
stores:
  demo:
    provider:
      fake:
        data:
          - { key: app/db, valueMap: { user: u, password: p } }
          - { key: app/db, valueMap: { user: u2, password: p2 } }
          - { key: app/api, value: "{\\"token\\": \\"t\\"}" }
policy:
  - projects: [p]
    stores: [demo]
    paths: [app]
`,
  "refsync.yaml",
);

void test("each distinct (store, key, version) is read once per run, whatever the number of references", async () => {
  const reads: string[] = [];
  const docs = Array.from({ length: 50 }, (_, i) => {
    const doc = {
      file: "f.yaml",
      index: i,
      value: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `cm${i}` },
        data: {
          a: "ref+fake://app/db#user",
          b: "x ref+fake://app/db#password+ ref+fake://app/api#token+",
          c: "ref+fake://app/db?version=1#user",
        },
      },
    };
    return { doc, occurrences: findInDocument(doc).occurrences };
  });
  const renderer = new InlineRenderer({
    config,
    requester: { project: "p", namespace: "n" },
    defaults: { byProvider: { fake: "demo" } },
    concurrency: 2,
    onRead: (store, key, version) => reads.push(`${store}/${key}@${version ?? ""}`),
  });
  assert.deepEqual(await renderer.render(docs), []);
  assert.deepEqual(reads.sort(), ["demo/app/api@", "demo/app/db@", "demo/app/db@1"]);
  assert.deepEqual((docs[7]?.doc.value as { data: unknown }).data, { a: "u2", b: "x p2 t", c: "u" });
});

void test("limiter runs at most n jobs at a time, in order", async () => {
  const limit = limiter(3);
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      limit(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 1));
        order.push(i);
        active--;
      }),
    ),
  );
  assert.equal(peak, 3);
  assert.equal(order.length, 20);
});
