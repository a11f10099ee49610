/**
 * How exact tiles are: the image gradient of a tiled evaluation against the
 * untiled one, as the halo grows, per network (the tiny test network, a
 * seeded random VGG-19 and InceptionV3), on the default costs. Errors are
 * relative to the untiled gradient's largest (max) and mean (mean)
 * magnitude; the last halo of each network is its default (the receptive
 * field of the deepest layer read).
 *
 * @module
 */

import { loadNetwork } from "../core/network/registry.ts";
import type { FeatureNetwork } from "../core/network/feature_network.ts";
import { compileObjective, type ObjectiveSpec } from "../core/objective.ts";
import { resizeImage } from "../core/image.ts";
import { receptiveHalo } from "../core/tiling/budget.ts";
import { style } from "../plugins/style.ts";
import { content } from "../plugins/content.ts";
import { tv } from "../plugins/tv.ts";
import { readImage } from "../io.ts";
import { printTable, ROOT } from "./measure.ts";

/** One network at one halo. */
export interface AccuracyRow {
  /** Network. */
  network: string;
  /** Halo, pixels. */
  halo: number;
  /** Windows per evaluation. */
  windows: number;
  /** max |Δg| / max |g|. */
  maxError: number;
  /** Σ|Δg| / Σ|g|. */
  meanError: number;
  /** |Δ total| / total. */
  totalError: number;
}

async function measure(net: FeatureNetwork, size: number, halos: number[]): Promise<AccuracyRow[]> {
  const photo = await readImage(`${ROOT}examples/astronaut.jpg`);
  const painting = await readImage(`${ROOT}examples/van_gogh.jpg`);
  const image = resizeImage(photo, { width: size, height: size });
  const spec: ObjectiveSpec = {
    network: net,
    pooling: net.name === "random" ? "avg" : undefined,
    plugins: [
      content.use({ normalisation: "size" }, 1),
      style.use({}, 40),
      tv.use({ normalisation: "mean" }, 1),
    ],
    size: { width: size, height: size },
    content: image,
    styles: [{ image: resizeImage(painting, { width: size, height: size }), weight: 1 }],
  };
  const pixels = resizeImage(painting, { width: size, height: size }).data.map((v, i) =>
    0.5 * v + 0.5 * image.data[i]
  );
  const whole = await compileObjective(spec, { backend: "native" });
  const a = await whole.evaluate(pixels);
  await whole.release();
  const rows: AccuracyRow[] = [];
  for (const halo of halos) {
    const tiled = await compileObjective({ ...spec, tiles: { interior: size / 4, halo } }, {
      backend: "native",
    });
    const b = await tiled.evaluate(pixels);
    await tiled.release();
    let maxD = 0, maxG = 0, sumD = 0, sumG = 0;
    for (let i = 0; i < a.gradient.length; i++) {
      const d = Math.abs(a.gradient[i] - b.gradient[i]);
      maxD = Math.max(maxD, d);
      maxG = Math.max(maxG, Math.abs(a.gradient[i]));
      sumD += d;
      sumG += Math.abs(a.gradient[i]);
    }
    rows.push({
      network: net.name,
      halo: tiled.plan?.halo ?? halo,
      windows: tiled.plan?.windows.length ?? 1,
      maxError: maxD / maxG,
      meanError: sumD / sumG,
      totalError: Math.abs(b.total - a.total) / a.total,
    });
  }
  return rows;
}

/** Runs the table, printing it. */
export async function tileAccuracySuite(): Promise<AccuracyRow[]> {
  const rows: AccuracyRow[] = [];
  for (const [name, size] of [["tiny", 128], ["random", 256], ["inception", 384]] as const) {
    const net = await loadNetwork(name, { seed: 1 });
    const layers = [...net.description.defaults.style, ...net.description.defaults.content].map((
      l,
    ) => l.layer);
    const full = receptiveHalo(net.description, layers);
    const halos = [full / 4, full / 2, (3 * full) / 4, full].map(Math.round);
    rows.push(...await measure(net, size, halos));
  }
  printTable(
    ["network", "halo px", "windows", "max rel. error", "mean rel. error", "total rel. error"],
    rows.map((r) => [
      r.network,
      String(r.halo),
      String(r.windows),
      r.maxError.toExponential(1),
      r.meanError.toExponential(1),
      r.totalError.toExponential(1),
    ]),
  );
  console.log("(the last halo of each network is its default: its receptive field)");
  return rows;
}

if (import.meta.main) await tileAccuracySuite();
