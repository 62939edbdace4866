/**
 * For the one-shot commands that check a few objects once (Argo CD starts `generate` per
 * render): zod then compiles each object schema's parser with `new Function` at its first
 * parse, which costs more than it saves. zod reads the setting as it builds each schema, so
 * this module is loaded before the command's modules (main.ts, snapshot.ts). The controller
 * keeps the compiled parsers.
 */
import { z } from "zod";

z.config({ jitless: true });
