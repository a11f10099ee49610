// A TypeScript user of the installed package, type-checked (never run) with
// `tsc --strict --noEmit` and Node's module resolution: the declarations must
// load without errors and be precise — every `@ts-expect-error` below must
// find an error, which it would not if the types had decayed to `any`.

import {
  BUILTIN_PLUGINS,
  constant,
  content,
  createSession,
  definePlugin,
  grad,
  input,
  loadNetwork,
  numberOption,
  type Plugin,
  type ProgressEvent,
  reduceMean,
  reduceSum,
  type RgbImage,
  rgbImage,
  square,
  style,
  stylize,
  type StylizeResult,
  sub,
  type Tensor,
  toOnnx,
  tv,
} from "stylegram";

const target = numberOption({ default: 0.5, min: 0, max: 1, description: "target mean" });

export const brightness: Plugin<{ target: number }> = definePlugin({
  name: "brightness",
  description: "mean pixel value close to a target",
  options: { target },
  layers: () => ["image"],
  cost: ({ features }, options) => {
    // @ts-expect-error: the plugin declares no option "purple"
    options.purple;
    const mean: Tensor = reduceMean(features("image"));
    return square(sub(mean, constant([options.target])));
  },
});

export async function run(image: RgbImage): Promise<number> {
  const network = await loadNetwork("tiny", { seed: 1 });
  const events: ProgressEvent[] = [];
  const result: StylizeResult = await stylize({
    network,
    plugins: [content.use({}, 1), style.use({}, 40), tv.use(), brightness.use({ target: 0.4 }, 2)],
    content: image,
    styles: [rgbImage(8, 8)],
    settings: { size: 16, iterations: 2, backend: "wasm" },
  }, { onProgress: (e) => events.push(e), threads: 2 });
  for (const e of events) {
    if (e.type === "iteration") console.log(e.total.toFixed(3), e.terms.brightness);
    // @ts-expect-error: only iteration events carry a total
    else console.log(e.total);
  }
  await stylize({
    network,
    plugins: [],
    // @ts-expect-error: there is no "cuda" backend
    settings: { backend: "cuda" },
  });
  // @ts-expect-error: the total is a number
  const wrong: string = result.total;
  return result.total + wrong.length + BUILTIN_PLUGINS.size;
}

export async function gradient(): Promise<Float32Array> {
  const x = input("x", [1, 3, 4, 4]);
  const cost = reduceSum(square(x));
  const [dx] = grad(cost, [x]);
  const session = await createSession(toOnnx({ cost, dx }), { backend: "native" });
  const out: Record<string, Float32Array> = await session.run({ x: new Float32Array(48) });
  await session.release();
  return out.dx;
}
