/** Progress reporting for training loops: the numbers, and a command-line bar over them. */
import cliProgress from 'cli-progress';

export interface TrainProgress {
  /** Steps completed so far (including those before a resume). */
  step: number;
  totalSteps: number;
  loss: number;
  /** Learning rate used by this step. */
  lr: number;
  /** Throughput over this run's steps (not counting steps before a resume). */
  stepsPerSec: number;
  /** Seconds left at the current throughput. */
  etaSec: number;
}

/** Tracks throughput and ETA from step completions. */
export class ProgressClock {
  private readonly start = performance.now();
  private done = 0;
  constructor(private readonly totalSteps: number) {}
  tick(step: number, loss: number, lr: number): TrainProgress {
    this.done++;
    const elapsed = (performance.now() - this.start) / 1000;
    const stepsPerSec = this.done / Math.max(elapsed, 1e-9);
    return { step, totalSteps: this.totalSteps, loss, lr, stepsPerSec, etaSec: (this.totalSteps - step) / stepsPerSec };
  }
}

/** A cli-progress bar for the command line; call the returned function with each progress report. */
export function progressBar(totalSteps: number, label = 'train'): { update(p: TrainProgress): void; stop(): void } {
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {value}/{total} | loss {loss} | {rate} steps/s | ETA {eta_formatted}`,
    hideCursor: true, etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(p) {
      const payload = { loss: p.loss.toPrecision(4), rate: p.stepsPerSec.toFixed(2) };
      if (!started) {
        bar.start(totalSteps, p.step, payload);
        started = true;
      } else bar.update(p.step, payload);
    },
    stop: () => started && bar.stop(),
  };
}
