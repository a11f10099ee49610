import {
  constant,
  content,
  definePlugin,
  loadNetwork,
  numberOption,
  reduceMean,
  reduceSum,
  rgbImage,
  square,
  style,
  stylize,
  sub,
} from "stylegram";

// A cost term of your own, written as forward math only: stylegram derives
// its gradient. This one pulls the image's mean colour towards a target.
const meanColour = definePlugin({
  name: "mean-colour",
  description: "moves the mean colour towards a target colour",
  options: {
    red: numberOption({ default: 0.5, min: 0, max: 1, description: "target mean red" }),
    green: numberOption({ default: 0.5, min: 0, max: 1, description: "target mean green" }),
    blue: numberOption({ default: 0.5, min: 0, max: 1, description: "target mean blue" }),
  },
  layers: () => ["image"], // the raw pixels, [1, 3, height, width]
  cost: ({ features }, { red, green, blue }) => {
    const mean = reduceMean(features("image"), { axes: [0, 2, 3] });
    return reduceSum(square(sub(mean, constant([red, green, blue]))));
  },
});

// Images are planar RGB in [0, 1]: all red values row by row, then green,
// then blue. Decode real ones with e.g. sharp; here, two made-up pictures.
const side = 32;
const picture = (colour) => {
  const data = new Float32Array(3 * side * side);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        data[(c * side + y) * side + x] = colour(x / side, y / side, c);
      }
    }
  }
  return rgbImage(side, side, data);
};
const photo = picture((x, y, c) => [x, y, 0.5][c]);
const painting = picture((x, y, c) => 0.5 + 0.5 * Math.sin((20 * (x + 2 * y)) / (c + 1)));

// "tiny" is a small test network; "inception" gives real results (its
// weights come with the nsfwjs dependency, no download).
const network = await loadNetwork("tiny");
const backend = process.argv[2] ?? "auto"; // wasm, native (onnxruntime-node) or auto
const result = await stylize({
  network,
  plugins: [content.use({}, 1), style.use({}, 40), meanColour.use({ red: 0.8 }, 10)],
  content: photo,
  styles: [painting],
  settings: { size: side, scales: 1, iterations: 10, backend },
});
console.log(
  `${result.backend}: total cost ${result.startTotal.toFixed(4)} → ${result.total.toFixed(4)} ` +
    `in ${result.iterations} iterations (${result.device})`,
);
