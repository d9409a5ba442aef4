import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelOfColumn, mapLabelColumns, sanitizeLabelName } from './labels-mapping.ts';

test('columns map to stream labels, structured metadata or nothing', () => {
  const cases: [string, ReturnType<typeof labelOfColumn>][] = [
    ['resource.job', { column: 'resource.job', label: 'job', kind: 'stream', unset: '' }],
    [
      'resource.service.name',
      { column: 'resource.service.name', label: 'service_name', kind: 'stream', unset: '' },
    ],
    [
      'resource.k8s.pod.name',
      { column: 'resource.k8s.pod.name', label: 'k8s_pod_name', kind: 'stream', unset: '' },
    ],
    ['resource.host.name', { column: 'resource.host.name', label: 'host_name', kind: 'metadata', unset: '' }],
    ['attr.pod', { column: 'attr.pod', label: 'pod', kind: 'metadata', unset: '' }],
    [
      'attr.http.status_code',
      { column: 'attr.http.status_code', label: 'http_status_code', kind: 'metadata', unset: '' },
    ],
    ['attr.code::str', { column: 'attr.code::str', label: 'code', kind: 'metadata', unset: '' }],
    [
      'severity_number',
      { column: 'severity_number', label: 'severity_number', kind: 'metadata', unset: '0' },
    ],
    ['scope.name', { column: 'scope.name', label: 'scope_name', kind: 'metadata', unset: '' }],
    ['body', null],
    ['_timestamp', null],
    ['observed_timestamp', null],
    ['_attributes', null],
  ];
  for (const [column, want] of cases) assert.deepEqual(labelOfColumn(column), want, column);
});

test('sanitized names are valid label names', () => {
  assert.equal(sanitizeLabelName('a.b-c/d'), 'a_b_c_d');
  assert.equal(sanitizeLabelName('1abc'), '_1abc');
  assert.equal(sanitizeLabelName('ü'), '_');
});

test('several columns of one label keep column order; a stream label wins over metadata', () => {
  const m = mapLabelColumns([
    '_timestamp',
    'body',
    'resource.service_name',
    'resource.service.name',
    'attr.job',
    'resource.job',
    'attr.x',
    'attr.x::int',
  ]);
  assert.deepEqual(
    [...m.stream],
    [
      ['service_name', ['resource.service_name', 'resource.service.name']],
      ['job', ['resource.job']],
    ],
  );
  assert.deepEqual([...m.metadata.keys()], ['x']);
  assert.deepEqual(
    m.metadata.get('x')!.map((c) => c.column),
    ['attr.x', 'attr.x::int'],
  );
});
