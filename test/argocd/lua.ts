/**
 * Runs Argo CD resource-customization Lua scripts in a real Lua 5.1 interpreter
 * (Debian `lua5.1`; Argo CD's gopher-lua is Lua 5.1), inside the sandbox of
 * ./lua/argocd-sandbox.lua, with the object passed as Argo CD passes it: the
 * global `obj`, JSON arrays as 1-based tables, null fields absent.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const sandbox = path.join(import.meta.dirname, "lua", "argocd-sandbox.lua");

/** A Lua 5.1 source literal for a JSON-like value (strings escaped byte by byte). */
export function toLuaLiteral(value: unknown): string {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot pass ${value} to Lua`);
    return String(value);
  }
  if (typeof value === "string") return luaString(value);
  if (Array.isArray(value)) return `{${value.map(toLuaLiteral).join(", ")}}`;
  if (typeof value === "object") {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `[${luaString(k)}] = ${toLuaLiteral(v)}`);
    return `{${fields.join(", ")}}`;
  }
  throw new Error(`cannot pass a ${typeof value} to Lua`);
}

function luaString(text: string): string {
  let out = '"';
  for (const b of Buffer.from(text, "utf8")) {
    const printable = b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c;
    out += printable ? String.fromCharCode(b) : `\\${b.toString().padStart(3, "0")}`;
  }
  return `${out}"`;
}

/** Runs `scriptPath` with `obj` bound to `object`; resolves to the script's return value. */
export async function runArgoLua(scriptPath: string, object: unknown): Promise<unknown> {
  const dir = await mkdtemp(path.join(tmpdir(), "refsync-lua-"));
  try {
    const objectFile = path.join(dir, "object.lua");
    await writeFile(objectFile, `return ${toLuaLiteral(object)}\n`);
    const { stdout } = await run("lua5.1", [sandbox, scriptPath, objectFile], { timeout: 10_000 });
    return JSON.parse(stdout) as unknown;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
