/**
 * Import rules (`npm run check:imports`, part of `npm run lint`): no import cycles anywhere, and the
 * sidecar's layers depend downwards only. From the bottom:
 *
 *   protocol/                 shared by the extension and the sidecar, imports neither
 *   graph/  io/  schedulers/  building blocks (graph/: builder, autodiff, ONNX I/O)
 *   runtime/                  ONNX Runtime: session options, the session cache, execution providers
 *   nn/  train/               models and training on top of graph/ (and runtime/'s sessions)
 *   pipelines/                text-to-image, Imagic, distillation, evaluation
 *   jobs/                     a pipeline as a protocol job: contract, one handler per kind, registry,
 *                             the one error mapping
 *   server/  cli/             the process: WebSocket server and job worker thread, command line
 *
 * A rule names what a folder must NOT import; a new folder is free until a rule names it.
 */
const SIDECAR = '^src/sidecar/';
const layer = (name) => `${SIDECAR}${name}/`;
const anyOf = (...names) => `${SIDECAR}(${names.join('|')})/`;

/** folder -> the folders above it, which it must not import. */
const LAYERS = {
  graph: ['runtime', 'nn', 'train', 'pipelines', 'jobs', 'server', 'cli'],
  io: ['runtime', 'nn', 'train', 'pipelines', 'jobs', 'server', 'cli'],
  schedulers: ['graph', 'runtime', 'nn', 'train', 'pipelines', 'jobs', 'server', 'cli'],
  nn: ['runtime', 'train', 'pipelines', 'jobs', 'server', 'cli'],
  runtime: ['train', 'pipelines', 'jobs', 'server', 'cli'],
  train: ['pipelines', 'jobs', 'server', 'cli'],
  pipelines: ['jobs', 'server', 'cli'],
  jobs: ['server', 'cli'],
  server: ['cli'],
};

const layerRules = Object.entries(LAYERS).map(([from, above]) => ({
  name: `${from}-not-above`,
  comment: `${from}/ is below ${above.join(', ')}: it must not import them`,
  severity: 'error',
  from: { path: layer(from) },
  to: { path: anyOf(...above) },
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
