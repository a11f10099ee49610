/**
 * Compiles the module graph of an entry point with the TypeScript compiler:
 * type-checks it ({@linkcode loadGraph}), then emits `.d.ts` from the checked
 * program and ESM JavaScript file by file, with every import specifier
 * rewritten for Node (see `import_map.ts`). Nothing is written here: the
 * caller gets the files.
 *
 * @module
 */

import ts from "typescript";
import { join, relative, resolve } from "node:path";
import {
  type ImportMap,
  isRelative,
  nodeSpecifier,
  relativeToJs,
  SpecifierError,
} from "./import_map.ts";

/** Options of {@linkcode loadGraph}. */
export interface CompileOptions {
  /** The repository root: output paths are relative to it. */
  root: string;
  /** Entry points (absolute paths). */
  entries: readonly string[];
  /** A directory whose `node_modules` holds the dependencies (for their types). */
  dependencyDir: string;
  /** deno.json's import map. */
  imports: ImportMap;
  /**
   * Type-check with Node's declarations (`@types/node` in the dependency
   * directory), for a Node-only entry; the portability check then tells
   * Node's globals apart.
   */
  nodeTypes?: boolean;
}

/** A specifier as written into an output file. */
export interface EmittedImport {
  /** The output file (relative, `/`-separated). */
  file: string;
  /** The specifier in it. */
  specifier: string;
}

/** What {@linkcode emitGraph} produced. */
export interface CompileOutput {
  /** Output path (relative, `/`-separated) → text. */
  files: Map<string, string>;
  /** Every import specifier in the output. */
  imports: EmittedImport[];
}

/** Thrown with the compiler's diagnostics, formatted, as the message. */
export class CompileError extends Error {
  /** `message` lists every problem. */
  constructor(message: string) {
    super(message);
    this.name = "CompileError";
  }
}

// The lowest Node we support (20) implements ES2023; the sources also use web
// APIs (fetch, WebGPU types, crypto.subtle), whose types live in the DOM lib.
const COMPILER_OPTIONS = {
  target: "es2022",
  lib: ["es2023", "dom", "dom.iterable"],
  module: "esnext",
  moduleResolution: "bundler",
  strict: true,
  // onnx-proto is CommonJS; the sources import it by default import, as Node does.
  esModuleInterop: true,
  isolatedModules: true,
  skipLibCheck: true,
  types: [],
  // Deno source imports `./x.ts`, which TypeScript allows only when it emits
  // declarations alone; JavaScript comes from transpileModule instead. The
  // emitted specifiers are rewritten below.
  declaration: true,
  emitDeclarationOnly: true,
  allowImportingTsExtensions: true,
  newLine: "lf",
};

function compilerOptions(root: string, nodeTypesIn?: string): ts.CompilerOptions {
  const { options, errors } = ts.convertCompilerOptionsFromJson(COMPILER_OPTIONS, root);
  if (errors.length) throw new CompileError(formatDiagnostics(errors, root));
  // outDir only anchors output names (nothing is written there).
  const node = nodeTypesIn ? { types: ["node"], typeRoots: [nodeTypesIn] } : {};
  return { ...options, ...node, rootDir: root, outDir: join(root, "__out__") };
}

function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], root: string): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => root,
    getNewLine: () => "\n",
  });
}

/** Rewrites module specifiers in place of import/export/`import()`/`import("…").T`. */
function specifierRewriter(
  map: (specifier: string, fileName: string) => string,
): ts.TransformerFactory<ts.SourceFile | ts.Bundle> {
  return (context) => {
    const f = context.factory;
    let fileName = "";
    const rewrite = (text: string) => f.createStringLiteral(map(text, fileName));
    const literal = (node: ts.Expression | undefined) =>
      node && ts.isStringLiteral(node) ? rewrite(node.text) : node;
    const visit = (node: ts.Node): ts.Node => {
      if (ts.isImportDeclaration(node)) {
        return f.updateImportDeclaration(
          node,
          node.modifiers,
          node.importClause,
          literal(node.moduleSpecifier)!,
          node.attributes,
        );
      }
      if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
        return f.updateExportDeclaration(
          node,
          node.modifiers,
          node.isTypeOnly,
          node.exportClause,
          literal(node.moduleSpecifier),
          node.attributes,
        );
      }
      if (
        ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments.length > 0 && ts.isStringLiteral(node.arguments[0])
      ) {
        const [first, ...rest] = node.arguments;
        return f.updateCallExpression(node, node.expression, node.typeArguments, [
          literal(first)!,
          ...rest.map((a) => ts.visitNode(a, visit) as ts.Expression),
        ]);
      }
      if (
        ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) &&
        ts.isStringLiteral(node.argument.literal)
      ) {
        return f.updateImportTypeNode(
          node,
          f.createLiteralTypeNode(rewrite(node.argument.literal.text)),
          node.attributes,
          node.qualifier,
          node.typeArguments?.map((t) => ts.visitNode(t, visit) as ts.TypeNode),
          node.isTypeOf,
        );
      }
      return ts.visitEachChild(node, visit, context);
    };
    return (node) => {
      if (ts.isBundle(node)) throw new CompileError("bundles are not supported");
      fileName = node.fileName;
      return ts.visitEachChild(node, visit, context);
    };
  };
}

/** The checked module graph of the entry points. */
export interface SourceGraph {
  /** The repository root. */
  root: string;
  /** deno.json's import map. */
  imports: ImportMap;
  /** The repository's source files in the graph (not the dependencies' declarations). */
  sources: ts.SourceFile[];
  /** Type errors and unmappable specifiers, formatted; empty when there are none. */
  errors: string;
  /** The TypeScript program. */
  program: ts.Program;
  /** Its compiler options. */
  options: ts.CompilerOptions;
}

/**
 * Parses and type-checks the graph of `options.entries`. Problems are
 * returned, not thrown, so that the caller can first say something more
 * specific about them (a Deno-only API is a type error here too).
 */
export function loadGraph(options: CompileOptions): SourceGraph {
  const { root, imports } = options;
  const dependencyDir = resolve(options.dependencyDir);
  const tsOptions = compilerOptions(
    root,
    options.nodeTypes ? join(dependencyDir, "node_modules", "@types") : undefined,
  );
  const host = ts.createCompilerHost(tsOptions);
  const inDependencies = (file: string) => resolve(file).startsWith(dependencyDir + "/");
  const problems: string[] = [];
  // Bare specifiers of our sources resolve, after the import map, as if
  // imported from the dependency directory; the dependencies' own imports
  // resolve the usual way inside it.
  const anchor = join(dependencyDir, "index.ts");
  host.resolveModuleNameLiterals = (literals, containingFile, _redirect, opts) =>
    literals.map((literal) => {
      const text = literal.text;
      if (inDependencies(containingFile) || isRelative(text)) {
        return ts.resolveModuleName(text, containingFile, opts, host);
      }
      // Node's built-ins are ambient modules of @types/node: no file to find.
      if (text.startsWith("node:")) return { resolvedModule: undefined };
      try {
        return ts.resolveModuleName(nodeSpecifier(text, imports), anchor, opts, host);
      } catch (e) {
        if (!(e instanceof SpecifierError)) throw e;
        problems.push(`${relative(root, containingFile)}: ${e.message}`);
        return { resolvedModule: undefined };
      }
    });

  const program = ts.createProgram({ rootNames: [...options.entries], options: tsOptions, host });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  const sources = program.getSourceFiles().filter((sf) =>
    !sf.isDeclarationFile && !inDependencies(sf.fileName)
  );
  const errors = [formatDiagnostics(diagnostics, root), ...problems].join("\n").trim();
  return { root, imports, sources, errors, program, options: tsOptions };
}

/**
 * Emits JavaScript and declarations for every source of a graph without
 * errors. Throws a {@linkcode CompileError} if it has any.
 */
export function emitGraph(graph: SourceGraph): CompileOutput {
  const { root, imports, sources, program, options: tsOptions } = graph;
  if (graph.errors) throw new CompileError(graph.errors);
  const files = new Map<string, string>();
  const emitted: EmittedImport[] = [];
  const outputName = (fileName: string, extension: string) =>
    relative(root, fileName).replace(/\.ts$/, extension);
  const rewriter = (extension: string) =>
    specifierRewriter((specifier, fileName) => {
      const out = isRelative(specifier)
        ? relativeToJs(specifier)
        : nodeSpecifier(specifier, imports);
      emitted.push({ file: outputName(fileName, extension), specifier: out });
      return out;
    });

  // Declarations come from the checked program (they need its types).
  const outDir = tsOptions.outDir!;
  for (const source of sources) {
    const result = program.emit(
      source,
      (name, text) => files.set(relative(outDir, name), text),
      undefined,
      true,
      { afterDeclarations: [rewriter(".d.ts")] },
    );
    if (result.diagnostics.length) {
      throw new CompileError(formatDiagnostics(result.diagnostics, root));
    }
  }

  // JavaScript file by file: erasing types needs no type information.
  const before = rewriter(".js") as ts.TransformerFactory<ts.SourceFile>;
  for (const source of sources) {
    const out = ts.transpileModule(source.text, {
      fileName: source.fileName,
      compilerOptions: { ...tsOptions, declaration: false, emitDeclarationOnly: false },
      transformers: { before: [before] },
      reportDiagnostics: true,
    });
    if (out.diagnostics?.length) throw new CompileError(formatDiagnostics(out.diagnostics, root));
    files.set(outputName(source.fileName, ".js"), out.outputText);
  }
  return { files, imports: emitted };
}
