/** Counting semaphore with a bounded wait: callers that wait longer than `maxWaitMs` are refused. */
export class Semaphore {
  private active = 0;
  private readonly waiters: { resolve: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(private readonly max: number) {}

  async acquire(maxWaitMs: number, onTimeout: () => Error): Promise<() => void> {
    if (this.active < this.max) {
      this.active++;
      return () => this.release();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(onTimeout());
        }, maxWaitMs),
      };
      this.waiters.push(waiter);
    });
    return () => this.release();
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve();
    } else this.active--;
  }
}
