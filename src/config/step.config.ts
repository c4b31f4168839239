import { Inject } from '@nestjs/common';
import { getConfigToken } from '@nestjs/config';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { EnvironmentVariables, type LogLevelName } from './environment.variables.js';

/** stepd's typed configuration, built once from the validated environment. */
export interface StepConfig {
  step: {
    host: string;
    port: number;
    maxJsonBytes: number;
    maxConnections: number;
    maxConnectionsPerAddress: number;
    loginAttemptsPerMinute: number;
    frameDeadlineMs: number;
    frameMaxMs: number;
    idleTimeoutMs: number;
    /** Idle timeout of a connection that has not logged in yet. */
    unauthenticatedIdleTimeoutMs: number;
    tlsHandshakeTimeoutMs: number;
    shutdownGraceMs: number;
    maxQueuedBytesPerConnection: number;
    /** Block-buffer bytes, over all connections, for binary sections arriving or not yet answered. */
    maxPreallocatedBytes: number;
    /** DOWNLOAD reply bytes, over all connections, not yet taken by the kernel. */
    maxPendingReplyBytes: number;
    tlsCertPath?: string;
    tlsKeyPath?: string;
  };
  http: { host: string; port: number };
  storage: {
    /** Absolute path of STEP_DATA_DIR. */
    dataDir: string;
    maxFileBytes: number;
    /** 0 = no quota. */
    userQuotaBytes: number;
    minFreeBytes: number;
    uploadTtlSeconds: number;
    expiryIntervalSeconds: number;
    minBlockSize: number;
    maxBlockSize: number;
    maxKeyBytes: number;
    maxUploadsPerUser: number;
    maxDataRecordsPerUser: number;
  };
  auth: {
    mode: 'legacy' | 'accounts';
    tokenSecret: string;
    tokenTtlSeconds: number;
    /** STEP_ALLOW_INSECURE_LEGACY=1: serve legacy auth with the reference secret on a reachable address anyway. */
    allowInsecureLegacy: boolean;
  };
  /** Where metadata lives: PostgreSQL when `url` is set, else SQLite under `storage.dataDir`. */
  database: { url: string | null };
  /** This process among the instances sharing one database and data dir. */
  instance: { id: string };
  admin: { token?: string };
  log: { level: LogLevelName; format: 'text' | 'json' };
}

/** Thrown when the environment does not validate; its message lists every problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const CONFIG_NAMESPACE = 'stepd';

/** Injection token of StepConfig. */
export const STEP_CONFIG = getConfigToken(CONFIG_NAMESPACE);

/** Injects the typed StepConfig. */
export const InjectStepConfig = (): ParameterDecorator => Inject(STEP_CONFIG);

/** Name under which the config is registered with @nestjs/config. */
export const stepConfigNamespace = CONFIG_NAMESPACE;

/**
 * Validates an environment (process.env by default; tests pass their own) and builds the typed
 * config. The only place in stepd that reads process.env.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): StepConfig {
  const known = Object.keys(new EnvironmentVariables());
  const optional = ['STEP_TLS_CERT', 'STEP_TLS_KEY', 'STEP_ADMIN_TOKEN', 'STEP_DATABASE_URL', 'STEP_INSTANCE_ID'];
  const present: Record<string, string> = {};
  for (const key of [...known, ...optional]) {
    const value = env[key];
    // An empty variable means "not set", as in most shells' `VAR= cmd`.
    if (value !== undefined && value !== '') present[key] = value;
  }
  const vars = plainToInstance(EnvironmentVariables, present);
  const errors = validateSync(vars, { forbidUnknownValues: false });
  const problems = errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((c) => `${e.property}=${JSON.stringify(present[e.property] ?? '')}: ${c}`),
  );
  if (vars.STEP_MIN_BLOCK_SIZE > vars.STEP_MAX_BLOCK_SIZE) {
    problems.push('STEP_MIN_BLOCK_SIZE must not exceed STEP_MAX_BLOCK_SIZE');
  }
  if (Boolean(vars.STEP_TLS_CERT) !== Boolean(vars.STEP_TLS_KEY)) {
    problems.push('STEP_TLS_CERT and STEP_TLS_KEY must be set together');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    step: {
      host: vars.STEP_HOST,
      port: vars.STEP_PORT,
      maxJsonBytes: vars.STEP_MAX_JSON_BYTES,
      maxConnections: vars.STEP_MAX_CONNECTIONS,
      maxConnectionsPerAddress: vars.STEP_MAX_CONNECTIONS_PER_ADDRESS,
      loginAttemptsPerMinute: vars.STEP_LOGIN_ATTEMPTS_PER_MINUTE,
      frameDeadlineMs: vars.STEP_FRAME_DEADLINE_MS,
      frameMaxMs: vars.STEP_FRAME_MAX_MS,
      idleTimeoutMs: vars.STEP_IDLE_TIMEOUT_MS,
      unauthenticatedIdleTimeoutMs: vars.STEP_UNAUTHENTICATED_IDLE_TIMEOUT_MS,
      tlsHandshakeTimeoutMs: vars.STEP_TLS_HANDSHAKE_TIMEOUT_MS,
      shutdownGraceMs: vars.STEP_SHUTDOWN_GRACE_MS,
      maxQueuedBytesPerConnection: vars.STEP_MAX_QUEUED_BYTES_PER_CONNECTION,
      maxPreallocatedBytes: vars.STEP_MAX_PREALLOCATED_BYTES,
      maxPendingReplyBytes: vars.STEP_MAX_PENDING_REPLY_BYTES,
      tlsCertPath: vars.STEP_TLS_CERT,
      tlsKeyPath: vars.STEP_TLS_KEY,
    },
    http: { host: vars.HTTP_HOST, port: vars.HTTP_PORT },
    storage: {
      dataDir: resolve(vars.STEP_DATA_DIR),
      maxFileBytes: vars.STEP_MAX_FILE_BYTES,
      userQuotaBytes: vars.STEP_USER_QUOTA_BYTES,
      minFreeBytes: vars.STEP_MIN_FREE_BYTES,
      uploadTtlSeconds: vars.STEP_UPLOAD_TTL_SECONDS,
      expiryIntervalSeconds: vars.STEP_EXPIRY_INTERVAL_SECONDS,
      minBlockSize: vars.STEP_MIN_BLOCK_SIZE,
      maxBlockSize: vars.STEP_MAX_BLOCK_SIZE,
      maxKeyBytes: vars.STEP_MAX_KEY_BYTES,
      maxUploadsPerUser: vars.STEP_MAX_UPLOADS_PER_USER,
      maxDataRecordsPerUser: vars.STEP_MAX_DATA_RECORDS_PER_USER,
    },
    auth: {
      mode: vars.STEP_AUTH_MODE,
      tokenSecret: vars.STEP_TOKEN_SECRET,
      tokenTtlSeconds: vars.STEP_TOKEN_TTL_SECONDS,
      allowInsecureLegacy: vars.STEP_ALLOW_INSECURE_LEGACY === '1',
    },
    database: { url: vars.STEP_DATABASE_URL ?? null },
    instance: { id: vars.STEP_INSTANCE_ID ?? `${hostname()}-${process.pid}` },
    admin: { token: vars.STEP_ADMIN_TOKEN },
    log: { level: vars.LOG_LEVEL, format: vars.LOG_FORMAT },
  };
}
