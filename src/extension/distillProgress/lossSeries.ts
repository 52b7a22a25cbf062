/**
 * One phase's loss curve, kept small however long the phase runs: points are means over buckets of
 * consecutive steps; when there are more than `max` buckets, neighbours are merged in pairs and the
 * bucket doubles. So memory and each message to the webview stay O(max), the whole phase stays
 * covered at an even resolution, and noise is averaged rather than dropped. No VS Code here.
 * A point is the mean step and mean loss of its bucket.
 */
import type { CurvePoint } from '../../../webview-ui/shared/messages';

interface Bucket {
  stepSum: number;
  lossSum: number;
  n: number;
}

export class LossSeries {
  private buckets: Bucket[] = [];
  /** Steps per bucket (a power of two). */
  private size = 1;
  private lastStep = -Infinity;

  constructor(readonly max = 200) {
    if (!Number.isInteger(max) || max < 2) throw new RangeError(`a loss series needs room for at least 2 points, got ${max}`);
  }

  /** Adds the loss of `step`; a step seen already (a repeated event) or a non-finite loss is ignored. */
  add(step: number, loss: number): void {
    if (step <= this.lastStep || !Number.isFinite(loss)) return;
    this.lastStep = step;
    const last = this.buckets.at(-1);
    if (last && last.n < this.size) {
      last.stepSum += step;
      last.lossSum += loss;
      last.n++;
    } else this.buckets.push({ stepSum: step, lossSum: loss, n: 1 });
    if (this.buckets.length > this.max) this.halve();
  }

  get points(): CurvePoint[] {
    return this.buckets.map((b) => ({ step: b.stepSum / b.n, loss: b.lossSum / b.n }));
  }

  /** Steps each point stands for (1 until the series first overflows). */
  get bucketSize(): number {
    return this.size;
  }

  private halve(): void {
    const merged: Bucket[] = [];
    for (let i = 0; i < this.buckets.length; i += 2) {
      const [a, b] = [this.buckets[i], this.buckets[i + 1]];
      merged.push(b ? { stepSum: a.stepSum + b.stepSum, lossSum: a.lossSum + b.lossSum, n: a.n + b.n } : { ...a });
    }
    this.buckets = merged;
    this.size *= 2;
  }
}
