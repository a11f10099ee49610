/**
 * VGG weights from local files: safetensors and ONNX bytes with torchvision's
 * names (or names ending in them), shapes checked against the layer table,
 * and clear errors for missing, misshapen or unrecognised weights.
 */

import { input, toOnnx } from "../mod.ts";
import { FeatureNetwork, WeightError } from "../core/network/feature_network.ts";
import { randomWeights } from "../core/network/random_weights.ts";
import { vggDescription } from "../core/network/vgg.ts";
import { readVggWeights, VGG_WEIGHTS } from "../core/network/vgg_weights.ts";
import { weightSpecs } from "../core/network/weight_shapes.ts";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { encodeSafetensors, rawF32, rawWeights } from "./support/safetensors_writer.ts";

const WEIGHTS = randomWeights(vggDescription("vgg16"), 11);
const LAYERS = ["relu2_1"];
const NEEDED = ["0", "2", "5"].flatMap((i) => [`features.${i}.weight`, `features.${i}.bias`]);

function assertWeights(got: ReadonlyMap<string, unknown>, names = NEEDED): void {
  assertEquals([...got.keys()].sort(), [...names].sort());
  for (const name of names) assertEquals(got.get(name), WEIGHTS.get(name), name);
}

Deno.test("vgg weights: a safetensors file with all weights, or only the needed layers", () => {
  const file = encodeSafetensors(rawWeights(WEIGHTS));
  const all = readVggWeights("vgg16", file, { source: "vgg16.safetensors" });
  assertEquals(all.size, 26);
  assertWeights(all, [...WEIGHTS.keys()]);
  assertWeights(readVggWeights("vgg16", file, { layers: LAYERS }));
});

Deno.test("vgg weights: an ONNX export with the same names, e.g. our own toOnnx", () => {
  const net = new FeatureNetwork(vggDescription("vgg16"), WEIGHTS);
  const { relu2_1 } = net.features(input("image", [1, 3, 32, 32]), LAYERS);
  const model = toOnnx({ relu2_1 }).model;
  assertWeights(readVggWeights("vgg16", model, { source: "vgg16.onnx", layers: LAYERS }));
  assertThrows(
    () => readVggWeights("vgg16", model, { source: "vgg16.onnx", layers: ["relu2_2"] }),
    'vgg16.onnx: weight "features.7.weight" of layer conv2_2 of vgg16 is missing (the file has',
  );
});

Deno.test("vgg weights: names with a prefix (model.features.0.weight) are accepted when unique", () => {
  const prefixed = new Map([...rawWeights(WEIGHTS)].map(([k, v]) => [`model.${k}`, v]));
  assertWeights(readVggWeights("vgg16", encodeSafetensors(prefixed), { layers: LAYERS }));
  const twice = new Map([...prefixed, [
    "ema.features.0.weight",
    prefixed.get("model.features.0.weight")!,
  ]]);
  assertThrows(
    () => readVggWeights("vgg16", encodeSafetensors(twice), { source: "f", layers: LAYERS }),
    'f: weight "features.0.weight" of layer conv1_1 of vgg16 is ambiguous ' +
      "(ema.features.0.weight, model.features.0.weight)",
  );
});

Deno.test("vgg weights: wrong shapes, wrong variant and unknown formats are refused", () => {
  const wrong = rawWeights(WEIGHTS);
  wrong.set("features.2.weight", rawF32({ shape: [64, 64, 1, 1], data: new Float32Array(4096) }));
  const e = assertThrows(
    () =>
      readVggWeights("vgg16", encodeSafetensors(wrong), {
        source: "w.safetensors",
        layers: LAYERS,
      }),
    'w.safetensors: weight "features.2.weight" has shape [64,64,1,1], layer conv1_2 of vgg16 ' +
      "expects [64,64,3,3]",
  );
  assert(e instanceof WeightError);
  // VGG-16's conv4_1 is features.17; in VGG-19 that index is a relu.
  assertThrows(
    () => readVggWeights("vgg19", encodeSafetensors(rawWeights(WEIGHTS)), { source: "vgg16.st" }),
    'vgg16.st: weight "features.',
  );
  assertThrows(
    () => readVggWeights("vgg16", new TextEncoder().encode("hello"), { source: "x.bin" }),
    "x.bin: neither a safetensors file nor an ONNX model",
  );
});

Deno.test("vgg weights: the published sources' conv sizes match the layer tables", () => {
  for (const variant of ["vgg16", "vgg19"] as const) {
    const bytes = weightSpecs(vggDescription(variant)).reduce(
      (n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4,
      0,
    );
    assertEquals(bytes, VGG_WEIGHTS[variant].convBytes, variant);
    assert(VGG_WEIGHTS[variant].url.startsWith("https://huggingface.co/timm/"));
  }
});
