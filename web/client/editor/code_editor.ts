/**
 * The plugin editor's text area: CodeMirror 6 with TypeScript highlighting,
 * and problems shown at their line. Built as its own bundle and loaded only
 * when the editor opens, so the playground's first load stays small. No UI
 * framework: the page mounts it into an element.
 *
 * @module
 */

/// <reference lib="dom" />

import { basicSetup, EditorView } from "codemirror";
import { javascript } from "@codemirror/lang-javascript";
import { type Diagnostic, forceLinting, linter } from "@codemirror/lint";

/** A mounted editor. */
export interface CodeEditor {
  /** The text now. */
  text(): string;
  /** Replaces the text. */
  setText(text: string): void;
  /** Shows a problem at a 1-based line (or on the first line), or none. */
  showProblem(problem: { line?: number; message: string } | undefined): void;
  /** Unmounts it. */
  destroy(): void;
}

/** Mounts an editor into `parent` with `doc`; `onChange` gets the text after each edit. */
export function createCodeEditor(
  parent: HTMLElement,
  options: { doc: string; onChange: (text: string) => void },
): CodeEditor {
  let problem: { line?: number; message: string } | undefined;
  const view = new EditorView({
    doc: options.doc,
    parent,
    extensions: [
      basicSetup,
      javascript({ typescript: true }),
      linter((v): Diagnostic[] => {
        if (!problem) return [];
        const line = v.state.doc.line(Math.min(Math.max(1, problem.line ?? 1), v.state.doc.lines));
        return [{ from: line.from, to: line.to, severity: "error", message: problem.message }];
      }, { delay: 0 }),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) options.onChange(u.state.doc.toString());
      }),
      EditorView.contentAttributes.of({ "aria-label": "plugin code", spellcheck: "false" }),
    ],
  });
  return {
    text: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    showProblem(p) {
      problem = p;
      forceLinting(view);
    },
    destroy: () => view.destroy(),
  };
}
