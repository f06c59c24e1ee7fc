/** Worklist formatting: CSV quoting, JSON rows, heatmap file names. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { csvField, formatCsv, formatJson, heatmapFileName, toRows } from '../../src/predict/output.ts';
import type { PredictResult } from '../../src/predict/types.ts';

const context = { threshold: 0.5, model: 'default 0.1.0' };

const results: PredictResult[] = [
  {
    name: 'scans/a, "quoted".jpeg',
    status: 'scored',
    probability: 0.91234567,
    label: 'PNEUMONIA',
    rank: 1,
  },
  {
    name: 'scans/b.dcm',
    status: 'scored',
    probability: 0.1,
    label: 'NORMAL',
    rank: 2,
    warnings: ['multi-frame DICOM: using frame 1 of 3'],
  },
  {
    name: 'scans/c\nd.png',
    status: 'failed',
    reason: 'corrupt or truncated PNG: bad, data',
    rank: 3,
    error: { code: 'corrupt', message: 'corrupt or truncated PNG: bad, data' },
  },
  {
    name: 'cat.jpeg',
    status: 'rejected',
    reason: 'does not look like a chest X-ray: colour picture (colourfulness 48, X-rays are grey)',
    probability: 0.99,
    // A caller that labelled it anyway: the row must still carry no label and no flag.
    label: 'PNEUMONIA',
    rank: 4,
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
      'path,status,probability,label,flag,rank,threshold,model,reason,error\n' +
        '"scans/a, ""quoted"".jpeg",scored,0.912346,PNEUMONIA,Flagged,1,0.5,default 0.1.0,,\n' +
        'scans/b.dcm,scored,0.100000,NORMAL,Not flagged,2,0.5,default 0.1.0,,\n' +
        '"scans/c\nd.png",failed,,,,3,0.5,default 0.1.0,"corrupt or truncated PNG: bad, data","corrupt: corrupt or truncated PNG: bad, data"\n' +
        'cat.jpeg,rejected,0.990000,,,4,0.5,default 0.1.0,"does not look like a chest X-ray: colour picture (colourfulness 48, X-rays are grey)",\n',
    );
  });

  test('the heatmap column appears only when heatmaps were written', () => {
    const csv = formatCsv(toRows(results, context, new Map([['scans/b.dcm', 'out/b.gradcam.png']])), {
      heatmaps: true,
    });
    const lines = csv.split('\n');
    assert.equal(lines[0], 'path,status,probability,label,flag,rank,threshold,model,heatmap,reason,error');
    assert.equal(
      lines[2],
      'scans/b.dcm,scored,0.100000,NORMAL,Not flagged,2,0.5,default 0.1.0,out/b.gradcam.png,,',
    );
  });

  test('JSON rows carry nulls for what a failed input lacks, and warnings', () => {
    const rows = JSON.parse(formatJson(toRows(results, context)));
    assert.deepEqual(rows[2], {
      path: 'scans/c\nd.png',
      status: 'failed',
      probability: null,
      label: null,
      flagged: null,
      rank: 3,
      threshold: 0.5,
      model: 'default 0.1.0',
      reason: 'corrupt or truncated PNG: bad, data',
      error: { code: 'corrupt', message: 'corrupt or truncated PNG: bad, data' },
    });
    // Rejected: the reason, the probability for transparency, never a label or a flag.
    assert.equal(rows[3].status, 'rejected');
    assert.equal(rows[3].label, null);
    assert.equal(rows[3].flagged, null);
    assert.equal(rows[3].probability, 0.99);
    assert.match(rows[3].reason, /^does not look like a chest X-ray: colour picture/);
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
