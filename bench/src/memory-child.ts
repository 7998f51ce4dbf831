// Child process of `make bench`: 1,000,000 kernel decisions, reporting resident and Wasm memory.
// Run alone so the parent's heap does not blur the figures. Prints one JSON line.
import { createPolicyKernel } from "../../src/kernel/create-kernel.js";
import { benchCorpus } from "./corpus.js";

// The kernel (src/engines/rego/wasm-instance.ts) creates the module's memory with `new WebAssembly.Memory`; keep a handle to read its size.
const memories: WebAssembly.Memory[] = [];
const NativeMemory = WebAssembly.Memory;
WebAssembly.Memory = function Memory(descriptor: WebAssembly.MemoryDescriptor) {
  const memory = new NativeMemory(descriptor);
  memories.push(memory);
  return memory;
} as unknown as typeof WebAssembly.Memory;

const total = Number(process.argv[2] ?? 1_000_000);
const actions = benchCorpus().map((entry) => entry.action);
const kernel = await createPolicyKernel();
WebAssembly.Memory = NativeMemory;
const wasmBytes = () => memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0);

const WARMUP = 20_000;
for (let i = 0; i < WARMUP; i++) await kernel.evaluateUntrusted(actions[i % actions.length]);
global.gc?.();
const before = { rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, wasm: wasmBytes() };
const t0 = performance.now();
let denied = 0;
for (let i = 0; i < total; i++) if (!(await kernel.evaluateUntrusted(actions[i % actions.length])).allowed) denied++;
const seconds = (performance.now() - t0) / 1000;
global.gc?.();
const after = { rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, wasm: wasmBytes() };
kernel.close();
process.stdout.write(`${JSON.stringify({ decisions: total, denied, seconds, before, after, wasmMemories: memories.length })}\n`);
