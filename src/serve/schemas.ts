/**
 * The API's schemas, written once with TypeBox: each is at once the request validator, the response serialiser,
 * the source of the OpenAPI document, and (through `Static`) the TypeScript type the browser app imports.
 * Keep the browser's imports `import type` so none of this code reaches the bundle.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ERROR_STATUS, type ErrorCode } from './errors.ts';

const Probability = Type.Number({ minimum: 0, maximum: 1 });
const Label = Type.Union([Type.Literal('NORMAL'), Type.Literal('PNEUMONIA')]);
const DataUrl = Type.String({
  description: 'A data: URL (data:image/png;base64,… or data:image/jpeg;base64,…).',
});

export const ModelRefSchema = Type.Object(
  { name: Type.String(), version: Type.String() },
  { title: 'ModelRef', description: 'Which model produced the answer.' },
);

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(Object.keys(ERROR_STATUS).map((code) => Type.Literal(code as ErrorCode))),
      message: Type.String(),
    }),
  },
  { title: 'Error', description: 'Every 4xx and 5xx answer has this shape.' },
);

const Flag = (description: string) =>
  Type.Optional(
    Type.Union([Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false')], {
      description,
    }),
  );

/** Query parameters of both predict routes. */
export const PredictQuerySchema = Type.Object(
  {
    heatmap: Flag('`1` to include a Grad-CAM overlay as a PNG data URL (slower).'),
    preview: Flag(
      '`1` to include the image itself as a grey JPEG data URL (longest side ≤ 768 px), for clients that ' +
        'cannot display DICOM.',
    ),
  },
  { additionalProperties: false },
);

/** True for a query flag set to `1` or `true`. */
export function isSet(flag: string | undefined): boolean {
  return flag === '1' || flag === 'true';
}

const CamSchema = Type.Object(
  {
    width: Type.Integer({ minimum: 1 }),
    height: Type.Integer({ minimum: 1 }),
    values: Type.Array(Type.Number({ minimum: 0, maximum: 1 }), {
      description: 'Row-major, width × height values in [0, 1].',
    }),
  },
  {
    title: 'GradCamMap',
    description:
      'The Grad-CAM map behind `heatmap`, on the model input grid (the whole image stretched to a square), ' +
      'scaled so the strongest cell of this image is 1. For clients that draw their own overlay.',
  },
);

const Reason = Type.String({
  description:
    'Why the file needs a person: the input gate\'s reason for a rejected file (e.g. "does not look like a ' +
    'chest X-ray: colour picture"), the error for a failed one.',
});

const scoredFields = {
  status: Type.Union([Type.Literal('scored'), Type.Literal('rejected')], {
    description:
      '`scored`: it passed the input gate and is labelled. `rejected`: the input gate refused it (it does not ' +
      'look like a chest X-ray the model can read); it has no label and needs a person.',
  }),
  reason: Type.Optional(Reason),
  probability: Type.Number({
    minimum: 0,
    maximum: 1,
    description:
      'Calibrated probability of pneumonia. A triage score, not a diagnosis. For a rejected file it is shown ' +
      'for transparency only and means nothing.',
  }),
  label: Type.Union([Type.Literal('NORMAL'), Type.Literal('PNEUMONIA'), Type.Null()], {
    description: 'PNEUMONIA when probability ≥ threshold, else NORMAL; null for a rejected file.',
  }),
  flagged: Type.Union([Type.Boolean(), Type.Null()], {
    description: 'probability ≥ threshold (read early); null for a rejected file.',
  }),
  threshold: Type.Number({ minimum: 0, maximum: 1, description: "The model's operating threshold." }),
  heatmap: Type.Optional(DataUrl),
  cam: Type.Optional(CamSchema),
  preview: Type.Optional(DataUrl),
  warnings: Type.Optional(Type.Array(Type.String())),
};

export const PredictResponseSchema = Type.Object(
  { ...scoredFields, model: ModelRefSchema },
  { title: 'PredictResponse' },
);

/** One file of a batch: scored, or an error for that file alone. */
export const BatchItemSchema = Type.Object(
  {
    name: Type.String({ description: 'The uploaded file name.' }),
    rank: Type.Integer({
      minimum: 1,
      description:
        '1 = read first. Files that need a person come first (rejected, then failed), then scored ones by ' +
        'probability.',
    }),
    status: Type.Union([Type.Literal('scored'), Type.Literal('rejected'), Type.Literal('failed')]),
    reason: Type.Optional(Reason),
    probability: Type.Optional(Probability),
    label: Type.Optional(Type.Union([Label, Type.Null()])),
    flagged: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    heatmap: Type.Optional(DataUrl),
    cam: Type.Optional(CamSchema),
    preview: Type.Optional(DataUrl),
    warnings: Type.Optional(Type.Array(Type.String())),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  },
  { title: 'BatchItem' },
);

export const BatchResponseSchema = Type.Object(
  {
    model: ModelRefSchema,
    threshold: Probability,
    results: Type.Array(BatchItemSchema, { description: 'In worklist order (rank 1 first).' }),
  },
  { title: 'BatchResponse' },
);

const Bound = Type.Union([Type.Number(), Type.Null()]);
// An array of two, not Type.Tuple: fast-json-stringify (Fastify's response serialiser) rejects every tuple nested
// in a record ("Item at 0 does not match schema definition"), which made GET /api/v1/model answer 500 for any
// model with a shift-suite record.
const IntervalSchema = Type.Array(Bound, {
  minItems: 2,
  maxItems: 2,
  description: '[lower, upper] 95% interval',
});

export const EvaluationSchema = Type.Object(
  {
    kind: Type.Union([
      Type.Literal('validation'),
      Type.Literal('shift'),
      Type.Literal('external'),
      Type.Literal('site-calibration'),
    ]),
    name: Type.String(),
    createdAt: Type.String(),
    n: Type.Integer(),
    data: Type.Optional(
      Type.Object({
        count: Type.Integer(),
        sha256: Type.String(),
        classCounts: Type.Record(Type.String(), Type.Integer()),
      }),
    ),
    metrics: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The metrics.json block at the stored threshold, with ci95 and ciMethod.',
    }),
    perShift: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object({
          description: Type.Optional(Type.String()),
          n: Type.Integer(),
          rocAuc: Type.Union([Type.Number(), Type.Null()]),
          sensitivity: Type.Union([Type.Number(), Type.Null()]),
          specificity: Type.Union([Type.Number(), Type.Null()]),
          ece: Type.Union([Type.Number(), Type.Null()]),
          ci95: Type.Record(Type.String(), IntervalSchema),
        }),
      ),
    ),
    command: Type.Optional(Type.String()),
    note: Type.Optional(Type.String()),
  },
  { title: 'Evaluation' },
);
export type Evaluation = Static<typeof EvaluationSchema>;

export const ModelInfoSchema = Type.Object(
  {
    name: Type.String(),
    version: Type.String(),
    architecture: Type.String(),
    createdAt: Type.String(),
    imageSize: Type.Integer({ description: 'Square input side in pixels.' }),
    classNames: Type.Array(Type.String()),
    positiveClass: Type.String(),
    threshold: Probability,
    thresholdRule: Type.String({ description: 'How the operating threshold was chosen.' }),
    calibration: Type.Object({
      method: Type.Union([Type.Literal('temperature'), Type.Literal('platt'), Type.Literal('none')]),
      temperature: Type.Optional(Type.Number({ description: 'Temperature scaling: p = σ(logit / T).' })),
      a: Type.Optional(Type.Number({ description: 'Platt scaling: p = σ(a · logit + b).' })),
      b: Type.Optional(Type.Number()),
      description: Type.String({ description: 'The calibration in words.' }),
    }),
    trainingImages: Type.Integer(),
    validationImages: Type.Optional(Type.Integer()),
    metrics: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'Validation metrics at the threshold.' }),
    ),
    evaluations: Type.Array(EvaluationSchema, {
      description:
        'Every measurement of the model (validation, shift suite, external evaluations, site calibration), ' +
        'each with n and 95% intervals. Older models: their validation metrics as one record.',
    }),
    recalibration: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'Set when `cxr calibrate` made this model: what was refitted, on how many images, from which model.',
      }),
    ),
    localCheckWarning: Type.String({
      description:
        "The plain sentence that performance on another hospital's images is lower and must be checked.",
    }),
    modelCard: Type.Union([Type.String(), Type.Null()], { description: 'MODEL_CARD.md as Markdown.' }),
  },
  { title: 'ModelInfo' },
);

export const HealthSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('ok'), Type.Literal('shutting-down')]),
    model: ModelRefSchema,
    queue: Type.Object({
      waiting: Type.Integer(),
      running: Type.Integer(),
      capacity: Type.Integer(),
      completed: Type.Integer(),
      rejected: Type.Integer(),
      msPerImage: Type.Number(),
    }),
    uptimeSeconds: Type.Number(),
  },
  { title: 'Health' },
);

export const SampleListSchema = Type.Object(
  {
    samples: Type.Array(
      Type.Object({
        name: Type.String(),
        url: Type.String(),
        folder: Type.String({ description: 'The class folder the image came from in the source dataset.' }),
      }),
    ),
  },
  { title: 'SampleList' },
);

/** Error responses a route documents, by status. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorSchema]));
}

export type ModelRef = Static<typeof ModelRefSchema>;
export type ErrorResponse = Static<typeof ErrorSchema>;
export type PredictQuery = Static<typeof PredictQuerySchema>;
export type PredictResponse = Static<typeof PredictResponseSchema>;
export type BatchItem = Static<typeof BatchItemSchema>;
export type BatchResponse = Static<typeof BatchResponseSchema>;
export type ModelInfo = Static<typeof ModelInfoSchema>;
export type Health = Static<typeof HealthSchema>;
export type GradCamMap = Static<typeof CamSchema>;
export type SampleList = Static<typeof SampleListSchema>;
