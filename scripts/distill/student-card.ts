/**
 * The shipped guided students' model card (models/<prefix>N/README.md), written by
 * scripts/distill-embedded.ts --install from the student's distill.json and UNet config, and from the
 * distill.json of every stage-1 run that led to it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** What the card needs besides the student's own files: names, where stage 1 ran, the command. */
export interface CardContext {
  /** The teacher's folder name (the students' base) and the installed students' name prefix. */
  teacher: string;
  prefix: string;
  /** The job's stage-1 student folder (<work>/guided-<from-steps>), where the lineage walk starts. */
  stage1Dir: string;
  /** The distill:embedded arguments that made the students. */
  command: string;
}

/** The model card, from what the student's own metadata says (so it cannot drift from the weights). */
export function studentCard(d: Record<string, unknown>, unet: Record<string, unknown>, mb: number, c: CardContext): string {
  const { teacher: TEACHER, prefix: PREFIX } = c;
  const steps = Number(d.steps), range = d.guidance_range as [number, number];
  const t = d.training as Record<string, unknown>, teacherInfo = d.teacher as Record<string, unknown>;
  const width = (unet.block_out_channels as number[]).at(-1)!, from = unet.distilled_from_channels as number | undefined;
  const stage1 = stage1Lineage(c.stage1Dir);
  return `# ${PREFIX}${steps} — guided student of ${TEACHER} for ${steps} step${steps > 1 ? 's' : ''}

A distilled UNet that samples ${TEACHER}'s text-to-image task in **${steps} DDIM step${steps > 1 ? 's' : ''} with one UNet
evaluation per step**, guidance included: the guidance scale is a model input (\`guidance_scale\`,
diffusers' convention s = 1 + w, trained for s in [${range.join(', ')}]), so the unconditional batch is gone.

- Method: guided distillation (Meng et al., 2023): stage 1 matches the teacher's guided output for s
  drawn from the range; stage 2 halves the steps round by round (progressive distillation, Salimans &
  Ho, 2022) down to ${steps}. This round was distilled from the ${d.teacher_steps}-step student${d.trajectory === 'scheduler' ? ',\n  its targets following the steps the DDIM scheduler takes (docs/DISTILLATION.md, "Trajectory")' : ''}${visitedClause(d.visited)}.
- Architecture: ${TEACHER}'s UNet ${from ? `narrowed from ${from} to **${width} channels** where the teacher has ${from} (docs/DISTILLATION.md, "A narrower student"): about half the cost of one evaluation; stage 1 trained it ${stage1}` : `at the teacher's width (${width} channels)`}.
- Teacher: ${TEACHER}, UNet hash ${String(teacherInfo.hash)}.
- Components: only \`unet/\` is stored here; the text encoder, VAE, tokenizer (and image encoder, for eval) come from
  the base folder (\`model_index.json\` "base": "../${TEACHER}").
- Weights: ${String(d.weights_storage)} (${mb.toFixed(1)} MB).
- Training of this round: ${t.iterations} iterations, batch ${t.batch_size}, ${t.optimizer} lr ${t.learning_rate} (${t.lr_schedule}),
  clip norm ${t.clip_norm}, loss ${t.loss_weighting}, seed ${t.seed}; final loss ${Number(t.final_loss).toPrecision(3)}.
- Data: ${dataClause(t)}, as for ${TEACHER}.
- Reproduce: \`npm run distill:embedded -- ${c.command}\` (the four students; the other settings are scripts/distill-embedded.ts's defaults).
- Metrics (\`npm run report:distill${TEACHER === 'emoji-base' ? '' : ` -- --teacher models/${TEACHER} --student-prefix ${PREFIX}`}\`): docs/DISTILLATION.md and docs/BENCHMARKS.md.
- Use: \`npx diffusion-studio generate "a red apple" --model ${PREFIX}${steps} --guidance 3\`.

Full metadata: distill.json.
`;
}

/** ", half of its batches' rows latents the teacher's own sampler visited (...)" when the job used them. */
function visitedClause(v: unknown): string {
  if (!v) return '';
  const { share, trajectories, steps } = v as { share: number; trajectories: number; steps: number };
  return `;\n  ${Math.round(share * 100)}% of its training rows were latents the teacher's own ${steps}-step sampler visited (${trajectories} trajectories; docs/DISTILLATION.md, "On the teacher's path")`;
}

/**
 * How stage 1 trained the narrow student, run by run. A stage-1 job may start from an earlier student
 * (--stage1-init), itself perhaps started from another: each run's distill.json names its start
 * (training.start_weights), so the card follows them back to the teacher's channels or to a round
 * student of an earlier chain, and the card cannot drift from what ran.
 */
export function stage1Lineage(stage1Dir: string): string {
  const runs: string[] = [];
  let dir = stage1Dir;
  // Only a run that names no start began at the teacher's channels; a walk cut short says so.
  let origin = 'earlier runs (more than 10; not listed)';
  for (let depth = 0; depth < 10; depth++) {
    const file = join(dir, 'distill.json');
    if (!existsSync(file)) { origin = `the weights in ${relative(process.cwd(), dir)}`; break; }
    const d = JSON.parse(readFileSync(file, 'utf8')) as { phase: string; steps: number; visited?: { share: number }; training: Record<string, unknown> };
    const t = d.training;
    if (d.phase !== 'stage1') { origin = `a round student for ${d.steps} steps from an earlier chain (${relative(process.cwd(), dir)})`; break; }
    const rows = t.data_rows as { digits?: number } | undefined;
    const extras = [d.visited ? `${Math.round(d.visited.share * 100)}% of rows visited latents` : '', rows ? (rows.digits ? 'with digits' : 'no digits') : ''].filter(Boolean);
    runs.unshift(`${Number(t.iterations).toLocaleString('en')} iterations at batch ${String(t.batch_size)}, lr ${String(t.learning_rate)}${extras.length ? ` (${extras.join(', ')})` : ''}`);
    if (typeof t.start_weights !== 'string') { origin = "the teacher's leading channels"; break; }
    dir = resolve(dir, t.start_weights);
  }
  return runs.length ? `from ${origin}, then ${runs.join(', then ')}; EMA exported (docs/DISTILLATION.md, "Try it")` : `from ${origin}`;
}

/** What the round trained on, from its distill.json: the emoji sets, and the digits where it counted them. */
export function dataClause(t: Record<string, unknown>): string {
  if (t.data !== 'styles') return 'the Noto emoji of emoji-datasource-google (images Apache-2.0, data MIT)';
  const digits = (t.data_rows as { digits?: number } | undefined)?.digits;
  const withDigits = digits ? `, and ${digits.toLocaleString('en')} MNIST training-split digits as "a handwritten number N" (one row in eight, as the teacher trained; never the held-out split eval reads)` : '';
  return `the seven emoji sets of the teacher's training (licences in the teacher's README and NOTICE), plain and styled captions${withDigits}`;
}

