import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { DataSource } from 'typeorm';

/** How often the checkpoint thread copies the WAL into the database file. */
export const CHECKPOINT_INTERVAL_MS = 200;
/**
 * WAL pages after which the main connection checkpoints by itself after all: a checkpoint that
 * runs while commits keep coming never catches up with the last frame, so the WAL restarts only
 * after such a checkpoint (or an idle moment). Its copy is then the short tail since the thread's
 * last pass, once every this many pages instead of every 1000 (SQLite's default).
 */
export const BACKSTOP_CHECKPOINT_PAGES = 8192;
/** SQLite's own wal_autocheckpoint, restored when the checkpoint thread is gone. */
const DEFAULT_CHECKPOINT_PAGES = 1000;
/** How long a stop waits for the thread to close its connection before terminating it. */
const STOP_TIMEOUT_MS = 2000;

// CommonJS run by the worker (eval): a second connection that only checkpoints. PASSIVE never
// waits for a lock, so the main connection's writers never wait for it either.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Runs SQLite's WAL checkpoints on a thread of their own. With synchronous=NORMAL a checkpoint
 * copies the WAL into the database file and fsyncs both; run by the connection that commits (the
 * default, every 1000 pages), it stopped the event loop for milliseconds in the middle of an
 * upload, once every 1000 receipts. The thread's own connection checkpoints every
 * CHECKPOINT_INTERVAL_MS; durability is SQLite's either way (a checkpoint syncs the database file
 * before the WAL may restart, see SqliteWriter.durable()).
 */
@Injectable()
export class SqliteCheckpointer implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Database');
  private worker: Worker | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** True while the checkpoint thread runs. */
  get running(): boolean {
    return this.worker !== null;
  }

  onModuleInit(): void {
    if (this.dataSource.options.type !== 'better-sqlite3') return;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, file: this.dataSource.options.database, intervalMs: CHECKPOINT_INTERVAL_MS },
    });
    worker.unref();
    worker.on('message', (message: { error?: string }) => this.logger.warn(`WAL checkpoint failed: ${message.error}`));
    worker.on('error', (err) => {
      this.logger.error(`WAL checkpoint thread failed, checkpoints go back to the main connection: ${err.message}`);
      this.fallBack(worker);
    });
    worker.on('exit', () => this.fallBack(worker));
    this.worker = worker;
    this.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
  }

  async onModuleDestroy(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('stop');
    const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /** The thread is gone: the main connection checkpoints as SQLite does by default, so the WAL stays bounded. */
  private fallBack(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.pragma(`wal_autocheckpoint = ${DEFAULT_CHECKPOINT_PAGES}`);
  }

  private pragma(sql: string): void {
    const handle = (this.dataSource.driver as unknown as { databaseConnection?: { open: boolean; pragma(sql: string): unknown } })
      .databaseConnection;
    if (handle?.open) handle.pragma(sql);
  }
}
