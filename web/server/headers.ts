/**
 * Security headers on every answer. Cross-origin isolation (COOP + COEP)
 * lets the playground use SharedArrayBuffer, which onnxruntime-web's
 * threaded WebAssembly needs; CORP keeps our images and scripts from being
 * embedded by other sites; HTML pages also get a Content-Security-Policy.
 *
 * @module
 */

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

const ALWAYS: Record<string, string> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/** Adds the security headers to `res` (a copy when its headers are immutable). */
export function withSecurityHeaders(res: Response): Response {
  let out = res;
  try {
    for (const [name, value] of Object.entries(ALWAYS)) out.headers.set(name, value);
  } catch {
    // Headers of a fetched or error Response are read-only: copy it.
    out = new Response(res.body, res);
    for (const [name, value] of Object.entries(ALWAYS)) out.headers.set(name, value);
  }
  if (out.headers.get("content-type")?.startsWith("text/html")) {
    out.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
  }
  return out;
}
