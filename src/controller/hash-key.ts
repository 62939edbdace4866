/**
 * The HMAC key of data hashes lives in a Secret, so every replica and every
 * restart computes the same hash (a new key would look like new data and
 * restart every consumer). Created with a random key when missing.
 */
import { isConflict, resourceTypes, type KubeClient } from "./kube/client.ts";
import { newHashKey } from "./hash.ts";

export async function loadHashKey(
  client: KubeClient,
  ref: { namespace: string; name: string },
): Promise<Uint8Array> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const secret = await client.get<{ data?: Record<string, string> }>(
      resourceTypes.secret,
      ref.namespace,
      ref.name,
    );
    const key = secret?.data?.key;
    if (key) return new Uint8Array(Buffer.from(key, "base64"));
    try {
      await client.create(resourceTypes.secret, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: ref.name, namespace: ref.namespace },
        type: "Opaque",
        data: { key: Buffer.from(newHashKey()).toString("base64") },
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error(`could not read or create the hash key Secret ${ref.namespace}/${ref.name}`);
}
