/**
 * What plugin code in the playground's sandbox gets as `"stylegram"`: the
 * expression functions, the option records, `definePlugin` and
 * `resolveLayers` — imported from their own files, so the sandbox's bundle
 * holds no runtime, network or file code at all.
 *
 * @module
 */

import { Tensor } from "../../../core/graph/expr.ts";
import { constant } from "../../../core/graph/ops/source.ts";
import { add, addN, div, mul, sub } from "../../../core/graph/ops/arithmetic.ts";
import {
  abs,
  exp,
  log,
  neg,
  pow,
  relu,
  sigmoid,
  sqrt,
  square,
  tanh,
} from "../../../core/graph/ops/unary.ts";
import { reduceMean, reduceSum } from "../../../core/graph/ops/reduce.ts";
import { concat, reshape, slice, transpose } from "../../../core/graph/ops/layout.ts";
import { matmul } from "../../../core/graph/ops/matmul.ts";
import { softmax } from "../../../core/graph/ops/softmax.ts";
import { conv2d } from "../../../core/graph/ops/conv.ts";
import { avgPool } from "../../../core/graph/ops/pool.ts";
import {
  booleanOption,
  choiceOption,
  integerOption,
  layersOption,
  numberOption,
  OptionError,
} from "../../../core/options.ts";
import { definePlugin, IMAGE_LAYER, resolveLayers } from "../../../core/plugin.ts";
import { gramMatrix } from "../../../plugins/style.ts";

/** The sandbox's `"stylegram"` (before recording: see `recordingApi`). */
export const AUTHORING_API: Readonly<Record<string, unknown>> = {
  Tensor,
  constant,
  add,
  addN,
  div,
  mul,
  sub,
  abs,
  exp,
  log,
  neg,
  pow,
  relu,
  sigmoid,
  sqrt,
  square,
  tanh,
  reduceMean,
  reduceSum,
  concat,
  reshape,
  slice,
  transpose,
  matmul,
  softmax,
  conv2d,
  avgPool,
  gramMatrix,
  booleanOption,
  choiceOption,
  integerOption,
  layersOption,
  numberOption,
  OptionError,
  definePlugin,
  IMAGE_LAYER,
  resolveLayers,
};
