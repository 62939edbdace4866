/**
 * Mounts the read-only dashboard (`/`) and JSON API (`/api/v1/`) on the
 * controller's express app, behind the reader check of ../api/auth.ts.
 */
import type { Express } from "express";
import { requireReader, type DashboardAccess } from "../api/auth.ts";
import { apiRouter, overviewFor, type OverviewSource } from "../api/router.ts";
import { renderPage, styleHash } from "./page.ts";

const contentSecurityPolicy = [
  "default-src 'none'",
  `style-src '${styleHash}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function mountDashboard(app: Express, source: OverviewSource, access: DashboardAccess): void {
  const reader = requireReader(access);
  app.use("/api/v1", reader, apiRouter(source));
  app.get("/", reader, async (req, res) => {
    const loaded = await overviewFor(source, req, res);
    if (!loaded) return;
    res
      .set({
        "Content-Security-Policy": contentSecurityPolicy,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      })
      .type("html")
      .send(
        renderPage(
          loaded.overview,
          loaded.query,
          source.audit?.query({
            ...(loaded.query.namespace && { namespace: loaded.query.namespace }),
            limit: 50,
          }),
        ),
      );
  });
}
