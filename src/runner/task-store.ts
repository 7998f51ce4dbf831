import { z } from "zod";
import type { GovernedRollout } from "./rollout.js";
import { RunModeSchema } from "./rollout.js";

/** One unit of work a store hands out; `mode` overrides the mode given to `iter`. */
export const TaskSchema = z.object({
  taskId: z.string().min(1).optional(),
  input: z.unknown(),
  mode: RunModeSchema.optional(),
});
/** A task whose input keeps the agent's input type. */
export type Task<I = unknown> = Omit<z.infer<typeof TaskSchema>, "input"> & { input: I };

/** A value or a promise of it; the runner awaits both the same way. */
export type Awaitable<T> = T | PromiseLike<T>;

/**
 * Where a worker gets tasks and leaves rollouts (Agent-Lightning's store, a queue, a DB).
 * Both methods may be sync or async; the runner always awaits them, so an async store never
 * loses a submission or hands out a task twice.
 */
export interface TaskStore<I = unknown> {
  /** Next task, or undefined/null when the store is empty (iter then stops). */
  dequeueTask(): Awaitable<Task<I> | undefined | null>;
  /** Receives each finished rollout, blocked ones included. */
  submitRollout(rollout: GovernedRollout<I>, task: Task<I>): Awaitable<void>;
}
