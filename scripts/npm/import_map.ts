/**
 * Maps the specifiers of Deno source to what Node resolves: relative `.ts`
 * imports become `.js`, bare specifiers go through deno.json's import map to
 * npm package names (`npm:pkg@1.2.3/sub` → `pkg/sub`).
 *
 * @module
 */

/** deno.json's `imports`: bare specifier (or prefix ending in `/`) → target. */
export type ImportMap = Readonly<Record<string, string>>;

/** An `npm:` specifier taken apart. */
export interface NpmSpecifier {
  /** Package name, scope included (`@scope/name`). */
  name: string;
  /** Version or range as written; empty when none was given. */
  version: string;
  /** Subpath after the package (`/webgpu`), or empty. */
  subpath: string;
}

/** Thrown for a specifier the npm build cannot express. */
export class SpecifierError extends Error {
  /** The message says which specifier and why. */
  constructor(message: string) {
    super(message);
    this.name = "SpecifierError";
  }
}

const NPM = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(\/.*)?$/;

/** Parses `npm:name@version/sub` (also Deno's `npm:/name@version/` prefix form). */
export function parseNpmSpecifier(specifier: string): NpmSpecifier {
  const m = NPM.exec(specifier);
  if (!m) throw new SpecifierError(`"${specifier}" is not an npm: specifier`);
  return { name: m[1], version: m[2] ?? "", subpath: m[3] ?? "" };
}

/** True for `./x`, `../x` and absolute paths: files of this repository. */
export function isRelative(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/");
}

/** What `specifier` means in deno.json's import map (exact key, else the longest `/` prefix). */
export function resolveImportMap(specifier: string, imports: ImportMap): string | undefined {
  if (Object.hasOwn(imports, specifier)) return imports[specifier];
  const prefix = Object.keys(imports)
    .filter((k) => k.endsWith("/") && specifier.startsWith(k))
    .sort((a, b) => b.length - a.length)[0];
  return prefix === undefined ? undefined : imports[prefix] + specifier.slice(prefix.length);
}

/**
 * The specifier Node should see for a bare or `npm:` specifier: the package
 * name plus subpath, without version (package.json pins it); a `node:`
 * built-in as it is. Throws for anything else that is not an npm package
 * (`jsr:`, URLs, unmapped names).
 */
export function nodeSpecifier(specifier: string, imports: ImportMap): string {
  // Node's built-ins are Node's own (the portability check keeps them in io/).
  if (specifier.startsWith("node:")) return specifier;
  const target = specifier.startsWith("npm:") ? specifier : resolveImportMap(specifier, imports);
  if (target === undefined) {
    throw new SpecifierError(`"${specifier}" is neither relative nor in deno.json's import map`);
  }
  if (!target.startsWith("npm:")) {
    throw new SpecifierError(
      `"${specifier}" maps to "${target}"; only npm: packages can be dependencies of the npm build`,
    );
  }
  const { name, subpath } = parseNpmSpecifier(target);
  return name + subpath.replace(/\/$/, "");
}

/** Rewrites a relative `.ts` specifier to `.js`; other relative ones are refused. */
export function relativeToJs(specifier: string): string {
  if (specifier.endsWith(".ts") && !specifier.endsWith(".d.ts")) {
    return specifier.slice(0, -3) + ".js";
  }
  if (specifier.endsWith(".js")) return specifier;
  throw new SpecifierError(
    `"${specifier}": relative imports must name a .ts file (Node needs the extension)`,
  );
}

/** The package name of a Node specifier: `@a/b/c` → `@a/b`, `a/c` → `a`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The pinned version of `name` in the import map (from its `npm:name@version` entry). */
export function pinnedVersion(name: string, imports: ImportMap): string {
  const target = imports[name];
  if (target === undefined) throw new SpecifierError(`${name} is not in deno.json's import map`);
  const { version } = parseNpmSpecifier(target);
  if (!/^\d+\.\d+\.\d+(?:[-+].*)?$/.test(version)) {
    throw new SpecifierError(
      `${name} must be pinned to an exact version in deno.json, not "${target}"`,
    );
  }
  return version;
}
