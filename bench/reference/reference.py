"""stylegram's objective in PyTorch: the reference the benchmarks compare with.

Same network and weights (exported by ``export_network.ts``), same costs and
normalisations (``objective.py``), same recipe JSON, same input pixels (the
bundle written by ``inputs.ts``: content and style images already resized by
stylegram for every scale, and the starting image), the same resize between
scales (``image_resize.py``), and the same JSON progress lines as
``cli.ts --json``. Only the optimiser is PyTorch's own:

- lbfgs: ``torch.optim.LBFGS`` with ``line_search_fn="strong_wolfe"``, one
  ``step`` per iteration (history kept across steps). Evaluations are cached,
  so the point a line search accepted is never evaluated again at the next
  step. PyTorch's L-BFGS has no bounds: with ``--bounds none`` (default) the
  pixels are free during a scale and clamped to [0, 1] only between scales
  and in the output; ``--bounds clamp`` clamps after every iteration, as
  much PyTorch style-transfer code does — which breaks the curvature pairs
  and costs about twice the evaluations per iteration (measured: 87 instead
  of 46 evaluations for 40 iterations at 256 px), so the benchmarks use the
  faster default.
- adam: ``torch.optim.Adam`` (recipe learningRate, betas 0.9 / 0.999, eps
  1e-8), clamped the same way.

Run from the repository root with Debian's PyTorch:

    /usr/bin/python3 bench/reference/reference.py --network CACHE/inception \\
        --inputs BUNDLE.safetensors --recipe recipe.json --json -o out.png
    … --score a.png --score b.png    # the objective at the final scale on given images
    … --bench-eval 5                 # ms per evaluation (forward + backward) at the final scale

Threads: ``--threads N`` (default: all cores). See README.md in this folder.
"""

import argparse
import json
import os
import statistics
import sys
import time

STARTED = time.perf_counter()  # before importing torch: start-up counts, as it does for the CLI

import torch  # noqa: E402

from image_resize import resize_image  # noqa: E402
from objective import Objective, parse_recipe, scale_sides  # noqa: E402
from tensor_files import read_png, read_safetensors, write_png, write_safetensors  # noqa: E402
from torch_network import LayerTableNetwork  # noqa: E402

VERSION = f"reference-torch-{torch.__version__}"


def emit(enabled: bool, event: dict) -> None:
    """One JSON object per line on stdout, flushed at once (the benchmarks time the lines)."""
    if enabled:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


class Inputs:
    """The bundle of pre-resized images written by inputs.ts."""

    def __init__(self, path, device, dtype=torch.float32):
        tensors, metadata = read_safetensors(path)
        self.meta = json.loads(metadata["bundle"])
        self.scales = [(s["width"], s["height"]) for s in self.meta["scales"]]
        self.tensors = {k: v.to(device, dtype) for k, v in tensors.items()}
        self.init = self.tensors["init"]
        self.styles = self.meta["styles"]

    def content(self, k):
        """The content image at scale k, or None."""
        return self.tensors.get(f"content_s{k}")

    def style_images(self, k):
        """The style images at their reference sizes for scale k."""
        return [self.tensors[f"style{j}_s{k}"] for j in range(self.styles)]


class CachedEvaluator:
    """Evaluates the objective at the image parameter, remembering the last few evaluations.

    torch.optim.LBFGS evaluates the starting point of every step(); with one
    step per iteration that point is the one the previous line search accepted
    and already evaluated, so a cache hit (same pixels, bit for bit) returns
    the stored cost and gradient instead of computing them again.
    """

    def __init__(self, objective, x, keep=4):
        self.objective = objective
        self.x = x
        self.keep = keep
        self.recent = []  # (pixels, total, terms, gradient)
        self.evaluations = 0

    def lookup(self):
        """The stored (total, terms, gradient) at the current pixels, or None."""
        for pixels, total, terms, gradient in reversed(self.recent):
            if torch.equal(pixels, self.x.detach()):
                return total, terms, gradient
        return None

    def evaluate(self) -> tuple:
        """(total, terms) at the current pixels; leaves the gradient in x.grad."""
        found = self.lookup()
        if found is None:
            self.x.grad = None
            total, terms = self.objective(self.x)
            total.backward()
            self.evaluations += 1
            found = (total.item(), {k: v.item() for k, v in terms.items()}, self.x.grad.detach().clone())
            self.recent.append((self.x.detach().clone(), *found))
            del self.recent[: -self.keep]
        self.x.grad = found[2].clone()
        return found[0], found[1]


def clamp_(x) -> bool:
    """Clamps the pixels to [0, 1] in place; True if any changed."""
    with torch.no_grad():
        outside = bool(((x < 0) | (x > 1)).any())
        if outside:
            x.clamp_(0, 1)
    return outside


def optimise_scale(objective, start, recipe, args, scale, device, warnings) -> tuple:
    """Runs the recipe's iterations at one scale.

    Returns (image, starting total, last total, last terms, iterations, evaluations);
    problems met are appended to `warnings` (and emitted as warning events).
    """
    x = start.clone().to(device).requires_grad_(True)
    evaluator = CachedEvaluator(objective, x)
    if recipe["optimizer"] == "lbfgs":
        optimizer = torch.optim.LBFGS(
            [x], lr=1, max_iter=1, history_size=recipe["history"], line_search_fn="strong_wolfe"
        )
    else:
        optimizer = torch.optim.Adam([x], lr=recipe["learningRate"])
    total, terms = evaluator.evaluate()
    start_total = total
    done = 0
    for i in range(1, recipe["iterations"] + 1):
        t0 = time.perf_counter()
        before = x.detach().clone()
        if recipe["optimizer"] == "lbfgs":
            optimizer.step(lambda: torch.tensor(evaluator.evaluate()[0]))
        else:
            optimizer.step()  # uses x.grad, left by the last evaluation
        if args.bounds == "clamp":
            clamp_(x)
        total, terms = evaluator.evaluate()  # usually a cache hit for L-BFGS
        if device.type == "cuda":
            torch.cuda.synchronize()
        ms = (time.perf_counter() - t0) * 1000
        done = i
        emit(args.json, {
            "event": "iteration", "scale": scale, "iteration": i, "iterations": recipe["iterations"],
            "total": total, "terms": terms, "msPerIteration": round(ms, 1),
        })
        if not torch.isfinite(torch.tensor(total)):
            warnings.append(f"scale {scale}, iteration {i}: the cost became NaN/Inf; stopped this scale")
            emit(args.json, {"event": "warning", "message": warnings[-1]})
            break
        if torch.equal(before, x.detach()):
            break  # converged: PyTorch's L-BFGS made no step
    return x.detach(), start_total, total, terms, done, evaluator.evaluations


def objective_at(network, inputs, recipe, k) -> Objective:
    """The objective at scale k of the bundle."""
    return Objective(network, recipe["plugins"], inputs.content(k), inputs.style_images(k),
                     recipe["styleWeights"] or None)


def stylise(network, inputs, recipe, args, device) -> None:
    """The coarse-to-fine run, with the CLI's JSON events."""
    sides = scale_sides(recipe, network.min_size)
    if len(sides) != len(inputs.scales) or any(max(s) != side for s, side in zip(inputs.scales, sides)):
        raise ValueError(f"the bundle's scales {inputs.scales} do not match the recipe's sides {sides}")
    emit(args.json, {"event": "start", "version": VERSION, "network": network.name, "recipe": recipe})
    image = None
    iterations = evaluations = 0
    warnings = []
    for k, (width, height) in enumerate(inputs.scales):
        emit(args.json, {"event": "scale", "scale": k + 1, "scales": len(inputs.scales),
                         "width": width, "height": height})
        # The first scale starts from stylegram's own starting image; later ones from ours, resized.
        start = inputs.init if image is None else resize_image(image.clamp(0, 1), height, width)
        objective = objective_at(network, inputs, recipe, k)
        image, start_total, total, terms, n, e = optimise_scale(
            objective, start, recipe, args, k + 1, device, warnings)
        iterations += n
        evaluations += e
    result = image.clamp(0, 1)
    # The cost of the image actually delivered (pixels in [0, 1]; not yet rounded to 8 bits):
    # without bounds the last iterate may lie outside the box and cost less than any valid image.
    with torch.no_grad():
        output_total, output_terms = objective(result)
    if args.output:
        write_png(args.output, result.cpu())
    emit(args.json, {
        "event": "done", "output": args.output, "width": width, "height": height,
        "seconds": round(time.perf_counter() - STARTED, 2), "iterations": iterations,
        "evaluations": evaluations, "backend": "pytorch",
        "device": f"torch {torch.__version__} {device.type}, {torch.get_num_threads()} thread(s)",
        "network": network.name, "startTotal": start_total, "total": total, "terms": terms,
        "outputTotal": output_total.item(), "outputTerms": {k: v.item() for k, v in output_terms.items()},
        "warnings": warnings,
    })


def score(network, inputs, recipe, paths, device) -> None:
    """The objective at the final scale on each image file (the judge of both tools' outputs)."""
    k = len(inputs.scales) - 1
    width, height = inputs.scales[k]
    objective = objective_at(network, inputs, recipe, k)
    for path in paths:
        image = read_png(path).to(device, network.mean.dtype)
        if image.shape[2:] != (height, width):
            raise ValueError(f"{path}: {image.shape[3]}x{image.shape[2]}, the final scale is {width}x{height}")
        with torch.no_grad():
            total, terms = objective(image)
        print(json.dumps({"event": "score", "image": path, "total": total.item(),
                          "terms": {t: v.item() for t, v in terms.items()}}), flush=True)


def precision_note(device) -> str:
    """On CUDA, cuDNN convolutions run in TF32 unless turned off (PyTorch's default): say so."""
    if device.type == "cuda" and torch.backends.cudnn.allow_tf32:
        return " (TF32 convolutions)"
    return ""


def bench_eval(network, inputs, recipe, args, device) -> None:
    """Times forward + backward of the full objective at the final scale, at the starting image."""
    k = len(inputs.scales) - 1
    t0 = time.perf_counter()
    objective = objective_at(network, inputs, recipe, k)
    targets_ms = (time.perf_counter() - t0) * 1000
    x = (inputs.init if k == 0 else resize_image(inputs.init, *inputs.scales[k][::-1])).clone()
    x = x.to(device).requires_grad_(True)
    times = []
    total = terms = None
    for i in range(args.bench_eval + 1):  # the first is a warm-up
        x.grad = None
        t = time.perf_counter()
        total, terms = objective(x)
        total.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i > 0:
            times.append((time.perf_counter() - t) * 1000)
    result = {
        "backend": "pytorch", "device": f"torch {torch.__version__} {device.type}{precision_note(device)}",
        "threads": torch.get_num_threads(), "size": max(inputs.scales[k]),
        "medianMs": statistics.median(times), "minMs": min(times), "times": times,
        "targetsMs": targets_ms, "total": total.item(),
        "terms": {t: v.item() for t, v in terms.items()},
    }
    if args.compare:
        # Agreement with stylegram: its cost and gradient at the same pixels, dumped by objective_speed.ts.
        theirs, meta = read_safetensors(args.compare)
        g = x.grad.detach().cpu().double().flatten()
        h = theirs["gradient"].double().flatten()
        result["compare"] = {
            "theirTotal": float(json.loads(meta["result"])["total"]),
            "gradientRelativeL2": ((g - h).norm() / h.norm()).item(),
        }
    if args.dump:
        write_safetensors(args.dump, {"gradient": x.grad.detach().cpu()}, {"total": repr(total.item())})
    print(json.dumps(result), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", required=True, help="PREFIX of PREFIX.json + PREFIX.safetensors")
    parser.add_argument("--inputs", required=True, help="the bundle written by inputs.ts")
    parser.add_argument("--recipe", help="recipe JSON (as for cli.ts --recipe); default: all defaults")
    parser.add_argument("-o", "--output", help="output PNG")
    parser.add_argument("--json", action="store_true", help="JSON progress lines, as cli.ts --json")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default all)")
    parser.add_argument("--bounds", choices=("clamp", "none"), default="none",
                        help="none: free pixels within a scale; clamp: clamp after every iteration")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--memory-format", choices=("channels_last", "contiguous"), default="channels_last",
                        help="activation layout (channels_last: NHWC, oneDNN's own; contiguous: NCHW)")
    parser.add_argument("--score", action="append", help="evaluate the objective on this PNG (repeatable)")
    parser.add_argument("--bench-eval", type=int, help="time this many forward + backward passes")
    parser.add_argument("--compare", help="with --bench-eval: stylegram's gradient dump to compare with")
    parser.add_argument("--dump", help="with --bench-eval: write our gradient here")
    parser.add_argument("--float64", action="store_true",
                        help="evaluate in double precision (accuracy checks; the weights stay float32 values)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    recipe_json = {}
    if args.recipe:
        with open(args.recipe) as f:
            recipe_json = json.load(f)
    recipe = parse_recipe(recipe_json)
    pooling = None if recipe["pooling"] == "auto" else recipe["pooling"]
    dtype = torch.float64 if args.float64 else torch.float32
    network = LayerTableNetwork(args.network, device=device, pooling=pooling,
                                channels_last=args.memory_format == "channels_last", dtype=dtype)
    inputs = Inputs(args.inputs, device, dtype)
    if args.score:
        score(network, inputs, recipe, args.score, device)
    elif args.bench_eval:
        bench_eval(network, inputs, recipe, args, device)
    else:
        stylise(network, inputs, recipe, args, device)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, OSError, KeyError) as e:
        print(f"reference: {e}", file=sys.stderr)
        sys.exit(1)
