/**
 * The run's settings and its cost terms, edited in place in the recipe. Both
 * are made from option records: the settings from `SETTINGS_SCHEMA`, each
 * cost card from its plugin's own options, with the browser's limits. A new
 * setting or plugin option shows up here without new UI code, and the page
 * refuses exactly what the schema refuses for browsers (see `problem` in the
 * state).
 *
 * @module
 */

import type { JSX } from "preact";
import { numberOption, type OptionSpec, type Settings, SETTINGS_SCHEMA } from "../../mod.ts";
import { kebabKey } from "../../core/options.ts";
import { OptionField } from "./option_field.tsx";
import { BROWSER_DESCRIPTIONS } from "./wording.ts";
import { editRecipe, type NetworkChoice, type PlaygroundState } from "./state.ts";

/** Settings with a control of their own elsewhere: the style blend is the images panel's sliders. */
const EDITED_ELSEWHERE: ReadonlySet<string> = new Set<keyof Settings>(["styleWeights"]);

/** The weight of a cost term, as a record like any option. */
const WEIGHT: OptionSpec<number> = numberOption({
  default: 1,
  min: 0,
  description: "the term's weight in the total cost",
  label: "Weight",
});

/** The record with the page's description where its own speaks of files or flags. */
function withBrowserDescription(key: string, spec: OptionSpec): OptionSpec {
  const description = BROWSER_DESCRIPTIONS[key as keyof Settings];
  return description ? { ...spec, description } : spec;
}

function SettingFields(
  { state, advanced }: { state: PlaygroundState; advanced: boolean },
): JSX.Element[] {
  const r = state.recipe.value as unknown as Record<string, unknown>;
  return Object.entries(SETTINGS_SCHEMA)
    .filter(([key, spec]) => !EDITED_ELSEWHERE.has(key) && Boolean(spec.advanced) === advanced)
    .map(([key, spec]) => (
      <OptionField
        key={key}
        id={kebabKey(key)}
        name={key}
        spec={withBrowserDescription(key, spec as OptionSpec)}
        value={r[key]}
        onChange={(v) =>
          editRecipe(state, (x) => ((x as unknown as Record<string, unknown>)[key] = v))}
      />
    ));
}

/** The recipe's problem, if it has one: why Start is disabled. */
function Problem({ state }: { state: PlaygroundState }): JSX.Element | null {
  const problem = state.problem.value;
  return problem ? <p id="recipe-problem" class="error" role="alert">{problem}</p> : null;
}

/** The run settings. */
export function SettingsPanel({ state }: { state: PlaygroundState }): JSX.Element {
  return (
    <section class="panel" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <div class="grid">
        <SettingFields state={state} advanced={false} />
      </div>
      <details class="more">
        <summary>More settings</summary>
        <div class="grid">
          <SettingFields state={state} advanced />
        </div>
      </details>
      <Problem state={state} />
    </section>
  );
}

/** The cost terms: a card per term with its weight and its plugin's options; add and remove. */
export function CostsPanel(
  { state, networks }: { state: PlaygroundState; networks: NetworkChoice[] },
): JSX.Element {
  const r = state.recipe.value;
  const plugins = state.plugins.value;
  const layers = networks.find((n) => n.name === r.network)?.layers ?? [];
  return (
    <section class="panel" aria-labelledby="costs-title">
      <h2 id="costs-title">Costs</h2>
      {r.plugins.map((use, i) => {
        const plugin = plugins.get(use.plugin);
        const options = Object.entries(plugin?.spec.options ?? {}) as [string, OptionSpec][];
        return (
          <fieldset class="cost" key={`${use.plugin}-${i}`}>
            <legend>{use.plugin}</legend>
            <p class="hint">{plugin?.spec.description ?? "a plugin this page does not have"}</p>
            <OptionField
              id={`cost-${i}-weight`}
              name="weight"
              spec={WEIGHT}
              value={use.weight}
              onChange={(v) => editRecipe(state, (x) => (x.plugins[i].weight = v as number))}
            />
            {options.map(([key, spec]) => (
              <OptionField
                key={key}
                id={`cost-${i}-${kebabKey(key)}`}
                name={key}
                spec={spec}
                value={use.options?.[key] ?? spec.default}
                layers={layers}
                onChange={(v) =>
                  editRecipe(state, (x) => {
                    x.plugins[i].options = { ...x.plugins[i].options, [key]: v };
                  })}
              />
            ))}
            <button
              type="button"
              onClick={() => editRecipe(state, (x) => x.plugins.splice(i, 1))}
              disabled={r.plugins.length === 1}
            >
              Remove this cost
            </button>
          </fieldset>
        );
      })}
      <div class="field">
        <label for="add-cost">Add a cost</label>
        <select
          id="add-cost"
          value=""
          onChange={(e) => {
            const name = (e.currentTarget as HTMLSelectElement).value;
            if (name) editRecipe(state, (x) => x.plugins.push({ plugin: name, weight: 1 }));
            (e.currentTarget as HTMLSelectElement).value = "";
          }}
        >
          <option value="">choose…</option>
          {[...plugins.values()].map((p) => (
            <option key={p.name} value={p.name}>{p.name}: {p.spec.description}</option>
          ))}
        </select>
      </div>
    </section>
  );
}
