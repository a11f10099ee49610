/**
 * Every node of the default objectives runs on the GPU under the webgpu
 * backend. onnxruntime quietly places a node its WebGPU provider has no kernel
 * for (an int64 Equal, a Sum…) on the CPU and copies tensors both ways around
 * it; on an H100 that made an evaluation 30× slower than the CPU backend.
 */

import "./support/gpu_env.ts";
import { assert } from "./support/assert.ts";
import { findWebGpuAdapter } from "../core/runtime/webgpu_adapter.ts";

const adapter = await findWebGpuAdapter();
if (!adapter) console.log("webgpu placement skipped: no WebGPU adapter here");

/** The `Op (name)` entries that onnxruntime's verbose log lists under each provider. */
function placements(log: string): Map<string, string[]> {
  const byProvider = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of log.split("\n")) {
    if (!line.includes("VerifyEachNodeIsAssignedToAnEp]")) {
      current = undefined;
      continue;
    }
    const heading = /placed on \[(\w+)\]/.exec(line);
    if (heading) {
      current = [];
      byProvider.set(heading[1], current);
    } else if (current) {
      const node = /\]\s+(\w+ \([^)]*\))\s*$/.exec(line);
      if (node) current.push(node[1]);
    }
  }
  return byProvider;
}

for (const network of ["inception", "random"]) {
  Deno.test({
    name: `webgpu: every node of the ${network} objective is placed on the GPU`,
    ignore: !adapter,
    async fn() {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./support/webgpu_placement.ts", import.meta.url).pathname,
          network,
        ],
        env: { NO_COLOR: "1" },
        stdout: "null",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(out.stderr);
      assert(out.success, `placement script failed:\n${log.slice(-2000)}`);
      const byProvider = placements(log);
      assert(byProvider.has("WebGpuExecutionProvider"), "no placement report in the log");
      const cpu = byProvider.get("CPUExecutionProvider") ?? [];
      assert(cpu.length === 0, `nodes on the CPU: ${cpu.join(", ")}`);
    },
  });
}
