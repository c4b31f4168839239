import { Injectable, Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InstanceRegistry } from '../cluster/instance-registry.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';

/**
 * How long the volume checks may take: a hung network volume (NFS, CephFS) must make /health
 * answer "down", not hang the load balancer's probe.
 */
const VOLUME_CHECK_TIMEOUT_MS = 1_500;

/**
 * Ready only while STEP_DATA_DIR (the volume every instance shares) is writable by this process
 * and its file system has more than STEP_MIN_FREE_BYTES available.
 */
@Injectable()
export class DiskSpaceHealthIndicator {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly registry: InstanceRegistry,
  ) {}

  /**
   * Checks the free space of the data directory's file system under `key`. Only `detailed`
   * (the admin view) names the directory and the OS error: /health answers anyone who can reach
   * the HTTP port, and neither is theirs to know.
   */
  async isFree(key: string, detailed = false) {
    const indicator = this.indicators.check(key);
    const { dataDir, minFreeBytes } = this.config.storage;
    const where: { path?: string } = detailed ? { path: dataDir } : {};
    try {
      const { bavail, bsize } = await withinTimeout(
        (async () => {
          // A real write: permission bits say nothing about a read-only remount or a stale NFS handle.
          // One name per instance, so instances sharing the volume never remove each other's probe.
          const probe = join(dataDir, `.health-probe-${this.registry.self}`);
          await writeFile(probe, '');
          await rm(probe, { force: true });
          return statfs(dataDir);
        })(),
      );
      // bavail, not bfree: blocks reserved for root are not ours to fill.
      const freeBytes = bavail * bsize;
      const details: Record<string, unknown> = { ...where, writable: true, freeBytes, minFreeBytes };
      return freeBytes > minFreeBytes ? indicator.up(details) : indicator.down(details);
    } catch (err) {
      const message = (err as Error).message;
      if (!detailed) this.logger.warn(`disk check failed: ${message}`);
      return indicator.down(detailed ? { ...where, message } : { message: 'The data directory cannot be read.' });
    }
  }
}

/** `work`, or a rejection once VOLUME_CHECK_TIMEOUT_MS passed (the work itself cannot be cancelled). */
function withinTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer from the data directory within ${VOLUME_CHECK_TIMEOUT_MS} ms`)),
      VOLUME_CHECK_TIMEOUT_MS,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
