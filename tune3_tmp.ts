import { compileObjective, fitLongSide, loadNetwork, resizeImage, style as styleP } from "./mod.ts";
import { readImage } from "./cli/image_io.ts";
const net = await loadNetwork("inception");
const content = await readImage("examples/astronaut.jpg"),
  style = await readImage("examples/great_wave.jpg");
const layers = [
  "activation_1",
  "activation_2",
  "activation_3",
  "activation_4",
  "activation_5",
  "mixed0",
  "mixed1",
  "mixed2",
];
const size = fitLongSide(content, 256);
const o = await compileObjective({
  network: net,
  plugins: layers.map((l) => styleP.use({ layers: [l] }, 1)),
  size,
  content: resizeImage(content, size),
  styles: [{ image: style, weight: 1 }],
}, { backend: "native" });
const r = await o.evaluate(resizeImage(content, size).data);
const noise = new Float32Array(3 * size.width * size.height).map(() => Math.random());
const r2 = await o.evaluate(noise);
console.log(
  layers.map((l, i) =>
    `${l}: content ${r.terms[o.terms[i]].toExponential(2)} noise ${
      r2.terms[o.terms[i]].toExponential(2)
    }`
  ).join("\n"),
);
