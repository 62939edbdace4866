// Installs CustomResourceDefinitions from a directory of YAML files (server-side apply, so
// installing them again on the shared cluster is harmless) and waits until they are served.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ApiextensionsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";

const FIELD_MANAGER = "refsync-test-harness";
const ESTABLISH_TIMEOUT_MS = 30_000;

/** Reads every CRD in `dir` (*.yaml, *.yml but kustomization.yaml); a missing or empty directory yields none. */
export async function readCrds(dir: string): Promise<KubernetesObject[]> {
  let files: string[];
  try {
    files = (await readdir(dir))
      .filter((f) => /\.ya?ml$/.test(f) && !/^kustomization\.ya?ml$/.test(f))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const crds: KubernetesObject[] = [];
  for (const file of files) {
    const path = join(dir, file);
    for (const [index, doc] of parseAllDocuments(await readFile(path, "utf8")).entries()) {
      if (doc.errors.length > 0) throw new Error(`${path} document ${index + 1}: ${doc.errors[0]?.message}`);
      const obj = doc.toJS() as KubernetesObject | null;
      if (obj === null) continue;
      if (obj.kind !== "CustomResourceDefinition") {
        throw new Error(`${path} document ${index + 1}: kind ${obj.kind}, expected CustomResourceDefinition`);
      }
      crds.push(obj);
    }
  }
  return crds;
}

/** Applies the CRDs found in `dir` and waits until each one is Established; returns their names. */
export async function installCrds(kc: KubeConfig, dir: string): Promise<string[]> {
  const crds = await readCrds(dir);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  // The body goes out as-is (`any`): KubernetesObjectApi would run it through the typed
  // serializer, which drops YAML keys such as x-kubernetes-preserve-unknown-fields.
  const asApply = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
  const names = crds.map((crd) => crd.metadata?.name ?? "");
  await Promise.all(
    crds.map((crd, i) =>
      api.patchCustomResourceDefinition(
        { name: names[i] ?? "", body: crd, fieldManager: FIELD_MANAGER, force: true },
        asApply,
      ),
    ),
  );
  await Promise.all(names.map((name) => waitEstablished(api, name)));
  return names;
}

async function waitEstablished(api: ApiextensionsV1Api, name: string): Promise<void> {
  const deadline = Date.now() + ESTABLISH_TIMEOUT_MS;
  let conditions = "none";
  while (Date.now() < deadline) {
    const crd = await api.readCustomResourceDefinition({ name });
    const list = crd.status?.conditions ?? [];
    if (list.some((c) => c.type === "Established" && c.status === "True")) return;
    conditions = list.map((c) => `${c.type}=${c.status} ${c.message ?? ""}`).join("; ") || "none";
    await sleep(100);
  }
  throw new Error(
    `CRD ${name} not Established after ${ESTABLISH_TIMEOUT_MS / 1000}s (conditions: ${conditions})`,
  );
}
