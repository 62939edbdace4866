/**
 * A schema (or any value) built when first asked for, not at import. Argo CD starts
 * `refsync generate` once per render and a render checks few schemas; building every
 * provider's spec schema at each start cost about 20 ms (docs/performance.md, "Plugin
 * start"). Wrap a whole schema: `export const xSpecSchema = onFirstUse(() => z.strictObject(…))`,
 * read it with `xSpecSchema()`, type it with `z.infer<ReturnType<typeof xSpecSchema>>`.
 */
export function onFirstUse<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
