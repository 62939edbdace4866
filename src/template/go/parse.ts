/**
 * Lexer and parser of Go's text/template language, on the template's UTF-8
 * bytes (a binary string), following Go's grammar: actions `{{ }}` with
 * trim markers `{{- ` / ` -}}`, comments (`{{/*` … `*\/}}`), pipelines with `|`,
 * parenthesised pipelines, variables (`$x := …`, `$x = …`, `$i, $e := range`),
 * fields and chains (`.a.b`, `$x.a`, `(…).a`), literals (strings, raw
 * strings, characters, numbers in Go's syntax, `true`, `false`, `nil`), and
 * the control structures `if`/`else if`/`else`, `with`/`else with`,
 * `range`/`else`, `break`, `continue`. Function names are checked here, as Go
 * does, so an unknown or refused function fails before anything runs.
 *
 * Refused, with an error naming the construct: `define`, `template` and
 * `block` (named templates: ESO renders each key on its own, and recursion
 * through them is unbounded), complex numbers, hex floats, and identifiers
 * with non-ASCII letters.
 */
import { TemplateError } from "./errors.ts";

export const MAX_NESTING = 100;

type TokType =
  | "text"
  | "left"
  | "right"
  | "pipe"
  | "lparen"
  | "rparen"
  | "declare"
  | "assign"
  | "char"
  | "space"
  | "string"
  | "raw"
  | "charconst"
  | "number"
  | "bool"
  | "nil"
  | "dot"
  | "field"
  | "variable"
  | "ident"
  | "keyword"
  | "eof";

interface Token {
  type: TokType;
  pos: number;
  val: string;
}

const KEYWORDS = new Set([
  "block",
  "break",
  "continue",
  "define",
  "else",
  "end",
  "if",
  "range",
  "template",
  "with",
]);

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\r" || c === "\n";
const isAlnum = (c: string | undefined) => c !== undefined && /^[A-Za-z0-9_]$/.test(c);

/** The tokens of a template (Go's lexer, with the default delimiters). */
export function lex(src: string): Token[] {
  const toks: Token[] = [];
  let pos = 0;
  const fail = (msg: string, at: number): never => {
    throw new TemplateError(msg, at);
  };
  const rightDelimAt = (p: number): [boolean, boolean] => {
    if (isSpace(src[p]) && src[p + 1] === "-" && src.startsWith("}}", p + 2)) return [true, true];
    return [src.startsWith("}}", p), false];
  };
  const skipSpaces = (p: number) => {
    while (isSpace(src[p])) p++;
    return p;
  };
  for (;;) {
    const open = src.indexOf("{{", pos);
    if (open < 0) {
      if (pos < src.length) toks.push({ type: "text", pos, val: src.slice(pos) });
      toks.push({ type: "eof", pos: src.length, val: "" });
      return toks;
    }
    const trimLeft = src[open + 2] === "-" && isSpace(src[open + 3]);
    let textEnd = open;
    if (trimLeft) while (textEnd > pos && isSpace(src[textEnd - 1])) textEnd--;
    if (textEnd > pos) toks.push({ type: "text", pos, val: src.slice(pos, textEnd) });
    let p = open + 2 + (trimLeft ? 2 : 0);
    if (src.startsWith("/*", p)) {
      const close = src.indexOf("*/", p + 2);
      if (close < 0) fail("unclosed comment", open);
      const [delim, trim] = rightDelimAt(close + 2);
      if (!delim) fail("comment ends before closing delimiter", close);
      pos = close + 2 + (trim ? 4 : 2);
      if (trim) pos = skipSpaces(pos);
      continue;
    }
    toks.push({ type: "left", pos: open, val: "{{" });
    let depth = 0;
    for (;;) {
      const [delim, trim] = rightDelimAt(p);
      if (delim) {
        if (depth > 0) fail("unclosed left paren", p);
        toks.push({ type: "right", pos: p, val: "}}" });
        p += trim ? 4 : 2;
        if (trim) p = skipSpaces(p);
        break;
      }
      const c = src[p];
      const start = p;
      if (c === undefined) fail("unclosed action", open);
      else if (isSpace(c)) {
        while (isSpace(src[p])) p++;
        // A space that starts " -}}" belongs to the delimiter.
        if (src[p - 1] !== undefined && rightDelimAt(p - 1)[1]) {
          p--;
          if (p === start) continue;
        }
        toks.push({ type: "space", pos: start, val: src.slice(start, p) });
      } else if (c === "=") {
        toks.push({ type: "assign", pos: p++, val: "=" });
      } else if (c === ":") {
        if (src[p + 1] !== "=") fail("expected :=", p);
        toks.push({ type: "declare", pos: p, val: ":=" });
        p += 2;
      } else if (c === "|") toks.push({ type: "pipe", pos: p++, val: "|" });
      else if (c === '"' || c === "'") {
        p++;
        for (;;) {
          const d = src[p];
          if (d === "\\") p += 2;
          else if (d === undefined || d === "\n")
            fail(c === '"' ? "unterminated quoted string" : "unterminated character constant", start);
          else if (d === c) break;
          else p++;
        }
        p++;
        toks.push({ type: c === '"' ? "string" : "charconst", pos: start, val: src.slice(start, p) });
      } else if (c === "`") {
        const close = src.indexOf("`", p + 1);
        if (close < 0) fail("unterminated raw quoted string", start);
        p = close + 1;
        toks.push({ type: "raw", pos: start, val: src.slice(start, p) });
      } else if (c === "$" || (c === "." && !/[0-9]/.test(src[p + 1] ?? ""))) {
        p++;
        while (isAlnum(src[p])) p++;
        if (!atTerminator(p)) fail(`bad character in ${c === "$" ? "variable" : "field"} name`, p);
        const val = src.slice(start, p);
        toks.push({ type: c === "$" ? "variable" : val === "." ? "dot" : "field", pos: start, val });
      } else if (c === "+" || c === "-" || c === "." || /[0-9]/.test(c)) {
        p = scanNumber(src, p);
        if (isAlnum(src[p])) fail("bad number syntax", start);
        toks.push({ type: "number", pos: start, val: src.slice(start, p) });
      } else if (isAlnum(c)) {
        while (isAlnum(src[p])) p++;
        if (!atTerminator(p)) fail("bad character in identifier", p);
        const word = src.slice(start, p);
        const type: TokType = KEYWORDS.has(word)
          ? "keyword"
          : word === "true" || word === "false"
            ? "bool"
            : word === "nil"
              ? "nil"
              : "ident";
        toks.push({ type, pos: start, val: word });
      } else if (c === "(") {
        depth++;
        if (depth > MAX_NESTING) fail(`parentheses nested deeper than ${MAX_NESTING}`, p);
        toks.push({ type: "lparen", pos: p++, val: "(" });
      } else if (c === ")") {
        depth--;
        if (depth < 0) fail("unexpected right paren", p);
        toks.push({ type: "rparen", pos: p++, val: ")" });
      } else if (c >= " " && c < "\x7f") toks.push({ type: "char", pos: p++, val: c });
      else fail("unrecognized character in action", p);
    }
    pos = p;
  }

  function atTerminator(p: number): boolean {
    const c = src[p];
    return (
      c === undefined ||
      isSpace(c) ||
      c === "." ||
      c === "," ||
      c === "|" ||
      c === ":" ||
      c === ")" ||
      c === "(" ||
      src.startsWith("}}", p)
    );
  }
}

function scanNumber(src: string, p: number): number {
  const accept = (set: string) => {
    if (src[p] !== undefined && set.includes(src[p]!)) {
      p++;
      return true;
    }
    return false;
  };
  const run = (set: string) => {
    while (src[p] !== undefined && set.includes(src[p]!)) p++;
  };
  accept("+-");
  let digits = "0123456789_";
  if (accept("0")) {
    if (accept("xX")) digits = "0123456789abcdefABCDEF_";
    else if (accept("oO")) digits = "01234567_";
    else if (accept("bB")) digits = "01_";
  }
  run(digits);
  if (accept(".")) run(digits);
  if (digits.length === 11 && accept("eE")) {
    accept("+-");
    run("0123456789_");
  }
  if (digits.length === 23 && accept("pP")) {
    accept("+-");
    run("0123456789_");
  }
  accept("i");
  return p;
}

// ---- AST

export type Arg =
  | { type: "field"; pos: number; ident: string[]; text: string }
  | { type: "variable"; pos: number; ident: string[]; text: string }
  | { type: "identifier"; pos: number; name: string; text: string }
  | { type: "chain"; pos: number; node: Arg; field: string[]; text: string }
  | { type: "dot"; pos: number; text: string }
  | { type: "nil"; pos: number; text: string }
  | { type: "bool"; pos: number; value: boolean; text: string }
  | { type: "number"; pos: number; int?: bigint; float?: number; floatSyntax: boolean; text: string }
  | { type: "string"; pos: number; value: string; text: string }
  | { type: "pipe"; pos: number; pipe: Pipe; text: string };

export interface Command {
  pos: number;
  args: Arg[];
}

export interface Pipe {
  pos: number;
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
}

export type Node =
  | { type: "text"; pos: number; text: string }
  | { type: "action"; pos: number; pipe: Pipe; text: string }
  | ControlNode
  | { type: "break" | "continue"; pos: number };

export interface ControlNode {
  type: "if" | "with" | "range";
  pos: number;
  pipe: Pipe;
  list: Node[];
  elseList?: Node[];
}

type End = { type: "end" | "else"; pos: number; chained: boolean };
const isEnd = (n: Node | End): n is End => n.type === "end" || n.type === "else";

/** Go's strconv.Unquote for the literals the lexer found (bytes in, bytes out). */
function unquote(tok: Token): string {
  const s = tok.val;
  if (tok.type === "raw") return s.slice(1, -1).replace(/\r/g, "");
  const body = s.slice(1, -1);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
      "\\": "\\",
    };
    if (e !== undefined && simple[e] !== undefined) out += simple[e];
    else if (e === s[0]) out += e;
    else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e !== undefined && /[0-7]/.test(e) && /^[0-7]{3}$/.test(body.slice(i, i + 3))) {
      const n = parseInt(body.slice(i, i + 3), 8);
      if (n > 255) throw new TemplateError("invalid syntax in quoted string", tok.pos);
      out += String.fromCharCode(n);
      i += 2;
    } else if (
      (e === "u" || e === "U") &&
      /^[0-9a-fA-F]+$/.test(body.slice(i + 1, i + (e === "u" ? 5 : 9)))
    ) {
      const len = e === "u" ? 4 : 8;
      const hexText = body.slice(i + 1, i + 1 + len);
      if (hexText.length !== len) throw new TemplateError("invalid syntax in quoted string", tok.pos);
      const cp = parseInt(hexText, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        throw new TemplateError("invalid syntax in quoted string", tok.pos);
      out += Buffer.from(String.fromCodePoint(cp), "utf8").toString("latin1");
      i += len;
    } else throw new TemplateError("invalid syntax in quoted string", tok.pos);
  }
  return out;
}

function parseInteger(text: string): bigint | undefined {
  let t = text.replace(/_/g, "");
  let neg = false;
  if (t[0] === "+" || t[0] === "-") {
    neg = t[0] === "-";
    t = t.slice(1);
  }
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(t) || /^0[bB][01]+$/.test(t) || /^0[oO][0-7]+$/.test(t)) v = BigInt(t);
  else if (/^0[0-7]+$/.test(t)) v = BigInt("0o" + t.slice(1));
  else if (/^[0-9]+$/.test(t)) v = BigInt(t);
  else return undefined;
  if (neg) v = -v;
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) return undefined;
  return v;
}

function numberArg(tok: Token): Arg {
  const text = tok.val;
  if (tok.type === "charconst") {
    const runes = Buffer.from(unquote(tok), "latin1").toString("utf8");
    const cp = runes.codePointAt(0);
    if (cp === undefined || [...runes].length !== 1)
      throw new TemplateError("malformed character constant", tok.pos);
    return { type: "number", pos: tok.pos, int: BigInt(cp), float: cp, floatSyntax: false, text };
  }
  if (text.endsWith("i")) throw new TemplateError("complex numbers are not supported", tok.pos);
  const int = parseInteger(text);
  if (int !== undefined)
    return { type: "number", pos: tok.pos, int, float: Number(int), floatSyntax: false, text };
  const clean = text.replace(/_/g, "");
  if (/^[+-]?0[xX]/.test(clean)) throw new TemplateError("hexadecimal floats are not supported", tok.pos);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean))
    throw new TemplateError(`illegal number syntax: ${JSON.stringify(text)}`, tok.pos);
  const float = Number(clean);
  // An integral float constant (1e3) is also an int in Go's constant rules.
  const asInt = Number.isInteger(float) && Math.abs(float) < 2 ** 63 ? BigInt(float) : undefined;
  return { type: "number", pos: tok.pos, int: asInt, float, floatSyntax: true, text };
}

/** Parses a template into its list of nodes; `hasFunction` says which identifiers name callable functions. */
export function parse(src: string, hasFunction: (name: string) => true | string): Node[] {
  const toks = lex(src);
  let i = 0;
  let vars: string[] = ["$"];
  let rangeDepth = 0;
  let nesting = 0;
  const fail = (msg: string, pos: number): never => {
    throw new TemplateError(msg, pos);
  };
  const peek = (): Token => toks[i]!;
  const next = (): Token => toks[i++]!;
  const peekNonSpace = (): Token => {
    while (toks[i]!.type === "space") i++;
    return toks[i]!;
  };
  const nextNonSpace = (): Token => {
    peekNonSpace();
    return toks[i++]!;
  };
  const describe = (t: Token) => (t.type === "eof" ? "EOF" : t.type === "right" ? "}}" : `<${t.val}>`);
  const unexpected = (t: Token, context: string): never =>
    fail(`unexpected ${describe(t)} in ${context}`, t.pos);
  const expectRight = (context: string) => {
    const t = nextNonSpace();
    if (t.type !== "right") unexpected(t, context);
  };

  function textOrAction(): Node | End {
    const t = nextNonSpace();
    if (t.type === "text") return { type: "text", pos: t.pos, text: t.val };
    if (t.type === "left") return action(t);
    return unexpected(t, "input");
  }

  function action(left: Token): Node | End {
    const t = nextNonSpace();
    if (t.type === "keyword") {
      switch (t.val) {
        case "end":
          expectRight("end");
          return { type: "end", pos: t.pos, chained: false };
        case "else": {
          const p = peekNonSpace();
          if (p.type === "keyword" && (p.val === "if" || p.val === "with"))
            return { type: "else", pos: t.pos, chained: true };
          expectRight("else");
          return { type: "else", pos: t.pos, chained: false };
        }
        case "if":
        case "with":
        case "range":
          return control(t.val, t.pos);
        case "break":
        case "continue":
          expectRight(`{{${t.val}}}`);
          if (rangeDepth === 0) fail(`{{${t.val}}} outside {{range}}`, t.pos);
          return { type: t.val, pos: t.pos };
        default:
          return fail(`{{${t.val}}} is not supported (named templates are refused)`, t.pos);
      }
    }
    i--;
    const start = peekNonSpace().pos;
    const pipe = pipeline("command", "right");
    return { type: "action", pos: start, pipe, text: src.slice(left.pos, toks[i - 1]!.pos + 2) };
  }

  function itemList(): [Node[], End] {
    const list: Node[] = [];
    while (peekNonSpace().type !== "eof") {
      const n = textOrAction();
      if (isEnd(n)) return [list, n];
      list.push(n);
    }
    return fail("unexpected EOF", src.length);
  }

  function control(context: string, pos: number): Node {
    if (++nesting > MAX_NESTING) fail(`control structures nested deeper than ${MAX_NESTING}`, pos);
    const mark = vars.length;
    const pipe = pipeline(context, "right");
    if (context === "range") rangeDepth++;
    const [list, end] = itemList();
    if (context === "range") rangeDepth--;
    let elseList: Node[] | undefined;
    if (end.type === "else") {
      const p = peek();
      if (end.chained && p.type === "keyword" && p.val === context && context !== "range") {
        next();
        elseList = [control(context, p.pos)];
      } else if (end.chained) {
        unexpected(p, "input");
      } else {
        let close: End;
        [elseList, close] = itemList();
        if (close.type !== "end") fail(`expected end; found {{else}}`, close.pos);
      }
    }
    vars = vars.slice(0, mark);
    nesting--;
    return { type: context as "if" | "with" | "range", pos, pipe, list, elseList };
  }

  function pipeline(context: string, end: "right" | "rparen"): Pipe {
    const pipe: Pipe = { pos: peekNonSpace().pos, decl: [], isAssign: false, cmds: [] };
    for (;;) {
      const v = peekNonSpace();
      if (v.type !== "variable") break;
      const save = i;
      next();
      const after = peekNonSpace();
      if (after.type === "assign" || after.type === "declare") {
        next();
        pipe.isAssign = after.type === "assign";
        pipe.decl.push(v.val);
        vars.push(v.val);
        break;
      }
      if (after.type === "char" && after.val === ",") {
        next();
        pipe.decl.push(v.val);
        vars.push(v.val);
        if (context === "range" && pipe.decl.length < 2) {
          const n = peekNonSpace();
          if (n.type === "variable" || n.type === "right" || n.type === "rparen") continue;
          fail("range can only initialize variables", n.pos);
        }
        fail(`too many declarations in ${context}`, after.pos);
      }
      i = save;
      break;
    }
    for (;;) {
      const t = nextNonSpace();
      if (t.type === end) {
        if (pipe.cmds.length === 0) fail(`missing value for ${context}`, t.pos);
        pipe.cmds.slice(1).forEach((c, k) => {
          const first = c.args[0]!;
          if (["bool", "dot", "nil", "number", "string"].includes(first.type))
            fail(`non executable command in pipeline stage ${k + 2}`, first.pos);
        });
        return pipe;
      }
      if (
        [
          "bool",
          "charconst",
          "dot",
          "field",
          "ident",
          "number",
          "nil",
          "raw",
          "string",
          "variable",
          "lparen",
        ].includes(t.type)
      ) {
        i--;
        pipe.cmds.push(command());
      } else unexpected(t, context);
    }
  }

  function command(): Command {
    const cmd: Command = { pos: peekNonSpace().pos, args: [] };
    for (;;) {
      peekNonSpace();
      const operand = term();
      if (operand) cmd.args.push(operand);
      const t = next();
      if (t.type === "space") continue;
      if (t.type === "right" || t.type === "rparen") i--;
      else if (t.type !== "pipe") unexpected(t, "operand");
      break;
    }
    if (cmd.args.length === 0) fail("empty command", cmd.pos);
    return cmd;
  }

  function term(): Arg | undefined {
    const start = i;
    let node = primary();
    if (!node) return undefined;
    if (peek().type === "field") {
      const fields: string[] = [];
      while (peek().type === "field") fields.push(next().val.slice(1));
      const text = src.slice(toks[start]!.pos, toks[i]!.pos);
      if (node.type === "field" || node.type === "variable")
        node = { ...node, ident: [...node.ident, ...fields], text };
      else if (["bool", "string", "number", "nil", "dot"].includes(node.type))
        fail(`unexpected . after term ${JSON.stringify(node.text)}`, node.pos);
      else node = { type: "chain", pos: node.pos, node, field: fields, text };
    }
    return node;
  }

  function primary(): Arg | undefined {
    const t = nextNonSpace();
    switch (t.type) {
      case "ident": {
        const ok = hasFunction(t.val);
        if (ok !== true) fail(ok, t.pos);
        return { type: "identifier", pos: t.pos, name: t.val, text: t.val };
      }
      case "dot":
        return { type: "dot", pos: t.pos, text: "." };
      case "nil":
        return { type: "nil", pos: t.pos, text: "nil" };
      case "variable": {
        const ident = t.val.split(".");
        if (!vars.includes(ident[0]!)) fail(`undefined variable ${JSON.stringify(ident[0])}`, t.pos);
        return { type: "variable", pos: t.pos, ident, text: t.val };
      }
      case "field":
        return { type: "field", pos: t.pos, ident: [t.val.slice(1)], text: t.val };
      case "bool":
        return { type: "bool", pos: t.pos, value: t.val === "true", text: t.val };
      case "charconst":
      case "number":
        return numberArg(t);
      case "lparen": {
        if (++nesting > MAX_NESTING) fail(`parentheses nested deeper than ${MAX_NESTING}`, t.pos);
        const pipe = pipeline("parenthesized pipeline", "rparen");
        nesting--;
        return { type: "pipe", pos: t.pos, pipe, text: src.slice(t.pos, toks[i - 1]!.pos + 1) };
      }
      case "string":
      case "raw":
        return { type: "string", pos: t.pos, value: unquote(t), text: t.val };
    }
    i--;
    return undefined;
  }

  const list: Node[] = [];
  while (peek().type !== "eof") {
    const n = textOrAction();
    if (isEnd(n)) return fail(`unexpected {{${n.type}}}`, n.pos);
    list.push(n);
  }
  return list;
}
