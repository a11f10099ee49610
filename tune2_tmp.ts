import { content as contentP, loadNetwork, style as styleP, stylize, tv as tvP } from "./mod.ts";
import { readImage } from "./cli/image_io.ts";
const opts = JSON.parse(Deno.args[0] ?? "{}");
const net = await loadNetwork("inception");
const content = await readImage("examples/astronaut.jpg"),
  style = await readImage("examples/great_wave.jpg");
let evals = 0;
await stylize({
  network: net,
  plugins: [contentP.use({}, 1), styleP.use({}, opts.sw ?? 1e10), tvP.use({}, 1)],
  content,
  styles: [style],
  settings: { size: 256, scales: 1, iterations: 60, backend: "native", ...(opts.settings ?? {}) },
}, {
  onProgress: (e) => {
    if (e.type === "iteration") {
      evals += e.evaluations;
      if (e.iteration % 5 === 0 || e.evaluations > 1) {
        console.log(
          e.iteration,
          e.evaluations,
          evals,
          e.total.toExponential(3),
          JSON.stringify(e.terms),
        );
      }
    }
    if (e.type === "warning") console.log(e.message);
  },
});
