// The GKE cluster of auth.workloadIdentity, as ESO finds it: clusterProjectID,
// clusterLocation and clusterName where the store sets them; unset, the GCE
// metadata server's project/project-id, instance/attributes/cluster-location
// and instance/attributes/cluster-name, which GKE nodes serve. The server is
// the one Google's libraries use: GCE_METADATA_HOST (or GCE_METADATA_IP),
// else 169.254.169.254; asked through gcp-metadata, Google's client.
import * as gcpMetadata from "gcp-metadata";
import { BackendUnavailableError, InvalidSpecError } from "../../errors.ts";
import type { GkeIdentitySpec } from "./spec.ts";

export interface GkeCluster {
  project: string;
  location: string;
  name: string;
}

const LOOKUPS = {
  clusterProjectID: { read: () => gcpMetadata.project("project-id"), path: "project/project-id" },
  clusterLocation: {
    read: () => gcpMetadata.instance("attributes/cluster-location"),
    path: "instance/attributes/cluster-location",
  },
  clusterName: {
    read: () => gcpMetadata.instance("attributes/cluster-name"),
    path: "instance/attributes/cluster-name",
  },
} as const;

async function lookup(field: keyof typeof LOOKUPS, where: string): Promise<string> {
  const { read, path } = LOOKUPS[field];
  const unset = `${where}: spec.provider.gcpsm.auth.workloadIdentity.${field} is unset and the metadata server`;
  let value: unknown;
  try {
    value = await read();
  } catch (error) {
    const status = (error as { status?: number; response?: { status?: number } }).response?.status;
    if (status === 404) throw new InvalidSpecError(`${unset} has no ${path} (not a GKE node?): set ${field}`);
    throw new BackendUnavailableError(
      `${unset} (GCE_METADATA_HOST, else 169.254.169.254) did not answer ${path} (${status ? `HTTP ${status}` : (error as Error).name}): set ${field}, or retry`,
    );
  }
  // gcp-metadata reads the answer as JSON when it can; GKE's names and project IDs start with a letter.
  if (typeof value !== "string" || value.trim() === "")
    throw new InvalidSpecError(`${unset} gave no usable ${path}: set ${field}`);
  return field === "clusterProjectID" ? value.trim() : value;
}

/** The cluster, each part from the spec or, unset, from the metadata server (asked in parallel). */
export async function gkeCluster(identity: GkeIdentitySpec, where: string): Promise<GkeCluster> {
  const [project, location, name] = await Promise.all([
    identity.clusterProjectID ?? lookup("clusterProjectID", where),
    identity.clusterLocation ?? lookup("clusterLocation", where),
    identity.clusterName ?? lookup("clusterName", where),
  ]);
  return { project, location, name };
}
