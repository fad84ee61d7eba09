/**
 * Runs a task one at a time. A call while it runs joins that run and causes one more run after
 * it, so that a change which arrives during a run is never missed, and a burst of calls costs at
 * most two runs.
 */
export class CoalescedRun {
  readonly #task: () => Promise<void>;
  readonly #keepGoing: () => boolean;
  #running: Promise<void> | undefined;
  #again = false;

  /** `keepGoing` is asked before a repeat run (false once the owner stops). */
  constructor(task: () => Promise<void>, keepGoing: () => boolean = () => true) {
    this.#task = task;
    this.#keepGoing = keepGoing;
  }

  /** Runs the task, or joins the run in progress and asks for one more. */
  run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const loop = async (): Promise<void> => {
      try {
        do {
          this.#again = false;
          await this.#task();
        } while (this.#again && this.#keepGoing());
      } finally {
        this.#running = undefined;
      }
    };
    this.#running = loop();
    return this.#running;
  }

  /** Resolves when no run is going (whether the last one failed or not). */
  async idle(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }
}
