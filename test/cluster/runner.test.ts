// The runner's own guarantees: it fails a run that leaves a process behind (and kills that process),
// and passes the tests' exit code through.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { isRunning } from "./processes.ts";

const root = join(import.meta.dirname, "..", "..");

function runRunner(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // Without node:test's marker of a test process, or the nested `node --test` would run no file.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    execFile(process.execPath, ["test/run.ts", ...args], { cwd: root, env }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, output: stdout + stderr }),
    );
  });
}

void test("a run that leaves a process behind fails, and the process is killed", async () => {
  const { code, output } = await runRunner("test/cluster/fixtures/leaks-a-process.fixture.ts");
  const pid = Number(/leaked pid (\d+)/.exec(output)?.[1]);
  assert.ok(pid > 0, `the fixture ran:\n${output}`);
  assert.match(output, /ℹ pass 1/);
  assert.match(output, /process\(es\) of this test run still running:\n\d+ sleep 300/);
  assert.equal(code, 1);
  assert.ok(!isRunning(pid), "the leaked process was killed");
});

void test("a filter that matches no test file fails the run", async () => {
  const { code, output } = await runRunner("test/cluster/no-such-dir");
  assert.equal(code, 1);
  assert.match(output, /no test files match test\/cluster\/no-such-dir/);
});
