/**
 * The architecture of src/, written as rules that `npm test` checks (`npm run depcheck`). See
 * docs/architecture.md for what each folder is for.
 *
 * Floors, lowest first: core → data → dicomweb → engine → metrics → model → explain → gate → report → predict.
 * A floor imports only from itself and the floors below it. `predict` is the top floor because it is the one
 * scoring service (decode → gate → infer → rows) that predict, serve, evaluate, pacs and queue all use. Above the floors sit the workflows (one folder per command or service),
 * which use the floors but never each other; then serve (the HTTP server), which may use the workflows; then
 * cli, the thin command layer on top. web is the browser app. Type-only imports count as imports: a type that
 * two floors share belongs on the lower one.
 */

/** The floors in order, lowest first. */
const FLOORS = ['core', 'data', 'dicomweb', 'engine', 'metrics', 'model', 'explain', 'gate', 'report', 'predict'];
/** Folders of commands and services: they import floors, never each other, serve or cli. */
const WORKFLOWS = ['train', 'evaluate', 'explore', 'bench', 'calibrate', 'pacs', 'queue'];
/** Everything above the floors. */
const ABOVE_FLOORS = [...WORKFLOWS, 'serve', 'cli', 'web'];

/**
 * Floor modules the browser app may import: they use no Node built-ins, so the app can score on the device
 * with the server's own code (src/web/device.ts).
 */
const BROWSER_SAFE = [
  '^src/core/(types|progress|format|random)\\.ts$',
  // The pure metric library (intervals and their formatting, the metrics block's types the metadata uses).
  '^src/metrics/[^/]+\\.ts$',
  '^src/model/(infer|metadata|gate-config|tta)\\.ts$',
  '^src/data/(resample|decode-error|colour|appearance)\\.ts$',
  '^src/data/decoders/(dicom|dicom-pixels|transfer-syntaxes|jpeg-lossless|decoder)\\.ts$',
  '^src/explain/(gradcam|colormap|upsample)\\.ts$',
  '^src/predict/csv\\.ts$',
  '^src/gate/(checks|features|mahalanobis|packed|gate|learned|appearance)\\.ts$',
];

const folders = (names) => `^src/(${names.join('|')})/`;

/** One rule per floor: nothing above it. */
const floorRules = FLOORS.map((floor, i) => ({
  name: `floor-${floor}`,
  comment:
    `src/${floor} is a floor: it may import ${FLOORS.slice(0, i + 1).join(', ')} only, ` +
    'never a higher floor, a workflow, serve or cli.',
  severity: 'error',
  from: { path: folders([floor]) },
  to: { path: folders([...FLOORS.slice(i + 1), ...ABOVE_FLOORS]) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, types included: a cycle means two modules are really one, or a piece belongs lower.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    ...floorRules,
    {
      name: 'workflows-are-independent',
      comment:
        'A workflow never imports another workflow, serve or cli. When two need the same piece, move it down ' +
        'to a floor instead.',
      severity: 'error',
      from: { path: folders(WORKFLOWS) },
      to: { path: folders([...WORKFLOWS, 'serve', 'cli', 'web']), pathNot: '^src/$1/' },
    },
    {
      name: 'serve-not-cli',
      comment: 'The server is started by the CLI, never the other way round.',
      severity: 'error',
      from: { path: '^src/serve/' },
      to: { path: folders(['cli', 'web']) },
    },
    {
      name: 'web-is-a-browser-app',
      comment:
        'The browser app imports only itself, the API schemas (types) and the browser-safe floor modules listed ' +
        'in BROWSER_SAFE (what on-device scoring shares with the server).',
      severity: 'error',
      from: { path: '^src/web/' },
      to: { path: '^src/', pathNot: ['^src/web/', '^src/serve/schemas\\.ts$', ...BROWSER_SAFE] },
    },
    {
      name: 'browser-safe-modules',
      comment:
        'The modules the browser runs (scorer, decoders, resize, Grad-CAM, row CSV) import no Node built-ins ' +
        '(fs, path, zlib, ...) and nothing outside the browser-safe list.',
      severity: 'error',
      from: { path: BROWSER_SAFE },
      to: {
        dependencyTypes: ['core'],
      },
    },
    {
      name: 'browser-safe-stays-browser-safe',
      comment: 'A browser-safe module imports only other browser-safe modules from src/.',
      severity: 'error',
      from: { path: BROWSER_SAFE },
      to: { path: '^src/', pathNot: BROWSER_SAFE },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (they are where most upward imports hid).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
