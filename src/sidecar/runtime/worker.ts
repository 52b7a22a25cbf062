/**
 * The job worker thread (bundled as dist/worker.js). onnxruntime's run() blocks the thread it is called
 * on, so every job runs here and the main thread stays free to answer clients. One job at a time: the
 * main thread sends the next one only after 'done' or 'failed'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SidecarError, type JobKind, type JobOutput } from '../../protocol';
import { HANDLERS, type JobContext, type JobHandler } from './handlers';
import type { FromWorker, RunJob, WorkerInit } from './worker-messages';
import { intraOpThreads } from './session-options';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const init = workerData as WorkerInit;
const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: RunJob) => {
  if (m.type === 'run') void runJob(m);
});
post({ type: 'ready' });

async function runJob(m: RunJob): Promise<void> {
  const flag = new Int32Array(m.cancelFlag);
  const ctx = context(m.jobId, flag);
  try {
    const handler = HANDLERS[m.kind] as JobHandler<JobKind>;
    const output: JobOutput = await handler(m.params as never, ctx);
    if (ctx.isCancelled()) throw ctx.cancelled();
    post({ type: 'done', jobId: m.jobId, output });
  } catch (err) {
    const { code, message } = describe(err, ctx.isCancelled());
    post({ type: 'failed', jobId: m.jobId, code, message });
  }
}

function context(jobId: string, flag: Int32Array): JobContext {
  const isCancelled = () => Atomics.load(flag, 0) === 1;
  // Steps reported after the flag was set: the measure of "cancel takes effect within one step".
  let stepsAfterCancel = 0;
  return {
    jobId,
    executionProviders: init.executionProviders,
    intraOpNumThreads: intraOpThreads(),
    isCancelled,
    cancelled: () =>
      new SidecarError('cancelled', `job ${jobId} was cancelled; it stopped ${stepsAfterCancel} step(s) after the request`, jobId),
    onProgress: (u) => {
      if (isCancelled()) stepsAfterCancel++;
      post({
        type: 'progress',
        jobId,
        stage: u.stage,
        step: u.step,
        total: u.total,
        ...(u.etaMs !== undefined ? { etaMs: u.etaMs } : {}),
        ...(u.preview ? { preview: Buffer.from(u.preview).toString('base64') } : {}),
        ...(u.metrics ? { metrics: u.metrics } : {}),
      });
    },
    log: (level, message) => post({ type: 'log', jobId, level, message }),
  };
}

/** Typed errors keep their code; a pipeline's UserError is a problem with the request; the rest failed. */
function describe(err: unknown, cancelled: boolean): { code: SidecarError['code']; message: string } {
  if (err instanceof SidecarError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  if (cancelled) return { code: 'cancelled', message: `the job was cancelled (${message})` };
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && isErrorCode(code)) return { code, message };
  if (err instanceof Error && err.name === 'UserError') return { code: 'invalid_params', message };
  return { code: 'job_failed', message };
}

function isErrorCode(code: string): code is SidecarError['code'] {
  return ['invalid_params', 'model_not_found', 'model_invalid', 'image_invalid', 'io_error', 'cancelled'].includes(code);
}
