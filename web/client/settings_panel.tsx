/**
 * The run's settings and its cost terms, edited in place in the recipe. The
 * cost cards come from the plugins' own option schemas, so a new built-in
 * plugin shows up here without new UI code.
 *
 * @module
 */

import type { JSX } from "preact";
import { BUILTIN_PLUGINS, type LayerWeight, type Recipe } from "../../mod.ts";
import { editRecipe, type NetworkChoice, type PlaygroundState } from "./state.ts";

interface FieldProps {
  id: string;
  label: string;
  children: JSX.Element;
}

function Field({ id, label, children }: FieldProps): JSX.Element {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
    </div>
  );
}

function NumberField(
  { state, id, label, field, min, max, step }: {
    state: PlaygroundState;
    id: string;
    label: string;
    field: keyof Recipe;
    min: number;
    max: number;
    step?: number;
  },
): JSX.Element {
  return (
    <Field id={id} label={label}>
      <input
        id={id}
        type="number"
        min={min}
        max={max}
        step={step ?? 1}
        value={String(state.recipe.value[field])}
        onChange={(e) => {
          const v = Number((e.currentTarget as HTMLInputElement).value);
          if (Number.isFinite(v)) {
            editRecipe(
              state,
              (
                r,
              ) => ((r as unknown as Record<string, number>)[field] = Math.min(
                max,
                Math.max(min, v),
              )),
            );
          }
        }}
      />
    </Field>
  );
}

function SelectField(
  { state, id, label, field, options }: {
    state: PlaygroundState;
    id: string;
    label: string;
    field: keyof Recipe;
    options: [string, string][];
  },
): JSX.Element {
  return (
    <Field id={id} label={label}>
      <select
        id={id}
        value={String(state.recipe.value[field])}
        onChange={(e) =>
          editRecipe(
            state,
            (
              r,
            ) => ((r as unknown as Record<string, string>)[field] =
              (e.currentTarget as HTMLSelectElement).value),
          )}
      >
        {options.map(([value, text]) => <option key={value} value={value}>{text}</option>)}
      </select>
    </Field>
  );
}

/** The run settings. */
export function SettingsPanel(
  { state, networks }: { state: PlaygroundState; networks: NetworkChoice[] },
): JSX.Element {
  const r = state.recipe.value;
  return (
    <section class="panel" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <div class="grid">
        <SelectField
          state={state}
          id="network"
          label="Network"
          field="network"
          options={networks.map((n) => [n.name, n.title])}
        />
        <NumberField
          state={state}
          id="size"
          label="Size (px, longer side)"
          field="size"
          min={32}
          max={1024}
          step={16}
        />
        <NumberField
          state={state}
          id="iterations"
          label="Iterations per scale"
          field="iterations"
          min={1}
          max={2000}
        />
        <NumberField state={state} id="scales" label="Scales" field="scales" min={1} max={4} />
        <NumberField
          state={state}
          id="min-size"
          label="Smallest scale (px)"
          field="minSize"
          min={32}
          max={1024}
          step={16}
        />
        <SelectField
          state={state}
          id="optimizer"
          label="Optimiser"
          field="optimizer"
          options={[["lbfgs", "L-BFGS"], ["adam", "Adam"]]}
        />
        <SelectField
          state={state}
          id="init"
          label="Start from"
          field="init"
          options={[["content", "content image"], ["noise", "noise"], ["gray", "grey"]]}
        />
        <NumberField
          state={state}
          id="noise"
          label="Noise in the start (0–1)"
          field="noise"
          min={0}
          max={1}
          step={0.05}
        />
        <NumberField state={state} id="seed" label="Seed" field="seed" min={0} max={2 ** 32 - 1} />
        <SelectField
          state={state}
          id="backend"
          label="Backend"
          field="backend"
          options={[["auto", "auto"], ["webgpu", "WebGPU"], ["wasm", "WebAssembly"]]}
        />
      </div>
      <div class="field checkbox">
        <input
          id="preserve-colors"
          type="checkbox"
          checked={r.preserveColors}
          onChange={(e) =>
            editRecipe(
              state,
              (x) => (x.preserveColors = (e.currentTarget as HTMLInputElement).checked),
            )}
        />
        <label for="preserve-colors">Keep the content image's colours</label>
      </div>
    </section>
  );
}

/** The cost terms: weight and layers per plugin, add and remove. */
export function CostsPanel(
  { state, networks }: { state: PlaygroundState; networks: NetworkChoice[] },
): JSX.Element {
  const r = state.recipe.value;
  const layers = networks.find((n) => n.name === r.network)?.layers ?? [];
  return (
    <section class="panel" aria-labelledby="costs-title">
      <h2 id="costs-title">Costs</h2>
      {r.plugins.map((use, i) => {
        const plugin = BUILTIN_PLUGINS.get(use.plugin);
        const hasLayers = plugin ? "layers" in plugin.spec.options : false;
        const selection = use.options?.layers as "style" | "content" | LayerWeight[] | undefined;
        const chosen = Array.isArray(selection) ? selection.map((l) => l.layer) : [];
        return (
          <fieldset class="cost" key={`${use.plugin}-${i}`}>
            <legend>{use.plugin}</legend>
            <p class="hint">{plugin?.spec.description}</p>
            <Field id={`cost-weight-${i}`} label="Weight">
              <input
                id={`cost-weight-${i}`}
                type="number"
                min="0"
                step="any"
                value={String(use.weight)}
                onChange={(e) => {
                  const v = Number((e.currentTarget as HTMLInputElement).value);
                  if (Number.isFinite(v) && v >= 0) {
                    editRecipe(state, (x) => (x.plugins[i].weight = v));
                  }
                }}
              />
            </Field>
            {hasLayers
              ? (
                <Field
                  id={`cost-layers-${i}`}
                  label="Layers (none selected: the network's recommended ones)"
                >
                  <select
                    id={`cost-layers-${i}`}
                    multiple
                    size={Math.min(6, Math.max(2, layers.length))}
                    onChange={(e) => {
                      const picked = [...(e.currentTarget as HTMLSelectElement).selectedOptions]
                        .map((o) => o.value);
                      editRecipe(state, (x) => {
                        const fallback = plugin?.spec.options.layers?.default as string;
                        x.plugins[i].options = {
                          ...x.plugins[i].options,
                          layers: picked.length
                            ? picked.map((layer) => ({ layer, weight: 1 / picked.length }))
                            : fallback,
                        };
                      });
                    }}
                  >
                    {layers.map((l) => (
                      <option key={l} value={l} selected={chosen.includes(l)}>{l}</option>
                    ))}
                  </select>
                </Field>
              )
              : null}
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
      <Field id="add-cost" label="Add a cost">
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
          {[...BUILTIN_PLUGINS.values()].map((p) => (
            <option key={p.name} value={p.name}>{p.name}: {p.spec.description}</option>
          ))}
        </select>
      </Field>
    </section>
  );
}
