/**
 * Tensor expressions: the typed, statically shaped DAG that networks and cost
 * plugins are written in. An expression only records *what* to compute; the
 * ONNX emitter (`onnx.ts`) turns a set of expressions into one graph and the
 * autodiff (`autodiff.ts`) adds gradient expressions to it.
 *
 * Every value is float32. Shapes are static and checked when an expression is
 * built, so a mistake is reported at the line that made it.
 *
 * @module
 */

/** A static tensor shape: one non-negative integer per axis. */
export type Shape = readonly number[];

/** Thrown when the shapes (or attributes) given to an op do not fit together. */
export class ShapeError extends Error {
  /** Creates the error; `message` names the op, the shapes and what was expected. */
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** Thrown when something asks for an operation the graph cannot express or differentiate. */
export class UnsupportedError extends Error {
  /** Creates the error; `message` says what is unsupported and what to do instead. */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedError";
  }
}

/**
 * What the ONNX emitter offers an op when it writes its nodes. Value names are
 * strings; `node` appends one ONNX node and returns its output names.
 */
export interface EmitContext {
  /** Appends a node `opType(inputs) → outputs` and returns the output value names. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes?: Readonly<Record<string, AttributeValue>>,
    outputCount?: number,
  ): string[];
  /** A shared int64 initializer holding `values` (for shapes, axes, pads…). */
  int64(values: readonly number[]): string;
  /** An int64 initializer of shape `shape` (for index comparisons). */
  initializerInt64(values: readonly number[], shape: Shape): string;
  /** A shared float32 scalar or vector initializer holding `values`. */
  float(values: readonly number[], shape?: Shape): string;
  /** Declares a graph input of shape `shape` and returns its value name (`name` itself). */
  graphInput(name: string, shape: Shape): string;
  /** A float32 initializer holding `data`; the same array is stored only once. */
  initializer(data: Float32Array, shape: Shape, preferredName?: string): string;
}

/** An ONNX attribute value as the emitter accepts it. */
export type AttributeValue = number | string | readonly number[] | { float: number };

/**
 * The definition of one op: its shape rule, its ONNX emission and its
 * gradient rule, kept side by side.
 */
// Methods (not function-typed properties) keep OpDef<A> assignable to
// OpDef<unknown>, so a Tensor<A> is a Tensor.
export interface OpDef<A = unknown> {
  /** The op's name, as errors and value names show it. */
  readonly name: string;
  /** The output shape for these input shapes, or a thrown message saying what was expected. */
  shape(inputs: readonly Shape[], attrs: A): Shape;
  /** Writes the ONNX nodes computing `node` from the inputs' value names; returns its value name. */
  emit(ctx: EmitContext, node: Tensor<A>, inputs: readonly string[]): string;
  /**
   * The gradient of the cost with respect to each input, given `dy`, the
   * gradient with respect to this node's output. `needed[i]` says whether
   * input `i` needs one; return `undefined` for the others. Ops without a rule
   * cannot be differentiated through.
   */
  grad?(
    dy: Tensor,
    node: Tensor<A>,
    needed: readonly boolean[],
  ): readonly (Tensor | undefined)[];
}

let nextId = 0;

/**
 * A node of the expression DAG: the result of an op applied to input
 * expressions. Build tensors with the op functions (`conv2d`, `add`, …), with
 * {@linkcode input} and with {@linkcode constant}; never with `new`.
 */
export class Tensor<A = unknown> {
  /** Unique, increasing: an expression's inputs always have smaller ids. */
  readonly id: number;
  /** The op that computes this tensor. */
  readonly op: OpDef<A>;
  /** The expressions the op reads. */
  readonly inputs: readonly Tensor[];
  /** The op's attributes (strides, axes…), already normalised. */
  readonly attrs: A;
  /** The static shape. */
  readonly shape: Shape;

  /** Internal: use the op functions. */
  constructor(op: OpDef<A>, inputs: readonly Tensor[], attrs: A, shape: Shape) {
    this.id = nextId++;
    this.op = op;
    this.inputs = inputs;
    this.attrs = attrs;
    this.shape = shape;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }
}

/** Number of elements of a tensor of shape `shape`. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Formats a shape as `[1,3,224,224]` for messages. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(",")}]`;
}

/**
 * Applies `op` to `inputs`: checks shapes with the op's rule and returns the new
 * expression. Shape errors are re-thrown naming the op and every input shape.
 */
export function apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor<A> {
  let shape: Shape;
  try {
    shape = op.shape(inputs.map((t) => t.shape), attrs);
  } catch (e) {
    if (e instanceof ShapeError) {
      const shapes = inputs.map((t) => formatShape(t.shape)).join(", ");
      throw new ShapeError(`${op.name}: ${e.message} (input shapes ${shapes})`);
    }
    throw e;
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${op.name}: the result would have shape ${
          formatShape(shape)
        }, which is empty or invalid ` +
          `(input shapes ${inputs.map((t) => formatShape(t.shape)).join(", ")})`,
      );
    }
  }
  return new Tensor(op, inputs, attrs, shape);
}

/** Throws a {@linkcode ShapeError} with `message` unless `condition` holds. */
export function expect(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new ShapeError(message());
}

/** Checks that `shape` is a list of positive integers; `what` names it in the error. */
export function checkShape(shape: Shape, what: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new ShapeError(
      `${what}: shape ${JSON.stringify(shape)} must be a list of positive integers`,
    );
  }
}

/**
 * Normalises an axis that may count from the end (`-1` = last) for a tensor of
 * rank `rank`; `what` names the op in the error.
 */
export function normaliseAxis(axis: number, rank: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(`${what}: axis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}
