/**
 * A work-around for a race in Deno between growing shared WebAssembly memory
 * and the runtime's worker threads.
 *
 * onnxruntime-web's threaded build starts with 16 MiB of shared memory and
 * grows it as sessions allocate. In Deno a worker thread learns that the memory
 * grew only when it next handles an interrupt; handed a pointer into the new
 * part before that, it traps ("memory access out of bounds"), the pthread dies
 * silently and the main thread spins forever waiting for it (7 of 38 CLI runs
 * under CPU contention; 0 of 55 with this). Creating the memory at its largest
 * size means it never grows; pages never written cost no RAM (1.7 ms to
 * create, RSS +12 MB), so the cost is address space.
 *
 * @module
 */

type MemoryConstructor = typeof WebAssembly.Memory;

// 4 GiB less one 64 KiB page: emscripten's largest heap. A full 4 GiB memory
// wraps the runtime's 32-bit heap size to 0 and its first allocation fails.
const LARGEST_HEAP_PAGES = 65535;

/** Whether this runtime needs the work-around: Deno only (browsers and Node were not seen to trap). */
export function sharedMemoryMayRace(): boolean {
  return "Deno" in globalThis;
}

function fullSizeShared(original: MemoryConstructor): MemoryConstructor {
  const fullSize = function (descriptor: WebAssembly.MemoryDescriptor) {
    const { initial, maximum, shared } = descriptor as WebAssembly.MemoryDescriptor & {
      shared?: boolean;
    };
    if (shared && maximum !== undefined && initial < maximum) {
      try {
        return new original({ ...descriptor, initial: Math.min(maximum, LARGEST_HEAP_PAGES) });
      } catch {
        // not enough address space or commit: fall through to what was asked
      }
    }
    return new original(descriptor);
  } as unknown as MemoryConstructor;
  fullSize.prototype = original.prototype;
  return fullSize;
}

// Overlapping calls share one replacement; the last to finish restores.
let active = 0;
let saved: MemoryConstructor | undefined;

/**
 * Runs `create` (which instantiates the threaded runtime) while shared
 * memories are created at their maximum size, and restores
 * `WebAssembly.Memory` afterwards. Where the full size cannot be reserved the
 * requested size is used, as before.
 */
export async function withFullSizeSharedMemory<T>(create: () => Promise<T>): Promise<T> {
  if (active++ === 0) {
    saved = WebAssembly.Memory;
    WebAssembly.Memory = fullSizeShared(saved);
  }
  try {
    return await create();
  } finally {
    if (--active === 0) {
      WebAssembly.Memory = saved!;
      saved = undefined;
    }
  }
}
