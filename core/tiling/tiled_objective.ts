/**
 * The objective evaluated in windows: each plugin's statistics summed over
 * the windows, the cost graph on their totals (with the gradient of the
 * total with respect to them), and each window's backward with those
 * gradients, added into the image's gradient.
 *
 * @module
 */

import { addN, grad, input, mul, type OnnxGraph, type Tensor, toOnnx } from "../graph/mod.ts";
import type { Session } from "../runtime/mod.ts";
import type { NetworkInfo } from "../plugin.ts";
import type { Mask } from "../guidance.ts";
import type { Objective, ObjectiveSpec } from "../objective.ts";
import { type Array32, type StatisticsPart, WindowedStatistics } from "./windowed.ts";
import type { TilePlan } from "./plan.ts";
import { costExpression, noFeatures, noMaskInCost } from "../plugin_calls.ts";
import { layerMaskArrays, type TargetSet } from "../reference_targets.ts";

/**
 * The objective evaluated in windows: statistics summed over windows, the
 * cost graph on their totals, and each window's backward with the
 * statistics' gradients.
 */
export async function tiledObjective(
  spec: ObjectiveSpec,
  ctx: {
    plan: TilePlan;
    parts: readonly { index: number; set: TargetSet; mask?: Mask; factor?: number }[][];
    names: readonly string[];
    layers: readonly string[];
    info: NetworkInfo;
    open: (graph: OnnxGraph) => Promise<Session>;
    consts: (index: number, set: TargetSet) => Record<string, Tensor>;
    shapeOf: (layer: string) => readonly number[];
    expressions: () => Objective["expressions"];
  },
): Promise<Objective> {
  const { plan, open, info } = ctx;
  const flat = ctx.parts.flat();
  const maskArrays = new Map<Mask, Map<string, Array32>>();
  for (const part of flat) {
    if (part.mask && !maskArrays.has(part.mask)) {
      maskArrays.set(
        part.mask,
        await layerMaskArrays(spec, part.mask, ctx.layers, ctx.shapeOf, open),
      );
    }
  }
  const statisticsParts: StatisticsPart[] = flat.map((part) => ({
    use: spec.plugins[part.index],
    mask: part.mask && maskArrays.get(part.mask),
    reference: part.set.referencePixels
      ? { pixels: part.set.referencePixels }
      : part.set.references?.size
      ? part.set.references
      : undefined,
  }));
  const windowed = new WindowedStatistics(spec.network, plan, {
    parts: statisticsParts,
    layers: ctx.layers,
    pooling: spec.pooling,
    info,
    open,
  });
  // The cost graph: the statistics' totals in, costs and their gradients out.
  const shapes = await windowed.shapes();
  const statInputs = new Map([...shapes].map(([n, s]) => [n, input(n, s)]));
  const costs: Tensor[] = [];
  const weighted: Tensor[] = [];
  let p = 0;
  for (const [i, parts] of ctx.parts.entries()) {
    const use = spec.plugins[i];
    const built: Tensor[] = [];
    for (const part of parts) {
      const prefix = `s${p++}_`;
      const statistics = Object.fromEntries(
        [...statInputs].filter(([n]) => n.startsWith(prefix)).map((
          [n, t],
        ) => [n.slice(prefix.length), t]),
      );
      const c = await costExpression(use, {
        features: noFeatures,
        mask: noMaskInCost,
        targets: ctx.consts(i, part.set),
        statistics,
        shape: ctx.shapeOf,
        network: info,
      });
      built.push(part.factor === undefined ? c : mul(c, part.factor));
    }
    const cost = addN(built);
    costs.push(cost);
    weighted.push(use.weight === 1 ? cost : mul(cost, use.weight));
  }
  const total = addN(weighted);
  const inputs = [...statInputs.values()];
  const dStats = grad(total, inputs);
  const graph = toOnnx({
    ...Object.fromEntries(costs.map((c, i) => [`cost_${i}`, c])),
    total,
    ...Object.fromEntries([...statInputs.keys()].map((n, k) => [`d${n}`, dStats[k]])),
  }, { name: "objective_of_statistics" });
  const session = await open(graph);
  let expressions: Objective["expressions"] | undefined;
  return {
    terms: ctx.names,
    size: { ...spec.size },
    session,
    graph,
    plan,
    get expressions() {
      return expressions ??= ctx.expressions();
    },
    async evaluate(pixels, options = {}) {
      const sums = await windowed.statistics(pixels, options);
      const out = await session.run(Object.fromEntries([...sums].map(([n, a]) => [n, a.data])));
      const terms: Record<string, number> = {};
      ctx.names.forEach((n, i) => terms[n] = out[`cost_${i}`][0]);
      const d = new Map([...statInputs.keys()].map((n) => [n, out[`d${n}`]]));
      const gradient = await windowed.gradient(pixels, d, options);
      return { terms, total: out.total[0], gradient };
    },
    async release() {
      await windowed.release();
      await session.release();
    },
  };
}
