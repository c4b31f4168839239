import { Injectable } from '@nestjs/common';
import { md5Hex } from '../common/md5.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { StepError, StepReply, StepStatus, StepType, type StepSession } from '../transport/index.js';
import type { StepPeer } from '../transport/step.context.js';
import { UsersService } from '../users/users.service.js';
import type { LoginDto } from './login.dto.js';
import { LoginRateLimiter } from './login-rate-limiter.js';
import { TokenService } from './token.service.js';

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
    if (!(await this.passwordMatches(dto.username, dto.password))) {
      // One message for an unknown user and a wrong password: LOGIN does not reveal which names exist.
      throw new StepError(StepStatus.PASSWORD_ERROR, 'Password error for login.');
    }
    const token = await this.tokens.issue(dto.username, peer.remoteAddress);
    return StepReply.ok('Login successfully', { token });
  }

  /** Ends the caller's session: its token is refused from the next request on. */
  async logout(session: StepSession): Promise<StepReply> {
    await this.tokens.revoke(session.sessionId);
    return StepReply.ok('Logout successfully');
  }

  private passwordMatches(username: string, password: string): Promise<boolean> {
    if (this.config.auth.mode === 'accounts') return this.users.verifyCredentials(username, password);
    // Legacy mode: the password is the MD5 hex of the user name, compared case-insensitively.
    return Promise.resolve(password.toLowerCase() === md5Hex(username));
  }
}
