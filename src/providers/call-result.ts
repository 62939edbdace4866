import { RefsyncError } from "../errors.ts";
import type { CallResult, ValidationResult } from "./types.ts";

/** The provider-call metric's result label for an error (undefined: success). */
export function callResultOf(error: unknown): CallResult {
  if (error === undefined) return "success";
  if (!(error instanceof RefsyncError)) return "error";
  if (error.reason === "NotFound") return "not_found";
  if (error.reason === "AccessDenied") return "denied";
  if (error.reason === "Throttled") return "throttled";
  return "error";
}

/**
 * A store validation that failed: Error when the answer is definite (denied, or a bad spec),
 * Unknown when the backend may simply be unreachable for now.
 */
export function failedValidation(error: Error, warnings?: ValidationResult["warnings"]): ValidationResult {
  const definite =
    error instanceof RefsyncError && (error.reason === "AccessDenied" || error.reason === "InvalidSpec");
  return {
    status: definite ? "Error" : "Unknown",
    message: error.message,
    ...(warnings ? { warnings } : {}),
  };
}
