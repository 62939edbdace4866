/**
 * `refsync generate [path|-]`: the Argo CD config-management plugin's
 * generate command. Argo CD runs it in the application's source path, so the
 * input defaults to `.`; everything else is as `refsync render`.
 */
import { runRender } from "./render.ts";

export function generateCommand(argv: string[]): Promise<number> {
  return runRender(argv, ".");
}
