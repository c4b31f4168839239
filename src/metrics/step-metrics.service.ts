import { Injectable } from '@nestjs/common';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REPLY_3BODY, REPLY_ERROR, STEP_OPERATIONS, STEP_TYPES } from '../protocol/index.js';
import type { StepReplyEvent } from '../transport/step-server.options.js';

/** Request latency buckets in seconds: sub-millisecond replies up to slow multi-second blocks. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
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
 * Recording is in-memory counter arithmetic only: it runs once per STEP request, i.e. per block.
 */
@Injectable()
export class StepMetrics {
  /** The registry GET /metrics renders. */
  readonly registry = new Registry();
  private readonly connectionsOpen = new Gauge({
    name: 'stepd_connections_open',
    help: 'Open STEP connections.',
    registers: [this.registry],
  });
  private readonly requests = new Counter({
    name: 'stepd_requests_total',
    help: 'STEP requests answered, by type, operation and reply status.',
    labelNames: ['type', 'operation', 'status'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'stepd_request_duration_seconds',
    help: 'Time from dequeuing a STEP request to its reply being ready, by type and operation.',
    labelNames: ['type', 'operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly bytesReceived = new Counter({
    name: 'stepd_binary_bytes_received_total',
    help: 'Bytes of binary sections (file blocks) received in STEP requests.',
    registers: [this.registry],
  });
  private readonly bytesSent = new Counter({
    name: 'stepd_binary_bytes_sent_total',
    help: 'Bytes of binary sections (file blocks) sent in STEP replies.',
    registers: [this.registry],
  });

  constructor(@InjectStepConfig() config: StepConfig) {
    // Every series (stepd's and Node's) names the instance it came from: several instances behind
    // one balancer are scraped separately. Added when rendering, never per request. Prometheus
    // keeps a target's own `instance` label and renames this one `exported_instance` unless the
    // scrape job sets honor_labels: true.
    this.registry.setDefaultLabels({ instance: config.instance.id });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Records the number of open STEP connections. */
  setOpenConnections(open: number): void {
    this.connectionsOpen.set(open);
  }

  /** Records one answered STEP request. */
  recordReply(event: StepReplyEvent): void {
    const type = bounded(event.type, STEP_TYPES);
    const operation = bounded(event.operation, STEP_OPERATIONS);
    this.requests.inc({ type, operation, status: event.status });
    this.latency.observe({ type, operation }, event.durationMs / 1000);
    if (event.bytesIn > 0) this.bytesReceived.inc(event.bytesIn);
    if (event.bytesOut > 0) this.bytesSent.inc(event.bytesOut);
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of render()'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
