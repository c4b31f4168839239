import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { baselineUpload } from './baseline-client.js';
import type { BenchOptions, LinkSpec } from './bench-options.js';
import type { BenchServer } from './bench-servers.js';
import { PacingProxy } from './pacing-proxy.js';
import { writeRandomFile } from './random-file.js';
import type { TransferResult } from '../src/client/transfer.types.js';
import { stepdDownload, stepdUpload, type StepdTarget } from './stepd-engine.js';
import { stepdDelete } from './stepd-legacy.js';

/** What one shaped link measured: raw TCP against stepd over the same link, MB/s (10^6 bytes). */
export interface ShapedLinkResult {
  link: string;
  bytes: number;
  raw_mbps: number;
  upload_mbps: number;
  download_mbps: number;
  upload_vs_raw: number;
  download_vs_raw: number;
  /** What the adaptive client chose on this link. */
  upload_chosen: ChosenTuning;
  download_chosen: ChosenTuning;
}

/** The block size, requests in flight and connections a transfer ended up using. */
export type ChosenTuning = Pick<TransferResult, 'blockSize' | 'inFlight' | 'connections'>;

/** Servers the shaped case reuses from the loopback cases. */
export interface ShapedLinkSetup {
  options: BenchOptions;
  root: string;
  baseline: BenchServer;
  stepd: BenchServer;
  user: string;
}

/**
 * The `shaped` case: for each link, a pacing proxy (bandwidth per direction shared by
 * all connections, added latency) in front of the raw-TCP baseline server and in front of stepd;
 * the raw pipeline (4 MiB x 2 x 4, no timers) gives the link's practical limit, then stepd's
 * default client uploads and downloads the same file through it. One run each: at 2 Mbit/s a
 * 16 MiB file takes over a minute per transfer.
 */
export async function runShapedLinks(setup: ShapedLinkSetup, log: (line: string) => void): Promise<ShapedLinkResult[]> {
  const { options, root } = setup;
  const file = join(root, 'shaped.bin');
  await writeRandomFile(file, options.linkSize);
  const results: ShapedLinkResult[] = [];
  for (const link of options.links) {
    results.push(await runLink(setup, link, file));
    const r = results[results.length - 1];
    log(
      `shaped ${link.label}: raw ${r.raw_mbps.toFixed(3)} MB/s, upload ${r.upload_vs_raw.toFixed(2)}x, download ${r.download_vs_raw.toFixed(2)}x`,
    );
  }
  await rm(file);
  return results;
}

async function runLink(setup: ShapedLinkSetup, link: LinkSpec, file: string): Promise<ShapedLinkResult> {
  const { options, root } = setup;
  const bytes = options.linkSize;
  const through = async (server: BenchServer) => {
    const proxy = new PacingProxy({ targetPort: server.port, bitsPerSecond: link.bitsPerSecond, addedRttMs: link.addedRttMs });
    return { proxy, port: await proxy.start() };
  };
  const timed = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const value = await work();
    return [value, (performance.now() - started) / 1000];
  };
  const raw = await through(setup.baseline);
  const stepd = await through(setup.stepd);
  try {
    const [, rawSeconds] = await timed(() =>
      baselineUpload({ port: raw.port, file, transferId: 1000, blockSize: 4 * 1024 * 1024, connections: 4, window: 2 }),
    );
    await rm(join(setup.baseline.dataDir, 'baseline-1000'));
    const target: StepdTarget = { host: '127.0.0.1', port: stepd.port, user: setup.user };
    const key = `bench-shaped-${link.label}`;
    const [up, upSeconds] = await timed(() => stepdUpload(target, file, key));
    const output = join(root, 'shaped-download.bin');
    const [down, downSeconds] = await timed(() => stepdDownload(target, key, output));
    await rm(output);
    await stepdDelete({ ...target, port: setup.stepd.port }, key);
    const mbps = (seconds: number) => bytes / seconds / 1e6;
    return {
      link: link.label,
      bytes,
      raw_mbps: mbps(rawSeconds),
      upload_mbps: mbps(upSeconds),
      download_mbps: mbps(downSeconds),
      upload_vs_raw: rawSeconds / upSeconds,
      download_vs_raw: rawSeconds / downSeconds,
      upload_chosen: chosenOf(up),
      download_chosen: chosenOf(down),
    };
  } finally {
    await raw.proxy.stop();
    await stepd.proxy.stop();
  }
}

function chosenOf({ blockSize, inFlight, connections }: TransferResult): ChosenTuning {
  return { blockSize, inFlight, connections };
}

/** The shaped links as a table. */
export function formatShapedTable(results: ShapedLinkResult[]): string {
  const kib = (n: number) => `${n / 1024} KiB`;
  const chosen = (c: ChosenTuning) => `${kib(c.blockSize)} x ${c.inFlight} x ${c.connections}`;
  const header = [
    'link (per direction)',
    'MiB',
    'raw TCP MB/s',
    'upload MB/s',
    'vs raw',
    'download MB/s',
    'vs raw',
    'upload chose',
    'download chose',
  ];
  const rows = results.map((r) => [
    r.link,
    String(r.bytes / 1024 ** 2),
    r.raw_mbps.toFixed(3),
    r.upload_mbps.toFixed(3),
    r.upload_vs_raw.toFixed(2),
    r.download_mbps.toFixed(3),
    r.download_vs_raw.toFixed(2),
    chosen(r.upload_chosen),
    chosen(r.download_chosen),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [
    'shaped links (bench/pacing-proxy; "chose": final block size x requests in flight x connections)',
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}
