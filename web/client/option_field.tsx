/**
 * One form field for one option record, chosen by its kind: a number input
 * with the record's browser bounds and step, a checkbox, a select of its
 * choices, a text box, or a multiple select of the network's layers. The
 * settings panel and every plugin's cost card are made of these, so a new
 * option shows up in the page with no new UI code.
 *
 * @module
 */

import type { JSX } from "preact";
import type { LayerWeight, OptionSpec } from "../../mod.ts";
import { effectiveSpec } from "../../core/options.ts";

/** `minSize` → `Min size`: a label for records without one. */
function labelOf(key: string, spec: OptionSpec): string {
  if (spec.label) return spec.label;
  const words = key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What {@linkcode OptionField} needs. */
export interface OptionFieldProps {
  /** The element id (and the label's `for`). */
  id: string;
  /** The option's key, for the default label. */
  name: string;
  /** The record (its browser limits are applied here). */
  spec: OptionSpec;
  /** The current value. */
  value: unknown;
  /** Called with the new value; the recipe's check says whether it is allowed. */
  onChange: (value: unknown) => void;
  /** Words for choices, overriding the record's (e.g. network titles). */
  choiceLabels?: Readonly<Record<string, string>>;
  /** The network's layers, for `layers` options. */
  layers?: readonly string[];
}

const target = (e: Event) => e.currentTarget as HTMLInputElement & HTMLSelectElement;

/** The input element for a record. */
function Input(props: OptionFieldProps & { spec: OptionSpec }): JSX.Element {
  const { id, spec, value, onChange } = props;
  switch (spec.kind) {
    case "number":
    case "integer":
      return (
        <input
          id={id}
          type="number"
          min={spec.min}
          max={spec.max}
          step={spec.step ?? (spec.kind === "integer" ? 1 : "any")}
          value={String(value)}
          onChange={(e) => {
            const text = target(e).value.trim();
            // An emptied box is no value: the recipe keeps what it had.
            if (text !== "") onChange(Number(text));
          }}
        />
      );
    case "boolean":
      return (
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          onChange={(e) => onChange(target(e).checked)}
        />
      );
    case "choice": {
      const labels = { ...spec.choiceLabels, ...props.choiceLabels };
      return (
        <select id={id} value={String(value)} onChange={(e) => onChange(target(e).value)}>
          {(spec.choices ?? []).map((c) => <option key={c} value={c}>{labels[c] ?? c}</option>)}
        </select>
      );
    }
    case "layers": {
      const layers = props.layers ?? [];
      const chosen = Array.isArray(value) ? (value as LayerWeight[]).map((l) => l.layer) : [];
      return (
        <select
          id={id}
          multiple
          size={Math.min(6, Math.max(2, layers.length))}
          onChange={(e) => {
            const picked = [...target(e).selectedOptions].map((o) => o.value);
            // None picked: back to the network's recommended layers.
            onChange(
              picked.length
                ? picked.map((layer) => ({ layer, weight: 1 / picked.length }))
                : spec.default,
            );
          }}
        >
          {layers.map((l) => <option key={l} value={l} selected={chosen.includes(l)}>{l}</option>)}
        </select>
      );
    }
    case "list":
      return (
        <input
          id={id}
          type="text"
          inputMode="decimal"
          value={Array.isArray(value) ? value.join(", ") : ""}
          onChange={(e) =>
            onChange(
              target(e).value.split(",").map((s) => s.trim()).filter(Boolean).map(Number),
            )}
        />
      );
    case "string":
      return (
        <input
          id={id}
          type="text"
          value={String(value)}
          onChange={(e) => onChange(target(e).value)}
        />
      );
  }
}

/**
 * A labelled field for a record as a browser applies it; nothing for a
 * record a browser cannot honour.
 */
export function OptionField(props: OptionFieldProps): JSX.Element | null {
  const spec = effectiveSpec(props.spec, { browser: true });
  if (!spec) return null;
  const label = labelOf(props.name, spec);
  const hint = spec.kind === "layers" ? " (none selected: the network's recommended ones)" : "";
  return (
    <div class={spec.kind === "boolean" ? "field checkbox" : "field"}>
      {spec.kind === "boolean" ? <Input {...props} spec={spec} /> : null}
      <label for={props.id} title={spec.description}>{label}{hint}</label>
      {spec.kind === "boolean" ? null : <Input {...props} spec={spec} />}
    </div>
  );
}
