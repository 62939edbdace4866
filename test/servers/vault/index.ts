export {
  startVaultServer,
  type VaultTestServer,
  type RequestLogEntry,
  type Faults,
  type LogFilter,
} from "./server.ts";
export type { VaultNamespace } from "./namespace.ts";
export type { TokenReviewer, TokenReviewResult } from "./auth-methods.ts";
export { clusterTokenReviewer, clusterJwks } from "./kubernetes.ts";
export { signJwt, type JwtClaims } from "./jwt.ts";
