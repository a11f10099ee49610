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
import { type Diagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";

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
  options: { doc: string; nonce?: string; onChange: (text: string) => void },
): CodeEditor {
  const view = new EditorView({
    doc: options.doc,
    parent,
    extensions: [
      // Its styles are <style> elements: the page's policy allows them by this nonce.
      ...(options.nonce ? [EditorView.cspNonce.of(options.nonce)] : []),
      basicSetup,
      javascript({ typescript: true }),
      lintGutter(),
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
      const diagnostics: Diagnostic[] = [];
      if (p) {
        const doc = view.state.doc;
        const line = doc.line(Math.min(Math.max(1, p.line ?? 1), doc.lines));
        // A whole line, or one character on an empty one, so there is something to mark.
        const to = line.to > line.from ? line.to : Math.min(doc.length, line.from + 1);
        diagnostics.push({ from: line.from, to, severity: "error", message: p.message });
      }
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    destroy: () => view.destroy(),
  };
}
