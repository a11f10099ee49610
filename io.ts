/**
 * `stylegram/io`: files, for Deno and Node (not browsers). Read and write
 * images (JPEG, PNG, WebP, with `sharp`), write any file atomically, keep
 * downloaded weights in a cache directory ({@linkcode FileStore}), and quiet
 * the Vulkan loader before WebGPU is used ({@linkcode ensureRuntimeDir}).
 *
 * @example
 * ```ts
 * import { content, loadNetwork, style, stylize } from "./mod.ts"; // "stylegram"
 * import { FileStore, readImage, writeImage } from "./io.ts"; // "stylegram/io"
 *
 * const result = await stylize({
 *   network: await loadNetwork("auto", { store: new FileStore() }),
 *   plugins: [content.use({ normalisation: "size" }), style.use({}, 40)],
 *   content: await readImage("examples/cat.jpg"),
 *   styles: [await readImage("examples/kandinsky.jpg")],
 *   settings: { size: 256, iterations: 50 },
 * });
 * await writeImage(result.image, "cat_kandinsky.png");
 * ```
 *
 * @module
 */

export {
  decodeImage,
  type DecodeOptions,
  DEFAULT_MAX_PIXELS,
  encodeImage,
  formatOf,
  ImageError,
  readImage,
  writeImage,
} from "./io/image_files.ts";
export { checkWritable, OutputError, writeFileAtomic } from "./io/atomic_write.ts";
export { defaultCacheDir, FileStore, type FileStoreOptions } from "./io/file_store.ts";
export { ensureRuntimeDir } from "./io/runtime_dir.ts";
