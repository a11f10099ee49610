/// <reference lib="dom" />
/**
 * Options are records, and every face is made from them: adding one option
 * to a plugin — nothing else — makes it appear in `--help`, in `--cost`, in
 * recipe validation and in the playground's cost card. Also: the records'
 * checks themselves (kinds, bounds, browser limits, inherited keys).
 */

import { renderToString } from "preact-render-to-string";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import {
  defaultRecipe,
  numberOption,
  OptionError,
  parseRecipe,
  type Plugin,
  SETTINGS_SCHEMA,
} from "../mod.ts";
import {
  checkOption,
  effectiveSpec,
  listOption,
  parseOptions,
  stringOption,
} from "../core/options.ts";
import { BUILTIN_PLUGINS } from "../plugins/mod.ts";
import { CostsPanel, SettingsPanel } from "../web/client/settings_panel.tsx";
import { createState } from "../web/client/state.ts";

const root = new URL("..", import.meta.url);
const dir = await Deno.makeTempDir({ prefix: "stylegram-records-" });

/** Writes a plugin module; `extra` is source for more entries of its `options` object. */
async function pluginModule(name: string, extra: string): Promise<string> {
  const path = `${dir}/${name}.ts`;
  await Deno.writeTextFile(
    path,
    `import { definePlugin, numberOption, reduceMean, square, sub } from "${root}mod.ts";
export const probe = definePlugin({
  name: "probe",
  description: "pulls the mean brightness towards a level",
  options: {
    level: numberOption({ default: 0.5, min: 0, max: 1, description: "target brightness" }),
    ${extra}
  },
  layers: () => ["image"],
  cost: ({ features }, o) => square(sub(reduceMean(features("image")), o.level)),
});
`,
  );
  return path;
}

const GRAIN = `grain: numberOption({ default: 2, min: 1, max: 4, step: 0.5,
      description: "size of the film grain", browser: { max: 3 } }),`;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("cli.ts", root).pathname, ...args],
    cwd: dir,
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** The cost cards rendered for a recipe with one term of `plugin`. */
function costCard(plugin: Plugin): string {
  const state = createState({
    recipe: { ...defaultRecipe({ browser: true }), plugins: [{ plugin: plugin.name, weight: 3 }] },
    networks: [],
    assets: { worker: "", bundles: {} },
  });
  state.plugins.value = new Map([...BUILTIN_PLUGINS, [plugin.name, plugin]]);
  return renderToString(<CostsPanel state={state} networks={[]} />);
}

Deno.test("one option added to a plugin shows in --help, --cost, recipes and the cost card", async () => {
  const before = await pluginModule("probe_before", "");
  const after = await pluginModule("probe_after", GRAIN);
  const { probe: plain } = await import(before);
  const { probe } = await import(after);

  // --help lists the plugin's options from their records.
  const helpBefore = (await cli(["--plugin", before, "--help"])).stdout;
  const helpAfter = (await cli(["--plugin", after, "--help"])).stdout;
  assert(helpBefore.includes("level=X") && !helpBefore.includes("grain="), helpBefore);
  assert(/grain=X +size of the film grain \[default: 2\]/.test(helpAfter), helpAfter);

  // --cost takes it, checks it by its record, and names plugin and option when it is wrong.
  const recipe = `${dir}/probe.json`;
  const ok = await cli([
    "--texture",
    new URL("examples/great_wave.jpg", root).pathname,
    "-o",
    `${dir}/probe.png`,
    "--plugin",
    after,
    "--cost",
    "probe=5,grain=3.5",
    "--network",
    "tiny",
    "--size",
    "24",
    "--scales",
    "1",
    "--iterations",
    "2",
    "--backend",
    "wasm",
    "--save-recipe",
    recipe,
    "-q",
  ]);
  assertEquals(ok.code, 0, ok.stderr);
  const saved = JSON.parse(await Deno.readTextFile(recipe));
  assertEquals(saved.plugins.at(-1), {
    plugin: "probe",
    weight: 5,
    options: { level: 0.5, grain: 3.5 },
  });
  const bad = await cli([
    "a.png",
    "b.png",
    "-o",
    "c.png",
    "--plugin",
    after,
    "--cost",
    "probe=1,grain=9",
  ]);
  assertEquals(bad.code, 2);
  assert(
    bad.stderr.includes("--cost: plugin probe: option grain must be ≥ 1 and ≤ 4, got 9"),
    bad.stderr,
  );
  const unknown = await cli([
    "a.png",
    "b.png",
    "-o",
    "c.png",
    "--plugin",
    before,
    "--cost",
    "probe=1,grain=2",
  ]);
  assert(unknown.stderr.includes('unknown option "grain" (options: level)'), unknown.stderr);

  // Recipes: the default fills in; a bad value is refused; a browser holds it to its browser max.
  const plugins = new Map([["probe", probe]]);
  const { recipe: parsed } = parseRecipe({ plugins: [{ plugin: "probe", weight: 1 }] }, plugins);
  assertEquals(parsed.plugins[0].options, { level: 0.5, grain: 2 });
  assertThrows(
    () => parseRecipe({ plugins: [{ plugin: "probe", options: { grain: 0 } }] }, plugins),
    "recipe: plugins[0]: plugin probe: option grain must be ≥ 1 and ≤ 4, got 0",
  );
  assertThrows(
    () =>
      parseRecipe({ plugins: [{ plugin: "probe", options: { grain: 3.5 } }] }, plugins, {
        browser: true,
      }),
    "recipe: plugins[0]: plugin probe: option grain must be ≥ 1 and ≤ 3 in a browser, got 3.5",
  );

  // The playground's cost card: a field with the record's browser bounds and step.
  const cardBefore = costCard(plain);
  const cardAfter = costCard(probe);
  assert(cardBefore.includes('id="cost-0-level"') && !cardBefore.includes("grain"), cardBefore);
  const field = /<input id="cost-0-grain"[^>]*>/.exec(cardAfter)?.[0] ?? "";
  for (const attribute of ['type="number"', 'min="1"', 'max="3"', 'step="0.5"', 'value="2"']) {
    assert(field.includes(attribute), `${attribute} in ${field}`);
  }
  assert(cardAfter.includes(">Grain</label>"), cardAfter);
  assert(/id="cost-0-weight"[^>]*value="3"/.test(cardAfter), cardAfter);
});

Deno.test("the settings panel is the schema's browser view: bounds, choices, defaults", () => {
  const state = createState({
    recipe: defaultRecipe({ browser: true }),
    networks: [],
    assets: { worker: "", bundles: {} },
  });
  const html = renderToString(<SettingsPanel state={state} />);
  const input = (id: string) =>
    new RegExp(`<(input|select) id="${id}"[^>]*>`).exec(html)?.[0] ?? "";
  assert(input("size").includes('max="4096"') && input("size").includes('value="256"'), html);
  assert(input("iterations").includes('max="2000"'), html);
  assert(input("scales").includes('max="4"'), html);
  // Choices a browser cannot honour are not offered.
  const backend = /<select id="backend".*?<\/select>/s.exec(html)?.[0] ?? "";
  assert(backend.includes('value="wasm"') && !backend.includes('value="native"'), backend);
  const network = /<select id="network".*?<\/select>/s.exec(html)?.[0] ?? "";
  assert(network.includes('value="inception"') && !network.includes('value="vgg19"'), network);
  const init = /<select id="init".*?<\/select>/s.exec(html)?.[0] ?? "";
  assert(init.includes('value="gray"') && !init.includes('value="image"'), init);
  // The style blend has its sliders in the images panel, not a field here.
  assert(!html.includes('id="style-weights"'), html);
  assertEquals(state.problem.value, undefined);
  state.recipe.value = { ...state.recipe.value, size: 8192 };
  assertEquals(
    state.problem.value,
    "recipe: option size must be ≥ 16 and ≤ 4096 in a browser, got 8192",
  );
});

Deno.test("records check every kind; messages say what is allowed", () => {
  const scale = numberOption({ default: 1, min: 0, exclusiveMin: true, max: 8, description: "" });
  assertEquals(checkOption(scale, 8), 8);
  assertThrows(() => checkOption(scale, 0), "must be > 0 and ≤ 8, got 0");
  assertThrows(() => checkOption(scale, "1"), 'must be a number (> 0 and ≤ 8), got "1"');
  assertThrows(() => checkOption(SETTINGS_SCHEMA.seed, 1.5), "must be an integer (≥ 0 and ≤");
  assertThrows(() => checkOption(SETTINGS_SCHEMA.normalise, 1), "must be true or false, got 1");
  assertThrows(() => checkOption(SETTINGS_SCHEMA.optimizer, "sgd"), "must be one of lbfgs, adam");
  const weights = listOption({ default: [], min: 0, description: "" });
  assertEquals(checkOption(weights, [0.5, 2]), [0.5, 2]);
  assertThrows(() => checkOption(weights, [1, -1]), "must be a list of numbers ≥ 0, got [1,-1]");
  const path = stringOption({ default: "a", choices: ["a", "b"], description: "" });
  assertEquals(checkOption(path, "/some/file.onnx"), "/some/file.onnx");
  assertThrows(() => checkOption(path, ""), 'must be a non-empty text, got ""');
  // In a browser the named values are all there is.
  const inBrowser = { ...path, browser: { choices: ["a"] } };
  assertEquals(effectiveSpec(inBrowser, { browser: true })?.kind, "choice");
  assertThrows(
    () => checkOption(inBrowser, "b", { browser: true }),
    'must be one of a in a browser, got "b"',
  );
  // An option a browser cannot honour keeps its default there.
  const hidden = { ...scale, browser: false as const };
  assertEquals(effectiveSpec(hidden, { browser: true }), undefined);
  assertEquals(checkOption(hidden, 1, { browser: true }), 1);
  assertThrows(() => checkOption(hidden, 2, { browser: true }), "cannot be set in a browser");
  assertThrows(
    () => parseOptions({ scale }, JSON.parse('{"toString": 1}'), { owner: "plugin x" }),
    'plugin x: unknown option "toString" (options: scale)',
  );
  assert(new OptionError("x") instanceof Error);
});

Deno.test("the browser's defaults are the schema's: the playground starts from them", () => {
  const cli = defaultRecipe();
  const browser = defaultRecipe({ browser: true });
  assertEquals([cli.size, cli.iterations, cli.network], [512, 150, "auto"]);
  assertEquals(
    [browser.size, browser.minSize, browser.iterations, browser.network, browser.previewEvery],
    [256, 128, 100, "inception", 5],
  );
  assertEquals(browser.plugins, cli.plugins);
});
