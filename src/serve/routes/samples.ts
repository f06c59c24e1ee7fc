/**
 * The bundled sample X-rays (samples/<class folder>/<file>), so a new user can try the app without data of
 * their own. They come from the dataset's training split: the model may have seen them, so they show how the
 * app works, not how accurate it is.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.ts';
import { errorResponses, type SampleList, SampleListSchema } from '../schemas.ts';

export interface SampleRoutesOptions {
  /** Folder holding one sub-folder per class; a missing folder just lists no samples. */
  dir: string;
}

const SAFE_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
const CONTENT_TYPES: Record<string, string> = {
  '.jpeg': 'image/jpeg',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.dcm': 'application/dicom',
};

async function listSamples(dir: string): Promise<SampleList['samples']> {
  const folders = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const samples: SampleList['samples'] = [];
  for (const folder of folders
    .filter((entry) => entry.isDirectory())
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const files = await readdir(path.join(dir, folder.name));
    for (const file of files.sort()) {
      if (!(path.extname(file).toLowerCase() in CONTENT_TYPES)) continue;
      samples.push({ name: file, folder: folder.name, url: `/samples/${folder.name}/${file}` });
    }
  }
  return samples;
}

export default async function sampleRoutes(
  app: FastifyInstance,
  options: SampleRoutesOptions,
): Promise<void> {
  app.get(
    '/api/v1/samples',
    {
      schema: {
        summary: 'Bundled sample X-rays to try the app with',
        tags: ['samples'],
        response: { 200: SampleListSchema },
      },
    },
    async (): Promise<SampleList> => ({ samples: await listSamples(options.dir) }),
  );

  app.get<{ Params: { folder: string; file: string } }>(
    '/samples/:folder/:file',
    {
      schema: {
        summary: 'One bundled sample image',
        tags: ['samples'],
        params: Type.Object({
          folder: Type.String({ pattern: SAFE_NAME }),
          file: Type.String({ pattern: SAFE_NAME }),
        }),
        response: errorResponses(400, 404),
      },
    },
    async (request, reply) => {
      const { folder, file } = request.params;
      const type = CONTENT_TYPES[path.extname(file).toLowerCase()];
      const bytes = type ? await readFile(path.join(options.dir, folder, file)).catch(() => null) : null;
      if (!bytes) throw new ApiError('not-found', `no sample ${folder}/${file}`);
      return reply.type(type).header('cache-control', 'public, max-age=3600').send(bytes);
    },
  );
}
