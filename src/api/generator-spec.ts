/**
 * A generator object's spec, validated with the schemas of ./generators.ts,
 * as the generator to run (the controller, and `refsync validate` through
 * src/render/objects.ts). Apart from ./generators.ts, which ./schema.ts
 * imports, so that validation's imports stay one way.
 */
import { InvalidSpecError } from "../errors.ts";
import {
  clusterGeneratorSpecSchema,
  GENERATOR_KINDS,
  isGeneratorKind,
  type FakeSpec,
  type PasswordSpec,
  type UuidSpec,
  type VaultDynamicSecretSpec,
} from "./generators.ts";
import { describeIssues } from "./validate.ts";

/** A generator's kind and spec, as the controller runs it (a ClusterGenerator already unwrapped). */
export type GeneratorSpec =
  | { kind: "Password"; spec: PasswordSpec }
  | { kind: "UUID"; spec: UuidSpec }
  | { kind: "Fake"; spec: FakeSpec }
  | { kind: "VaultDynamicSecret"; spec: VaultDynamicSecretSpec };

/**
 * A generator object's spec, validated, as the generator to run: a
 * ClusterGenerator is unwrapped into the kind it names, as ESO makes it a
 * "virtual" namespaced generator. InvalidSpecError names the field.
 */
export function generatorSpecOf(kind: string, spec: unknown): GeneratorSpec {
  if (kind === "ClusterGenerator") {
    const parsed = clusterGeneratorSpecSchema.safeParse(spec);
    if (!parsed.success) throw new InvalidSpecError(describeIssues(parsed.error, "spec"));
    const inner = (parsed.data.generator as Record<string, unknown>)[
      GENERATOR_KINDS[parsed.data.kind].specKey
    ];
    return { kind: parsed.data.kind, spec: inner } as GeneratorSpec;
  }
  if (!isGeneratorKind(kind)) throw new InvalidSpecError(`kind: refsync has no ${kind} generator`);
  const parsed = GENERATOR_KINDS[kind].schema.safeParse(spec ?? {});
  if (!parsed.success) throw new InvalidSpecError(describeIssues(parsed.error, "spec"));
  return { kind, spec: parsed.data } as GeneratorSpec;
}
