/** Worklist formatting: CSV quoting, JSON rows, heatmap file names. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { csvField, formatCsv, formatJson, heatmapFileName, toRows } from '../../src/predict/output.ts';
import type { PredictResult } from '../../src/predict/types.ts';

const context = { threshold: 0.5, model: 'default 0.1.0' };

const results: PredictResult[] = [
  { name: 'scans/a, "quoted".jpeg', probability: 0.91234567, label: 'PNEUMONIA', rank: 1 },
  {
    name: 'scans/b.dcm',
    probability: 0.1,
    label: 'NORMAL',
    rank: 2,
    warnings: ['multi-frame DICOM: using frame 1 of 3'],
  },
  {
    name: 'scans/c\nd.png',
    rank: 3,
    error: { code: 'corrupt', message: 'corrupt or truncated PNG: bad, data' },
  },
];

describe('worklist output', () => {
  test('CSV quotes commas, quotes and line breaks (RFC 4180)', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    const csv = formatCsv(toRows(results, context), { heatmaps: false });
    assert.equal(
      csv,
      'path,probability,label,flag,rank,threshold,model,error\n' +
        '"scans/a, ""quoted"".jpeg",0.912346,PNEUMONIA,Flagged,1,0.5,default 0.1.0,\n' +
        'scans/b.dcm,0.100000,NORMAL,Not flagged,2,0.5,default 0.1.0,\n' +
        '"scans/c\nd.png",,,,3,0.5,default 0.1.0,"corrupt: corrupt or truncated PNG: bad, data"\n',
    );
  });

  test('the heatmap column appears only when heatmaps were written', () => {
    const csv = formatCsv(toRows(results, context, new Map([['scans/b.dcm', 'out/b.gradcam.png']])), {
      heatmaps: true,
    });
    const lines = csv.split('\n');
    assert.equal(lines[0], 'path,probability,label,flag,rank,threshold,model,heatmap,error');
    assert.equal(lines[2], 'scans/b.dcm,0.100000,NORMAL,Not flagged,2,0.5,default 0.1.0,out/b.gradcam.png,');
  });

  test('JSON rows carry nulls for what a failed input lacks, and warnings', () => {
    const rows = JSON.parse(formatJson(toRows(results, context)));
    assert.deepEqual(rows[2], {
      path: 'scans/c\nd.png',
      probability: null,
      label: null,
      flagged: null,
      rank: 3,
      threshold: 0.5,
      model: 'default 0.1.0',
      error: { code: 'corrupt', message: 'corrupt or truncated PNG: bad, data' },
    });
    assert.deepEqual(rows[1].warnings, ['multi-frame DICOM: using frame 1 of 3']);
    assert.equal(rows[0].error, null);
    assert.equal(rows[0].flagged, true);
    assert.equal(rows[1].flagged, false);
  });

  test('heatmap names keep the base name and never collide', () => {
    const taken = new Set<string>();
    const first = heatmapFileName('x/IM-1.dcm', 'out', taken);
    const second = heatmapFileName('y/IM-1.jpeg', 'out', taken);
    const odd = heatmapFileName('z/we ird#name.png', 'out', taken);
    assert.deepEqual(
      [first, second, odd],
      [
        path.join('out', 'IM-1.gradcam.png'),
        path.join('out', 'IM-1-2.gradcam.png'),
        path.join('out', 'we_ird_name.gradcam.png'),
      ],
    );
  });
});
