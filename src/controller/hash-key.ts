/**
 * The HMAC key of data hashes lives in a Secret, so every replica and every
 * restart computes the same hash. Created with a random key when missing. A
 * new key (the Secret deleted, the controller installed into another
 * namespace) changes every hash but no data: whether data changed is decided
 * from the Secret's bytes (rollout/key-hashes.ts), and hashes made with
 * another key are recomputed at the next sync, restarting nothing.
 */
import { isConflict, type KubeClient } from "../kube/client.ts";
import { resourceTypes } from "../kube/resources.ts";
import { newHashKey } from "./hash.ts";

export async function loadHashKey(
  client: KubeClient,
  ref: { namespace: string; name: string },
): Promise<{ key: Uint8Array; created: boolean }> {
  let created = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const secret = await client.get<{ data?: Record<string, string> }>(
      resourceTypes.secret,
      ref.namespace,
      ref.name,
    );
    const key = secret?.data?.key;
    if (key) return { key: new Uint8Array(Buffer.from(key, "base64")), created };
    try {
      await client.create(resourceTypes.secret, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: ref.name, namespace: ref.namespace },
        type: "Opaque",
        data: { key: Buffer.from(newHashKey()).toString("base64") },
      });
      created = true;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error(`could not read or create the hash key Secret ${ref.namespace}/${ref.name}`);
}
