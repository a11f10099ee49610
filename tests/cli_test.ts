/**
 * The CLI end to end, as a user runs it (`deno run -A cli.ts …` in a child
 * process): a real run on small images with the tiny network, JSON progress,
 * recipes, and every kind of bad input, each of which must give one line on
 * stderr, a non-zero exit and no output file.
 */

import { ownLines, runCli } from "./support/cli_run.ts";
import sharp from "sharp";
import { assert, assertEquals } from "./support/assert.ts";
import { bombPng } from "./support/png.ts";
import { TINY } from "../core/network/tiny.ts";
import { windowBytes } from "../core/tiling/budget.ts";
import { featureBytes, RUNTIME_BYTES } from "../core/tiling/memory_plan.ts";

const root = new URL("..", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "stylegram-cli-" });
const content = `${dir}/content.png`;
const style = `${dir}/style.jpg`;
const leftMask = `${dir}/masks/left.png`;
const squareMask = `${dir}/masks/square.png`;
await Deno.mkdir(`${dir}/masks`);

/** Small test images made with sharp: a gradient and stripes. */
async function makeImages() {
  const w = 48, h = 36;
  const a = new Uint8Array(w * h * 3).map((
    _,
    i,
  ) => (i % 3 === 0 ? (i / 3) % w * 5 : i % 3 === 1 ? Math.floor(i / 3 / w) * 7 : 128));
  await sharp(a, { raw: { width: w, height: h, channels: 3 } }).png().toFile(content);
  const b = new Uint8Array(40 * 40 * 3).map((_, i) => (Math.floor(i / 3 / 4) % 2 ? 230 : 20));
  await sharp(b, { raw: { width: 40, height: 40, channels: 3 } }).jpeg().toFile(style);
  const left = new Uint8Array(w * h).map((_, i) => (i % w < w / 2 ? 255 : 0));
  await sharp(left, { raw: { width: w, height: h, channels: 1 } }).png().toFile(leftMask);
  await sharp(new Uint8Array(100).fill(255), { raw: { width: 10, height: 10, channels: 1 } })
    .png().toFile(squareMask);
}
await makeImages();

/** Runs the CLI in the test folder. */
const cli = (args: string[], options: { signalAfter?: RegExp } = {}) =>
  runCli(args, { cwd: dir, ...options });

const fast = [
  "--network",
  "tiny",
  "--size",
  "32",
  "--iterations",
  "8",
  "--scales",
  "1",
  "--backend",
  "wasm",
];

Deno.test("a run writes a valid image of the right size; cost falls; --json lines parse", async () => {
  const out = `${dir}/out.png`;
  const r = await cli([content, style, "-o", out, "--json", ...fast]);
  assertEquals(r.code, 0, r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(events[0].event, "start");
  assert(events.some((e) => e.event === "iteration"));
  const done = events[events.length - 1];
  assertEquals(done.event, "done");
  assert(done.total < done.startTotal, `cost ${done.startTotal} → ${done.total}`);
  const meta = await sharp(out).metadata();
  assertEquals([meta.format, meta.width, meta.height], ["png", 32, 24]);
});

Deno.test("--max-memory: a budget that forces tiles; --json reports the budget and each tile", async () => {
  const out = `${dir}/tiled.png`;
  // What a 96×72 run holds besides its windows, plus windows of about 48 px.
  const size = { width: 96, height: 72 };
  const bytes = RUNTIME_BYTES + 12 * 96 * 72 * 28 + 1000 +
    featureBytes(TINY, ["relu2"], size) +
    windowBytes(TINY, ["relu1", "relu2", "conv3"], { height: 48, width: 48 });
  const r = await cli([
    content,
    style,
    "-o",
    out,
    "--json",
    ...fast,
    "--size",
    "96",
    "--iterations",
    "2",
    "--max-memory",
    String(Math.round(bytes)),
  ]);
  assertEquals(r.code, 0, r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert(/^[\d.]+ [KMG]?B$/.test(events[0].memory), events[0].memory);
  const tiles = events.filter((e) => e.event === "tile");
  assert(tiles.length > 0 && tiles[0].windows > 1, JSON.stringify(events.slice(0, 5)));
  const { x, y, width, height } = tiles[0].region;
  assert([x, y, width, height].every(Number.isInteger) && width > 0 && height > 0);
  assert(tiles.some((t) => t.pass === 2 && t.done === t.windows));
  assertEquals(events[events.length - 1].event, "done");
  const meta = await sharp(out).metadata();
  assertEquals([meta.width, meta.height], [96, 72]);
});

Deno.test("recipes round-trip: --save-recipe then --recipe gives the same recipe and image", async () => {
  const recipe = `${dir}/recipe.json`;
  const a = await cli([
    content,
    style,
    "-o",
    `${dir}/a.webp`,
    "--save-recipe",
    recipe,
    "--style-weight",
    "5000",
    "--seed",
    "3",
    "-q",
    ...fast,
  ]);
  assertEquals(a.code, 0, a.stderr);
  const saved = JSON.parse(await Deno.readTextFile(recipe));
  assertEquals(saved.version, 1);
  assertEquals(saved.plugins.find((p: { plugin: string }) => p.plugin === "style").weight, 5000);
  const b = await cli([
    content,
    style,
    "-o",
    `${dir}/b.webp`,
    "--recipe",
    recipe,
    "--save-recipe",
    `${dir}/again.json`,
    "-q",
  ]);
  assertEquals(b.code, 0, b.stderr);
  assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/again.json`)), saved);
  assertEquals(await Deno.readFile(`${dir}/a.webp`), await Deno.readFile(`${dir}/b.webp`));
});

Deno.test("--save-every writes numbered files; texture synthesis needs no content", async () => {
  const r = await cli([
    "--texture",
    style,
    "-o",
    `${dir}/tex.jpg`,
    "--save-every",
    "4",
    "--aspect",
    "2",
    "-q",
    ...fast,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const meta = await sharp(`${dir}/tex.jpg`).metadata();
  assertEquals([meta.width, meta.height], [32, 16]);
  for (const n of ["0004", "0008"]) await Deno.stat(`${dir}/tex_s1_${n}.jpg`);
});

Deno.test("--help documents every option with defaults; --version", async () => {
  const help = await cli(["--help"]);
  assertEquals(help.code, 0);
  for (
    const flag of [
      "--size",
      "--iterations",
      "--content-weight",
      "--style-weight",
      "--tv-weight",
      "--style-blend",
      "--style-scale",
      "--network",
      "--backend",
      "--threads",
      "--optimizer",
      "--init",
      "--seed",
      "--scales",
      "--pooling",
      "--preserve-colors",
      "--save-every",
      "--recipe",
      "--save-recipe",
      "--json",
      "--quiet",
    ]
  ) {
    assert(help.stdout.includes(flag), `--help mentions ${flag}`);
  }
  assert(help.stdout.includes("[default: 512]"));
  // The examples can be pasted as they are: the images they name exist.
  for (const [path] of help.stdout.matchAll(/examples\/[\w.]+/g)) {
    assert((await Deno.stat(new URL(`../${path}`, import.meta.url))).isFile, `${path} exists`);
  }
  const version = await cli(["--version"]);
  assert(/^stylegram \d+\.\d+\.\d+/.test(version.stdout), version.stdout);
});

const badCases: [string, () => Promise<string[]>, RegExp][] = [
  ["missing file", () => Promise.resolve([`${dir}/nope.jpg`, style]), /nope\.jpg: no such file/],
  [
    "a directory as image",
    () => Promise.resolve([dir, style]),
    /is a directory, not an image file/,
  ],
  [
    "empty file",
    async () => (await Deno.writeFile(`${dir}/empty.jpg`, new Uint8Array()),
      [`${dir}/empty.jpg`, style]),
    /empty\.jpg: the file is empty/,
  ],
  [
    "text named .jpg",
    async () => (await Deno.writeTextFile(`${dir}/text.jpg`, "hello, not a picture"),
      [`${dir}/text.jpg`, style]),
    /text\.jpg: not an image \(unrecognised format\)/,
  ],
  ["truncated JPEG", async () => {
    const full = await Deno.readFile(style);
    await Deno.writeFile(`${dir}/trunc.jpg`, full.subarray(0, Math.floor(full.length / 2)));
    return [content, `${dir}/trunc.jpg`];
  }, /trunc\.jpg: corrupt or truncated image/],
  ["corrupt PNG", async () => {
    const full = await Deno.readFile(content);
    const bad = full.slice();
    for (let i = 60; i < bad.length - 20; i += 7) bad[i] ^= 0x5a;
    await Deno.writeFile(`${dir}/corrupt.png`, bad);
    return [`${dir}/corrupt.png`, style];
  }, /corrupt\.png: (corrupt or truncated image|cannot read the image header)/],
  ["animated GIF", async () => {
    const frame = (v: number) =>
      sharp({ create: { width: 8, height: 8, channels: 3, background: { r: v, g: v, b: v } } })
        .png().toBuffer();
    const frames = [await frame(10), await frame(200)];
    await sharp(frames, { join: { animated: true } }).gif().toFile(`${dir}/anim.gif`);
    return [content, `${dir}/anim.gif`];
  }, /anim\.gif: is animated \(2 frames\); give a still image/],
  [
    "decompression bomb",
    async () => (await Deno.writeFile(`${dir}/bomb.png`, bombPng(40000, 40000)),
      [`${dir}/bomb.png`, style]),
    /bomb\.png: 40000×40000 is 1600\.0 megapixels, over the 100\.0 MP limit/,
  ],
  [
    "a style mask that is not an image",
    async () => (await Deno.writeTextFile(`${dir}/mask.png`, "not a mask"),
      [content, style, "--style-mask", `${dir}/mask.png`]),
    /the style mask of style image 1: .*mask\.png: not an image/,
  ],
  [
    "a style mask of another aspect ratio",
    () => Promise.resolve([content, style, "--style-mask", squareMask]),
    /the style mask of style image 1 is 10×10 but the content image is 48×36 \(another aspect ratio\); .*--stretch-masks/,
  ],
  [
    "a memory budget that is not a size",
    () => Promise.resolve([content, style, "--max-memory", "lots"]),
    /max memory "lots" is not a memory size; give one like 2GB, 512MB or auto/,
  ],
  [
    "a memory budget too small for the network and size",
    () => Promise.resolve([content, style, "--max-memory", "1KB"]),
    /max memory 1 KB is too small for network \w+ at \d+×\d+: the smallest budget that works is [\d.]+ [MG]B \(--max-memory [\d.]+[MG]B\)/,
  ],
  [
    "a content mask of another aspect ratio",
    () => Promise.resolve([content, style, "--content-mask", squareMask]),
    /the content mask is 10×10 but the content image is 48×36/,
  ],
];

for (const [name, setup, expected] of badCases) {
  Deno.test(`bad input: ${name} → one line, exit 1, no output`, async () => {
    const out = `${dir}/bad_${name.replaceAll(" ", "_")}.png`;
    const r = await cli([...(await setup()), "-o", out, ...fast]);
    assertEquals(r.code, 1, r.stderr);
    const lines = ownLines(r.stderr);
    assertEquals(lines.length, 1, r.stderr);
    assert(expected.test(lines[0]), lines[0]);
    assert(!r.stderr.includes("    at "), "no stack trace");
    await Deno.stat(out).then(() => {
      throw new Error("an output file was written");
    }, () => {});
  });
}

const usageCases: [string, string[], RegExp, number][] = [
  ["absurd --size", ["--size", "100000"], /--size must be ≥ 16 and ≤ 8192, got 100000/, 2],
  ["a fractional --size", ["--size", "32.5"], /--size must be an integer \(≥ 16 and ≤ 8192\)/, 2],
  ["an unknown --optimizer", ["--optimizer", "sgd"], /--optimizer must be one of lbfgs, adam/, 2],
  ["--quality over 100", ["--quality", "101"], /--quality must be ≥ 1 and ≤ 100, got 101/, 2],
  [
    "an unknown --cost plugin",
    ["--cost", "mine=2"],
    /--cost: unknown plugin "mine" \(plugins: content, style, tv, mean-covariance\)/,
    2,
  ],
  [
    "a --cost option out of range",
    ["--cost", "tv=1,beta=3"],
    /--cost: plugin tv: option beta must be ≥ 1 and ≤ 2, got 3/,
    2,
  ],
  [
    "an unknown --cost option",
    ["--cost", "style=1,colour=2"],
    /--cost: plugin style: unknown option "colour" \(options: layers, scale\)/,
    2,
  ],
  ["a --cost without weight", ["--cost", "style"], /--cost style: give NAME=WEIGHT/, 2],
  ["non-numeric --size", ["--size", "big"], /--size needs a number, got "big"/, 2],
  ["unknown option", ["--colour"], /unknown option --colour \(see --help\)/, 2],
  [
    "output in a missing directory",
    ["-o", "/nonexistent-dir/out.png"],
    /the directory \/nonexistent-dir does not exist/,
    1,
  ],
  ["output under a file", ["-o", `${root}deno.json/out.png`], /is not a directory/, 1],
  [
    "output with an unknown extension",
    ["-o", "out.gif"],
    /the output must end in \.png, \.jpg, \.jpeg or \.webp/,
    1,
  ],
  ["missing -o", [], /missing the output file: add -o OUT\.png/, 2],
  [
    "more style masks than style images",
    ["--style-mask", leftMask, "--style-mask", "none"],
    /2 --style-mask files \(or the recipe's masks\.styles\) for 1 style image\(s\); give at most one per style image/,
    2,
  ],
  ["bad recipe JSON", ["--recipe", `${root}README.md`], /--recipe .*README\.md: not valid JSON/, 2],
];

for (const [name, extra, expected, code] of usageCases) {
  Deno.test(`bad usage: ${name} → one line, exit ${code}`, async () => {
    const args = extra.includes("-o") || name === "missing -o"
      ? [content, style, ...extra]
      : [content, style, "-o", `${dir}/u.png`, ...extra];
    const r = await cli([...args, ...fast.filter((a) => !extra.includes(a))]);
    assertEquals(r.code, code, r.stderr);
    const lines = ownLines(r.stderr);
    assertEquals(lines.length, 1, r.stderr);
    assert(expected.test(lines[0]), lines[0]);
  });
}

Deno.test("Ctrl-C stops the run: exit 130, one line, no output file", async () => {
  const out = `${dir}/interrupted.png`;
  const r = await cli(
    [
      content,
      style,
      "-o",
      out,
      "--json",
      "--network",
      "tiny",
      "--size",
      "48",
      "--iterations",
      "100000",
      "--scales",
      "1",
      "--backend",
      "wasm",
    ],
    { signalAfter: /"event":"iteration"/ },
  );
  assertEquals(r.code, 130, r.stderr);
  assertEquals(ownLines(r.stderr), ["stylegram: interrupted; no output was written"]);
  await Deno.stat(out).then(() => {
    throw new Error("an output file was written");
  }, () => {});
});

Deno.test("--plugin FILE --cost NAME=W,OPTION=V: the plugin's term is in the progress and falls", async () => {
  const plugin = `${root}tests/fixtures/user_plugin.ts`;
  const r = await cli([
    content,
    style,
    "-o",
    `${dir}/tinted.png`,
    "--plugin",
    plugin,
    "--cost",
    "tint=200,red=0.9",
    "--cost",
    "tv=0",
    "--json",
    ...fast,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  const start = events.find((e) => e.event === "start");
  assertEquals(start.recipe.plugins.map((p: { plugin: string }) => p.plugin), [
    "content",
    "style",
    "tint",
  ]);
  assertEquals(start.recipe.plugins[2], {
    plugin: "tint",
    weight: 200,
    options: { red: 0.9, green: 0.5, blue: 0.4 },
  });
  const tint = events.filter((e) => e.event === "iteration").map((e) => e.terms.tint);
  assert(tint.length > 1 && tint.every(Number.isFinite), JSON.stringify(tint));
  assert(tint[tint.length - 1] < tint[0], `tint ${tint[0]} → ${tint[tint.length - 1]}`);

  const bad = await cli([
    content,
    style,
    "-o",
    `${dir}/t.png`,
    "--plugin",
    plugin,
    "--cost",
    "tint=1,red=7",
  ]);
  assertEquals(bad.code, 2);
  assertEquals(ownLines(bad.stderr), [
    "stylegram: --cost: plugin tint: option red must be ≥ 0 and ≤ 1, got 7 (see --help)",
  ]);
  const help = await cli(["--plugin", plugin, "--help"]);
  assertEquals(help.code, 0, help.stderr);
  assert(help.stdout.includes("tint: moves the mean colour towards a target colour"), help.stdout);
  assert(/\n {6}red=X +target mean red \[default: 0\.6\]/.test(help.stdout), help.stdout);
});

Deno.test("cost shorthands and --cost edit the recipe's terms; a weight of 0 removes one", async () => {
  const recipe = `${dir}/edited.json`;
  const r = await cli([
    content,
    style,
    "-o",
    `${dir}/edited.png`,
    "--style-weight",
    "70",
    "--style-layers",
    "relu1:0.25,relu2",
    "--cost",
    "style=90,scale=1.5",
    "--tv-weight",
    "0",
    "--save-recipe",
    recipe,
    "-q",
    ...fast,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const saved = JSON.parse(await Deno.readTextFile(recipe));
  assertEquals(saved.plugins.map((p: { plugin: string }) => p.plugin), ["content", "style"]);
  assertEquals(saved.plugins[1], {
    plugin: "style",
    weight: 90,
    options: {
      layers: [{ layer: "relu1", weight: 0.25 }, { layer: "relu2", weight: 1 }],
      scale: 1.5,
    },
  });
});

const sha256 = async (path: string) =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

Deno.test("no input is ever overwritten: -o onto the content, a style, links to them, --save-every", async () => {
  const guarded = `${dir}/guarded`;
  await Deno.mkdir(guarded);
  const photo = `${guarded}/photo.png`;
  const painting = `${guarded}/painting.jpg`;
  await Deno.copyFile(content, photo);
  await Deno.copyFile(style, painting);
  await Deno.symlink(photo, `${guarded}/link_to_photo.png`);
  await Deno.symlink(painting, `${guarded}/link_to_painting.jpg`);
  await Deno.link(photo, `${guarded}/hard_link.png`);
  // A file named as --save-every would name one, and hard-linked to the style image.
  await Deno.link(painting, `${guarded}/out_s1_0004.jpg`);
  const before = [await sha256(photo), await sha256(painting)];
  const cases: [string[], RegExp][] = [
    [["-o", photo], /-o .*photo\.png: that is the content image;/],
    [["-o", painting], /-o .*painting\.jpg: that is style image 1;/],
    [["-o", `${guarded}/link_to_photo.png`], /that is the content image \(.*photo\.png\)/],
    [["-o", `${guarded}/link_to_painting.jpg`], /that is style image 1 \(.*painting\.jpg\)/],
    [["-o", `${guarded}/hard_link.png`], /that is the content image/],
    [
      ["-o", `${guarded}/out.jpg`, "--save-every", "4"],
      /--save-every .*out_s1_0004\.jpg: that is style image 1/,
    ],
    [
      ["-o", `${guarded}/fine.png`, "--save-recipe", painting],
      /--save-recipe .*: that is style image 1/,
    ],
  ];
  for (const [extra, expected] of cases) {
    const r = await cli([photo, painting, ...extra, ...fast]);
    assertEquals(r.code, 1, `${extra.join(" ")}: ${r.stderr}`);
    const lines = ownLines(r.stderr);
    assertEquals(lines.length, 1, r.stderr);
    assert(expected.test(lines[0]), lines[0]);
    assert(lines[0].includes("never overwrites an input"), lines[0]);
  }
  assertEquals([await sha256(photo), await sha256(painting)], before);
  for (const name of ["link_to_photo.png", "link_to_painting.jpg"]) {
    assert((await Deno.lstat(`${guarded}/${name}`)).isSymlink, `${name} is still the link`);
  }
  await Deno.stat(`${guarded}/fine.png`).then(() => {
    throw new Error("an output was written");
  }, () => {});
});

Deno.test("the README's plugin file works as written, with --plugin and --cost", async () => {
  const readme = await Deno.readTextFile(`${root}README.md`);
  const block = /```ts\n(\/\/ my_cost\.ts:[^\n]*\n[\s\S]*?)```/.exec(readme)?.[1];
  assert(block, "README.md shows my_cost.ts");
  await Deno.writeTextFile(`${dir}/my_cost.ts`, block.replace('"./mod.ts"', `"${root}mod.ts"`));
  const r = await cli([
    content,
    style,
    "-o",
    `${dir}/warm.png`,
    "--plugin",
    "my_cost.ts",
    "--cost",
    "warm=50",
    "--json",
    ...fast,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const last = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).at(-1);
  assert(Number.isFinite(last.terms.warm), JSON.stringify(last));
});

Deno.test("style masks: a guided run, --save-recipe keeps the masks relative to it, --recipe reuses them", async () => {
  const out = `${dir}/guided.png`;
  const recipe = `${dir}/masks/guided.json`;
  const r = await cli([
    content,
    style,
    style,
    "--style-mask",
    leftMask,
    "--content-mask",
    leftMask,
    "--mask-method",
    "area",
    "-o",
    out,
    "--save-recipe",
    recipe,
    ...fast,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const saved = JSON.parse(await Deno.readTextFile(recipe));
  assertEquals(saved.masks, { styles: ["left.png"], content: "left.png" });
  assertEquals(saved.guidance, "area");
  const again = `${dir}/guided_again.png`;
  const r2 = await cli([content, style, style, "--recipe", recipe, "-o", again]);
  assertEquals(r2.code, 0, r2.stderr);
  const [a, b] = await Promise.all([out, again].map((f) => sharp(f).raw().toBuffer()));
  assertEquals(a.equals(b), true, "the recipe's masks give the same image");
  // Without the masks the picture differs.
  const plain = `${dir}/unguided.png`;
  assertEquals((await cli([content, style, style, "-o", plain, ...fast])).code, 0);
  assert(!(await sharp(plain).raw().toBuffer()).equals(a), "masks change the result");
});

const TINT_SOURCE =
  `import { constant, definePlugin, numberOption, reduceMean, reduceSum, square, sub, type Tensor } from "stylegram";

// Pulls the mean colour towards a tint.
export const tint = definePlugin({
  name: "tint",
  description: "mean colour close to a tint",
  options: { red: numberOption({ default: 0.8, min: 0, max: 1, description: "target mean red" }) },
  layers: () => ["image"],
  cost: ({ features }, { red }): Tensor =>
    reduceSum(square(sub(reduceMean(features("image"), { axes: [0, 2, 3] }), constant([red, 0.3, 0.3])))),
});
`;

Deno.test("a recipe brings its plugin's code: the CLI runs it, says so, and saves it again", async () => {
  const recipePath = `${dir}/with_code.json`;
  await Deno.writeTextFile(
    recipePath,
    JSON.stringify({
      network: "tiny",
      size: 32,
      scales: 1,
      iterations: 8,
      backend: "wasm",
      plugins: [{ plugin: "style", weight: 10 }, {
        plugin: "tint",
        weight: 5,
        options: { red: 0.9 },
      }],
      sources: [{ name: "tint.ts", code: TINT_SOURCE }],
    }),
  );
  const out = `${dir}/with_code.png`;
  const saved = `${dir}/with_code_saved.json`;
  const r = await cli([
    content,
    style,
    "--recipe",
    recipePath,
    "-o",
    out,
    "--json",
    "--save-recipe",
    saved,
  ]);
  assertEquals(r.code, 0, r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert(
    events.some((e) =>
      e.event === "notice" &&
      e.message.startsWith("the recipe brings plugin code (tint.ts, 11 lines)")
    ),
    r.stdout,
  );
  const iterations = events.filter((e) => e.event === "iteration");
  assert(iterations.length > 0 && "tint" in iterations[0].terms, JSON.stringify(iterations[0]));
  assert(iterations.at(-1).terms.tint < iterations[0].terms.tint, "the tint term falls");
  const again = JSON.parse(await Deno.readTextFile(saved));
  assertEquals(again.sources, [{ name: "tint.ts", code: TINT_SOURCE }]);
  const out2 = `${dir}/with_code_again.png`;
  const quiet = await cli([content, style, "--recipe", saved, "-o", out2, "-q"]);
  assertEquals(quiet.code, 0);
  assert(quiet.stderr.includes("note: the recipe brings plugin code"), "said even with -q");
  const [a, b] = await Promise.all([out, out2].map((f) => sharp(f).raw().toBuffer()));
  assert(a.equals(b), "the saved recipe makes the same picture");
});

const badSources: [string, string, RegExp][] = [
  [
    "a syntax error",
    "export const x = definePlugin({ name: ",
    /plugin module bad\.ts: Unexpected token \(1:/,
  ],
  [
    "another import",
    `import { readFile } from "node:fs";\nexport const x = readFile;`,
    /only "stylegram" can be imported here, not "node:fs"/,
  ],
  ["code that throws", `throw new Error("boom");`, /plugin module bad\.ts, line 1: Error: boom/],
  ["no plugin", "export const x = 1;", /plugin module bad\.ts exports no plugin/],
  [
    "a built-in's name",
    `import { definePlugin } from "stylegram";\nexport const s = definePlugin({ name: "style", description: "", options: {}, layers: () => ["image"], cost: ({ features }) => features("image") });`,
    /a plugin named "style" exists already; rename it/,
  ],
];

for (const [name, code, expected] of badSources) {
  Deno.test(`a recipe's plugin code with ${name} → one line, no output`, async () => {
    const recipePath = `${dir}/bad_source.json`;
    await Deno.writeTextFile(recipePath, JSON.stringify({ sources: [{ name: "bad.ts", code }] }));
    const out = `${dir}/bad_source.png`;
    const r = await cli([content, style, "--recipe", recipePath, "-o", out, ...fast]);
    assert(r.code !== 0, r.stderr);
    const lines = ownLines(r.stderr);
    assertEquals(lines.length, 1, r.stderr);
    assert(expected.test(lines[0]), lines[0]);
    await Deno.stat(out).then(() => {
      throw new Error("an output file was written");
    }, () => {});
  });
}
