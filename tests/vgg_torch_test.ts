/**
 * Our VGG-19 graph against PyTorch: the same random float32 weights and
 * images, torch evaluating in float64 (fixture made by
 * `tests/fixtures/make_vgg_fixture.py`). Checked for max and average pooling:
 * the features at relu1_1, relu2_1 and relu3_1 (relative L2 error ≤ 1e-5),
 * the content and Gram style costs, and the gradient of their weighted sum
 * with respect to the pixels (≤ 1e-4), all computed by our float32 graph on
 * the wasm backend.
 */

import { content, createSession, input, type RgbImage, rgbImage, style, toOnnx } from "../mod.ts";
import { FeatureNetwork } from "../core/network/feature_network.ts";
import { parseSafetensorsHeader } from "../core/network/safetensors.ts";
import { vggDescription } from "../core/network/vgg.ts";
import { readVggWeights } from "../core/network/vgg_weights.ts";
import { compileObjective } from "../core/objective.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { relativeError } from "./support/gradcheck.ts";

const SOURCE = "tests/fixtures/vgg19_torch.safetensors";
const bytes = await Deno.readFile(new URL("./fixtures/vgg19_torch.safetensors", import.meta.url));
const header = parseSafetensorsHeader(bytes, { source: SOURCE });
const SIZE = 32;

/** A fixture tensor in float64 (F64 entries keep torch's full precision). */
function reference(name: string): { shape: readonly number[]; data: Float64Array } {
  const entry = header.tensors.get(name);
  if (!entry) throw new Error(`${SOURCE}: no tensor "${name}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + entry.start, entry.end - entry.start);
  const width = entry.dtype === "F64" ? 8 : 4;
  const data = new Float64Array(view.byteLength / width);
  for (let i = 0; i < data.length; i++) {
    data[i] = width === 8 ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true);
  }
  return { shape: entry.shape, data };
}

function image(name: string): RgbImage {
  return rgbImage(SIZE, SIZE, Float32Array.from(reference(`image.${name}`).data));
}

/** `relu1_1:0.5,relu2_1:0.3` → layer weights, as the script recorded them. */
function layerWeights(text: string): { layer: string; weight: number }[] {
  return text.split(",").map((part) => {
    const [layer, weight] = part.split(":");
    return { layer, weight: Number(weight) };
  });
}

// Our safetensors reader and VGG name mapping pick the stored layers out of the fixture.
const network = new FeatureNetwork(
  vggDescription("vgg19"),
  readVggWeights("vgg19", bytes, { source: SOURCE, layers: ["relu3_1"] }),
);
const meta = header.metadata;
const POOLINGS = ["max", "avg"] as const;

for (const pooling of POOLINGS) {
  Deno.test(`vgg19 vs torch (${pooling} pooling): features at relu1_1, relu2_1, relu3_1`, async () => {
    const layers = ["relu1_1", "relu2_1", "relu3_1"];
    const features = network.features(input("image", [1, 3, SIZE, SIZE]), layers, { pooling });
    const session = await createSession(toOnnx(features), { backend: "wasm" });
    const out = await session.run({ image: image("generated").data });
    await session.release();
    for (const layer of layers) {
      const want = reference(layer === "relu1_1" ? layer : `${pooling}.${layer}`);
      assertEquals([...features[layer].shape], [...want.shape], layer);
      const err = relativeError(out[layer], want.data);
      assert(err <= 1e-5, `${pooling} ${layer}: relative error ${err}`);
    }
  });

  Deno.test(`vgg19 vs torch (${pooling} pooling): content and style costs, image gradient`, async () => {
    const contentWeight = Number(meta.content_weight);
    const styleWeight = Number(meta[`${pooling}.style_weight`]);
    const [contentLayer, normalisation] = meta.content.split(" ");
    assertEquals(normalisation, "half");
    const objective = await compileObjective({
      network,
      pooling,
      plugins: [
        content.use(
          { layers: [{ layer: contentLayer, weight: 1 }], normalisation: "half" },
          contentWeight,
        ),
        style.use({ layers: layerWeights(meta.style) }, styleWeight),
      ],
      size: { width: SIZE, height: SIZE },
      content: image("content"),
      styles: [{ image: image("style"), weight: 1 }],
    }, { backend: "wasm" });
    const { terms, total, gradient } = await objective.evaluate(image("generated").data);
    await objective.release();
    const contentCost = reference(`${pooling}.cost.content`).data[0];
    const styleCost = reference(`${pooling}.cost.style`).data[0];
    const errors = {
      content: Math.abs(terms.content - contentCost) / contentCost,
      style: Math.abs(terms.style - styleCost) / styleCost,
      total: Math.abs(total - (contentWeight * contentCost + styleWeight * styleCost)) /
        (contentWeight * contentCost + styleWeight * styleCost),
      gradient: relativeError(gradient, reference(`${pooling}.gradient`).data),
    };
    for (const [what, err] of Object.entries(errors)) {
      assert(err <= 1e-4, `${pooling} ${what}: relative error ${err}`);
    }
  });
}
