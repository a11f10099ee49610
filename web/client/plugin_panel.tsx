/**
 * Write your own cost plugin in the playground: an editor (CodeMirror,
 * loaded when the panel opens) with a template and examples. "Use it" loads
 * the module into the sandbox; its plugins get cost cards like the
 * built-ins', it travels in share links and downloaded recipes, and it runs
 * only in the sandbox. Problems show at their line.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { editRecipe, type PlaygroundState } from "./state.ts";
import { PLUGIN_EXAMPLES } from "./plugin_examples.ts";
import { loadSources } from "./source_plugins.ts";
import type { SourceProblem } from "./sandbox/protocol.ts";
import type { CodeEditor } from "./editor/code_editor.ts";

/** The module's file name in recipes. */
export const MODULE_NAME = "plugin.ts";

/** The plugin editor panel. */
export function PluginPanel(
  { state, editorUrl, styleNonce }: {
    state: PlaygroundState;
    editorUrl?: string;
    styleNonce?: string;
  },
): JSX.Element {
  const saved = state.recipe.value.sources?.[0]?.code;
  const [open, setOpen] = useState(saved !== undefined);
  const [problem, setProblem] = useState<SourceProblem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [loaded, setLoaded] = useState<string | undefined>(undefined);
  // How many times "Use" has answered (so a test, or a screen reader, can tell a new answer).
  const [answers, setAnswers] = useState(0);
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<CodeEditor | undefined>(undefined);
  const code = useRef(saved ?? PLUGIN_EXAMPLES[0].code);

  useEffect(() => {
    if (!open || editor.current || !host.current || !editorUrl) return;
    let cancelled = false;
    import(editorUrl).then((m: typeof import("./editor/code_editor.ts")) => {
      if (cancelled || !host.current) return;
      editor.current = m.createCodeEditor(host.current, {
        doc: code.current,
        nonce: styleNonce,
        onChange: (text) => (code.current = text),
      });
      editor.current.showProblem(problem);
    }, (e) => setProblem({ source: MODULE_NAME, message: `the editor did not load: ${e}` }));
    return () => {
      cancelled = true;
    };
  }, [open]);
  // A run's error in the module's code (a shape that does not fit, say) is marked at its line.
  const status = state.status.value;
  useEffect(() => {
    if (status.phase !== "error" || !status.message) return;
    const line = /\bline (\d+): /.exec(status.message);
    const ours = state.sourcePlugins.value.some((p) =>
      status.message!.includes(`plugin ${p.name}`)
    );
    if (!line || !ours) return;
    const found = { source: MODULE_NAME, message: status.message, line: Number(line[1]) };
    setProblem(found);
    editor.current?.showProblem(found);
  }, [status.phase, status.message]);
  // A share's module comes back into the editor once the page has it.
  useEffect(() => {
    if (saved !== undefined && saved !== code.current) {
      code.current = saved;
      editor.current?.setText(saved);
    }
  }, [saved]);

  const use = async () => {
    setBusy(true);
    const source = { name: MODULE_NAME, code: code.current };
    try {
      const found = await loadSources(state, [source]);
      setProblem(found);
      editor.current?.showProblem(found);
      if (found) return;
      const names = state.sourcePlugins.value.map((p) => p.name);
      setLoaded(names.join(", "));
      editRecipe(state, (r) => {
        r.sources = [source];
        // A new plugin joins the costs at weight 1; plugins no longer in the module leave.
        r.plugins = r.plugins.filter((p) => state.plugins.value.has(p.plugin));
        for (const name of names) {
          if (!r.plugins.some((p) => p.plugin === name)) {
            r.plugins.push({ plugin: name, weight: 1 });
          }
        }
      });
    } catch (e) {
      setProblem({ source: MODULE_NAME, message: (e as Error).message });
    } finally {
      setBusy(false);
      setAnswers((n) => n + 1);
    }
  };

  return (
    <section class="panel plugin-editor" aria-labelledby="plugin-title">
      <details open={open} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary id="plugin-title">Write a cost plugin</summary>
        <p class="hint">
          Forward math on tensors, imported from "stylegram"; the playground differentiates it. The
          code runs in a sandbox that cannot reach this page, your files or the network.
        </p>
        <label for="plugin-example">Start from</label>
        <select
          id="plugin-example"
          onChange={(e) => {
            const example = PLUGIN_EXAMPLES[Number((e.currentTarget as HTMLSelectElement).value)];
            if (!example) return;
            code.current = example.code;
            editor.current?.setText(example.code);
          }}
        >
          <option value="">choose an example…</option>
          {PLUGIN_EXAMPLES.map((ex, i) => <option key={ex.title} value={i}>{ex.title}</option>)}
        </select>
        <div class="code" ref={host} id="plugin-code" />
        <div class="plugin-actions" id="plugin-actions" data-answers={answers}>
          <button type="button" id="plugin-use" onClick={use} disabled={busy}>
            {busy ? "Loading…" : "Use this plugin"}
          </button>
          {loaded && !problem ? <span id="plugin-loaded">in the costs: {loaded}</span> : null}
        </div>
        {problem
          ? (
            <p class="error" role="alert" id="plugin-problem">
              {problem.line ? `${problem.source}, line ${problem.line}: ` : `${problem.source}: `}
              {problem.message}
            </p>
          )
          : null}
      </details>
    </section>
  );
}
