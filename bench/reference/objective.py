"""The recipe and the objective, as stylegram defines them.

Recipe: the JSON object the CLI reads with ``--recipe`` (core/recipe.ts). The
defaults below are stylegram's; a field the reference cannot honour
(preserveColors, normalise, iterate averaging, init "image", plugins other
than content / style / tv) is refused rather than ignored.

Costs (plugins/content.ts, plugins/style.ts, plugins/tv.ts), per layer l with
activations a of shape [1, C, H, W] and layer weight w_l:

- content: w_l * k * sum((a(G) - a(C))^2), k = 1/2 ("half") or
  1 / (4 H W C) ("size");
- style: Gram matrices F F^T (F = a reshaped to C x HW). The target of each
  style image is its Gram matrix divided by its own H_s W_s (a per-position
  Gram, so a style image of another size compares alike); several style images
  blend by mixing these targets with weights normalised to sum to 1. The cost
  is w_l * sum((Gram(G) - H W * target)^2) / (2 H W C)^2, which at equal sizes
  is exactly Gatys' formula;
- tv: ((G[i+1,j] - G[i,j])^2 + (G[i,j+1] - G[i,j])^2)^(beta/2) over the
  positions where both differences exist (epsilon added when beta < 2),
  summed ("sum") or averaged ("mean").

The total is the sum of weight * cost over the plugins, in recipe order; the
terms are reported unweighted under the plugins' names.
"""

import math

import torch

SETTINGS_DEFAULTS = {
    "network": "auto",
    "pooling": "auto",
    "size": 512,
    "aspect": 1,
    "iterations": 150,
    "scales": 2,
    "minSize": 256,
    "optimizer": "lbfgs",
    "history": 10,
    "learningRate": 0.02,
    "init": "content",
    "noise": 0.7,
    "seed": 0,
    "average": 0,
    "preserveColors": False,
    "normalise": False,
    "styleWeights": [],
    "backend": "auto",
    "previewEvery": 10,
}

DEFAULT_PLUGINS = [
    {"plugin": "content", "weight": 1, "options": {"normalisation": "size"}},
    {"plugin": "style", "weight": 40},
    {"plugin": "tv", "weight": 1, "options": {"normalisation": "mean"}},
]

# Each plugin's own option defaults (those of its definePlugin call).
PLUGIN_DEFAULTS = {
    "content": {"layers": "content", "normalisation": "half"},
    "style": {"layers": "style", "scale": 1},
    "tv": {"beta": 2, "epsilon": 1e-8, "normalisation": "sum"},
}


def parse_recipe(json_object: dict) -> dict:
    """The recipe with defaults filled in; refuses what the reference does not implement."""
    unknown = set(json_object) - set(SETTINGS_DEFAULTS) - {"version", "plugins"}
    if unknown:
        raise ValueError(f"recipe: unknown field(s) {', '.join(sorted(unknown))}")
    if json_object.get("version", 1) != 1:
        raise ValueError(f"recipe: version {json_object['version']} is not supported")
    recipe = {**SETTINGS_DEFAULTS, **json_object, "version": 1}
    for field, off in (("preserveColors", False), ("normalise", False), ("average", 0)):
        if recipe[field] != off:
            raise ValueError(f"recipe: {field} is not implemented by the reference")
    if recipe["init"] not in ("content", "noise", "gray"):
        raise ValueError(f"recipe: init {recipe['init']} is not implemented by the reference")
    plugins = []
    for entry in json_object.get("plugins", DEFAULT_PLUGINS):
        name = entry["plugin"]
        if name not in PLUGIN_DEFAULTS:
            raise ValueError(f"recipe: plugin {name} is not implemented by the reference")
        options = {**PLUGIN_DEFAULTS[name], **entry.get("options", {})}
        plugins.append({"plugin": name, "weight": float(entry.get("weight", 1)), "options": options})
    recipe["plugins"] = plugins
    return recipe


def term_labels(plugins: list) -> list:
    """Term names as stylegram reports them: the plugin's name, repeats numbered _2, _3, …"""
    seen = {}
    labels = []
    for p in plugins:
        seen[p["plugin"]] = seen.get(p["plugin"], 0) + 1
        n = seen[p["plugin"]]
        labels.append(p["plugin"] if n == 1 else f"{p['plugin']}_{n}")
    return labels


def resolve_layers(selection, network) -> list:
    """A layer selection ("style", "content", names, or {layer, weight}) as [(layer, weight)]."""
    if selection in ("style", "content"):
        return [(l["layer"], float(l["weight"])) for l in network.defaults[selection]]
    out = []
    for item in selection:
        out.append((item, 1.0) if isinstance(item, str) else (item["layer"], float(item["weight"])))
    return out


def gram(features: torch.Tensor) -> torch.Tensor:
    """F F^T of [1, C, H, W] activations: [C, C]."""
    f = features.reshape(features.shape[1], -1)
    return f @ f.t()


class Objective:
    """The weighted total of the recipe's costs at one image size, targets precomputed."""

    def __init__(self, network, plugins: list, content=None, styles=(), style_weights=None):
        """`content` [1,3,H,W] at the output size; `styles` already at their reference sizes."""
        self.network = network
        self.plugins = plugins
        self.labels = term_labels(plugins)
        self.layers = {
            i: resolve_layers(p["options"]["layers"], network)
            for i, p in enumerate(plugins)
            if p["plugin"] in ("content", "style")
        }
        self.reads = sorted({layer for ls in self.layers.values() for layer, _ in ls})
        weights = list(style_weights or [1.0] * len(styles))
        share = [w / sum(weights) for w in weights] if styles else []
        self.targets = {}
        with torch.no_grad():
            content_features = network.features(content, self.reads) if content is not None else None
            style_features = [network.features(s, self.reads) for s in styles]
            for i, p in enumerate(plugins):
                if p["plugin"] == "content":
                    if content_features is None:
                        raise ValueError("the content cost needs a content image")
                    self.targets[i] = {l: content_features[l] for l, _ in self.layers[i]}
                elif p["plugin"] == "style":
                    if not style_features:
                        raise ValueError("the style cost needs a style image")
                    self.targets[i] = {}
                    for layer, _ in self.layers[i]:
                        # Per-position Gram of each style image, blended by the normalised weights.
                        blended = 0
                        for w, f in zip(share, style_features):
                            a = f[layer]
                            blended = blended + w * (gram(a) * (1 / (a.shape[2] * a.shape[3])))
                        self.targets[i][layer] = blended

    def __call__(self, image: torch.Tensor) -> tuple:
        """(total, {term: cost}) at `image`, differentiable with respect to it."""
        features = self.network.features(image, self.reads) if self.reads else {}
        total = 0
        terms = {}
        for i, p in enumerate(self.plugins):
            options = p["options"]
            if p["plugin"] == "content":
                cost = 0
                for layer, weight in self.layers[i]:
                    a = features[layer]
                    _, c, h, w = a.shape
                    k = 0.5 if options["normalisation"] == "half" else 1 / (4 * h * w * c)
                    cost = cost + ((a - self.targets[i][layer]) ** 2).sum() * (k * weight)
            elif p["plugin"] == "style":
                cost = 0
                for layer, weight in self.layers[i]:
                    a = features[layer]
                    _, c, h, w = a.shape
                    diff = ((gram(a) - self.targets[i][layer] * (h * w)) ** 2).sum()
                    cost = cost + diff * (weight / (2 * h * w * c) ** 2)
            else:
                cost = tv_cost(image, options)
            terms[self.labels[i]] = cost
            total = total + (cost if p["weight"] == 1 else cost * p["weight"])
        return total, terms


def tv_cost(image: torch.Tensor, options: dict) -> torch.Tensor:
    """Total variation of `image` [1, 3, H, W] (see the module notes)."""
    here = image[:, :, :-1, :-1]
    down = image[:, :, 1:, :-1]
    right = image[:, :, :-1, 1:]
    squares = (down - here) ** 2 + (right - here) ** 2
    beta = options["beta"]
    terms = squares if beta == 2 else (squares + options["epsilon"]) ** (beta / 2)
    return terms.sum() if options["normalisation"] == "sum" else terms.mean()


def scale_sides(recipe: dict, network_min: int) -> list:
    """Longer sides of the scales, geometric from minSize to size (core/stylize.ts scaleSizes)."""
    scales, size = recipe["scales"], recipe["size"]
    low = max(recipe["minSize"], network_min)
    if scales == 1 or low >= size:
        return [size]
    # JavaScript's Math.round rounds halves up.
    return [math.floor(low * (size / low) ** (k / (scales - 1)) + 0.5) for k in range(scales)]
