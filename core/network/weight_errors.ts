/**
 * The errors weight loading raises. Each message is one line that names the
 * source (a file path, a URL, a cache entry) and the problem.
 *
 * @module
 */

/** A weight file's bytes are not what they claim: bad format, truncated, unsupported dtype. */
export class WeightFileError extends Error {
  /** Creates the error; the message starts with the source. */
  constructor(message: string) {
    super(message);
    this.name = "WeightFileError";
  }
}

/** A download failed: an HTTP error status, or the network after all retries. */
export class DownloadError extends Error {
  /** Whether trying again may help (network failures, 5xx), as opposed to a 404. */
  readonly retryable: boolean;

  /** Creates the error; the message starts with the URL. */
  constructor(message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "DownloadError";
    this.retryable = options.retryable ?? false;
  }
}

/** A cached tensor no longer matches the checksum recorded when it was downloaded. */
export class CacheError extends Error {
  /** Creates the error; the message says which entry is corrupt and how to fix it. */
  constructor(message: string) {
    super(message);
    this.name = "CacheError";
  }
}
