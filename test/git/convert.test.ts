// refsync convert on argocd-vault-plugin fixtures: golden output, comments
// and untouched documents kept, the same references before and after (as
// src/refs reads them), the same deferred render, and an all-or-nothing CLI.
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { convertCommand } from "../../src/cli/convert.ts";
import { convertYaml, type ConvertOptions } from "../../src/git/convert.ts";
import { findInDocument, type Reference } from "../../src/refs/index.ts";
import { parseConfig } from "../../src/render/config.ts";
import { render } from "../../src/render/render.ts";
import { collector } from "./io.ts";

const FIXTURES = join(import.meta.dirname, "fixtures/avp");
const OPTIONS: ConvertOptions = { provider: "vault", store: "vault" };
const inputs = readdirSync(FIXTURES).filter((f) => !f.includes(".converted."));
const read = (f: string): string => readFileSync(join(FIXTURES, f), "utf8");
const golden = (f: string): string => read(f.replace(/\.yaml$/, ".converted.yaml"));

/** What each reference points at (decoding aside), as src/refs reads the text. */
function targets(text: string, file: string): string[] {
  return parseAllDocuments(text)
    .flatMap(
      (doc, index) =>
        findInDocument({ file, index, value: doc.toJS() }, { avp: { provider: "vault", store: "vault" } })
          .occurrences,
    )
    .flatMap((o) => o.tokens.map((t) => t.ref))
    .map(
      (r: Reference) =>
        `${r.provider}://${r.path}#${r.fragment ?? ""} version=${r.version ?? ""} store=${r.store ?? ""}`,
    )
    .sort();
}

void describe("refsync convert", () => {
  for (const file of inputs) {
    void it(`${file}: matches the golden output, keeps comments, reads the same references`, () => {
      const source = read(file);
      const result = convertYaml(source, file, OPTIONS);
      assert.equal(result.text, golden(file));
      for (const comment of source.split("\n").filter((l) => l.includes("#") && /#\s/.test(l))) {
        const text = comment.slice(comment.indexOf("# "));
        assert.ok(result.text.includes(text), `comment kept: ${text}`);
      }
      assert.deepEqual(targets(result.text, file), targets(source, file));
      // Converting again changes nothing.
      const again = convertYaml(result.text, file, OPTIONS);
      assert.equal(again.converted, 0);
      assert.equal(again.text, result.text);
    });
  }

  void it("removes the AVP path annotations only when every generic placeholder was converted", () => {
    assert.doesNotMatch(golden("secret-generic.yaml"), /avp\.kubernetes\.io/);
    assert.match(golden("secret-generic.yaml"), /annotations:\n {4}team: a # kept/);
    assert.doesNotMatch(golden("secret-data.yaml"), /annotations/);
    assert.equal(golden("ignored.yaml"), read("ignored.yaml"));
    // An unchanged document keeps its exact text, odd spacing and quoting included.
    const source = read("secret-generic.yaml");
    assert.ok(golden("secret-generic.yaml").endsWith(source.slice(source.indexOf("---"))));
    // A changed document keeps the file's own sequence and flow style.
    assert.match(golden("deployment.yaml"), /\n {6}- name: web\n[\s\S]*args: \["--port", "8080"\]/);
    const kept = convertYaml(
      `kind: Secret\napiVersion: v1\nmetadata:\n  name: x\n  annotations:\n    avp.kubernetes.io/path: secret/data/x\nstringData:\n  a: <a>\n  b: <b | sha256sum>\n`,
      "x.yaml",
      OPTIONS,
    );
    assert.equal(kept.converted, 1);
    assert.match(kept.text, /avp\.kubernetes\.io\/path: secret\/data\/x/);
    assert.deepEqual(kept.kept, [
      "x.yaml: document 0: Secret/x: stringData.b: placeholder uses modifiers with no ref+ form",
    ]);
  });

  void it("the converted Secret renders (deferred) to the same ExternalSecret", async () => {
    const config = parseConfig(`avp: { provider: vault, store: vault }\n`, "refsync.yaml");
    const dir = mkdtempSync(join(tmpdir(), "refsync-convert-"));
    try {
      const outputs = [];
      for (const text of [read("secret-inline.yaml"), golden("secret-inline.yaml")]) {
        writeFileSync(join(dir, "secret.yaml"), text);
        const rendered = await render({
          input: dir,
          mode: "deferred",
          config,
          requester: { project: "p", namespace: "team-a" },
        });
        assert.ok(rendered.ok, rendered.ok ? "" : rendered.errors.join("\n"));
        outputs.push(rendered.output);
      }
      assert.equal(outputs[1], outputs[0]);
      assert.match(outputs[0]!, /kind: ExternalSecret/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it("CLI: converts a directory in place; --check; all or nothing on a malformed placeholder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "refsync-convert-"));
    try {
      cpSync(FIXTURES, dir, { recursive: true });
      for (const f of readdirSync(dir).filter((f) => f.includes(".converted."))) rmSync(join(dir, f));
      const check = collector();
      assert.equal(await convertCommand([dir, "--check", "--store", "vault"], check), 1);
      assert.match(check.err(), /would convert 8 placeholder\(s\) in 4 file\(s\)/);
      assert.equal(readFileSync(join(dir, "secret-inline.yaml"), "utf8"), read("secret-inline.yaml"));

      const stdout = collector();
      assert.equal(
        await convertCommand([join(dir, "secret-inline.yaml"), "--stdout", "--store", "vault"], stdout),
        0,
      );
      assert.equal(stdout.out(), golden("secret-inline.yaml"));

      writeFileSync(
        join(dir, "broken.yaml"),
        `kind: Secret\napiVersion: v1\nmetadata: {name: b}\nstringData:\n  x: <path:secret/data/x#k | rot13>\n`,
      );
      const broken = collector();
      assert.equal(await convertCommand([dir, "--store", "vault"], broken), 2);
      assert.match(
        broken.err(),
        /nothing written:\n.*broken\.yaml: document 0: Secret\/b: stringData\.x: offset 0: invalid AVP modifier "rot13"/,
      );
      assert.equal(readFileSync(join(dir, "secret-inline.yaml"), "utf8"), read("secret-inline.yaml"));
      rmSync(join(dir, "broken.yaml"));

      const run = collector();
      assert.equal(await convertCommand([dir, "--store", "vault"], run), 0);
      assert.match(run.err(), /converted 8 placeholder\(s\) in 4 file\(s\)/);
      for (const f of inputs) assert.equal(readFileSync(join(dir, f), "utf8"), golden(f), f);
      assert.equal(await convertCommand([dir, "--check", "--store", "vault"], collector()), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
