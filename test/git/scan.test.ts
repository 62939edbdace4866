import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { scanCommand } from "../../src/cli/scan.ts";
import { parseAllowList } from "../../src/git/allowlist.ts";
import { scan, type Finding, type ScanReport } from "../../src/git/scan.ts";
import { ALL_RULES } from "../../src/git/rules.ts";
import { createPlantedRepo, PLANTED, type PlantedRepo } from "./repo.ts";
import { collector } from "./io.ts";

/** The identifying fields of a finding, for exact comparisons. */
const summary = (f: Finding): string =>
  [f.commit ?? "worktree", f.file, f.line, f.rule, f.object ?? "", f.key ?? ""].join(" ");

function assertNoPlantedValue(text: string): void {
  for (const [name, value] of Object.entries(PLANTED)) {
    assert.ok(!text.includes(value), `report contains the planted ${name}`);
  }
  assert.ok(
    !text.includes(Buffer.from(PLANTED.dbToken).toString("base64")),
    "report contains the base64 token",
  );
}

void describe("refsync scan on a real repository", () => {
  let repo: PlantedRepo;
  let expected: string[];
  before(() => {
    repo = createPlantedRepo();
    const c = repo.commits;
    expected = [
      `worktree charts/web/values.yaml 4 password-in-values  auth.adminPassword`,
      `${c.addSecret} apps/db/secret.yaml 8 kubernetes-secret-literal Secret/data/db stringData.password`,
      `${c.addSecret} apps/db/secret.yaml 11 kubernetes-secret-literal Secret/data/db data.token`,
      `${c.feature} deploy/ci.env 1 github-token  `,
      `${c.helmValues} charts/web/values.yaml 4 password-in-values  auth.adminPassword`,
      `worktree apps/api/values.yaml 7 password-in-values  postgresql.auth.password`,
      `${c.merge} apps/api/values.yaml 7 password-in-values  postgresql.auth.password`,
    ].sort();
  });
  after(() => repo.remove());

  for (const engine of ["git", "isomorphic-git"] as const) {
    void it(`finds exactly the planted secrets in tree and history (${engine})`, async () => {
      const report = await scan({ dir: repo.dir, engine });
      assert.deepEqual(report.findings.map(summary).sort(), expected);
      assert.equal(report.stats.engine, engine);
      assert.equal(report.stats.commits, 8);
      // The binary file is skipped in the tree and in history; the huge one is listed in both.
      assert.equal(report.stats.binary, 2);
      assert.deepEqual(
        report.skipped.map((s) => `${s.commit ?? "worktree"} ${s.file}`).sort(),
        [`${repo.commits.base} data/huge.yaml`, "worktree data/huge.yaml"].sort(),
      );
    });
  }

  void it("gives the same report with either engine", async () => {
    const strip = (r: ScanReport) => ({ ...r, stats: { ...r.stats, engine: undefined } });
    const [a, b] = await Promise.all([
      scan({ dir: repo.dir, engine: "git" }),
      scan({ dir: repo.dir, engine: "isomorphic-git" }),
    ]);
    assert.deepEqual(strip(a), strip(b));
  });

  void it("limits history to the given refs and --since", async () => {
    const onlyMain = await scan({ dir: repo.dir, worktree: false, refs: ["main"] });
    assert.ok(!onlyMain.findings.some((f) => f.file === "deploy/ci.env"));
    assert.equal(onlyMain.stats.commits, 7);
    const recent = await scan({ dir: repo.dir, worktree: false, since: new Date("2024-02-20T00:00:00Z") });
    assert.deepEqual(recent.findings.map(summary), [
      `${repo.commits.helmValues} charts/web/values.yaml 4 password-in-values  auth.adminPassword`,
      `${repo.commits.merge} apps/api/values.yaml 7 password-in-values  postgresql.auth.password`,
    ]);
    for (const engine of ["git", "isomorphic-git"] as const) {
      const featureOnly = await scan({
        dir: repo.dir,
        worktree: false,
        refs: [repo.commits.feature.slice(0, 10)],
        engine,
      });
      assert.equal(featureOnly.stats.commits, 3, engine);
    }
  });

  void it("drops allow-listed findings and counts them", async () => {
    const allow = parseAllowList(
      `allow:\n  - path: "charts/**"\n    reason: demo chart\n  - commit: ${repo.commits.addSecret.slice(0, 8)}\n    key: data.*\n    reason: rotated\n`,
      "allow.yaml",
    );
    const report = await scan({ dir: repo.dir, allow });
    assert.equal(report.allowed, 3);
    assert.deepEqual(report.findings.map((f) => f.key ?? f.rule).sort(), [
      "github-token",
      "postgresql.auth.password",
      "postgresql.auth.password",
      "stringData.password",
    ]);
  });

  void it("rejects allow-list entries without a reason or a selector, naming the entry", () => {
    assert.throws(() => parseAllowList(`allow:\n  - path: x\n`, "a.yaml"), /a\.yaml: allow\[0\]\.reason/);
    assert.throws(
      () => parseAllowList(`allow:\n  - reason: everything\n`, "a.yaml"),
      /a\.yaml: allow\[0\]: an entry must select/,
    );
    assert.throws(
      () => parseAllowList(`allow:\n  - reason: r\n    pth: x\n`, "a.yaml"),
      /a\.yaml: allow\[0\]/,
    );
  });

  void it("CLI: exits 1 with findings, 0 when clean, 2 on bad usage; never prints a value", async () => {
    for (const format of ["text", "json", "sarif"]) {
      const io = collector();
      assert.equal(await scanCommand([repo.dir, "--format", format], io), 1);
      assertNoPlantedValue(io.out() + io.err());
    }
    const text = collector();
    await scanCommand([repo.dir], text);
    assert.match(
      text.out(),
      /apps\/db\/secret\.yaml:8: kubernetes-secret-literal: Secret\/data\/db stringData\.password \[commit [0-9a-f]{12} \(2024-02-01\)\]/,
    );
    assert.match(text.out(), /data\/huge\.yaml: not scanned/);
    assert.equal(text.err(), "", "no progress output when stderr is not a TTY");

    const badAllow = collector();
    assert.equal(
      await scanCommand(
        [repo.dir, "--no-history", "--since", "2030-01-01", "--allow", "/nonexistent"],
        badAllow,
      ),
      2,
    );
    assert.match(badAllow.err(), /\/nonexistent: cannot read allow-list/);
    const none = collector();
    assert.equal(await scanCommand([repo.dir, "--no-worktree", "--since", "2030-01-01"], none), 0);
    assert.match(none.out(), /^0 finding\(s\)/);
    const bad = collector();
    assert.equal(await scanCommand([repo.dir, "--format", "xml"], bad), 2);
    assert.match(bad.err(), /--format must be one of text, json, sarif/);
  });

  void it("CLI: run inside a subdirectory, scans the whole work tree and its history", async () => {
    const fromRoot = collector();
    const fromSub = collector();
    assert.equal(await scanCommand([repo.dir, "--format", "json"], fromRoot), 1);
    assert.equal(await scanCommand([join(repo.dir, "apps", "api"), "--format", "json"], fromSub), 1);
    assert.deepEqual(JSON.parse(fromSub.out()), JSON.parse(fromRoot.out()));
  });

  void it("CLI: writes SARIF 2.1.0 with a rule for every result", async () => {
    const io = collector();
    await scanCommand([repo.dir, "--format", "sarif"], io);
    const sarif = JSON.parse(io.out()) as {
      version: string;
      runs: {
        tool: { driver: { rules: { id: string }[] } };
        results: {
          ruleId: string;
          ruleIndex: number;
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }[];
          partialFingerprints: Record<string, string>;
        }[];
      }[];
    };
    assert.equal(sarif.version, "2.1.0");
    const run = sarif.runs[0]!;
    assert.deepEqual(
      run.tool.driver.rules.map((r) => r.id),
      ALL_RULES.map((r) => r.id),
    );
    assert.equal(run.results.length, 7);
    for (const r of run.results) {
      assert.equal(run.tool.driver.rules[r.ruleIndex]?.id, r.ruleId);
      assert.ok(r.locations[0]!.physicalLocation.region.startLine >= 1);
      assert.match(r.partialFingerprints["refsyncFinding/v1"] ?? "", /^[0-9a-f]{64}$/);
    }
  });

  void it("reads packed and loose objects alike (after git gc, plus a new loose commit)", async () => {
    const before = await scan({ dir: repo.dir, worktree: false });
    repo.git("gc", "-q");
    repo.write("notes.txt", "nothing secret\n");
    const loose = repo.commit("notes", "2024-06-01T00:00:00Z");
    try {
      for (const engine of ["git", "isomorphic-git"] as const) {
        const after = await scan({ dir: repo.dir, worktree: false, engine });
        assert.deepEqual(after.findings.map(summary).sort(), before.findings.map(summary).sort(), engine);
        assert.equal(after.stats.commits, before.stats.commits + 1);
      }
    } finally {
      repo.git("reset", "-q", "--hard", `${loose}~1`);
    }
  });

  void it("reads the repository's .refsync-scan-allow.yaml by default", async () => {
    repo.write(".refsync-scan-allow.yaml", `allow:\n  - rule: github-token\n    reason: revoked\n`);
    try {
      const io = collector();
      await scanCommand([repo.dir, "--format", "json"], io);
      const report = JSON.parse(io.out()) as ScanReport;
      assert.equal(report.allowed, 1);
      assert.ok(!report.findings.some((f) => f.rule === "github-token"));
    } finally {
      repo.git("clean", "-fq", ".refsync-scan-allow.yaml");
    }
  });
});
