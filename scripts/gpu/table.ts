/**
 * The short table the device check prints last, from its results.jsonl (one JSON object per line,
 * tagged with the step that printed it). The 50-step figure is 50 UNet evaluations at batch 2 (one
 * guided step each: unconditional + conditional); "+ decode" adds one VAE decode of the same engine and
 * precision (fused-attention rows use the plain VAE); the text encoder (one run) is not included.
 */
import { readFileSync } from 'node:fs';

interface Row { step: string; [k: string]: unknown }

const fmt = (v: unknown, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');

export function renderTable(path: string): string {
  const rows: Row[] = readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Row);
  const by = (step: string) => rows.find((r) => r.step === step);
  const lines: string[] = [];
  const prov = by('provider')?.provider as { provider?: string; deviceName?: string; ortVersion?: string; note?: string } | undefined;
  lines.push(`provider: ${prov?.provider ?? 'unknown'} (${prov?.deviceName ?? '?'}, onnxruntime-node ${prov?.ortVersion ?? '?'})${prov?.note ? ` note: ${prov.note}` : ''}`);
  const gen = by('generate');
  lines.push(`embedded model generation: ${gen ? (gen.skipped ? `skipped (${String(gen.skipped)})` : `${fmt(gen.seconds, 2)} s for ${String(gen.images ?? '?')} images x ${String(gen.steps ?? '?')} steps (${String(gen.label ?? gen.model)})`) : 'failed (see generate.log)'}`);
  const train = by('train');
  const fall = train ? `, loss ${fmt(train.loss_first, 3)} -> ${fmt(train.loss_last, 3)} on a fixed batch` : '';
  lines.push(`engine training step (small UNet, batch ${String(train?.batch ?? '?')}): ${fmt(train?.median_ms)} ms on ${String(train?.ep ?? '?')}${fall}`);
  lines.push('');
  lines.push('| engine | precision | attention | UNet step, batch 2 (ms) | 50 steps (s) | VAE decode (ms) | 50 steps + decode (s) | max abs diff vs PyTorch fp32 (UNet; VAE) |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const step of ['torch_fp32', 'torch_fp16', 'ort_fp32', 'ort_fp16', 'ort_fp16_mha']) {
    const r = by(step);
    const torch = step.startsWith('torch');
    const engine = torch ? `PyTorch ${String(r?.torch ?? by('torch_fp32')?.torch ?? '')}` : `ORT-in-Node ${String(r?.ort ?? '')}`;
    const precision = step.includes('fp16') ? 'fp16' : 'fp32';
    const attention = torch ? (r?.sdpa ? 'SDPA' : 'matmul') : step.endsWith('mha') ? 'MultiHeadAttention' : 'matmul+softmax';
    const vae = by(`${torch ? 'torch' : 'ort'}_vae_${precision}`);
    const ms = r?.median_ms as number | undefined, vms = vae?.median_ms as number | undefined;
    const time = r?.skipped ? `skipped (${String(r.skipped)})` : r ? fmt(ms) : 'failed';
    const diff = (x: Row | undefined) => (x?.diff as { max_abs?: number } | undefined)?.max_abs;
    const diffs = step === 'torch_fp32' ? '(reference)' : [diff(r), diff(vae)].map((d) => (d !== undefined ? d.toExponential(1) : '-')).join('; ');
    const total = ms && vms ? fmt((50 * ms + vms) / 1000, 2) : '-';
    lines.push(`| ${engine} | ${precision} | ${attention} | ${time} | ${ms ? fmt((50 * ms) / 1000, 2) : '-'} | ${vae?.skipped ? 'skipped' : fmt(vms)} | ${total} | ${diffs} |`);
  }
  return lines.join('\n');
}
