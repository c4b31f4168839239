import { Injectable } from '@nestjs/common';
import { md5Hex } from '../common/md5.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { StepError, StepReply, StepStatus, StepType, type StepSession } from '../transport/index.js';
import type { StepPeer } from '../transport/step.context.js';
import { UsersService } from '../users/users.service.js';
import type { LoginDto } from './login.dto.js';
import { LoginRateLimiter } from './login-rate-limiter.js';
import { TokenService } from './token.service.js';

/** Legacy mode has no stored credential that could change under a LOGIN. */
const LEGACY_CREDENTIAL = 'legacy';

/** The rules of LOGIN (spec A4, C5) and LOGOUT. */
@Injectable()
export class AuthService {
  constructor(
    private readonly tokens: TokenService,
    private readonly users: UsersService,
    @InjectStepConfig() private readonly config: StepConfig,
    private readonly loginLimiter: LoginRateLimiter,
  ) {}

  /** Checks type, fields and credentials in the spec's order and opens a session. */
  async login(dto: LoginDto, type: unknown, peer: StepPeer): Promise<StepReply> {
    this.loginLimiter.consume(peer.remoteAddress);
    if (type !== StepType.AUTH) {
      throw new StepError(StepStatus.TYPE_NOT_ALLOWED, 'Type of LOGIN has to be AUTH.');
    }
    if (!dto.username) throw StepError.fieldMissing('username', 'LOGIN');
    if (!dto.password) throw StepError.fieldMissing('password', 'LOGIN');
    const credential = await this.verifiedCredential(dto.username, dto.password);
    // One message for an unknown user and a wrong password: LOGIN does not reveal which names exist.
    if (credential === null) throw passwordError();
    const { token, sessionId } = await this.tokens.issue(dto.username, peer.remoteAddress);
    // The password check and the session insert are two awaits apart: a password change or
    // removal in between has already revoked the user's sessions, so the new one would escape
    // it. Accounts change the row first and revoke second, so re-reading the row after the
    // insert catches every interleaving: either the change is visible here, or its revocation
    // comes later and includes this session.
    if (credential !== LEGACY_CREDENTIAL && !(await this.users.isCurrentCredential(dto.username, credential))) {
      await this.tokens.revoke(sessionId);
      throw passwordError();
    }
    return StepReply.ok('Login successfully', { token });
  }

  /** Ends the caller's session: its token is refused from the next request on. */
  async logout(session: StepSession): Promise<StepReply> {
    await this.tokens.revoke(session.sessionId);
    return StepReply.ok('Logout successfully');
  }

  /** The credential LOGIN checked (the stored hash in accounts mode), or null when refused. */
  private async verifiedCredential(username: string, password: string): Promise<string | null> {
    if (this.config.auth.mode === 'accounts') return this.users.verifyCredentials(username, password);
    // Legacy mode: the password is the MD5 hex of the user name, compared case-insensitively.
    return password.toLowerCase() === md5Hex(username) ? LEGACY_CREDENTIAL : null;
  }
}

function passwordError(): StepError {
  return new StepError(StepStatus.PASSWORD_ERROR, 'Password error for login.');
}
