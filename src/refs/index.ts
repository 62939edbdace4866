// The reference grammar's public surface.
export * from "./reference.ts";
export * from "./avp.ts";
export * from "./find.ts";
export * from "./secret-data.ts";
export { applyModifiers } from "./modifiers.ts";
export { InvalidReferenceError, ModifierError, formatLocation, type RefLocation } from "../errors.ts";
