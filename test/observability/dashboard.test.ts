/**
 * End to end on the real test API server: a controller reconciles objects
 * this test created (a healthy, a degraded and a stale ExternalSecret), its
 * /metrics exports every metric the dashboard and alerts use, the JSON API
 * and the page (loaded in headless Debian Chromium) show the three states,
 * never a value, and an exposed dashboard denies anonymous callers.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { API_VERSION } from "../../src/api/v1alpha1.ts";
import { Controller } from "../../src/controller/manager.ts";
import { resourceTypes } from "../../src/kube/resources.ts";
import { createApp, listen, type RunningServer } from "../../src/server/app.ts";
import type { ExternalSecretRow, SecretRow, StoreRow } from "../../src/server/api/model.ts";
import { serveDashboard } from "../../src/server/dashboard/serve.ts";
import { startCluster, type Cluster } from "../cluster/index.ts";
import { allExpressions, familyCandidates, metricNames } from "./promql.ts";

const outputDir = fileURLToPath(new URL("../../test-output/", import.meta.url));
// A value the page, the API and the metrics must never show.
const VALUE = "pa55-obs-d0-not-show";
const TOKEN = "dashboard-read-only-token-for-tests";

let cluster: Cluster;
let controller: Controller;
let ns: string;
let base: string;
let exposed: string;
let lastSeen = "";
let metricsUrl: string;
let profileRoot: string | undefined;
const servers: RunningServer[] = [];

/** The controller command's own listeners: /metrics (createApp) and the dashboard (serveDashboard). */
async function serve(): Promise<void> {
  const local = (server: RunningServer) => server.url.replace(/\/\/[^:]+:|\/\/\[[^\]]+\]:/, "//127.0.0.1:");
  const metricsServer = await listen(
    createApp({
      registry: controller.metrics.registry,
      health: { live: () => true, ready: () => controller.ready },
    }),
    "127.0.0.1:0",
  );
  const loopback = await serveDashboard(
    { addr: "127.0.0.1:0", tokenReview: false, perObjectLabels: true },
    { kube: controller.kube, metrics: controller.metrics },
  );
  const tokenFile = join(profileRoot!, "dashboard-token");
  await writeFile(tokenFile, `${TOKEN}\n`);
  const exposedServer = await serveDashboard(
    { addr: "0.0.0.0:0", tokenFile, tokenReview: true, perObjectLabels: true },
    { kube: controller.kube, metrics: controller.metrics },
  );
  servers.push(metricsServer, loopback!, exposedServer!);
  metricsUrl = local(metricsServer);
  base = local(loopback!);
  exposed = local(exposedServer!);
}

/** WCAG contrast ratio of two `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (rgb: string) => {
    const [r, g, bl] = (rgb.match(/\d+/g) ?? []).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${lastSeen}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function getJson<T>(path: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers });
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return (await res.json()) as T;
}

function fakeStore(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: API_VERSION,
    kind: "SecretStore",
    metadata: { name, namespace: ns },
    spec: {
      provider: { fake: { data: [{ key: "app/db", valueMap: { username: "app", password: VALUE } }] } },
      ...extra,
    },
  };
}

function externalSecret(name: string, store: string, key: string, refreshInterval: string) {
  return {
    apiVersion: API_VERSION,
    kind: "ExternalSecret",
    metadata: { name, namespace: ns },
    spec: {
      secretStoreRef: { name: store },
      refreshInterval,
      data: [
        { secretKey: "password", remoteRef: { key, property: "password" } },
        { secretKey: "username", remoteRef: { key, property: "username" } },
      ],
    },
  };
}

before(async () => {
  cluster = await startCluster({ crds: true });
  ns = await cluster.createNamespace("obs");
  controller = await Controller.create({
    kc: cluster.kc,
    namespace: ns,
    hashKeySecret: { namespace: ns, name: "hash-key" },
  });
  const kube = controller.kube;
  await kube.create(resourceTypes.secretStore, fakeStore("fake"));
  // A few tokens for validation and the first reads, then one per 1,000 s, longer than this file may
  // run however loaded the machine: the 1 s refresh of "stale" cannot happen, as when a backend throttles.
  await kube.create(resourceTypes.secretStore, fakeStore("slow", { rateLimit: { qps: 0.001, burst: 5 } }));
  await kube.create(resourceTypes.externalSecret, externalSecret("healthy", "fake", "app/db", "1h"));
  await kube.create(resourceTypes.externalSecret, externalSecret("degraded", "fake", "app/missing", "1h"));
  await kube.create(resourceTypes.externalSecret, externalSecret("stale", "slow", "app/db", "1s"));
  await controller.start();
  profileRoot = await mkdtemp(join(tmpdir(), "refsync-observability-"));
  await serve();
  await until("the three states", async () => {
    const rows = await getJson<ExternalSecretRow[]>(`/api/v1/externalsecrets?namespace=${ns}`);
    const state = (n: string) => rows.find((r) => r.name === n);
    const ok =
      state("healthy")?.health === "healthy" &&
      state("degraded")?.health === "degraded" &&
      state("stale")?.health === "healthy" &&
      state("stale")?.stale === true;
    // Reported when the wait times out.
    if (!ok)
      lastSeen = JSON.stringify(
        rows.map((r) => [r.name, r.health, r.stale, r.reason, r.message, r.ageSeconds]),
      );
    return ok ? rows : undefined;
  });
});

after(async () => {
  for (const s of servers) await s.close();
  await controller?.stop();
  await cluster?.stop();
  if (profileRoot) await rm(profileRoot, { recursive: true, force: true });
});

void test("a running controller's /metrics exports every metric the dashboard and alerts use", async () => {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const families = new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]));
  for (const { where, expr } of allExpressions()) {
    for (const name of metricNames(expr)) {
      assert.ok(
        familyCandidates(name).some((n) => families.has(n)),
        `${where}: ${name} missing from /metrics`,
      );
    }
  }
  assert.match(
    text,
    new RegExp(`refsync_store_ready\\{store="SecretStore/${ns}/fake",kind="SecretStore"\\} 1`),
  );
  assert.match(
    text,
    new RegExp(`refsync_secret_refresh_interval_seconds\\{namespace="${ns}",name="stale"\\} 1\\b`),
  );
  assert.match(text, new RegExp(`refsync_secret_age_seconds\\{namespace="${ns}",name="healthy"\\} `));
  assert.match(text, /refsync_leader 1/);
  assert.match(text, /refsync_build_info\{version="\d+\.\d+\.\d+",node_version="[^"]+"\} 1/);
  assert.ok(!text.includes(VALUE), "a secret value appears in /metrics");
});

void test("the JSON API reports stores, states, key names and filters without values", async () => {
  // ClusterSecretStores of other suites sharing the cluster are listed too: look at this namespace's own.
  const stores = (await getJson<StoreRow[]>(`/api/v1/stores?namespace=${ns}`)).filter((s) =>
    s.store.startsWith(`SecretStore/${ns}/`),
  );
  assert.deepEqual(
    stores.map((s) => [s.store, s.health]),
    [
      [`SecretStore/${ns}/fake`, "healthy"],
      [`SecretStore/${ns}/slow`, "healthy"],
    ],
  );
  assert.ok(stores[0]!.backendCalls.failed >= 1, "the failed read of app/missing is counted on the store");

  const degraded = await getJson<ExternalSecretRow[]>(
    `/api/v1/externalsecrets?namespace=${ns}&status=degraded`,
  );
  assert.deepEqual(
    degraded.map((r) => [r.name, r.reason]),
    [["degraded", "NotFound"]],
  );
  const stale = await getJson<ExternalSecretRow[]>(`/api/v1/externalsecrets?namespace=${ns}&status=stale`);
  assert.deepEqual(
    stale.map((r) => r.name),
    ["stale"],
  );
  const byErrors = await getJson<ExternalSecretRow[]>(`/api/v1/externalsecrets?namespace=${ns}&sort=errors`);
  assert.equal(byErrors[0]!.name, "degraded");
  const byAge = await getJson<ExternalSecretRow[]>(`/api/v1/externalsecrets?namespace=${ns}&sort=age`);
  assert.equal(byAge[0]!.name, "stale");

  const secrets = await getJson<SecretRow[]>(`/api/v1/secrets?namespace=${ns}`);
  const healthy = secrets.find((s) => s.name === "healthy");
  assert.deepEqual(healthy?.keys, ["password", "username"]);

  const everything = JSON.stringify(await getJson(`/api/v1/overview?namespace=${ns}`));
  assert.ok(!everything.includes(VALUE) && !everything.includes(Buffer.from(VALUE).toString("base64")));

  const bad = await fetch(`${base}/api/v1/externalsecrets?status=broken`);
  assert.equal(bad.status, 400);
  assert.match(
    ((await bad.json()) as { error: string }).error,
    /status must be one of healthy, progressing, degraded, stale/,
  );
});

void test("an exposed dashboard denies anonymous callers and accepts the token or a TokenReview", async () => {
  const anonymous = await fetch(`${exposed}/api/v1/summary`);
  assert.equal(anonymous.status, 401);
  assert.match(await anonymous.text(), /anonymous access is denied/);
  const wrong = await fetch(`${exposed}/`, { headers: { authorization: "Bearer not-the-token" } });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /did not authenticate/);
  assert.equal(
    (await fetch(`${exposed}/api/v1/summary`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    200,
  );
  const alice = { headers: { authorization: `Bearer ${cluster.tokens.alice}` } };
  assert.equal(
    (await fetch(`${exposed}/api/v1/summary`, alice)).status,
    200,
    "TokenReview authenticates alice",
  );
});

void test("headless Chromium shows healthy, degraded and stale, and is denied without a token when exposed", async (t) => {
  const profile = await mkdtemp(join(tmpdir(), "refsync-chromium-"));
  // A fresh, empty profile (--user-data-dir) per run.
  const browser: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    viewport: { width: 1400, height: 1000 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  t.after(async () => {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  });
  const page = await browser.newPage();
  const response = await page.goto(`${base}/?namespace=${ns}&sort=age`);
  assert.equal(response?.status(), 200);
  assert.equal(await page.title(), "refsync dashboard");

  const row = (name: string) => page.locator(`#externalsecrets tr[data-name="${ns}/${name}"]`);
  assert.match(await row("healthy").innerText(), /Healthy/);
  assert.doesNotMatch(await row("healthy").innerText(), /Stale/);
  assert.match(await row("degraded").innerText(), /Degraded[\s\S]*NotFound/);
  assert.match(await row("stale").innerText(), /Healthy[\s\S]*Stale/);
  // The stylesheet applies (its CSP hash matches): states are coloured as well as labelled.
  const colours = (selector: string) =>
    page
      .locator(selector)
      .first()
      // Runs in the page (this project's TypeScript lib has no DOM types).
      .evaluate((el) => {
        const style = (
          globalThis as unknown as {
            getComputedStyle(e: unknown): { color: string; backgroundColor: string };
          }
        ).getComputedStyle(el);
        return { color: style.color, background: style.backgroundColor };
      });
  for (const [selector, background] of [
    [".badge.healthy", "rgb(227, 244, 230)"],
    [".badge.degraded", "rgb(253, 231, 229)"],
    [".badge.stale", "rgb(238, 231, 250)"],
  ] as const) {
    const c = await colours(`#externalsecrets ${selector}`);
    assert.equal(c.background, background, selector);
    assert.ok(
      contrast(c.color, c.background) >= 4.5,
      `${selector}: contrast ${contrast(c.color, c.background)} < 4.5 (WCAG AA)`,
    );
  }
  assert.match(await page.locator(`#stores tr[data-store="SecretStore/${ns}/fake"]`).innerText(), /Healthy/);
  assert.equal(
    await page.locator("svg.chart g.bar").count(),
    2,
    "one bar per refreshed Periodic ExternalSecret",
  );
  assert.equal(await page.locator("svg.chart g.bar.stale").count(), 1);
  assert.match(
    await page.locator(`#secrets tr[data-secret="${ns}/healthy"]`).innerText(),
    /password\s+username/,
  );
  assert.ok(!(await page.content()).includes(VALUE), "a secret value appears on the page");

  // Found by their accessible names: the controls are labelled.
  assert.equal(await page.getByLabel("Namespace").inputValue(), ns);
  await page.getByLabel("Status").selectOption("degraded");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/status=degraded/);
  assert.equal(await page.locator("#externalsecrets tbody tr").count(), 1);
  assert.equal(
    await page.getByRole("rowheader", { name: `${ns}/degraded` }).count(),
    2,
    "ExternalSecret and Secret rows",
  );
  await page.goBack();

  await mkdir(outputDir, { recursive: true });
  await page.goto(`${base}/?namespace=${ns}&sort=age`);
  await page.screenshot({ path: join(outputDir, "dashboard.png"), fullPage: true });

  const denied = await page.goto(`${exposed}/`);
  assert.equal(denied?.status(), 401);
  assert.match(await page.locator("body").innerText(), /anonymous access is denied/);
});
