/** The replies of one (type, operation) pair: counts by status and a latency histogram. */
export interface ReplySeries {
  readonly type: string;
  readonly operation: string;
  /** Replies by STEP status. */
  readonly statuses: Map<number, number>;
  /** Replies per latency bucket, not cumulative: slot i counts those <= bounds[i] and > bounds[i - 1]; the last slot, those above every bound. */
  readonly buckets: Float64Array;
  /** Sum of the latencies, in seconds. */
  sum: number;
  count: number;
}

/**
 * Every reply's status and latency, counted in plain numbers. prom-client's labelled counters and
 * histograms hash their label set into a string on every call: 1.2 us per reply in a warm loop
 * and about 3 us inside the server, where the shapes of the label objects vary. Here a reply is
 * two Map lookups on label values that are already known strings, and the text exposition is
 * written when Prometheus scrapes.
 *
 * The caller bounds the label values (never client-controlled), so the number of series is bounded too.
 */
export class ReplyTally {
  private readonly byType = new Map<string, Map<string, ReplySeries>>();

  /** `bounds`: the histogram's upper bounds in seconds, ascending. */
  constructor(readonly bounds: readonly number[]) {}

  record(type: string, operation: string, status: number, seconds: number): void {
    let byOperation = this.byType.get(type);
    if (byOperation === undefined) {
      byOperation = new Map();
      this.byType.set(type, byOperation);
    }
    let series = byOperation.get(operation);
    if (series === undefined) {
      series = { type, operation, statuses: new Map(), buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      byOperation.set(operation, series);
    }
    series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1);
    let slot = 0;
    while (slot < this.bounds.length && seconds > this.bounds[slot]) slot++;
    series.buckets[slot]++;
    series.sum += seconds;
    series.count++;
  }

  /** Every series recorded so far. */
  *series(): IterableIterator<ReplySeries> {
    for (const byOperation of this.byType.values()) yield* byOperation.values();
  }

  /**
   * The latency histogram in the Prometheus text format (as prom-client writes its own): HELP and
   * TYPE always, then per series the cumulative buckets, +Inf, _sum and _count. `labels` are added
   * to every sample (the instance).
   */
  renderHistogram(name: string, help: string, labels: Readonly<Record<string, string>>): string {
    const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} histogram`];
    const extra = Object.entries(labels)
      .map(([label, value]) => `,${label}="${escapeLabelValue(value)}"`)
      .join('');
    for (const series of this.series()) {
      const own = `type="${escapeLabelValue(series.type)}",operation="${escapeLabelValue(series.operation)}"${extra}`;
      let cumulative = 0;
      this.bounds.forEach((bound, slot) => {
        cumulative += series.buckets[slot];
        lines.push(`${name}_bucket{le="${bound}",${own}} ${cumulative}`);
      });
      lines.push(`${name}_bucket{le="+Inf",${own}} ${series.count}`);
      lines.push(`${name}_sum{${own}} ${series.sum}`);
      lines.push(`${name}_count{${own}} ${series.count}`);
    }
    return lines.join('\n');
  }
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string): string {
  return escapeHelp(value).replace(/"/g, '\\"');
}
