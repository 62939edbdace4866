/**
 * The generators refsync runs (generators.refsync.dev): each makes new
 * values every time it is called, with nothing cached or shared, so two
 * ExternalSecrets referencing one Password generator get two passwords, as
 * in ESO. Pure and local: no backend call, nothing to clean up.
 */
import { randomUUID } from "node:crypto";
import type { GeneratorSpec } from "../../api/generator-spec.ts";
import { generatePasswords } from "./password.ts";

/** New values from a generator, key by key. */
export function generate(generator: GeneratorSpec): Record<string, Uint8Array> {
  const encode = (text: string) => new TextEncoder().encode(text);
  switch (generator.kind) {
    case "Password":
      return generatePasswords(generator.spec);
    case "UUID":
      // ESO's uuid.New(): a random (version 4) UUID.
      return { uuid: encode(randomUUID()) };
    case "Fake":
      return Object.fromEntries(Object.entries(generator.spec.data ?? {}).map(([k, v]) => [k, encode(v)]));
  }
}
