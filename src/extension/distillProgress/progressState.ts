/**
 * What the distillation progress panel shows, built from the job's progress events: a loss series per
 * phase (`stage1 1/4`, `round 2/4`), the sample row of each finished phase (`samples 2/4`), and the
 * latest step. No VS Code here: the unit tests and the in-host test read the same state.
 */
import type { ProgressEvent } from '../../protocol';
import type { DistillProgressView, SampleRow } from '../../../webview-ui/shared/messages';
import { LossSeries } from './lossSeries';

export type DistillStatus = DistillProgressView['status'];

const TRAINING = /^(stage1|round) (\d+)\/(\d+)$/;
const SAMPLES = /^samples (\d+)\/(\d+)$/;

export class DistillProgressState {
  private readonly series = new Map<number, { kind: string; series: LossSeries; received: number; total?: number; studentSteps?: number; lastLoss?: number }>();
  private readonly rows: SampleRow[] = [];
  private rounds?: number;
  private status: DistillStatus = 'running';
  private line = 'starting';

  constructor(
    readonly title: string,
    private readonly maxPoints = 200,
  ) {}

  /** Takes one progress event of the job; returns whether anything shown changed. */
  apply(e: ProgressEvent): boolean {
    const t = TRAINING.exec(e.stage);
    if (t) return this.training(t[1], Number(t[2]), Number(t[3]), e);
    const s = SAMPLES.exec(e.stage);
    if (s && e.preview) return this.sampleRow(Number(s[1]), e);
    return false;
  }

  end(status: Exclude<DistillStatus, 'running'>, line: string): void {
    this.status = status;
    this.line = line;
  }

  get view(): DistillProgressView {
    const phases = [...this.series.entries()].sort(([a], [b]) => a - b).map(([round, p]) => ({
      round, kind: p.kind, studentSteps: p.studentSteps, points: p.series.points, total: p.total, received: p.received, lastLoss: p.lastLoss,
    }));
    return { title: this.title, status: this.status, rounds: this.rounds, phases, samples: [...this.rows], line: this.line };
  }

  private training(kind: string, round: number, rounds: number, e: ProgressEvent): boolean {
    this.rounds = rounds;
    let p = this.series.get(round);
    if (!p) this.series.set(round, (p = { kind, series: new LossSeries(this.maxPoints), received: 0 }));
    p.studentSteps = e.metrics?.studentSteps ?? p.studentSteps;
    if (e.total > 0) p.total = e.total;
    const loss = e.metrics?.loss;
    if (loss !== undefined && Number.isFinite(loss)) {
      p.series.add(e.step, loss);
      p.received++;
      p.lastLoss = loss;
    }
    this.line = `${e.stage} · step ${e.step}/${e.total}${loss !== undefined ? ` · loss ${loss.toPrecision(4)}` : ''}`;
    return true;
  }

  private sampleRow(round: number, e: ProgressEvent): boolean {
    const row = { round, studentSteps: e.metrics?.studentSteps, png: e.preview! };
    const at = this.rows.findIndex((r) => r.round === round);
    if (at >= 0) this.rows[at] = row;
    else this.rows.push(row);
    this.rows.sort((a, b) => a.round - b.round);
    return true;
  }
}
