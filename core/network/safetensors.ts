/**
 * The safetensors format: an 8-byte little-endian header length, a JSON
 * header mapping tensor names to `{dtype, shape, data_offsets}` (plus an
 * optional `__metadata__`), then the tensors' bytes. The header parser stands
 * alone so a downloader can read it with a Range request and fetch only the
 * tensors it needs.
 *
 * @module
 */

import type { NamedTensor } from "./description.ts";
import { decodeFloats, type FloatDtype } from "./float_decode.ts";
import { WeightFileError } from "./weight_errors.ts";

/** Bytes per element of every dtype the safetensors format defines. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** The dtypes {@linkcode decodeTensor} turns into float32. */
export const FLOAT_DTYPES: readonly FloatDtype[] = ["F32", "F16", "BF16", "F64"];

/** The format's own limit on the JSON header (larger lengths mean "not safetensors"). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors header. */
export interface SafetensorsEntry {
  /** Its name. */
  readonly name: string;
  /** Element type, e.g. `F32`. */
  readonly dtype: string;
  /** Shape. */
  readonly shape: readonly number[];
  /** Start of its bytes in the file (absolute, header included). */
  readonly start: number;
  /** End of its bytes in the file (exclusive, absolute). */
  readonly end: number;
}

/** A parsed safetensors header. */
export interface SafetensorsHeader {
  /** Where the tensors' bytes begin: 8 + the JSON header's length. */
  readonly dataStart: number;
  /** The tensors, by name, in header order. */
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>;
  /** The free-form `__metadata__` strings (empty if absent). */
  readonly metadata: Readonly<Record<string, string>>;
}

/** Options of {@linkcode parseSafetensorsHeader}. */
export interface HeaderOptions {
  /** Names the file in error messages (a path or URL; default `safetensors`). */
  source?: string;
  /**
   * The file's full size, when `bytes` is only its beginning (Infinity when
   * unknown). The header and the tensors must end within it. Default:
   * unknown for {@linkcode readHeaderLength}, `bytes.length` for
   * {@linkcode parseSafetensorsHeader}.
   */
  fileSize?: number;
}

/** Options of {@linkcode readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Names the file in error messages (a path or URL; default `safetensors`). */
  source?: string;
  /** Only these tensors (each must exist); default: every tensor. */
  names?: readonly string[];
}

const formatCount = (n: number): string =>
  n >= 1e9 ? n.toExponential(1).replace("e+", "e").replace(".0e", "e") : String(n);

/**
 * The JSON header's length from the file's first 8 bytes; throws when the
 * bytes cannot start a safetensors file, or the header would not fit in
 * `options.fileSize`.
 */
export function readHeaderLength(prefix: Uint8Array, options: HeaderOptions = {}): number {
  const source = options.source ?? "safetensors";
  if (prefix.byteLength < 8) {
    throw new WeightFileError(
      `${source}: not a safetensors file (only ${prefix.byteLength} bytes)`,
    );
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length < 2n || length > BigInt(MAX_HEADER_BYTES)) {
    throw new WeightFileError(
      `${source}: not a safetensors file (header length ${formatCount(Number(length))})`,
    );
  }
  const fileSize = options.fileSize ?? Infinity;
  if (8 + Number(length) > fileSize) {
    throw new WeightFileError(
      `${source}: truncated: header says 8+${length} bytes but the file has ${fileSize}`,
    );
  }
  return Number(length);
}

/**
 * Parses the header at the start of `bytes` (which must hold at least the
 * first 8 + header-length bytes) and validates every entry: known dtype,
 * offsets consistent with shape × dtype size, inside the file, not
 * overlapping.
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  options: HeaderOptions = {},
): SafetensorsHeader {
  const source = options.source ?? "safetensors";
  const fail = (problem: string): never => {
    throw new WeightFileError(`${source}: ${problem}`);
  };
  const fileSize = options.fileSize ?? bytes.byteLength;
  const length = readHeaderLength(bytes, { source, fileSize });
  const dataStart = 8 + length;
  if (dataStart > bytes.byteLength) {
    fail(`truncated: header says 8+${length} bytes but only ${bytes.byteLength} were read`);
  }
  const json = bytes.subarray(8, dataStart);
  if (json[0] !== 0x7b) fail("not a safetensors file (the header does not start with '{')");
  let parsed: Record<string, unknown> = {}; // JSON starting with "{" parses to an object
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (e) {
    fail(`not a safetensors file (header is not JSON: ${firstLine(e)})`);
  }

  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (name === "__metadata__") {
      if (!isRecord(value) || Object.values(value).some((v) => typeof v !== "string")) {
        fail("__metadata__ must map strings to strings");
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const entry = parseEntry(name, value, fail);
    const start = dataStart + entry.begin;
    const end = dataStart + entry.end;
    if (end > fileSize) {
      fail(`truncated: tensor "${name}" ends at byte ${end} but the file has ${fileSize}`);
    }
    tensors.set(name, { name, dtype: entry.dtype, shape: entry.shape, start, end });
  }
  const byStart = [...tensors.values()].filter((t) => t.end > t.start)
    .sort((a, b) => a.start - b.start);
  for (let i = 1; i < byStart.length; i++) {
    if (byStart[i].start < byStart[i - 1].end) {
      fail(`tensors "${byStart[i - 1].name}" and "${byStart[i].name}" overlap`);
    }
  }
  return { dataStart, tensors, metadata };
}

/** Validates one header entry; offsets are relative to the data section. */
function parseEntry(
  name: string,
  value: unknown,
  fail: (problem: string) => never,
): { dtype: string; shape: number[]; begin: number; end: number } {
  if (!isRecord(value)) return fail(`tensor "${name}" is not a JSON object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== "string") return fail(`tensor "${name}" has no dtype`);
  const size = SAFETENSORS_DTYPES[dtype];
  if (size === undefined) return fail(`tensor "${name}" has unknown dtype ${dtype}`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    return fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) ||
    offsets[0] > offsets[1]
  ) {
    return fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * size;
  if (end - begin !== expected) {
    fail(
      `tensor "${name}" has ${end - begin} bytes but ${dtype} [${
        shape.join(",")
      }] needs ${expected}`,
    );
  }
  return { dtype, shape: shape as number[], begin, end };
}

/**
 * Decodes one tensor's bytes (exactly `entry.end − entry.start` of them) to
 * float32; throws for non-float dtypes.
 */
export function decodeTensor(
  entry: SafetensorsEntry,
  bytes: Uint8Array,
  options: { source?: string } = {},
): NamedTensor {
  const source = options.source ?? "safetensors";
  if (!(FLOAT_DTYPES as readonly string[]).includes(entry.dtype)) {
    throw new WeightFileError(
      `${source}: tensor "${entry.name}" has dtype ${entry.dtype}, expected ${
        FLOAT_DTYPES.join("/")
      }`,
    );
  }
  if (bytes.byteLength !== entry.end - entry.start) {
    throw new WeightFileError(
      `${source}: tensor "${entry.name}" needs ${
        entry.end - entry.start
      } bytes, got ${bytes.byteLength}`,
    );
  }
  return { shape: entry.shape, data: decodeFloats(bytes, entry.dtype as FloatDtype) };
}

/** Reads float tensors from a whole safetensors file. */
export function readSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): Map<string, NamedTensor> {
  const source = options.source ?? "safetensors";
  const header = parseSafetensorsHeader(bytes, { source });
  const names = options.names ?? [...header.tensors.keys()];
  const out = new Map<string, NamedTensor>();
  for (const name of names) {
    const entry = header.tensors.get(name);
    if (!entry) throw new WeightFileError(`${source}: no tensor "${name}"${listSome(header)}`);
    out.set(name, decodeTensor(entry, bytes.subarray(entry.start, entry.end), { source }));
  }
  return out;
}

function listSome(header: SafetensorsHeader): string {
  const names = [...header.tensors.keys()];
  if (names.length === 0) return " (the file has none)";
  const shown = names.slice(0, 8).join(", ");
  return ` (has ${shown}${names.length > 8 ? `, … ${names.length} in all` : ""})`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
