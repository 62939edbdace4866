import assert from "node:assert/strict";
import { test } from "node:test";
import { ttyProgress } from "./progress.ts";

void test("progress is drawn on a terminal and cleared at the end; silent otherwise", () => {
  let tty = "";
  const onTerminal = ttyProgress({ write: (s: string) => (tty += s), isTTY: true }, 0);
  onTerminal.update("scanning commits", 1, 2);
  onTerminal.update("scanning commits", 2, 2);
  onTerminal.finish();
  assert.equal(tty, "\r\x1b[Kscanning commits 1/2\r\x1b[Kscanning commits 2/2\r\x1b[K");

  let piped = "";
  const inPipe = ttyProgress({ write: (s: string) => (piped += s) }, 0);
  inPipe.update("scanning commits", 1, 1);
  inPipe.finish();
  assert.equal(piped, "");
});
