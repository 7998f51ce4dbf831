import type { GovernedRollout, RunMode } from "./rollout.js";
import type { Task, TaskStore } from "./task-store.js";

/** A FIFO task store in memory, for tests, notebooks and single-process training. */
export class InMemoryTaskStore<I = unknown> implements TaskStore<I> {
  readonly #queue: Task<I>[] = [];
  readonly #submitted: { rollout: GovernedRollout<I>; task: Task<I> }[] = [];
  #nextId = 1;

  /** Creates a store holding one task per input, in order. */
  constructor(inputs: Iterable<I> = []) {
    for (const input of inputs) this.enqueueTask(input);
  }

  /** Adds a task at the end of the queue; ids are `task-1`, `task-2`… unless given. */
  enqueueTask(input: I, options: { taskId?: string; mode?: RunMode } = {}): Task<I> {
    const task: Task<I> = { taskId: options.taskId ?? `task-${this.#nextId++}`, input };
    if (options.mode) task.mode = options.mode;
    this.#queue.push(task);
    return task;
  }

  /** Removes and returns the oldest task, or undefined when empty. */
  dequeueTask(): Task<I> | undefined {
    return this.#queue.shift();
  }

  /** Keeps the rollout with the task it answers. */
  submitRollout(rollout: GovernedRollout<I>, task: Task<I>): void {
    this.#submitted.push({ rollout, task });
  }

  /** Tasks not handed out yet. */
  get pendingTasks(): number {
    return this.#queue.length;
  }

  /** Rollouts submitted so far, in submission order. */
  get rollouts(): readonly GovernedRollout<I>[] {
    return this.#submitted.map((entry) => entry.rollout);
  }

  /** Rollouts with the task each one answers, in submission order. */
  get submissions(): readonly { readonly rollout: GovernedRollout<I>; readonly task: Task<I> }[] {
    return [...this.#submitted];
  }
}
