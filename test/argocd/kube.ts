/** Kustomize builds and server-side apply for the install tests (manifests/, manifests/argocd). */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { ensureTools } from "./tools.ts";

const run = promisify(execFile);

export interface Manifest extends KubernetesObject {
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** `kustomize build` of a directory, with the Kustomize built into kubectl 1.32 (Kustomize v5). */
export async function kustomizeBuild(dir: string): Promise<Manifest[]> {
  const { kubectl } = await ensureTools();
  const { stdout } = await run(kubectl, ["kustomize", dir], { maxBuffer: 16 << 20 });
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** Server-side applies every object in order (as `kubectl apply --server-side` would). */
export async function serverSideApply(
  kc: KubeConfig,
  objects: Manifest[],
  fieldManager: string,
): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const object of objects) {
    await api.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }
}

export function find(objects: Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in the build`);
  return found;
}
