/**
 * Flux's `healthCheckExprs` evaluated as kustomize-controller does, with a real CEL
 * implementation (@bufbuild/cel): the object's top-level fields are the variables;
 * `inProgress`, then `failed`, then `current` decide; none true is InProgress, and an
 * expression that cannot be evaluated (a field not there yet) leaves it InProgress.
 */
import { isCelError, run } from "@bufbuild/cel";

export interface HealthCheckExprs {
  apiVersion: string;
  kind: string;
  inProgress?: string;
  failed?: string;
  current: string;
}

function holds(expression: string | undefined, object: Record<string, unknown>): boolean {
  if (!expression) return false;
  const result = run(expression, object as Parameters<typeof run>[1]);
  return !isCelError(result) && result === true;
}

export function fluxHealth(
  exprs: HealthCheckExprs,
  object: Record<string, unknown>,
): "InProgress" | "Failed" | "Current" {
  if (holds(exprs.inProgress, object)) return "InProgress";
  if (holds(exprs.failed, object)) return "Failed";
  if (holds(exprs.current, object)) return "Current";
  return "InProgress";
}
