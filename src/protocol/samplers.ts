/**
 * The one sampler vocabulary and the one set of generation defaults, shared by the sidecar (request
 * resolution, CLI, PNG metadata), the extension (settings, side panel) and the protocol's validator.
 *
 * A sampler has a stable `id` (the only spelling on the wire, in settings and in model folders we
 * write), the name A1111 gives it (`label`: written as `Sampler:` in a PNG's parameters and shown in
 * menus), and older or foreign spellings still accepted on input (`aliases`). Names are matched
 * case-insensitively against id, label and aliases, so `--scheduler "Euler a"`, `euler-a` and
 * `EULER_A` all mean `euler_a`.
 *
 * Adding a sampler = one row here + one class in src/sidecar/schedulers (whose factory table is keyed
 * by `SamplerId`, so the compiler asks for the class) + the settings enum in package.json (a unit test
 * compares it with this table).
 */

export interface SamplerInfo {
  /** Stable id: protocol, settings, CLI output, model_index.json "defaults". */
  readonly id: string;
  /** A1111's name, written into the PNG `parameters` chunk and shown in menus. */
  readonly label: string;
  /** Other spellings accepted on input (earlier CLI names); matched case-insensitively like id and label. */
  readonly aliases: readonly string[];
  /** One line for the settings' enumDescriptions: what it is and when to pick it. */
  readonly description: string;
}

export const SAMPLERS = [
  { id: 'ddim', label: 'DDIM', aliases: [], description: 'DDIM (Song et al. 2021): deterministic; what the embedded models were distilled with' },
  { id: 'ddpm', label: 'DDPM', aliases: [], description: 'DDPM (Ho et al. 2020): fresh noise every step; needs many steps' },
  { id: 'pndm', label: 'PLMS', aliases: ['pndm', 'plms'], description: 'PLMS (Liu et al. 2022, PNDM with skip_prk_steps): Stable Diffusion 1.x\'s shipped scheduler; deterministic' },
  { id: 'euler', label: 'Euler', aliases: [], description: 'Euler (Karras et al. 2022): deterministic, first order' },
  { id: 'euler_karras', label: 'Euler Karras', aliases: ['euler-karras'], description: 'Euler on Karras et al.\'s noise levels' },
  { id: 'euler_a', label: 'Euler a', aliases: ['euler-a', 'euler-ancestral'], description: 'Euler ancestral: fresh noise every step; images keep changing with the step count' },
  { id: 'lms', label: 'LMS', aliases: ['lms karras', 'k_lms'], description: 'Linear multistep (order 4) on the sigma ODE (k-diffusion\'s LMS); deterministic' },
  { id: 'heun', label: 'Heun', aliases: ['heun karras'], description: 'Heun (Karras et al. 2022): second order, two UNet runs per step' },
  { id: 'dpmpp_2m', label: 'DPM++ 2M', aliases: ['dpm++2m', 'dpm++'], description: 'DPM-Solver++ 2M (Lu et al. 2022): deterministic, second order; good in 20 steps' },
  { id: 'dpmpp_2m_karras', label: 'DPM++ 2M Karras', aliases: ['dpm++2m-karras'], description: 'DPM-Solver++ 2M on Karras et al.\'s noise levels: often better at few steps' },
  { id: 'dpmpp_2m_sde', label: 'DPM++ 2M SDE', aliases: ['dpm++2m-sde', 'dpm++ 2m sde karras'], description: 'SDE-DPM-Solver++ 2M (Lu et al. 2022, section 5): fresh noise every step, second order' },
  { id: 'unipc', label: 'UniPC', aliases: ['unipc karras'], description: 'UniPC (Zhao et al. 2023): predictor-corrector, good in 5-10 steps' },
  { id: 'lcm', label: 'LCM', aliases: [], description: 'Latent consistency models (Luo et al. 2023): only for LCM-distilled models, 2-8 steps' },
] as const satisfies readonly SamplerInfo[];

export type SamplerId = (typeof SAMPLERS)[number]['id'];
export const SAMPLER_IDS = SAMPLERS.map((s) => s.id) as [SamplerId, ...SamplerId[]];

/** Lower-cased id, label and alias -> row. */
const BY_NAME = new Map<string, (typeof SAMPLERS)[number]>(
  SAMPLERS.flatMap((s) => [s.id, s.label, ...s.aliases].map((n) => [n.toLowerCase(), s] as const)),
);

/** Every spelling accepted on input (ids, labels, aliases), in table order. */
export const SAMPLER_NAMES: readonly string[] = SAMPLERS.flatMap((s) => [s.id, s.label, ...s.aliases]);

/** The row a name (id, A1111 label or alias, any case, surrounding spaces ignored) means, if any. */
export function findSampler(name: string): (typeof SAMPLERS)[number] | undefined {
  return BY_NAME.get(name.trim().toLowerCase());
}

/** The message for a name that is not in the table; lists the ids, so a user can copy one. */
export function unknownSamplerMessage(name: string): string {
  return `unknown scheduler "${name}" (choose one of ${SAMPLER_IDS.join(', ')}, or an A1111 name such as "${samplerLabel('euler_a')}")`;
}

/** The id a name means; a RangeError naming the valid ids otherwise (the CLI prints it as is). */
export function parseSampler(name: string): SamplerId {
  const row = findSampler(name);
  if (!row) throw new RangeError(unknownSamplerMessage(name));
  return row.id;
}

/** A1111's name for an id (what goes into the PNG's `Sampler:` field). */
export function samplerLabel(id: SamplerId): string {
  return SAMPLERS.find((s) => s.id === id)!.label;
}

/**
 * What a generation uses when neither the request nor the model folder decides (the model decides
 * first: model_index.json "defaults", else distill.json; see docs/GENERATION.md). 20 steps of
 * DPM++ 2M at guidance 7.5 are diffusers' usual Stable Diffusion settings.
 */
export const GENERATION_DEFAULTS = {
  /** The embedded model (models/emoji-styles: 64x64, seven emoji styles and digits; docs/MODELS.md). */
  model: 'emoji-styles',
  steps: 20,
  guidanceScale: 7.5,
  scheduler: 'dpmpp_2m' as SamplerId,
  /** Images per request (seeds seed, seed + 1, ...). */
  count: 1,
  /** Images per UNet run: all of them, at most this many. */
  maxBatchSize: 8,
  /** Image-to-image: how much of the starting picture is repainted. */
  strength: 0.75,
  /** No step previews unless asked. */
  previewEvery: 0,
} as const;
