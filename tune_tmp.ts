import { content as contentP, loadNetwork, style as styleP, stylize, tv as tvP } from "./mod.ts";
import { readImage, writeImage } from "./cli/image_io.ts";
const [c, s, tag, ...rest] = Deno.args;
const opts = JSON.parse(rest[0] ?? "{}");
const net = await loadNetwork(opts.network ?? "inception");
const content = await readImage(c), style = await readImage(s);
const t0 = performance.now();
const r = await stylize({
  network: net,
  plugins: [
    contentP.use({ normalisation: "size", ...(opts.content ?? {}) }, opts.cw ?? 1),
    styleP.use(opts.style ?? {}, opts.sw ?? 20),
    tvP.use({ normalisation: "mean" }, opts.tv ?? 1),
  ],
  content,
  styles: [style],
  settings: {
    size: 256,
    scales: 2,
    minSize: 128,
    iterations: 150,
    init: "noise",
    backend: "native",
    ...(opts.settings ?? {}),
  },
});
await writeImage(r.image, `/tmp/o/t_${tag}.png`);
console.log(
  tag,
  ((performance.now() - t0) / 1000).toFixed(1),
  "s",
  JSON.stringify(r.terms),
  r.total.toExponential(2),
  r.warnings.join(";"),
);
