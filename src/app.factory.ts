import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { NestFactory, type NestContainer } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module.js';
import { TokenService } from './auth/token.service.js';
import { BlockBufferPool } from './common/block-buffer-pool.js';
import { logLevels } from './config/log-levels.js';
import type { StepConfig } from './config/step.config.js';
import { StepTransportObserver } from './metrics/step-transport.observer.js';
import { StepListenerStatus } from './transport/step-listener-status.service.js';
import { StepHandlerCompiler } from './transport/step-handler-compiler.js';
import { StepServer } from './transport/step.server.js';
import type { StepServerObserver, StepServerOptions } from './transport/step-server.options.js';

/** A running stepd: the hybrid Nest app, its STEP listener and where both listen. */
export interface StepApp {
  app: INestApplication;
  stepServer: StepServer;
  stepAddress: AddressInfo;
  httpAddress: AddressInfo;
  /** Graceful stop: drain STEP requests in flight, then close HTTP, hooks and the database. */
  close(): Promise<void>;
}

function stepServerOptions(config: StepConfig, observer: StepServerObserver, tokens: TokenService): StepServerOptions {
  const { step, storage } = config;
  return {
    host: step.host,
    port: step.port,
    maxJsonBytes: step.maxJsonBytes,
    // A block is the largest binary section any request carries.
    maxBinaryBytes: storage.maxBlockSize,
    frameDeadlineMs: step.frameDeadlineMs,
    frameMaxMs: step.frameMaxMs,
    idleTimeoutMs: step.idleTimeoutMs,
    unauthenticatedIdleTimeoutMs: step.unauthenticatedIdleTimeoutMs,
    tlsHandshakeTimeoutMs: step.tlsHandshakeTimeoutMs,
    maxConnections: step.maxConnections,
    maxConnectionsPerAddress: step.maxConnectionsPerAddress,
    maxQueuedBytesPerConnection: step.maxQueuedBytesPerConnection,
    maxPreallocatedBytes: step.maxPreallocatedBytes,
    maxPendingReplyBytes: step.maxPendingReplyBytes,
    shutdownGraceMs: step.shutdownGraceMs,
    tls: step.tlsCertPath && step.tlsKeyPath ? { cert: readFileSync(step.tlsCertPath), key: readFileSync(step.tlsKeyPath) } : undefined,
    observer,
    // The token of an UPLOAD is checked before its block is read (the guard checks it again).
    authenticate: (token) => tokens.authenticate(token),
  };
}

/**
 * Boots the hybrid application: HTTP (health, metrics, admin) plus the STEP transport as a
 * connected microservice sharing the app's DI container and global enhancers.
 */
export async function createStepApp(config: StepConfig): Promise<StepApp> {
  const logger = new ConsoleLogger({ logLevels: logLevels(config.log.level), json: config.log.format === 'json' });
  // abortOnError off: a module that fails to start (an unreachable database) throws to the caller,
  // which reports it and exits non-zero, instead of process.abort() leaving a core dump.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { logger, abortOnError: false });
  // Initialise first: recovery of interrupted uploads runs before the STEP port opens.
  await app.init();
  // Metrics and the per-request log line come from the app's container; the transport only calls them.
  // The container is not public API on the app object; NestContainer.applicationConfig is the
  // config the microservice inherits below (inheritAppConfig), where the global enhancers are.
  const container = (app as unknown as { container: NestContainer }).container;
  const stepServer = new StepServer(
    stepServerOptions(config, app.get(StepTransportObserver), app.get(TokenService)),
    app.get(BlockBufferPool),
    new StepHandlerCompiler(container, container.applicationConfig!),
  );
  // inheritAppConfig: without it, global pipes, guards and filters never reach STEP handlers.
  app.connectMicroservice({ strategy: stepServer }, { inheritAppConfig: true });
  app.get(StepListenerStatus).attach(stepServer);
  await app.startAllMicroservices();
  await app.listen(config.http.port, config.http.host);
  let closing: Promise<void> | null = null;
  return {
    app,
    stepServer,
    stepAddress: stepServer.address(),
    httpAddress: app.getHttpServer().address() as AddressInfo,
    close: () => {
      closing ??= (async () => {
        await stepServer.close();
        await app.close();
      })();
      return closing;
    },
  };
}
