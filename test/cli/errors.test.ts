/**
 * What an operator sees when a command cannot start: one line on stderr that
 * names the cause and the fix, exit code 1 (2 for usage), and a stack trace
 * only with --log-level debug. Also --help of every command and --version.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { commands } from "../../src/cli/main.ts";
import { VERSION } from "../../src/cli/version.ts";
import { runRefsync, type RefsyncRun } from "../cli-process.ts";

const repoRoot = path.join(import.meta.dirname, "..", "..");

/** Exactly one line on stderr, no stack frame, and the expected exit code. */
function assertOneLine(run: RefsyncRun, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit code; stderr: ${run.stderr}`);
  assert.match(run.stderr, /^[^\n]+\n$/, `one line on stderr, got:\n${run.stderr}`);
  assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  assert.match(run.stderr, pattern);
}

void describe("refsync start-up errors, --help and --version", () => {
  let home: string;
  let env: Record<string, string>;
  before(async () => {
    // No ~/.kube/config, no $KUBECONFIG, not in a pod: as on a fresh machine.
    home = await mkdtemp(path.join(tmpdir(), "refsync-cli-"));
    env = { HOME: home };
  });
  after(() => rm(home, { recursive: true, force: true }));

  /** A kubeconfig naming a server nobody listens on: enough for everything before the first request. */
  async function kubeconfig(server = "https://127.0.0.1:1"): Promise<string> {
    const file = path.join(home, `kubeconfig-${Math.random().toString(36).slice(2)}`);
    await writeFile(
      file,
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${server}" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`,
    );
    return file;
  }
  const controller = (...args: string[]) =>
    runRefsync(["controller", "--lease-namespace", "refsync-system", ...args], { env });

  void it("--version prints the package version", async () => {
    for (const flag of ["--version", "-v", "version"]) {
      const run = await runRefsync([flag], { env });
      assert.equal(run.code, 0);
      assert.equal(run.stdout, `refsync ${VERSION}\n`);
    }
  });

  void it("every command has its own --help, on stdout with exit 0", async () => {
    const top = await runRefsync(["--help"], { env });
    assert.equal(top.code, 0);
    assert.match(top.stdout, /--version/);
    for (const name of Object.keys(commands)) {
      const run = await runRefsync([name, "--help"], { env });
      assert.equal(run.code, 0, `${name} --help: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`^usage: refsync ${name}\\b`), `${name} --help names ${name}`);
      assert.equal(run.stderr, "");
    }
  });

  void it("an unknown flag is one line naming it, exit 2", async () => {
    assertOneLine(
      await runRefsync(["generate", "--mod", "inline"], { env }),
      2,
      /^refsync generate: unknown flag --mod \(see refsync generate --help\)$/m,
    );
    assertOneLine(await controller("--bogus"), 2, /^refsync controller: unknown flag --bogus/);
    assertOneLine(await runRefsync(["render", "x", "--mode"], { env }), 2, /--mode needs a value/);
  });

  void it("--metrics-addr without a port is a usage error", async () => {
    assertOneLine(
      await controller("--metrics-addr", "localhost"),
      2,
      /--metrics-addr: "localhost" is not HOST:PORT or :PORT/,
    );
  });

  void it("no Kubernetes configuration at all: says so and names --kubeconfig", async () => {
    const run = await controller();
    assertOneLine(run, 1, /^refsync controller: no Kubernetes configuration: .*pass --kubeconfig PATH$/m);
    assert.doesNotMatch(run.stderr, /skipTLSVerify/);
    // The log's first line carries the version.
    const first = JSON.parse(run.stdout.split("\n")[0] ?? "") as { version?: string; msg?: string };
    assert.equal(first.version, VERSION);
  });

  void it("--kubeconfig naming a missing file", async () => {
    assertOneLine(
      await controller("--kubeconfig", "/nonexistent"),
      1,
      /^refsync controller: --kubeconfig \/nonexistent: no such file; pass the path of a kubeconfig$/m,
    );
  });

  void it("a kubeconfig whose server is plain HTTP", async () => {
    assertOneLine(
      await controller("--kubeconfig", await kubeconfig("http://127.0.0.1:1")),
      1,
      /plain HTTP.*https:\/\//,
    );
  });

  void describe("a port in use", () => {
    let busy: Server;
    let port: number;
    before(async () => {
      busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
      port = (busy.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => busy.close(() => resolve())));

    void it("--metrics-addr: names the address and the flag, exit 1", async () => {
      assertOneLine(
        await controller("--kubeconfig", await kubeconfig(), "--metrics-addr", `127.0.0.1:${port}`),
        1,
        new RegExp(`^refsync controller: --metrics-addr 127\\.0\\.0\\.1:${port}: the address is in use`),
      );
    });

    void it("with --log-level debug the stack follows the line", async () => {
      const run = await controller(
        "--kubeconfig",
        await kubeconfig(),
        "--metrics-addr",
        `127.0.0.1:${port}`,
        "--log-level",
        "debug",
      );
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^refsync controller: --metrics-addr .*in use.*\n/);
      assert.match(run.stderr, /\n\s+at /, "the stack, as asked");
    });
  });

  void it("a dashboard exposed without a token: the dashboard's own message, one line", async () => {
    assertOneLine(
      await controller(
        "--kubeconfig",
        await kubeconfig(),
        "--metrics-addr",
        "0",
        "--dashboard-addr",
        "0.0.0.0:0",
      ),
      1,
      /^refsync controller: dashboard: listening on 0\.0\.0\.0 needs --dashboard-token-file or --dashboard-token-review/,
    );
  });

  void it("refsync render examples renders, skipping the plugin configuration kept there", async () => {
    const run = await runRefsync(["render", path.join(repoRoot, "examples")], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /kind: ExternalSecret/);
  });

  void it("refreshInterval below the documented minimum (1s) is invalid", async () => {
    const es = (interval: string) => `apiVersion: refsync.dev/v1alpha1
kind: ExternalSecret
metadata: { name: db, namespace: a }
spec:
  secretStoreRef: { name: s }
  refreshInterval: "${interval}"
  data: [{ secretKey: p, remoteRef: { key: k } }]
`;
    const bad = await runRefsync(["validate", "-"], { env, stdin: es("1ms") });
    assertOneLine(bad, 1, /spec\.refreshInterval: must be a duration of at least 1s/);
    for (const ok of ["1s", "1h30m", "0"]) {
      const run = await runRefsync(["validate", "-"], { env, stdin: es(ok) });
      assert.equal(run.code, 0, `${ok}: ${run.stderr}`);
    }
  });
});
