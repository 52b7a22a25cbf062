/**
 * Import rules (`npm run check:imports`, part of `npm run lint`): no import cycles anywhere, and the
 * sidecar's layers depend downwards only. From the bottom:
 *
 *   protocol/                 shared by the extension and the sidecar, imports neither
 *   graph/  io/  schedulers/  building blocks
 *   nn/  train/               on top of graph/
 *   pipelines/                text-to-image, Imagic, distillation, evaluation
 *   jobs/                     a pipeline as a protocol job: contract, one handler per kind, registry,
 *                             the one error mapping
 *   runtime/  server/  cli/   the process: worker thread, WebSocket server, command line
 *
 * (runtime/ also holds ONNX Runtime sessions and providers, which pipelines use: see PENDING.)
 * A rule names what a folder must NOT import; a new folder is free until a rule names it.
 */
const SIDECAR = '^src/sidecar/';
const layer = (name) => `${SIDECAR}${name}/`;
const anyOf = (...names) => `${SIDECAR}(${names.join('|')})/`;

/** folder -> the folders above it, which it must not import. */
const LAYERS = {
  graph: ['train', 'pipelines', 'jobs', 'runtime', 'server', 'cli'],
  train: ['pipelines', 'jobs', 'runtime', 'server', 'cli'],
  io: ['pipelines', 'jobs', 'runtime', 'server', 'cli'],
  pipelines: ['jobs', 'runtime', 'server', 'cli'],
  jobs: ['runtime', 'server', 'cli'],
  runtime: ['server', 'cli'],
  server: ['cli'],
};

/**
 * PENDING: imports a rule forbids that are still in the code, each with the work that removes it. The
 * rule holds for everything else; delete the entry when that work is merged.
 */
const PENDING = {
  // pipelines/model-sessions.ts and pipelines/eval/evaluate.ts open models through runtime/sessions.ts
  // (the session cache), which sits in runtime/ beside the worker thread that runs the jobs. Once the
  // session code has a folder of its own below pipelines/ (the sessions work), drop this line.
  pipelines: '^src/sidecar/runtime/sessions\\.ts$',
};

const layerRules = Object.entries(LAYERS).map(([from, above]) => ({
  name: `${from}-not-above`,
  comment: `${from}/ is below ${above.join(', ')}: it must not import them`,
  severity: 'error',
  from: { path: layer(from) },
  to: { path: anyOf(...above), ...(PENDING[from] ? { pathNot: PENDING[from] } : {}) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: split the shared part (types, contracts) into its own module',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'protocol-stands-alone',
      comment: 'protocol/ is shared by the extension and the sidecar: it imports neither',
      severity: 'error',
      from: { path: '^src/protocol/' },
      to: { path: '^src/(extension|sidecar)/' },
    },
    {
      name: 'extension-not-sidecar',
      comment: 'the extension talks to the sidecar through protocol/ only, never its internals',
      severity: 'error',
      from: { path: '^src/extension/' },
      to: { path: SIDECAR },
    },
    {
      name: 'sidecar-not-extension',
      comment: 'the sidecar runs without VS Code: it never imports the extension or the webviews',
      severity: 'error',
      from: { path: SIDECAR },
      to: { path: '^(src/extension|webview-ui)/' },
    },
    {
      name: 'webview-not-sidecar',
      comment: 'webviews talk only to the extension (postMessage)',
      severity: 'error',
      from: { path: '^webview-ui/' },
      to: { path: '^src/sidecar/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|models)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
