/**
 * The guard of the npm build: code reachable from `mod.ts` must run in Node
 * and browsers, so it may not use Deno's global (`Deno.readFile`,
 * `globalThis.Deno`, `typeof Deno`) nor Node built-ins (`node:fs`, also as
 * a string handed to a dynamic import). Comments and JSDoc may mention them.
 *
 * @module
 */

import ts from "typescript";

/** One use of a runtime-specific API. */
export interface PortabilityProblem {
  /** The file, as given to the scanner. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** What was found. */
  what: string;
}

/** Finds uses of `Deno` and `node:` specifiers in a parsed source file. */
export function findRuntimeSpecific(source: ts.SourceFile): PortabilityProblem[] {
  const problems: PortabilityProblem[] = [];
  const report = (node: ts.Node, what: string) => {
    const at = source.getLineAndCharacterOfPosition(node.getStart(source));
    problems.push({ file: source.fileName, line: at.line + 1, column: at.character + 1, what });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === "Deno") {
      // Name the whole access (`Deno.readFile`), not just the identifier.
      const parent = node.parent;
      const whole = parent && (ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent))
        ? parent.getText(source)
        : node.getText(source);
      report(node, `Deno-only API \`${whole}\``);
    } else if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
      node.text.startsWith("node:")
    ) {
      report(node, `Node built-in "${node.text}"`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return problems;
}

/** The problems as lines `file:line:column: what`. */
export function formatProblems(problems: readonly PortabilityProblem[]): string {
  return problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.what}`).join("\n");
}
