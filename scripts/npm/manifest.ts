/**
 * The npm package's `package.json`, made from deno.json: the version is
 * deno.json's `version` (the one source of truth), dependency versions are
 * the exact ones its import map pins.
 *
 * @module
 */

import { type ImportMap, pinnedVersion } from "./import_map.ts";

/** The parts of deno.json the npm build reads. */
export interface DenoConfig {
  /** Package version. */
  version: string;
  /** Import map. */
  imports: ImportMap;
}

/** Which npm packages the built code may import, by kind. */
export interface PackageDependencies {
  /** Always installed. */
  dependencies: readonly string[];
  /** Installed when they can be (native binaries); the code copes without them. */
  optionalDependencies: readonly string[];
}

/** What the package is made of: its dependencies and its entry points. */
export interface PackageLayout extends PackageDependencies {
  /** Export path (`.`, `./io`) → source file (`mod.ts`, `io.ts`). */
  entries: Readonly<Record<string, string>>;
}

function pinned(names: readonly string[], imports: ImportMap): Record<string, string> {
  return Object.fromEntries([...names].sort().map((name) => [name, pinnedVersion(name, imports)]));
}

/** The package.json of the npm build, as an object in the order npm writes it. */
export function packageJson(
  config: DenoConfig,
  packages: PackageLayout,
): Record<string, unknown> {
  if (!/^\d+\.\d+\.\d+(?:-[\w.]+)?$/.test(config.version ?? "")) {
    throw new RangeError(`deno.json's "version" must be a semantic version, got ${config.version}`);
  }
  return {
    name: "stylegram",
    version: config.version,
    description: "Neural style transfer where every cost term is a plugin written as forward " +
      "math; compiled to ONNX and run on onnxruntime (WebGPU, WebAssembly or native).",
    keywords: ["style-transfer", "neural-style", "onnx", "onnxruntime", "autodiff", "webgpu"],
    license: "MIT",
    type: "module",
    exports: {
      ...Object.fromEntries(
        Object.entries(packages.entries).map(([path, file]) => {
          const stem = `./${file.replace(/\.ts$/, "")}`;
          return [path, { types: `${stem}.d.ts`, default: `${stem}.js` }];
        }),
      ),
      "./package.json": "./package.json",
    },
    types: "./mod.d.ts",
    engines: { node: ">=20" },
    dependencies: pinned(packages.dependencies, config.imports),
    optionalDependencies: pinned(packages.optionalDependencies, config.imports),
  };
}
