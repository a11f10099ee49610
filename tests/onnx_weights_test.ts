/**
 * Initializers of ONNX models as weights: every float storage ONNX allows
 * (raw bytes, float_data, double_data, 16-bit floats in int32_data), the
 * models our own toOnnx writes, and one-line errors for non-ONNX bytes,
 * unsupported types and external data.
 */

import onnxProto from "onnx-proto";
import { input, toOnnx } from "../mod.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { readOnnxInitializers } from "../core/network/onnx_weights.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { vggDescription } from "../core/network/vgg.ts";
import { WeightFileError } from "../core/network/weight_errors.ts";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { encodeSafetensors, rawWeights } from "./support/safetensors_writer.ts";

const onnx = onnxProto.onnx;
const T = onnx.TensorProto.DataType;

/** A serialised model whose graph holds only `initializers`. */
function model(initializer: onnxProto.onnx.ITensorProto[]): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "weights", initializer },
  }).finish();
}

const bytes = (a: ArrayBufferView): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const MODEL = model([
  { name: "raw", dims: [2, 2], dataType: T.FLOAT, rawData: bytes(Float32Array.of(1, 2, 3, 4)) },
  { name: "typed", dims: [3], dataType: T.FLOAT, floatData: [0.5, -1, 8] },
  { name: "half", dims: [2], dataType: T.FLOAT16, rawData: bytes(Uint16Array.of(0x3c00, 0xc000)) },
  { name: "half32", dims: [2], dataType: T.FLOAT16, int32Data: [0x3800, 0x7bff] },
  { name: "brain", dims: [1], dataType: T.BFLOAT16, rawData: bytes(Uint16Array.of(0x3fc0)) },
  { name: "double", dims: [2], dataType: T.DOUBLE, doubleData: [0.25, 1 / 3] },
  { name: "shape", dims: [2], dataType: T.INT64, int64Data: [1, -1] },
]);

Deno.test("onnx weights: float initializers in every storage become float32", () => {
  const all = readOnnxInitializers(MODEL);
  assertEquals([...all.keys()], ["raw", "typed", "half", "half32", "brain", "double"]);
  assertEquals(all.get("raw"), { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
  assertEquals(all.get("typed"), { shape: [3], data: Float32Array.of(0.5, -1, 8) });
  assertEquals(all.get("half"), { shape: [2], data: Float32Array.of(1, -2) });
  assertEquals(all.get("half32"), { shape: [2], data: Float32Array.of(0.5, 65504) });
  assertEquals(all.get("brain"), { shape: [1], data: Float32Array.of(1.5) });
  assertEquals(all.get("double"), { shape: [2], data: Float32Array.of(0.25, 1 / 3) });
  assertEquals([...readOnnxInitializers(MODEL, { names: ["typed", "raw"] }).keys()], [
    "typed",
    "raw",
  ]);
});

Deno.test("onnx weights: the initializers of a toOnnx graph keep their weight names", () => {
  const weights = randomWeights(vggDescription("vgg19"), 4);
  const net = new FeatureNetwork(vggDescription("vgg19"), weights);
  const { relu1_2 } = net.features(input("image", [1, 3, 32, 32]), ["relu1_2"]);
  const read = readOnnxInitializers(toOnnx({ relu1_2 }).model, {
    names: ["features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias"],
  });
  for (const [name, tensor] of read) assertEquals(tensor, weights.get(name), name);
});

Deno.test("onnx weights: one-line errors for non-ONNX bytes, unsupported types, missing names", () => {
  const cases: [() => unknown, string][] = [
    [
      () => readOnnxInitializers(new TextEncoder().encode("<!DOCTYPE html>"), { source: "m.onnx" }),
      "m.onnx: not an ONNX model",
    ],
    [
      () => readOnnxInitializers(encodeSafetensors(rawWeights(new Map())), { source: "m.onnx" }),
      "m.onnx: not an ONNX model",
    ],
    [
      () => readOnnxInitializers(MODEL, { source: "m.onnx", names: ["shape"] }),
      'm.onnx: initializer "shape" has type INT64, expected FLOAT/FLOAT16/BFLOAT16/DOUBLE',
    ],
    [
      () => readOnnxInitializers(MODEL, { source: "m.onnx", names: ["nope"] }),
      'm.onnx: no initializer "nope" (has 7: raw, typed, half, half32, brain, double, shape)',
    ],
    [
      () =>
        readOnnxInitializers(
          model([{
            name: "w",
            dims: [4],
            dataType: T.FLOAT,
            dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
            externalData: [{ key: "location", value: "weights.bin" }],
          }]),
          { source: "m.onnx" },
        ),
      'm.onnx: initializer "w" keeps its data in an external file (weights.bin), not supported',
    ],
    [
      () =>
        readOnnxInitializers(
          model([{ name: "w", dims: [3], dataType: T.FLOAT, floatData: [1, 2] }]),
          {
            source: "m.onnx",
          },
        ),
      'm.onnx: initializer "w" has 2 values for shape [3]',
    ],
  ];
  for (const [call, message] of cases) {
    const e = assertThrows(call, message);
    assert(e instanceof WeightFileError, e.name);
    assert(!e.message.includes("\n"), e.message);
  }
});
