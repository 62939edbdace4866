/**
 * The executor of parsed Go templates, following text/template's exec.go:
 * pipelines pass their value as the last argument of the next command,
 * variables live until the end of the enclosing control structure, `range`
 * walks lists in order, maps in sorted key order and integers from 0, and
 * the data is ESO's: a map[string]string of the fetched values with
 * `missingkey=error`. Arguments are checked against each function's
 * parameter types as Go's reflection does (a float64 from JSON is not an
 * int). Bounds: output size, `range` iterations, and the work functions do
 * (the sizes of what they build), so no template runs away.
 */
import { TemplateError, TemplateFuncError } from "./errors.ts";
import { formatValue } from "./fmt.ts";
import type { Arg, ControlNode, Node, Pipe } from "./parse.ts";
import { GoMap, GoObject, truth, typeName, type Value } from "./value.ts";

/** Go parameter types; "value" is reflect.Value (the builtins): anything, but not a literal nil. */
export type Param = "string" | "int" | "float64" | "bool" | "map" | "time" | "any" | "value";

/** A function a template may call: Go-typed parameters, a variadic tail, and its body. */
export interface Func {
  params: Param[];
  variadic?: Param;
  fn: (...args: Value[]) => Value;
  /** The share of the work budget one call takes, charged before it runs (an expensive function's). */
  share?: number;
}

export interface Limits {
  maxOutput: number;
  maxIterations: number;
  /** Sum of the sizes of the values functions return. */
  maxWork: number;
  /** Longest string a function may return. */
  maxString: number;
}

const MISSING = Symbol("missing");
type Final = Value | typeof MISSING;
const BREAK = Symbol("break");
const CONTINUE = Symbol("continue");

const GO_TYPE: Record<Param, string> = {
  string: "string",
  int: "int",
  float64: "float64",
  bool: "bool",
  map: "map[string]interface {}",
  time: "time.Time",
  any: "interface {}",
  value: "reflect.Value",
};

function size(v: Value): number {
  if (typeof v === "string") return v.length;
  if (Array.isArray(v)) return v.length;
  if (v instanceof GoMap) return v.m.size;
  return 1;
}

export function execute(nodes: Node[], data: Value, funcs: Map<string, Func>, limits: Limits): string {
  const out: string[] = [];
  let outLen = 0;
  let iterations = 0;
  let work = 0;
  const vars: { name: string; value: Value }[] = [{ name: "$", value: data }];

  const fail = (at: { pos: number; text: string }, msg: string): never => {
    throw new TemplateError(`at <${at.text}>: ${msg}`, at.pos);
  };

  const write = (s: string) => {
    outLen += s.length;
    if (outLen > limits.maxOutput) throw new TemplateError(`output larger than ${limits.maxOutput} bytes`, 0);
    out.push(s);
  };

  function walk(dot: Value, list: Node[]): void {
    for (const node of list) {
      switch (node.type) {
        case "text":
          write(node.text);
          break;
        case "action": {
          const v = evalPipeline(dot, node.pipe, node);
          if (node.pipe.decl.length === 0) write(v === null ? "<no value>" : formatValue(v));
          break;
        }
        case "if":
        case "with": {
          const mark = vars.length;
          const v = evalPipeline(dot, node.pipe, { pos: node.pos, text: node.type });
          if (truth(v)) walk(node.type === "with" ? v : dot, node.list);
          else if (node.elseList) walk(dot, node.elseList);
          vars.length = mark;
          break;
        }
        case "range":
          walkRange(dot, node);
          break;
        case "break":
          throw BREAK;
        case "continue":
          throw CONTINUE;
      }
    }
  }

  function walkRange(dot: Value, node: ControlNode): void {
    const at = { pos: node.pos, text: "range" };
    const mark = vars.length;
    const v = evalPipeline(dot, node.pipe, at);
    const decl = node.pipe.decl;
    const setVar = (name: string, value: Value) => {
      for (let k = vars.length - 1; k >= 0; k--)
        if (vars[k]!.name === name) {
          vars[k]!.value = value;
          return;
        }
      fail(at, `undefined variable: ${name}`);
    };
    const one = (index: Value, elem: Value): boolean => {
      if (++iterations > limits.maxIterations) fail(at, `more than ${limits.maxIterations} iterations`);
      if (decl.length > 0) {
        if (node.pipe.isAssign) setVar(decl[0]!, decl.length > 1 ? index : elem);
        else vars[vars.length - 1]!.value = elem;
      }
      if (decl.length > 1) {
        if (node.pipe.isAssign) setVar(decl[1]!, elem);
        else vars[vars.length - 2]!.value = index;
      }
      const inner = vars.length;
      try {
        walk(elem, node.list);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      } finally {
        vars.length = inner;
      }
      return true;
    };
    let ran = false;
    if (Array.isArray(v)) {
      for (let k = 0; k < v.length; k++) {
        ran = true;
        if (!one(BigInt(k), v[k]!)) break;
      }
    } else if (v instanceof GoMap) {
      for (const key of v.sortedKeys()) {
        ran = true;
        if (!one(key, v.m.get(key)!)) break;
      }
    } else if (typeof v === "bigint") {
      if (decl.length > 1) fail(at, "can't use an int to iterate over more than one variable");
      for (let k = 0n; k < v; k++) {
        ran = true;
        if (!one(k, k)) break;
      }
    } else if (v !== null) fail(at, `range can't iterate over a value of type ${typeName(v)}`);
    if (!ran && node.elseList) walk(dot, node.elseList);
    vars.length = mark;
  }

  function evalPipeline(dot: Value, pipe: Pipe, at: { pos: number; text: string }): Value {
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = evalCommand(dot, cmd.args, value);
    const v = value === MISSING ? fail(at, "empty pipeline") : value;
    for (const name of pipe.decl) {
      if (pipe.isAssign) {
        let k = vars.length - 1;
        while (k >= 0 && vars[k]!.name !== name) k--;
        if (k < 0) fail(at, `undefined variable: ${name}`);
        vars[k]!.value = v;
      } else vars.push({ name, value: v });
    }
    return v;
  }

  function notAFunction(args: Arg[], final: Final): void {
    if (args.length > 1 || final !== MISSING)
      fail(args[0]!, `can't give argument to non-function ${args[0]!.text}`);
  }

  function evalCommand(dot: Value, args: Arg[], final: Final): Value {
    const first = args[0]!;
    switch (first.type) {
      case "field":
        return evalFieldChain(dot, first, first.ident, args, final);
      case "chain":
        return evalChain(dot, first, args, final);
      case "identifier":
        return evalFunction(dot, first, args, final);
      case "pipe":
        notAFunction(args, final);
        return evalPipeline(dot, first.pipe, first);
      case "variable":
        return evalVariable(dot, first, args, final);
    }
    notAFunction(args, final);
    switch (first.type) {
      case "bool":
        return first.value;
      case "dot":
        return dot;
      case "nil":
        return fail(first, "nil is not a command");
      case "number":
        return idealConstant(first);
      case "string":
        return first.value;
    }
  }

  function idealConstant(n: Extract<Arg, { type: "number" }>): Value {
    if (n.floatSyntax) return n.float!;
    if (n.int === undefined) fail(n, `${n.text} overflows int`);
    return n.int!;
  }

  function lookupVar(node: Arg, name: string): Value {
    for (let k = vars.length - 1; k >= 0; k--) if (vars[k]!.name === name) return vars[k]!.value;
    return fail(node, `undefined variable: ${name}`);
  }

  function evalVariable(
    dot: Value,
    node: Extract<Arg, { type: "variable" }>,
    args: Arg[],
    final: Final,
  ): Value {
    const value = lookupVar(node, node.ident[0]!);
    if (node.ident.length === 1) {
      notAFunction(args.length ? args : [node], final);
      return value;
    }
    return evalFieldChainFrom(value, node, node.ident.slice(1), args, final);
  }

  function evalChain(dot: Value, node: Extract<Arg, { type: "chain" }>, args: Arg[], final: Final): Value {
    if (node.node.type === "nil") fail(node, `indirection through explicit nil in ${node.text}`);
    const base = evalArg(dot, undefined, node.node);
    return evalFieldChainFrom(base, node, node.field, args, final);
  }

  function evalFieldChain(dot: Value, node: Arg, ident: string[], args: Arg[], final: Final): Value {
    return evalFieldChainFrom(dot, node, ident, args, final);
  }

  function evalFieldChainFrom(receiver: Value, node: Arg, ident: string[], args: Arg[], final: Final): Value {
    for (let k = 0; k < ident.length - 1; k++) receiver = evalField(ident[k]!, node, false, receiver);
    return evalField(ident[ident.length - 1]!, node, args.length > 1 || final !== MISSING, receiver);
  }

  function evalField(name: string, node: Arg, hasArgs: boolean, receiver: Value): Value {
    if (receiver instanceof GoMap) {
      if (hasArgs) fail(node, `${name} is not a method but has arguments`);
      const v = receiver.m.get(name);
      if (v === undefined) fail(node, `map has no entry for key ${JSON.stringify(name)}`);
      return v!;
    }
    if (receiver instanceof GoObject) {
      if (hasArgs) fail(node, `${name} has arguments: methods with arguments are not supported`);
      const v = receiver.method(name);
      if (v !== undefined) return v;
    }
    if (receiver === null) fail(node, `nil pointer evaluating interface {}.${name}`);
    return fail(node, `can't evaluate field ${name} in type ${typeName(receiver)}`);
  }

  /**
   * Go's validateType. A nil that went through a pipeline or a variable is
   * an invalid reflect.Value there, which a reflect.Value parameter refuses;
   * a nil read straight from a map (a field, a chain) is a valid interface.
   */
  function validate(v: Value, param: Param | undefined, node: Arg, piped = false): Value {
    if (param === "value" && v === null && piped) fail(node, "invalid value; expected reflect.Value");
    if (param === undefined || param === "any" || param === "value") return v;
    if (v === null) {
      if (param === "map") return new GoMap();
      fail(node, `invalid value; expected ${GO_TYPE[param]}`);
    }
    const ok =
      (param === "string" && typeof v === "string") ||
      (param === "int" && typeof v === "bigint") ||
      (param === "float64" && typeof v === "number") ||
      (param === "bool" && typeof v === "boolean") ||
      (param === "map" && v instanceof GoMap && v.elem === "interface {}") ||
      (param === "time" && v instanceof GoObject && v.goType === "time.Time");
    if (!ok) fail(node, `wrong type for value; expected ${GO_TYPE[param]}; got ${typeName(v)}`);
    return v;
  }

  function evalArg(dot: Value, param: Param | undefined, n: Arg): Value {
    switch (n.type) {
      case "dot":
        return validate(dot, param, n);
      case "nil":
        if (param === undefined || param === "any") return null;
        if (param === "map") return new GoMap();
        return fail(n, `cannot assign nil to ${GO_TYPE[param]}`);
      case "field":
        return validate(evalFieldChain(dot, n, n.ident, [n], MISSING), param, n);
      case "variable":
        return validate(evalVariable(dot, n, [], MISSING), param, n, n.ident.length === 1);
      case "pipe":
        return validate(evalPipeline(dot, n.pipe, n), param, n, true);
      case "identifier":
        return validate(evalFunction(dot, n, [n], MISSING), param, n);
      case "chain":
        return validate(evalChain(dot, n, [], MISSING), param, n);
    }
    switch (param) {
      case "bool":
        if (n.type === "bool") return n.value;
        return fail(n, `expected bool; found ${n.text}`);
      case "float64":
        if (n.type === "number" && n.float !== undefined) return n.float;
        return fail(n, `expected float; found ${n.text}`);
      case "int":
        if (n.type === "number" && n.int !== undefined) return n.int;
        return fail(n, `expected integer; found ${n.text}`);
      case "string":
        if (n.type === "string") return n.value;
        return fail(n, `expected string; found ${n.text}`);
      case "map":
      case "time":
        return fail(n, `can't handle ${n.text} for arg of type ${GO_TYPE[param]}`);
    }
    if (n.type === "bool" || n.type === "string") return n.value;
    return idealConstant(n);
  }

  function evalFunction(
    dot: Value,
    node: Extract<Arg, { type: "identifier" }>,
    args: Arg[],
    final: Final,
  ): Value {
    const name = node.name;
    const rest = args.slice(1);
    const numIn = rest.length + (final === MISSING ? 0 : 1);
    if (name === "and" || name === "or") {
      if (numIn < 1) fail(node, `wrong number of args for ${name}: want at least 1 got 0`);
      let v: Value = null;
      for (const a of rest) {
        v = evalArg(dot, "value", a);
        if (truth(v) === (name === "or")) return v;
      }
      return final === MISSING ? v : validate(final, "value", node, true);
    }
    const f = funcs.get(name);
    if (!f) return fail(node, `function ${JSON.stringify(name)} not defined`);
    const fixed = f.params.length;
    if (f.variadic !== undefined) {
      if (numIn < fixed)
        fail(node, `wrong number of args for ${name}: want at least ${fixed} got ${rest.length}`);
    } else if (numIn !== fixed) fail(node, `wrong number of args for ${name}: want ${fixed} got ${numIn}`);
    const paramAt = (k: number): Param => (k < fixed ? f.params[k]! : f.variadic!);
    const values = rest.map((a, k) => evalArg(dot, paramAt(k), a));
    if (final !== MISSING) values.push(validate(final, paramAt(rest.length), node, true));
    if (f.share !== undefined) {
      work += Math.ceil(limits.maxWork * f.share);
      if (work > limits.maxWork) fail(node, `${name} is called too often in one template`);
    }
    let result: Value;
    try {
      result = f.fn(...values);
    } catch (e) {
      if (e instanceof TemplateFuncError) return fail(node, `error calling ${name}: ${e.message}`);
      if (e instanceof TemplateError) throw e;
      if (e instanceof RangeError) return fail(node, `error calling ${name}: too large or too deeply nested`);
      throw e;
    }
    work += size(result);
    if (work > limits.maxWork)
      fail(node, `functions built more than ${limits.maxWork} bytes or elements in all`);
    if (typeof result === "string" && result.length > limits.maxString)
      fail(node, `error calling ${name}: result larger than ${limits.maxString} bytes`);
    return result;
  }

  try {
    walk(data, nodes);
  } catch (e) {
    if (e === BREAK || e === CONTINUE)
      throw new TemplateError("{{break}} or {{continue}} outside {{range}}", 0);
    throw e;
  }
  return out.join("");
}
