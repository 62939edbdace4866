/**
 * Structured JSON logs (pino). Values never belong in a log line; redaction is
 * the safety net for objects logged whole by mistake (Secret data, tokens).
 */
import pino from "pino";
import type { Logger, LevelWithSilent } from "pino";

export type { Logger } from "pino";

/** Paths censored wherever they appear (one and two levels deep). */
export const REDACT_PATHS = [
  "data",
  "stringData",
  "token",
  "password",
  "secret",
  "value",
  "values",
  "authorization",
  "*.data",
  "*.stringData",
  "*.token",
  "*.password",
  "*.secret",
  "*.value",
  "*.values",
  "*.authorization",
  "*.headers.authorization",
];

export interface LogOptions {
  level?: LevelWithSilent;
  /** Where to write; default stdout. Tests pass a stream to inspect what was logged. */
  destination?: NodeJS.WritableStream;
  name?: string;
}

export const LOG_LEVELS: readonly LevelWithSilent[] = [
  "trace",
  "debug",
  "info",
  "warn",
  "error",
  "fatal",
  "silent",
];

export function createLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? "refsync",
      level: options.level ?? "info",
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination(1),
  );
}

/** A logger that drops everything (library code called without one). */
export const silentLogger: Logger = pino({ level: "silent" });
