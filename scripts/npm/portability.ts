/**
 * The guard of the npm build: code reachable from `mod.ts` must run in Node
 * and browsers, so it may not use Deno's global (`Deno.readFile`,
 * `globalThis.Deno`, `typeof Deno`), Node built-ins (`node:fs`, also as a
 * string handed to a dynamic import) nor Node's globals (`process`,
 * `Buffer`: names declared only by `@types/node`, found with the type
 * checker). Comments and JSDoc may mention them. The Node-only entry
 * (`stylegram/io`) may use Node, never Deno.
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
  /** Whose API it is: Deno's, or Node's (allowed in the Node-only entry). */
  runtime: "deno" | "node";
}

/**
 * Whether the identifier names a global that only Node declares: every
 * declaration of its symbol is in `@types/node` (property names are not
 * globals and are left alone).
 */
function isNodeGlobal(node: ts.Identifier, checker: ts.TypeChecker): boolean {
  const parent = node.parent;
  if (parent && (ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent))) {
    const left = ts.isPropertyAccessExpression(parent) ? parent.expression : parent.left;
    if (left !== node) return false;
  }
  const declarations = checker.getSymbolAtLocation(node)?.declarations ?? [];
  return declarations.length > 0 &&
    declarations.every((d) => d.getSourceFile().fileName.includes("/@types/node/"));
}

/**
 * Finds uses of `Deno`, of `node:` specifiers and (given the program's type
 * checker) of Node-only globals in a parsed source file.
 */
export function findRuntimeSpecific(
  source: ts.SourceFile,
  options: { checker?: ts.TypeChecker } = {},
): PortabilityProblem[] {
  const problems: PortabilityProblem[] = [];
  const report = (node: ts.Node, what: string, runtime: "deno" | "node") => {
    const at = source.getLineAndCharacterOfPosition(node.getStart(source));
    problems.push({
      file: source.fileName,
      line: at.line + 1,
      column: at.character + 1,
      what,
      runtime,
    });
  };
  const { checker } = options;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === "Deno") {
      // Name the whole access (`Deno.readFile`), not just the identifier.
      const parent = node.parent;
      const whole = parent && (ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent))
        ? parent.getText(source)
        : node.getText(source);
      report(node, `Deno-only API \`${whole}\``, "deno");
    } else if (ts.isIdentifier(node) && checker && isNodeGlobal(node, checker)) {
      report(node, `Node-only global \`${node.text}\``, "node");
    } else if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
      node.text.startsWith("node:")
    ) {
      report(node, `Node built-in "${node.text}"`, "node");
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
