/**
 * Sprig's path functions: Go's `path` (base, dir, clean, ext, isAbs) and
 * `path/filepath` (osBase, osDir, osClean, osExt, osIsAbs), which on Linux,
 * where ESO runs, follow the same slash-separated rules. Pure string work:
 * nothing here touches a file system.
 */

/** path.Clean: the shortest equivalent path by lexical processing. */
export function clean(p: string): string {
  if (p === "") return ".";
  const rooted = p[0] === "/";
  const out: string[] = [];
  let dotdot = 0; // leading ".." kept in a relative path
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > dotdot) out.pop();
      else if (!rooted) {
        out.push("..");
        dotdot++;
      }
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/** path.Base: the last element, trailing slashes removed; "." for "", "/" for only slashes. */
export function base(p: string): string {
  if (p === "") return ".";
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** path.Dir: everything but the last element, cleaned. */
export function dir(p: string): string {
  return clean(p.slice(0, p.lastIndexOf("/") + 1));
}

/** path.Ext: the suffix from the last dot of the last element, or "". */
export function ext(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== "/"; i--) if (p[i] === ".") return p.slice(i);
  return "";
}

export const isAbs = (p: string): boolean => p.startsWith("/");
