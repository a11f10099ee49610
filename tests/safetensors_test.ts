/**
 * The safetensors reader: round trips through the test encoder, float16,
 * bfloat16 and float64 conversion, the header parser on its own (as Range
 * downloads use it), and a one-line error naming the file for every kind of
 * malformed input.
 */

import { decodeFloats } from "../core/network/float_decode.ts";
import {
  parseSafetensorsHeader,
  readHeaderLength,
  readSafetensors,
} from "../core/network/safetensors.ts";
import { WeightFileError } from "../core/network/weight_errors.ts";
import { uniform } from "../core/random.ts";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { encodeSafetensors, rawF32, type RawTensor } from "./support/safetensors_writer.ts";

const A = { shape: [2, 3], data: uniform(6, 1) };
const B = { shape: [4], data: uniform(4, 2) };
const FILE = encodeSafetensors(new Map([["a", rawF32(A)], ["b", rawF32(B)]]), {
  metadata: { format: "pt" },
});

/** A file from a JSON header and `data` bytes. */
function withHeader(header: unknown, data = new Uint8Array(0)): Uint8Array {
  return rawHeader(JSON.stringify(header), data);
}

/** A file whose header is `text`, followed by `data`. */
function rawHeader(text: string, data = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

const u16 = (...bits: number[]): Uint8Array => new Uint8Array(Uint16Array.from(bits).buffer);
const one = (t: RawTensor) => encodeSafetensors(new Map([["t", t]]));

Deno.test("safetensors: float32 round trip, metadata, subsets by name", () => {
  const all = readSafetensors(FILE, { source: "x.safetensors" });
  assertEquals([...all.keys()], ["a", "b"]);
  assertEquals(all.get("a"), A);
  assertEquals(all.get("b"), B);
  assertEquals([...readSafetensors(FILE, { names: ["b"] }).keys()], ["b"]);
  const header = parseSafetensorsHeader(FILE);
  assertEquals(header.metadata, { format: "pt" });
  assertEquals(header.dataStart % 8, 0); // the encoder pads the header with spaces
  assertEquals(header.tensors.get("a"), {
    name: "a",
    dtype: "F32",
    shape: [2, 3],
    start: header.dataStart,
    end: header.dataStart + 24,
  });
  assertThrows(
    () => readSafetensors(FILE, { source: "x.safetensors", names: ["c"] }),
    'x.safetensors: no tensor "c" (has a, b)',
  );
});

Deno.test("safetensors: F16, BF16 and F64 become float32", () => {
  // 1, −2, 0.5, 65504 (largest), 2^−24 (smallest subnormal), 2^−14 (smallest normal), ±∞, −0, NaN
  const half = readSafetensors(one({
    dtype: "F16",
    shape: [10],
    bytes: u16(0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x7e00),
  })).get("t")!;
  assertEquals(
    Array.from(half.data),
    [1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity, -0, NaN],
  );
  const brain = readSafetensors(one({
    dtype: "BF16",
    shape: [2, 2],
    bytes: u16(0x3fc0, 0xc040, 0x3e20, 0x4380), // 1.5, −3, 0.15625, 256
  })).get("t")!;
  assertEquals(brain, { shape: [2, 2], data: Float32Array.of(1.5, -3, 0.15625, 256) });
  const double = readSafetensors(one({
    dtype: "F64",
    shape: [3],
    bytes: new Uint8Array(Float64Array.of(0.25, -1e300, 1 / 3).buffer),
  })).get("t")!;
  assertEquals(Array.from(double.data), [0.25, -Infinity, Math.fround(1 / 3)]);
  // The decoder copies: the result does not alias the file.
  const bytes = new Uint8Array(Float32Array.of(1, 2).buffer);
  const decoded = decodeFloats(bytes, "F32");
  bytes[3] = 0;
  assertEquals(decoded[0], 1);
});

Deno.test("safetensors: the header parser works on the header bytes alone", () => {
  const n = readHeaderLength(FILE.subarray(0, 8), { fileSize: FILE.byteLength });
  const header = parseSafetensorsHeader(FILE.subarray(0, 8 + n), { fileSize: FILE.byteLength });
  assertEquals(header.dataStart, 8 + n);
  assertEquals([...header.tensors.keys()], ["a", "b"]);
  assertThrows(
    () => parseSafetensorsHeader(FILE.subarray(0, 8 + n), { source: "u", fileSize: 8 + n + 30 }),
    `u: truncated: tensor "b" ends at byte ${8 + n + 40} but the file has ${8 + n + 30}`,
  );
  assertThrows(
    () => readHeaderLength(FILE.subarray(0, 8), { source: "u", fileSize: 100 }),
    `u: truncated: header says 8+${n} bytes but the file has 100`,
  );
});

Deno.test("safetensors: malformed files give one-line errors naming the source", () => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(5), "x.safetensors: not a safetensors file (only 5 bytes)"],
    [
      Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x7b),
      "x.safetensors: not a safetensors file (header length 9.2e18)",
    ],
    [FILE.subarray(0, 100), "x.safetensors: truncated: header says 8+"],
    [FILE.subarray(0, FILE.byteLength - 1), 'x.safetensors: truncated: tensor "b" ends at byte'],
    [
      rawHeader("<html>not json"),
      "x.safetensors: not a safetensors file (the header does not start with '{')",
    ],
    [withHeader("{"), /* a JSON string */ "not a safetensors file (the header does not start"],
    [rawHeader('{"a": }'), "header is not JSON"],
    [
      withHeader({ t: { dtype: "Q7", shape: [1], data_offsets: [0, 1] } }),
      'tensor "t" has unknown dtype Q7',
    ],
    [withHeader({ t: { shape: [1], data_offsets: [0, 4] } }), 'tensor "t" has no dtype'],
    [
      withHeader({ t: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }),
      'tensor "t" has an invalid shape [-1]',
    ],
    [
      withHeader({ t: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }),
      'tensor "t" has invalid data_offsets [4,0]',
    ],
    [
      withHeader({ t: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12)),
      'tensor "t" has 12 bytes but F32 [2,2] needs 16',
    ],
    [
      withHeader({
        s: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        t: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }, new Uint8Array(12)),
      'tensors "s" and "t" overlap',
    ],
    [withHeader({ __metadata__: { n: 1 } }), "__metadata__ must map strings to strings"],
  ];
  for (const [bytes, message] of cases) {
    const e = assertThrows(() => readSafetensors(bytes, { source: "x.safetensors" }), message);
    assert(e instanceof WeightFileError, e.name);
    assert(e.message.startsWith("x.safetensors: "), e.message);
    assert(!e.message.includes("\n"), e.message);
  }
});

Deno.test("safetensors: non-float tensors are named with their dtype", () => {
  const file = encodeSafetensors(
    new Map([
      ["features.0.weight", { dtype: "I8", shape: [4], bytes: new Uint8Array(4) }],
      ["ok", rawF32(B)],
    ]),
  );
  assertThrows(
    () => readSafetensors(file, { source: "vgg19.safetensors" }),
    'vgg19.safetensors: tensor "features.0.weight" has dtype I8, expected F32/F16/BF16/F64',
  );
  // Tensors of other dtypes may sit in the file as long as they are not asked for.
  assertEquals(readSafetensors(file, { names: ["ok"] }).get("ok"), B);
});
