/**
 * The example scripts, run as a user runs them (`deno run -A examples/x.ts`
 * in a child process) at a tiny size with the tiny network: each finishes,
 * and writes the images it promises, of the expected number and size.
 */

import sharp from "sharp";
import { fitLongSide } from "../core/image.ts";
import { assert, assertEquals } from "./support/assert.ts";

const root = new URL("..", import.meta.url).pathname;
const tiny = ["--network", "tiny", "--size", "32", "--iterations", "3", "--backend", "wasm"];
// cat.jpg is 451×300: at a longer side of 32 the frames are 32×21.
const catSize = fitLongSide({ width: 451, height: 300 }, 32);

/**
 * Runs `examples/<name>` with `args` and a fresh output folder, hands that
 * folder and stdout to `check`, then removes the folder.
 */
async function example(
  name: string,
  args: string[],
  check: (run: { out: string; stdout: string }) => Promise<void>,
): Promise<void> {
  const out = await Deno.makeTempDir({ prefix: `stylegram-${name.replace(".ts", "")}-` });
  try {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}examples/${name}`, ...tiny, ...args, "--out", out],
      cwd: out, // nothing may depend on being started from the repository
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(result.stdout);
    const stderr = new TextDecoder().decode(result.stderr);
    assertEquals(result.code, 0, `${name} failed:\n${stdout}\n${stderr}`);
    await check({ out, stdout });
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

/** The PNG files in `dir`, sorted, with their decoded sizes. */
async function pngs(dir: string): Promise<{ name: string; width: number; height: number }[]> {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  return await Promise.all(names.map(async (name) => {
    const meta = await sharp(`${dir}/${name}`).metadata();
    assertEquals(meta.format, "png", `${name} is a PNG`);
    return { name, width: meta.width!, height: meta.height! };
  }));
}

/** Whether two image files decode to different pixels. */
async function differ(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([a, b].map((f) => sharp(f).raw().toBuffer()));
  return !x.equals(y);
}

Deno.test("style_sweep writes numbered frames of the content's shape, each different", () =>
  example("style_sweep.ts", ["--frames", "3"], async ({ out, stdout }) => {
    assertEquals(await pngs(out), [
      { name: "frame_000.png", ...catSize },
      { name: "frame_001.png", ...catSize },
      { name: "frame_002.png", ...catSize },
    ]);
    assert(/style weight 300\b/.test(stdout), `the last frame has the top weight:\n${stdout}`);
    assert(await differ(`${out}/frame_000.png`, `${out}/frame_002.png`), "the sweep moves");
  }));

Deno.test("style_interpolation writes one frame per blend step", () =>
  example("style_interpolation.ts", ["--frames", "4"], async ({ out, stdout }) => {
    const frames = await pngs(out);
    assertEquals(frames.map((f) => f.name), [0, 1, 2, 3].map((k) => `frame_00${k}.png`));
    assert(frames.every((f) => f.width === catSize.width && f.height === catSize.height));
    assert(stdout.includes("100% / 0%") && stdout.includes("0% / 100%"), stdout);
    assert(await differ(`${out}/frame_000.png`, `${out}/frame_003.png`), "the morph moves");
  }));

Deno.test("custom_plugin runs its palette cost beside the built-in ones", () =>
  example("custom_plugin.ts", ["--palette", "ink"], async ({ out, stdout }) => {
    assertEquals(await pngs(out), [{ name: "palette_ink.png", ...catSize }]);
    for (const term of ["content", "style", "tv", "palette"]) {
      assert(stdout.includes(`${term} `), `final costs name ${term}:\n${stdout}`);
    }
  }));

Deno.test("texture makes an image of the asked size and aspect from the painting alone", () =>
  example("texture.ts", ["--aspect", "2", "--seed", "4"], async ({ out }) => {
    assertEquals(await pngs(out), [
      { name: "texture_great_wave_seed4.png", width: 32, height: 16 },
    ]);
  }));
