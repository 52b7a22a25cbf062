/**
 * A counting semaphore: at most `slots` holders at once, the others wait in arrival order. It counts
 * what it does (`active`, `peak`) so a bound can be checked from outside, not only trusted.
 */
export class Semaphore {
  private active = 0;
  private peak = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`a semaphore needs at least one slot, not ${slots}`);
  }

  /** Runs `work` once a slot is free; the slot is given back however `work` ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  stats(): { active: number; peak: number; waiting: number } {
    return { active: this.active, peak: this.peak, waiting: this.waiting.length };
  }

  private async acquire(): Promise<void> {
    if (this.active >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
  }

  /** Hands the slot straight to the next waiter (active stays the same), so no newcomer can jump in. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
