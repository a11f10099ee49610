import {
  content as contentP,
  loadNetwork,
  resizeImage,
  rgbImage,
  style as styleP,
  stylize,
  tv as tvP,
  uniform,
} from "./mod.ts";
import { readImage, writeImage } from "./cli/image_io.ts";
const [tag, mix, lo, hi] = Deno.args;
const net = await loadNetwork("inception");
const content = await readImage("examples/astronaut.jpg"),
  style = await readImage("examples/great_wave.jpg");
const small = resizeImage(content, { width: 128, height: 128 });
const noise = uniform(3 * 128 * 128, 0, { lo: Number(lo), hi: Number(hi) });
const m = Number(mix);
const init = rgbImage(128, 128, small.data.map((v, i) => m * v + (1 - m) * noise[i]));
const r = await stylize({
  network: net,
  plugins: [
    contentP.use({ normalisation: "size" }, 1),
    styleP.use({}, 20),
    tvP.use({ normalisation: "mean" }, 1),
  ],
  content,
  styles: [style],
  initImage: init,
  settings: {
    size: 256,
    scales: 2,
    minSize: 128,
    iterations: 150,
    init: "image",
    backend: "native",
  },
});
await writeImage(r.image, `/tmp/o/t_${tag}.png`);
console.log(tag, JSON.stringify(r.terms));
