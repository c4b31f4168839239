import { md5Hex } from '../common/md5.js';
import type { StepJson } from '../protocol/index.js';
import { isOperationNotAllowedMessage, StepDirection, StepOperation, StepStatus, StepType } from '../protocol/index.js';
import { StepClientConnection, StepConnectionError, type StepConnectOptions, type StepResponse } from './step-client.connection.js';

/** Where to connect and who to be. */
export interface StepClientOptions extends StepConnectOptions {
  username: string;
  /** Absent: the legacy password, MD5 of the user name (docs/protocol.md §3). */
  password?: string;
  /** A token from an earlier LOGIN, used until the server refuses it (then LOGIN again). */
  token?: string | null;
  /** Asked once when LOGIN without a password is refused (e.g. a prompt on a terminal). */
  askPassword?: () => Promise<string>;
}

/** The server answered a request with a status other than 200. */
export class StepStatusError extends Error {
  constructor(
    readonly status: number,
    readonly statusMessage: string,
    readonly operation: string,
  ) {
    super(`${status} ${statusMessage}`);
    this.name = 'StepStatusError';
  }
}

/** True when the error says the server does not know this operation (an old STEP server, docs/protocol.md §9). */
export function isUnsupportedOperation(err: unknown): boolean {
  return hasStatus(err, StepStatus.OPERATION_NOT_ALLOWED) && isOperationNotAllowedMessage(err.statusMessage);
}

/** True when the error is a STEP status from the server with the given code. */
export function hasStatus(err: unknown, status: StepStatus): err is StepStatusError {
  return err instanceof StepStatusError && err.status === status;
}

/**
 * A logged-in STEP client: one control connection plus any number of extra connections for
 * parallel transfers. Requests get the token, type and direction added, and non-200 replies
 * become StepStatusError. A 403 (token lost, e.g. after a server restart) triggers one re-login.
 */
export class StepClient {
  private token: string | null;
  private password: string | undefined;
  private control: Promise<StepClientConnection> | null = null;
  private readonly opened = new Set<StepClientConnection>();

  constructor(readonly options: StepClientOptions) {
    this.token = options.token ?? null;
    this.password = options.password;
  }

  /** The token in use (null before the first LOGIN). */
  get currentToken(): string | null {
    return this.token;
  }

  /** `host:port` as given, for messages. */
  get address(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /** Opens a new connection (closed by close()). */
  async connect(): Promise<StepClientConnection> {
    const connection = await StepClientConnection.connect(this.options);
    this.opened.add(connection);
    void connection.whenClosed().then(() => this.opened.delete(connection));
    return connection;
  }

  /**
   * Logs in and returns the token. Without a password the legacy one is tried first (docs/protocol.md §3);
   * when that is refused and `askPassword` is set, the password is asked for once.
   */
  async login(): Promise<string> {
    let reply: StepResponse;
    try {
      reply = await this.sendLogin();
    } catch (err) {
      if (!hasStatus(err, StepStatus.PASSWORD_ERROR) || this.password !== undefined || !this.options.askPassword) throw err;
      this.password = await this.options.askPassword();
      reply = await this.sendLogin();
    }
    const token = reply.json.token;
    if (typeof token !== 'string' || token.length === 0) throw new StepConnectionError('LOGIN reply carries no token', 'EPROTO');
    this.token = token;
    return token;
  }

  /** Revokes the current token (LOGOUT); true when the server still knew it. */
  async logout(): Promise<boolean> {
    if (this.token === null) return false;
    try {
      await this.send(await this.controlConnection(), this.envelope(StepType.AUTH, StepOperation.LOGOUT, {}));
      return true;
    } catch (err) {
      // 403: expired or already revoked, which is what logging out wants.
      if (hasStatus(err, StepStatus.TOKEN_INVALID)) return false;
      throw err;
    } finally {
      this.token = null;
    }
  }

  private async sendLogin(): Promise<StepResponse> {
    const { username } = this.options;
    return this.send(await this.controlConnection(), {
      type: StepType.AUTH,
      operation: StepOperation.LOGIN,
      direction: StepDirection.REQUEST,
      username,
      password: this.password ?? md5Hex(username),
    });
  }

  /**
   * Sends one request (on `connection`, else the control connection) and returns the 200 reply.
   * Logs in first when needed.
   */
  async call(
    type: StepType,
    operation: StepOperation,
    fields: StepJson = {},
    binary?: Buffer | null,
    connection?: StepClientConnection,
  ): Promise<StepResponse> {
    if (this.token === null) await this.login();
    const conn = connection ?? (await this.controlConnection());
    try {
      return await this.send(conn, this.envelope(type, operation, fields), binary);
    } catch (err) {
      if (!hasStatus(err, StepStatus.TOKEN_INVALID)) throw err;
      await this.login();
      return this.send(conn, this.envelope(type, operation, fields), binary);
    }
  }

  /** Closes every connection this client opened. */
  close(): void {
    for (const connection of this.opened) connection.close();
    this.opened.clear();
    this.control = null;
  }

  private envelope(type: StepType, operation: StepOperation, fields: StepJson): StepJson {
    return { ...fields, type, operation, direction: StepDirection.REQUEST, token: this.token };
  }

  private async send(connection: StepClientConnection, json: StepJson, binary?: Buffer | null): Promise<StepResponse> {
    const reply = await connection.request(json, binary);
    const status = reply.json.status;
    if (status === StepStatus.OK) return reply;
    const message = typeof reply.json.status_msg === 'string' ? reply.json.status_msg : 'no status message';
    throw new StepStatusError(typeof status === 'number' ? status : 0, message, String(json.operation));
  }

  private async controlConnection(): Promise<StepClientConnection> {
    const current = this.control ? await this.control.catch(() => null) : null;
    if (current && !current.closed) return current;
    this.control = this.connect();
    return this.control;
  }
}
