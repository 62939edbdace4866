/** Errors inside the Go template engine; renderGoTemplates turns them into InvalidSpecError naming the key. */

/** A parse or execution error at a place in the template. Its message names the construct, never a value. */
export class TemplateError extends Error {
  override readonly name = "TemplateError";
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

/** An error from a function: the executor adds where it was called. */
export class TemplateFuncError extends Error {
  override readonly name = "TemplateFuncError";
}
