/**
 * Metric families with one series per object (per ExternalSecret), kept out
 * of prom-client's per-series objects.
 *
 * Why: prom-client holds every series as a hashed label string, a labels
 * object and a value object (≈0.2 KiB each), and renders a scrape by building
 * one more object and string per series before joining them. At 10,000
 * ExternalSecrets (eleven per-object series each) that was 22.9 MiB held and
 * 77 MiB of heap added by one scrape (bench/metrics, docs/performance.md). A
 * TextFamily holds no series at all: its owner keeps the state in its own
 * compact structure and `each` walks it at scrape time, writing lines into
 * Buffers; `exposition()` hands those to the socket (src/server/app.ts) and
 * `ExpositionRegistry` makes `metrics()` use them too. Every other metric
 * stays a prom-client one, and a
 * TextFamily registered in a plain prom-client Registry renders the same text
 * through `get()` (slower, same bytes).
 */
import { Registry, type Metric } from "prom-client";

type Sample = (labelValues: readonly string[], value: number) => void;

export interface TextFamilyOptions {
  name: string;
  help: string;
  type: "counter" | "gauge";
  labelNames: readonly string[];
  /** Calls `sample` once per series, label values in `labelNames` order. */
  each: (sample: Sample) => void;
  registers: Registry[];
}

/** A label value as the Prometheus text format wants it: backslash, double quote and newline escaped. */
function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`)) : value;
}

/** HELP text: backslash and newline escaped (prom-client's rule, the text format's). */
const escapeHelp = (help: string) => help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** Prometheus's spelling of a sample value (as prom-client writes it). */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}

/** UTF-8 text in 64 KiB Buffers (outside the V8 heap). */
class TextChunks {
  readonly chunks: Buffer[] = [];
  #buffer = Buffer.allocUnsafe(CHUNK);
  #length = 0;

  write(text: string): void {
    const most = text.length * 3; // UTF-8 bytes per UTF-16 unit, at most
    if (this.#length + most > this.#buffer.length) {
      this.chunks.push(this.#buffer.subarray(0, this.#length));
      this.#buffer = Buffer.allocUnsafe(Math.max(CHUNK, most));
      this.#length = 0;
    }
    this.#length += this.#buffer.write(text, this.#length);
  }

  end(): Buffer[] {
    this.chunks.push(this.#buffer.subarray(0, this.#length));
    return this.chunks;
  }
}

const CHUNK = 64 * 1024;

export class TextFamily {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly labelNames: readonly string[];
  readonly #each: (sample: Sample) => void;

  constructor(options: TextFamilyOptions) {
    this.name = options.name;
    this.help = options.help;
    this.type = options.type;
    this.labelNames = options.labelNames;
    this.#each = options.each;
    // prom-client's registry only reads name, help, type and get() (and render() in ExpositionRegistry).
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** prom-client's shape (for getMetricsAsJSON, the JSON API and tests): one object per series, built on demand. */
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: "sum";
    values: { labels: Record<string, string>; value: number }[];
  }> {
    const values: { labels: Record<string, string>; value: number }[] = [];
    this.#each((labelValues, value) =>
      values.push({ labels: Object.fromEntries(this.labelNames.map((l, i) => [l, labelValues[i]!])), value }),
    );
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: "sum", values });
  }

  /**
   * The family in the text format, exactly as prom-client's Registry writes
   * it (no trailing newline), in Buffers: each line goes into one as soon as
   * it is built, so the V8 heap holds no line strings nor their concatenation.
   */
  chunks(): Buffer[] {
    const out = new TextChunks();
    out.write(`# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}`);
    const prefixes = this.labelNames.map((l, i) => `${i === 0 ? `\n${this.name}{` : ","}${l}="`);
    this.#each((labelValues, value) => {
      let line = prefixes.length ? "" : `\n${this.name}`;
      for (let i = 0; i < prefixes.length; i++)
        line += `${prefixes[i]!}${escapeLabelValue(labelValues[i]!)}"`;
      out.write(`${line}${prefixes.length ? "}" : ""} ${formatValue(value)}`);
    });
    return out.end();
  }

  /** `chunks()` as one string. */
  render(): string {
    return Buffer.concat(this.chunks()).toString("utf8");
  }

  reset(): void {
    // The owner's state is the series; prom-client's resetMetrics() has nothing to clear here.
  }
}

/** A prom-client Registry that renders a TextFamily itself instead of through per-series objects. */
export class ExpositionRegistry extends Registry {
  getMetricsAsString(metric: Metric | TextFamily): Promise<string> {
    if (metric instanceof TextFamily) return Promise.resolve(metric.render());
    // @ts-expect-error prom-client's method, present in its JavaScript but not in its type declarations.
    return super.getMetricsAsString(metric);
  }
}

/**
 * The registry's exposition in the Prometheus text format, family by family
 * (a TextFamily as its Buffers): the same bytes as `registry.metrics()`,
 * for writing to a socket without first building all of it in one string.
 */
export async function* exposition(registry: Registry): AsyncGenerator<string | Buffer> {
  for (const [i, metric] of (
    registry.getMetricsAsArray() as unknown as (TextFamily | { name: string })[]
  ).entries()) {
    if (i > 0) yield "\n\n";
    if (metric instanceof TextFamily) yield* metric.chunks();
    else yield await registry.getSingleMetricAsString(metric.name);
  }
  yield "\n";
}
