/**
 * Go's encoding/base64 (StdEncoding) decoding and encoding/pem, on template
 * strings (bytes as a binary string), for the functions that read PEM and
 * base64 as ESO's do.
 */
// ---- base64 as Go's encoding/base64 StdEncoding (padding required, \r and \n ignored)

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** The decoded bytes, or Go's error (which Sprig's b64dec returns as its result). */
export function b64decode(src: string): string | { error: string } {
  const illegal = (at: number) => ({ error: `illegal base64 data at input byte ${at}` });
  let out = "";
  let si = 0;
  const nl = (c: string | undefined) => c === "\n" || c === "\r";
  for (;;) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return out;
        return illegal(si - j);
      }
      const c = src[si++]!;
      if (nl(c)) {
        j--;
        continue;
      }
      const d = B64.indexOf(c);
      if (d >= 0) {
        dbuf[j] = d;
        continue;
      }
      if (c !== "=") return illegal(si - 1);
      if (j < 2) return illegal(si - 1);
      if (j === 2) {
        while (si < src.length && nl(src[si])) si++;
        if (si === src.length) return illegal(src.length);
        if (src[si] !== "=") return illegal(si - 1);
        si++;
      }
      while (si < src.length && nl(src[si])) si++;
      if (si < src.length) return illegal(si);
      dlen = j;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff].slice(0, dlen - 1);
    out += String.fromCharCode(...bytes);
    if (dlen < 4) return out;
  }
}

// ---- PEM as Go's encoding/pem

export interface PemBlock {
  type: string;
  headers: boolean;
  bytes: string;
}

function getLine(data: string): [string, string] {
  let i = data.indexOf("\n");
  let j: number;
  if (i < 0) {
    i = data.length;
    j = i;
  } else {
    j = i + 1;
    if (i > 0 && data[i - 1] === "\r") i--;
  }
  return [data.slice(0, i).replace(/[ \t]+$/, ""), data.slice(j)];
}

/** pem.Decode: the next block and what follows it, or undefined and the input. */
export function pemDecode(data: string): [PemBlock | undefined, string] {
  let rest = data;
  for (;;) {
    if (rest.startsWith("-----BEGIN ")) rest = rest.slice(11);
    else {
      const at = rest.indexOf("\n-----BEGIN ");
      if (at < 0) return [undefined, data];
      rest = rest.slice(at + 12);
    }
    let typeLine: string;
    [typeLine, rest] = getLine(rest);
    if (!typeLine.endsWith("-----")) continue;
    const type = typeLine.slice(0, -5);
    let headers = false;
    for (;;) {
      if (rest.length === 0) return [undefined, data];
      const [line, nextRest] = getLine(rest);
      if (!line.includes(":")) break;
      headers = true;
      rest = nextRest;
    }
    let endIndex: number;
    let trailerIndex: number;
    if (!headers && rest.startsWith("-----END ")) {
      endIndex = 0;
      trailerIndex = 9;
    } else {
      endIndex = rest.indexOf("\n-----END ");
      trailerIndex = endIndex + 10;
    }
    if (endIndex < 0) continue;
    const trailerLen = type.length + 5;
    const trailer = rest.slice(trailerIndex);
    if (trailer.length < trailerLen) continue;
    if (!trailer.startsWith(type) || trailer.slice(type.length, trailerLen) !== "-----") continue;
    if (getLine(trailer.slice(trailerLen))[0].length !== 0) continue;
    const b64 = rest.slice(0, endIndex).replace(/[ \t]/g, "");
    const decoded = b64decode(b64);
    if (typeof decoded !== "string") continue;
    rest = getLine(rest.slice(endIndex + 9))[1];
    return [{ type, headers, bytes: decoded }, rest];
  }
}

/** pem.Encode of a block without headers. */
export function pemEncode(type: string, bytes: string): string {
  const b64 = Buffer.from(bytes, "latin1").toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.map((l) => l + "\n").join("")}-----END ${type}-----\n`;
}
