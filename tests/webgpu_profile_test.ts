/**
 * bench/webgpu_profile.ts (run on a GPU machine in one go, so it must not
 * rot): on the tiny network it reports GPU time per op from onnxruntime's
 * profile and agrees with native in the layout the webgpu backend uses.
 */

import "./support/gpu_env.ts";
import { assert } from "./support/assert.ts";
import { findWebGpuAdapter } from "../core/runtime/webgpu_adapter.ts";

const adapter = await findWebGpuAdapter();

Deno.test({
  name: "webgpu profile: per-op GPU times, and NCHW agrees with native",
  ignore: !adapter,
  async fn() {
    const script = new URL("../bench/webgpu_profile.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        script,
        "--network=tiny",
        "--size=32",
        "--evaluations=1",
        "--layouts=NCHW",
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert(out.success, `profile failed:\n${new TextDecoder().decode(out.stderr).slice(-2000)}`);
    const summary =
      /tiny 32², NCHW on .*: ([\d.]+) ms per evaluation.*GPU kernels ([\d.]+) ms per run, (\d+) dispatches per run, vs native: total ([\d.e+-]+), gradient ([\d.e+-]+)/
        .exec(text);
    assert(summary, `no summary line in:\n${text}`);
    const [, ms, gpuMs, dispatches, total, gradient] = summary.map(Number);
    assert(ms > 0 && gpuMs > 0 && dispatches > 10, `implausible figures: ${summary[0]}`);
    assert(total < 1e-4 && gradient < 1e-3, `NCHW disagrees with native: ${summary[0]}`);
    assert(/^Conv\s+[\d.]+\s+[\d.]+%$/m.test(text), `no Conv row in the per-op table:\n${text}`);
  },
});
