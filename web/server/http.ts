/**
 * Small HTTP helpers shared by the server modules: JSON answers and the
 * error type every handler throws to answer `{ error }` with a status.
 *
 * @module
 */

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

/** A JSON answer. */
export function jsonResponse(
  body: unknown,
  init: { status?: number; headers?: Record<string, string> } = {},
): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { "content-type": "application/json; charset=utf-8", ...init.headers },
  });
}

/** The JSON error answer `{ error: message }`; errors are never cached. */
export function errorResponse(
  status: number,
  message: string,
  options: { headers?: Record<string, string> } = {},
): Response {
  // One line: messages can quote user input, which must not forge extra lines.
  const line = message.split(/\r?\n/)[0];
  return jsonResponse({ error: line }, {
    status,
    headers: { "cache-control": "no-store", ...options.headers },
  });
}

/** The answer for any thrown value: an {@linkcode HttpError}'s own, else a logged 500. */
export function responseForError(error: unknown): Response {
  if (error instanceof HttpError) {
    return errorResponse(error.status, error.message, { headers: error.headers });
  }
  // Internal details stay in the log, not in the answer.
  console.error("stylegram web:", error);
  return errorResponse(500, "internal server error");
}
