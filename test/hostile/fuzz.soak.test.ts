/**
 * Soak (`npm run test:soak`): the hostile-input properties with many more
 * cases and a new seed each run (printed, so a failure reproduces with
 * FC_SEED=<seed>). SOAK_FUZZ_RUNS sets the cases per property (200,000).
 */
import { test } from "node:test";
import fc from "fast-check";
import { checkTemplate, checkYaml, templateCase, yamlStream } from "./cases.ts";

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.SOAK_FUZZ_RUNS ?? 200_000);
console.log(`hostile-input soak: seed ${seed}, ${numRuns} cases per property`);

void test(`templates: ${numRuns} cases`, () => {
  fc.assert(fc.property(templateCase, checkTemplate), { seed, numRuns });
});

void test(`YAML streams into the plugin: ${numRuns} cases`, () => {
  fc.assert(fc.property(yamlStream, checkYaml), { seed: seed + 1, numRuns });
});
