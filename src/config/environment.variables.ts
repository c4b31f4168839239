import { Transform, Type } from 'class-transformer';
import { parseByteSize } from '../common/byte-size.js';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** Node fires timers longer than this (2^31-1 ms, ~24.8 days) at once: every delay stays below it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A size variable: `64GiB`, `4MiB`, `500MB` or plain bytes. Text that is no size stays as it is,
 * so @IsInt reports it with the variable's name.
 */
function ByteSize(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? (parseByteSize(value) ?? value) : value));
}

/** The reference server's legacy token secret (docs/protocol.md §3): public, so it protects nothing. */
export const REFERENCE_TOKEN_SECRET = 'kjh20)*(1';

/** Log levels LOG_LEVEL accepts, most to least severe. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/**
 * Every environment variable stepd reads, with its default. Validated once at startup;
 * a bad value stops startup with a readable list (see loadConfig).
 */
export class EnvironmentVariables {
  // --- listeners ---
  // Loopback by default: out of the box stepd speaks legacy auth with the reference secret, which
  // it refuses to expose (see STEP_ALLOW_INSECURE_LEGACY); operators opt in to other addresses.
  @IsString() @MinLength(1) STEP_HOST = '127.0.0.1';
  @Type(() => Number) @IsInt() @Min(0) @Max(65535) STEP_PORT = 1379;
  @IsString() @MinLength(1) HTTP_HOST = '127.0.0.1';
  @Type(() => Number) @IsInt() @Min(0) @Max(65535) HTTP_PORT = 8080;

  // --- storage ---
  @IsString() @MinLength(1) STEP_DATA_DIR = './data';
  @ByteSize() @IsInt() @Min(1) STEP_MAX_FILE_BYTES = 64 * GiB;
  @ByteSize() @IsInt() @Min(0) STEP_USER_QUOTA_BYTES = 0;
  @ByteSize() @IsInt() @Min(0) STEP_MIN_FREE_BYTES = 64 * MiB;
  @Type(() => Number) @IsInt() @Min(1) STEP_UPLOAD_TTL_SECONDS = 7 * 24 * 3600;
  @Type(() => Number) @IsInt() @Min(1) @Max(Math.floor(MAX_TIMER_MS / 1000)) STEP_EXPIRY_INTERVAL_SECONDS = 3600;
  @ByteSize() @IsInt() @Min(512) @Max(1 * GiB) STEP_MIN_BLOCK_SIZE = 4 * KiB;
  @ByteSize() @IsInt() @Min(512) @Max(1 * GiB) STEP_MAX_BLOCK_SIZE = 64 * MiB;
  @ByteSize() @IsInt() @Min(1) @Max(65536) STEP_MAX_KEY_BYTES = 1024;
  @Type(() => Number) @IsInt() @Min(1) STEP_MAX_UPLOADS_PER_USER = 64;
  @Type(() => Number) @IsInt() @Min(1) STEP_MAX_DATA_RECORDS_PER_USER = 100_000;

  // --- database and instances (docs/scale-out.md) ---
  /** PostgreSQL instead of the embedded SQLite (postgres://user@host:5432/db); unset: SQLite under STEP_DATA_DIR. */
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'STEP_DATABASE_URL must be a postgres:// or postgresql:// URL' })
  STEP_DATABASE_URL?: string;
  /** This instance's name in metrics, logs and /health (default: host name and process id). */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._:-]{1,64}$/, { message: 'STEP_INSTANCE_ID must be 1-64 of A-Z a-z 0-9 . _ : -' })
  STEP_INSTANCE_ID?: string;

  // --- protocol limits ---
  @ByteSize() @IsInt() @Min(256) @Max(16 * MiB) STEP_MAX_JSON_BYTES = 64 * KiB;
  @Type(() => Number) @IsInt() @Min(1) STEP_MAX_CONNECTIONS = 1024;
  @Type(() => Number) @IsInt() @Min(1) STEP_MAX_CONNECTIONS_PER_ADDRESS = 256;
  @Type(() => Number) @IsInt() @Min(1) STEP_LOGIN_ATTEMPTS_PER_MINUTE = 120;
  @Type(() => Number) @IsInt() @Min(100) @Max(MAX_TIMER_MS) STEP_FRAME_DEADLINE_MS = 30_000;
  /** Sized for a 4 MiB block from a 1 Mbit/s client sharing its link with 15 other connections. */
  @Type(() => Number) @IsInt() @Min(100) @Max(MAX_TIMER_MS) STEP_FRAME_MAX_MS = 600_000;
  @Type(() => Number) @IsInt() @Min(100) @Max(MAX_TIMER_MS) STEP_IDLE_TIMEOUT_MS = 300_000;
  @Type(() => Number) @IsInt() @Min(100) @Max(MAX_TIMER_MS) STEP_UNAUTHENTICATED_IDLE_TIMEOUT_MS = 30_000;
  @Type(() => Number) @IsInt() @Min(100) @Max(MAX_TIMER_MS) STEP_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
  @Type(() => Number) @IsInt() @Min(0) @Max(MAX_TIMER_MS) STEP_SHUTDOWN_GRACE_MS = 10_000;
  @ByteSize() @IsInt() @Min(64 * KiB) STEP_MAX_QUEUED_BYTES_PER_CONNECTION = 16 * MiB;
  @ByteSize() @IsInt() @Min(0) STEP_MAX_PREALLOCATED_BYTES = 256 * MiB;
  @ByteSize() @IsInt() @Min(0) STEP_MAX_PENDING_REPLY_BYTES = 256 * MiB;

  // --- auth ---
  @IsIn(['legacy', 'accounts']) STEP_AUTH_MODE: 'legacy' | 'accounts' = 'legacy';
  @IsString() @MinLength(1) STEP_TOKEN_SECRET = REFERENCE_TOKEN_SECRET;
  @IsIn(['0', '1']) STEP_ALLOW_INSECURE_LEGACY: '0' | '1' = '0';
  @Type(() => Number) @IsInt() @Min(1) STEP_TOKEN_TTL_SECONDS = 86_400;
  @IsOptional() @IsString() STEP_TLS_CERT?: string;
  @IsOptional() @IsString() STEP_TLS_KEY?: string;
  @IsOptional() @IsString() @MinLength(16) @MaxLength(4096) STEP_ADMIN_TOKEN?: string;

  // --- logs ---
  @IsIn(LOG_LEVELS) LOG_LEVEL: LogLevelName = 'log';
  @IsIn(['text', 'json']) LOG_FORMAT: 'text' | 'json' = 'text';
}
