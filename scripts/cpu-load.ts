// Keeps every core busy for a while, to check that tests hold on a loaded
// machine (issue 16: timing bounds must not depend on an idle CPU).
//
//   node scripts/cpu-load.ts [SECONDS=600] [THREADS=cores]
//
// One busy loop per thread, in worker threads of this one process; each stops
// by itself after SECONDS, and Ctrl-C/SIGTERM stops them all at once.
import os from "node:os";
import { isMainThread, Worker, workerData } from "node:worker_threads";

if (isMainThread) {
  const seconds = Number(process.argv[2] ?? 600);
  const threads = Number(process.argv[3] ?? os.availableParallelism());
  if (!(seconds > 0 && seconds <= 3600) || !(Number.isInteger(threads) && threads > 0 && threads <= 64)) {
    console.error("usage: node scripts/cpu-load.ts [SECONDS (1-3600)] [THREADS (1-64)]");
    process.exit(2);
  }
  const until = Date.now() + seconds * 1000;
  const workers = Array.from(
    { length: threads },
    () => new Worker(new URL(import.meta.url), { workerData: { until } }),
  );
  console.error(`cpu-load: ${threads} busy loop(s) for ${seconds} s (pid ${process.pid})`);
  const stop = () => {
    for (const w of workers) void w.terminate();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once("exit", resolve))));
  console.error("cpu-load: done");
} else {
  const { until } = workerData as { until: number };
  let x = 0;
  while (Date.now() < until) for (let i = 0; i < 1e6; i++) x = (x * 31 + i) | 0;
  if (x === 42) console.log(x); // keep the loop from being optimised away
}
