/**
 * The exemplars of a remote_write 1.0 or 2.0 body (the sample decoder in parse.ts only counts
 * them): per exemplar its series' labels, its own labels (`trace_id`…), value and time (ms).
 * v1: TimeSeries.exemplars = 3: Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
 * v2: Request.symbols = 4; TimeSeries.exemplars = 4: Exemplar { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp = 3; }
 */
import { ProtobufReader, WIRE_LEN } from '../../lib/protobuf-reader.ts';
import type { RemoteWriteLabel } from './parse.ts';

export interface DecodedExemplar {
  series: RemoteWriteLabel[];
  labels: RemoteWriteLabel[];
  value: number;
  timestampMs: number;
}

const dec = new TextDecoder();

function text(r: ProtobufReader, end: number): string {
  const e = r.lengthDelimited(end);
  const s = dec.decode(r.buf.subarray(r.pos, e));
  r.pos = e;
  return s;
}

function label(r: ProtobufReader, end: number): RemoteWriteLabel {
  const e = r.lengthDelimited(end);
  const l = { name: '', value: '' };
  while (r.pos < e) {
    const t = r.tag(e);
    if (t >>> 3 === 1 && (t & 7) === WIRE_LEN) l.name = text(r, e);
    else if (t >>> 3 === 2 && (t & 7) === WIRE_LEN) l.value = text(r, e);
    else r.skip(t, e);
  }
  return l;
}

/** uint32 refs, packed or not, resolved through the symbol table. */
function refs(r: ProtobufReader, t: number, end: number, symbols: string[], into: string[]): void {
  if ((t & 7) === WIRE_LEN) {
    const e = r.lengthDelimited(end);
    while (r.pos < e) into.push(symbols[r.varint(e)] ?? '');
  } else into.push(symbols[r.varint(end)] ?? '');
}

const pairs = (flat: string[]): RemoteWriteLabel[] => {
  const out: RemoteWriteLabel[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ name: flat[i]!, value: flat[i + 1]! });
  return out;
};

function exemplar(r: ProtobufReader, end: number, v2: boolean, symbols: string[]) {
  const e = r.lengthDelimited(end);
  const labels: RemoteWriteLabel[] = [];
  const flat: string[] = [];
  let value = 0;
  let timestampMs = 0;
  while (r.pos < e) {
    const t = r.tag(e);
    const f = t >>> 3;
    if (f === 1 && v2) refs(r, t, e, symbols, flat);
    else if (f === 1 && (t & 7) === WIRE_LEN) labels.push(label(r, e));
    else if (f === 2 && (t & 7) === 1) value = r.double(e);
    else if (f === 3 && (t & 7) === 0) timestampMs = Number(r.int64(e));
    else r.skip(t, e);
  }
  return { labels: v2 ? pairs(flat) : labels, value, timestampMs };
}

export function decodeExemplars(body: Uint8Array, v2: boolean): DecodedExemplar[] {
  const r = new ProtobufReader(body);
  const end = body.length;
  const symbols: string[] = [];
  const series: number[][] = [];
  while (r.pos < end) {
    const t = r.tag(end);
    const f = t >>> 3;
    if (v2 && f === 4 && (t & 7) === WIRE_LEN) symbols.push(text(r, end));
    else if (f === (v2 ? 5 : 1) && (t & 7) === WIRE_LEN) {
      const e = r.lengthDelimited(end);
      series.push([r.pos, e]);
      r.pos = e;
    } else r.skip(t, end);
  }
  const out: DecodedExemplar[] = [];
  for (const [start, e] of series) {
    r.pos = start!;
    const seriesLabels: RemoteWriteLabel[] = [];
    const flat: string[] = [];
    const found: ReturnType<typeof exemplar>[] = [];
    while (r.pos < e!) {
      const t = r.tag(e!);
      const f = t >>> 3;
      if (f === 1 && v2) refs(r, t, e!, symbols, flat);
      else if (f === 1 && (t & 7) === WIRE_LEN) seriesLabels.push(label(r, e!));
      else if (f === (v2 ? 4 : 3) && (t & 7) === WIRE_LEN) found.push(exemplar(r, e!, v2, symbols));
      else r.skip(t, e!);
    }
    const s = v2 ? pairs(flat) : seriesLabels;
    for (const x of found) out.push({ series: s, ...x });
  }
  return out;
}
