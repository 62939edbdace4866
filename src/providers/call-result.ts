import { RefsyncError } from "../errors.ts";
import type { CallResult } from "./types.ts";

/** The provider-call metric's result label for an error (undefined: success). */
export function callResultOf(error: unknown): CallResult {
  if (error === undefined) return "success";
  if (!(error instanceof RefsyncError)) return "error";
  if (error.reason === "NotFound") return "not_found";
  if (error.reason === "AccessDenied") return "denied";
  if (error.reason === "Throttled") return "throttled";
  return "error";
}
