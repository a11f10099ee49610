/**
 * The server's error answers: the error type every handler throws to answer
 * `{ error }` with a status, and the mapping the app's `onError` applies.
 *
 * @module
 */

import { HTTPException } from "hono/http-exception";

/** An error that becomes a JSON answer `{ error: message }` with `status`. */
export class HttpError extends Error {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** Extra headers of the answer (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  /** Creates the error; `message` is one line meant for the client. */
  constructor(status: number, message: string, options: { headers?: Record<string, string> } = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = options.headers ?? {};
  }
}

/** The JSON error answer `{ error: message }`; errors are never cached. */
export function errorResponse(
  status: number,
  message: string,
  options: { headers?: Record<string, string> } = {},
): Response {
  // One line: messages can quote user input, which must not forge extra lines.
  const line = message.split(/\r?\n/)[0];
  return Response.json({ error: line }, {
    status,
    headers: { "cache-control": "no-store", ...options.headers },
  });
}

/**
 * The answer for any thrown value: an {@linkcode HttpError}'s own, a Hono
 * `HTTPException`'s status with its message, else a logged 500.
 */
export function responseForError(error: unknown): Response {
  if (error instanceof HttpError) {
    return errorResponse(error.status, error.message, { headers: error.headers });
  }
  if (error instanceof HTTPException) {
    return errorResponse(error.status, error.message || `HTTP ${error.status}`);
  }
  // Internal details stay in the log, not in the answer.
  console.error("stylegram web:", error);
  return errorResponse(500, "internal server error");
}
