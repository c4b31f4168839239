/**
 * Runs one task on behalf of many callers (a group commit), for tasks like a directory fsync that
 * make durable everything done before they start. A caller shares a run that starts after its
 * call, never one already under way, which may have started before the caller's change.
 */
export class GroupCommit {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly task: () => Promise<void>) {}

  /** Resolves once a run that started after this call has finished (rejects if it failed). */
  run(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const settled = () => {
      this.queued = null;
      return this.start();
    };
    this.queued = this.running.then(settled, settled);
    return this.queued;
  }

  private start(): Promise<void> {
    const run = this.task();
    this.running = run;
    const clear = () => {
      if (this.running === run) this.running = null;
    };
    run.then(clear, clear);
    return run;
  }
}
