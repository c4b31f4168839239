import { Injectable } from '@nestjs/common';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { REPLY_3BODY, REPLY_ERROR, STEP_OPERATIONS, STEP_TYPES } from '../protocol/index.js';
import type { StepReplyEvent } from '../transport/step-server.options.js';
import { ReplyTally } from './reply-tally.js';

/** Request latency buckets in seconds: sub-millisecond replies up to slow multi-second blocks. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LATENCY_METRIC = 'stepd_request_duration_seconds';
const LATENCY_HELP = 'Time from dequeuing a STEP request to its reply being ready, by type and operation.';
/** Label values a reply may carry that are not operations/types of the protocol enum. */
const REPLY_ONLY = new Set([REPLY_ERROR, REPLY_3BODY, 'DANGEROUS']);
/** Label used for anything a client made up: a label value must never be client-controlled. */
const OTHER = 'OTHER';

function bounded(value: string, known: ReadonlySet<string>): string {
  return known.has(value) || REPLY_ONLY.has(value) ? value : OTHER;
}

/**
 * stepd's Prometheus metrics, in a registry of its own (not prom-client's global one) so that
 * several apps in one process (the e2e suites) never share or double-register metrics.
 * Recording runs once per STEP request, i.e. per block: plain counting in a ReplyTally and two
 * sums, copied into the exposition when Prometheus scrapes.
 */
@Injectable()
export class StepMetrics {
  /** The registry GET /metrics renders (plus the latency histogram, see render()). */
  readonly registry = new Registry();
  private readonly tally = new ReplyTally(LATENCY_BUCKETS);
  private readonly defaultLabels: Record<string, string>;
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly connectionsOpen = new Gauge({
    name: 'stepd_connections_open',
    help: 'Open STEP connections.',
    registers: [this.registry],
  });

  constructor(@InjectStepConfig() config: StepConfig) {
    // Every series (stepd's and Node's) names the instance it came from: several instances behind
    // one balancer are scraped separately. Added when rendering, never per request. Prometheus
    // keeps a target's own `instance` label and renames this one `exported_instance` unless the
    // scrape job sets honor_labels: true.
    this.defaultLabels = { instance: config.instance.id };
    this.registry.setDefaultLabels(this.defaultLabels);
    collectDefaultMetrics({ register: this.registry });
    const tally = this.tally;
    const registers = [this.registry];
    // A counter has no set(): a scrape resets it and adds the totals kept since start.
    new Counter({
      name: 'stepd_requests_total',
      help: 'STEP requests answered, by type, operation and reply status.',
      labelNames: ['type', 'operation', 'status'] as const,
      registers,
      collect() {
        this.reset();
        for (const { type, operation, statuses } of tally.series()) {
          for (const [status, count] of statuses) this.inc({ type, operation, status }, count);
        }
      },
    });
    const totals = { received: () => this.bytesIn, sent: () => this.bytesOut };
    new Counter({
      name: 'stepd_binary_bytes_received_total',
      help: 'Bytes of binary sections (file blocks) received in STEP requests.',
      registers,
      collect() {
        this.reset();
        this.inc(totals.received());
      },
    });
    new Counter({
      name: 'stepd_binary_bytes_sent_total',
      help: 'Bytes of binary sections (file blocks) sent in STEP replies.',
      registers,
      collect() {
        this.reset();
        this.inc(totals.sent());
      },
    });
  }

  /** Records the number of open STEP connections. */
  setOpenConnections(open: number): void {
    this.connectionsOpen.set(open);
  }

  /** Records one answered STEP request. */
  recordReply(event: StepReplyEvent): void {
    this.tally.record(bounded(event.type, STEP_TYPES), bounded(event.operation, STEP_OPERATIONS), event.status, event.durationMs / 1000);
    this.bytesIn += event.bytesIn;
    this.bytesOut += event.bytesOut;
  }

  /** The Prometheus text exposition of every metric. */
  async render(): Promise<string> {
    const text = await this.registry.metrics();
    return `${text}\n${this.tally.renderHistogram(LATENCY_METRIC, LATENCY_HELP, this.defaultLabels)}\n`;
  }

  /** Content type of render()'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
