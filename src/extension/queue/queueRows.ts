/** What a Queue view row says about a job: no VS Code here (unit tests run it). */
import type { JobInfo, JobState } from '../../protocol';

export function isLive(state: JobState): boolean {
  return state === 'queued' || state === 'running';
}

/** The job's prompt (what the user recognises), else its kind and id. */
export function jobLabel(j: JobInfo): string {
  const label = j.label?.trim();
  if (!label) return `${j.kind} ${j.jobId}`;
  return label.length > 80 ? `${label.slice(0, 79)}…` : label;
}

/**
 * Kind, then "queued" or the progress: "generate · queued", "xyplot · 38% · cell 3/8". (A queued job's
 * place is its row.) Progress
 * is sent only to the client that submitted the job: another window's running job says "running".
 */
export function jobDescription(j: JobInfo): string {
  if (j.state === 'queued') return `${j.kind} · queued`;
  if (!j.total) return `${j.kind} · running`;
  const pct = Math.floor((100 * (j.step ?? 0)) / j.total);
  return `${j.kind} · ${pct}%${j.stage ? ` · ${j.stage}` : ''}`;
}

export function jobTooltip(j: JobInfo): string {
  return [jobLabel(j), `${j.kind} job ${j.jobId}, ${j.state}`, j.total ? `step ${j.step ?? 0} of ${j.total}` : ''].filter(Boolean).join('\n');
}

/**
 * The sidecar's own order (server/queue.ts): the running job, then interactive jobs before background
 * ones, each first come first served. Derived from fields that never change, not from `position`,
 * which is only reported when a job changes state and so goes stale as the queue moves.
 */
export function queueOrder(jobs: Iterable<JobInfo>): JobInfo[] {
  const rank = (j: JobInfo) => (j.state === 'running' ? 0 : j.priority === 'interactive' ? 1 : 2);
  const seq = (j: JobInfo) => Number(/(\d+)$/.exec(j.jobId)?.[1] ?? 0);
  return [...jobs].sort((a, b) => rank(a) - rank(b) || a.createdAt - b.createdAt || seq(a) - seq(b));
}
