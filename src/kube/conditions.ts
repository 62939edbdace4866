/** Condition lists as kstatus and Argo CD read them: one entry per type, transition time kept while status holds. */
import type { Condition } from "../api/v1alpha1.ts";

export interface ConditionInput {
  type: string;
  status: Condition["status"];
  reason: string;
  message: string;
}

export function setCondition(
  conditions: Condition[] | undefined,
  input: ConditionInput,
  generation: number | undefined,
  now = new Date(),
): Condition[] {
  const list = (conditions ?? []).filter((c) => c.type !== input.type);
  const old = conditions?.find((c) => c.type === input.type);
  const lastTransitionTime =
    old && old.status === input.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, "Z");
  list.push({ ...input, lastTransitionTime, observedGeneration: generation });
  return list.sort((a, b) => a.type.localeCompare(b.type));
}

export function removeCondition(conditions: Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Condition lists equal apart from transition times. */
export function sameConditions(a: Condition[] | undefined, b: Condition[] | undefined): boolean {
  const strip = (l: Condition[] | undefined) =>
    JSON.stringify((l ?? []).map(({ lastTransitionTime: _t, ...rest }) => rest));
  return strip(a) === strip(b);
}
