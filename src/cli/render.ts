/**
 * `refsync render <path|->`: render manifests locally, as the plugin would.
 * `refsync generate` (./generate.ts) is the same with Argo CD's defaults.
 * Options come from flags, then from the environment Argo CD sets. The
 * plugin configuration comes only from --config or REFSYNC_CONFIG (set by
 * the operator), never from ARGOCD_ENV_*: an application may choose among
 * what that configuration allows, not widen it.
 */
import { parseArgs } from "node:util";
import type { KubernetesSecretReader } from "../providers/types.ts";
import { ConfigError } from "../errors.ts";
import { flagErrorMessage } from "./command-line.ts";
import { loadConfig, type Mode } from "../render/config.ts";
import { render } from "../render/render.ts";
import { auditFlagOptions, auditUsage, commandAuditor } from "./flags/audit.ts";
import { VERSION } from "./version.ts";

export interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  stdin?: () => Promise<string>;
}

const processIO = (): CommandIO => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

const renderOptions = `  --mode deferred|inline   default: ARGOCD_ENV_REFSYNC_MODE, else deferred
  --config FILE            plugin configuration (default: REFSYNC_CONFIG)
  --project NAME           Argo CD project for the policy (default: ARGOCD_APP_PROJECT_NAME)
  --namespace NAME         destination namespace (default: ARGOCD_APP_NAMESPACE)
  --store NAME             store of references that name none (default: ARGOCD_ENV_REFSYNC_STORE)
  --revision REV           stamped as refsync.dev/source-revision (default: ARGOCD_APP_REVISION)
${auditUsage}`;

export const renderUsage = `usage: refsync render <path|-> [options]
Renders a directory (plain YAML/JSON, a Kustomize directory or a Helm chart), a file, or stdin (-)
as the Argo CD plugin would, and prints the manifests.
${renderOptions}`;

export const generateUsage = `usage: refsync generate [path|-] [options]
The Argo CD config-management plugin's generate command: renders the application's source path
(default: the current directory; - reads stdin) and prints the manifests for Argo CD to apply.
${renderOptions}`;

const MODES: readonly Mode[] = ["deferred", "inline"];

let reader: Promise<KubernetesSecretReader> | undefined;
/** Loaded on first use: most renders never touch Kubernetes, and its client takes a while to load. */
function kubernetesReader(): Promise<KubernetesSecretReader> {
  reader ??= import("../providers/kubernetes/client.ts").then((m) =>
    m.kubernetesSecretReader(m.loadKubeConfig()),
  );
  return reader;
}

/** Runs a render; prints the stream on success, or every error on stderr and nothing on stdout. */
export async function runRender(
  argv: string[],
  defaultInput: string | undefined,
  io: CommandIO = processIO(),
): Promise<number> {
  const command = defaultInput === undefined ? "render" : "generate";
  const usage = command === "render" ? renderUsage : generateUsage;
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        mode: { type: "string" },
        config: { type: "string" },
        project: { type: "string" },
        namespace: { type: "string" },
        store: { type: "string" },
        revision: { type: "string" },
        ...auditFlagOptions,
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    io.stderr.write(`refsync ${command}: ${flagErrorMessage(err)} (see refsync ${command} --help)\n`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  const input = positionals[0] ?? defaultInput;
  if (input === undefined || positionals.length > 1) {
    io.stderr.write(`${usage}\n`);
    return 2;
  }
  const env = io.env;
  const mode = values.mode ?? env.ARGOCD_ENV_REFSYNC_MODE ?? "deferred";
  if (!MODES.includes(mode as Mode)) {
    io.stderr.write(`refsync: mode must be deferred or inline, not "${mode}"\n`);
    return 2;
  }
  let config;
  try {
    config = await loadConfig(values.config ?? (env.REFSYNC_CONFIG || undefined));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`refsync: ${err.message}\n`);
    return 1;
  }
  if (!config.modes.includes(mode as Mode)) {
    io.stderr.write(
      `refsync: ${mode} mode is not allowed by the plugin configuration (modes: ${config.modes.join(", ")})\n`,
    );
    return 1;
  }
  const project = values.project ?? env.ARGOCD_APP_PROJECT_NAME ?? "";
  const revision = values.revision ?? (env.ARGOCD_APP_REVISION || undefined);
  let auditor;
  try {
    auditor = commandAuditor(values, env, io.stderr, { component: "plugin", version: VERSION });
  } catch (err) {
    io.stderr.write(`refsync: ${(err as Error).message}\n`);
    return 2;
  }
  const audit = auditor && {
    auditor,
    subjects: [
      {
        kind: "Application" as const,
        name: env.ARGOCD_APP_NAME ?? "",
        ...(project && { project }),
        ...(revision && { revision }),
        ...(env.ARGOCD_APP_SOURCE_PATH && { path: env.ARGOCD_APP_SOURCE_PATH }),
      },
    ],
  };
  const result = await render({
    input,
    mode: mode as Mode,
    config,
    ...(audit && { audit }),
    requester: {
      project,
      namespace: values.namespace ?? env.ARGOCD_APP_NAMESPACE ?? "",
    },
    store: values.store ?? (env.ARGOCD_ENV_REFSYNC_STORE || undefined),
    revision,
    release: env.ARGOCD_APP_NAME || undefined,
    ...(io.stdin ? { stdin: io.stdin } : {}),
    kubernetes: kubernetesReader,
  });
  auditor?.close();
  if (!result.ok) {
    io.stderr.write(result.errors.map((e) => `${e}\n`).join(""));
    return 1;
  }
  // argocd-cmp-server logs a successful command's stderr (not shown in the UI, which gets the
  // notes from the converted objects' refsync.dev/conversion-notes annotation).
  if (result.notes.length > 0)
    io.stderr.write(result.notes.map((note) => `refsync: note: ${note}\n`).join(""));
  io.stdout.write(result.output);
  return 0;
}

export function renderCommand(argv: string[]): Promise<number> {
  return runRender(argv, undefined);
}
