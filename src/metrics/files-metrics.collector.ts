import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { StorageOperationsService } from '../files/storage-operations.service.js';
import { StepMetrics } from './step-metrics.service.js';

/**
 * Upload and storage metrics. They are read from the FilesModule when Prometheus scrapes (the
 * storage totals from the database, whichever engine), so nothing is added to the upload path itself.
 */
@Injectable()
export class FilesMetricsCollector {
  constructor(metrics: StepMetrics, files: StorageOperationsService) {
    const registers = [metrics.registry];
    new Gauge({
      name: 'stepd_uploads_in_progress',
      help: 'Uploads planned and not yet complete.',
      registers,
      async collect() {
        this.set((await files.storageTotals()).inProgress);
      },
    });
    new Counter({
      name: 'stepd_uploads_completed_total',
      help: 'Uploads completed (MD5 computed, file moved into place) since start.',
      registers,
      collect() {
        // The FilesModule keeps the count; a scrape copies it (a counter has no set()).
        this.reset();
        this.inc(files.uploadStats().completed);
      },
    });
    new Counter({
      name: 'stepd_uploads_failed_total',
      help: 'Uploads that failed to complete since start.',
      registers,
      collect() {
        this.reset();
        this.inc(files.uploadStats().failed);
      },
    });
    new Gauge({
      name: 'stepd_storage_bytes_used',
      help: 'Bytes of complete files plus the reserved size of uploads in progress.',
      registers,
      async collect() {
        this.set((await files.storageTotals()).bytesUsed);
      },
    });
  }
}
