/**
 * Security headers on every answer. Cross-origin isolation (COOP + COEP)
 * lets the playground use SharedArrayBuffer, which onnxruntime-web's
 * threaded WebAssembly needs; CORP keeps our images and scripts from being
 * embedded by other sites; HTML pages also get a Content-Security-Policy.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/**
 * The policy of HTML pages: only our own scripts (plus compiling
 * WebAssembly), workers from our origin or blob: URLs (onnxruntime's
 * threads), images from us or made in the page, requests to us only.
 */
export const CONTENT_SECURITY_POLICY: string = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "style-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The policy of one rendered page: {@linkcode CONTENT_SECURITY_POLICY} with
 * `nonce` allowed for `<style>` elements (the plugin editor's, which
 * CodeMirror writes at run time and marks with the nonce).
 */
export function pagePolicy(nonce: string): string {
  return CONTENT_SECURITY_POLICY.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`);
}

// Hono's other defaults are off, so answers keep the headers they always had:
// HSTS is the TLS proxy's call, CSP's frame-ancestors says what X-Frame-Options
// would, and the rest are for browsers without cross-origin isolation anyway.
const everywhere = secureHeaders({
  crossOriginOpenerPolicy: "same-origin",
  crossOriginEmbedderPolicy: "require-corp",
  crossOriginResourcePolicy: "same-origin",
  xContentTypeOptions: "nosniff",
  referrerPolicy: "same-origin",
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

/**
 * Middleware setting the security headers on every answer, and the
 * {@linkcode CONTENT_SECURITY_POLICY} on HTML ones (the only kind it governs).
 */
export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await everywhere(c, next);
  // A page with a policy of its own (the plugin sandbox) keeps it.
  const html = c.res.headers.get("content-type")?.startsWith("text/html");
  if (html && !c.res.headers.has("content-security-policy")) {
    c.res.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
  }
};

/**
 * The plugin sandbox's policy: its one inline script (by hash), evaluating
 * plugin code, and blob workers — no network (`default-src 'none'`), no
 * other frames, framed only by our own pages.
 */
export async function sandboxPolicy(html: string): Promise<string> {
  const script = /<script type="module">([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script));
  const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
  return [
    "default-src 'none'",
    `script-src 'sha256-${hash}' 'unsafe-eval'`,
    "worker-src blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    // Opened on its own, the page is still in a sandbox, never of our origin.
    "sandbox allow-scripts",
  ].join("; ");
}
