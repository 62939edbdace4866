/**
 * The generators refsync runs (generators.refsync.dev): each makes new
 * values every time it is called, with nothing cached or shared, so two
 * ExternalSecrets referencing one Password generator get two passwords, as
 * in ESO. Password, UUID and Fake are local; VaultDynamicSecret calls Vault
 * (../vault/dynamic-secret.ts, loaded on first use, as the Vault client is).
 */
import { randomUUID } from "node:crypto";
import type { GeneratorSpec } from "../../api/generator-spec.ts";
import { InvalidSpecError } from "../../errors.ts";
import type { ProviderContext } from "../types.ts";
import { generatePasswords } from "./password.ts";

/**
 * New values from a generator, key by key. `backend` gives a generator that
 * calls a backend its credentials and metrics (the controller's); without it
 * such a generator is refused.
 */
export async function generate(
  generator: GeneratorSpec,
  backend?: (provider: string) => ProviderContext,
  signal?: AbortSignal,
): Promise<Record<string, Uint8Array>> {
  const encode = (text: string) => new TextEncoder().encode(text);
  switch (generator.kind) {
    case "Password":
      return generatePasswords(generator.spec);
    case "UUID":
      // ESO's uuid.New(): a random (version 4) UUID.
      return { uuid: encode(randomUUID()) };
    case "Fake":
      return Object.fromEntries(Object.entries(generator.spec.data ?? {}).map(([k, v]) => [k, encode(v)]));
    case "VaultDynamicSecret": {
      if (!backend)
        throw new InvalidSpecError("kind: VaultDynamicSecret calls Vault: only the controller runs it");
      const { vaultDynamicSecret } = await import("../vault/dynamic-secret.ts");
      return vaultDynamicSecret(generator.spec, backend("vault"), signal);
    }
  }
}
