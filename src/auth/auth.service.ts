import { Injectable } from '@nestjs/common';
import { md5Hex } from '../common/md5.js';
import { InjectStepConfig, type StepConfig } from '../config/step.config.js';
import { StepError, StepStatus, StepType } from '../protocol/index.js';
import { StepReply, type StepSession } from '../transport/index.js';
import type { StepPeer } from '../transport/step.context.js';
import { UsersService } from '../users/users.service.js';
import type { LoginDto } from './login.dto.js';
import { LoginRateLimiter } from './login-rate-limiter.js';
import { TokenService } from './token.service.js';

/** Legacy mode has no stored credential that could change under a LOGIN. */
const LEGACY_CREDENTIAL = 'legacy';

/** The rules of LOGIN (docs/protocol.md §3) and LOGOUT. */
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
    if (type !== StepType.AUTH) {
      throw new StepError(StepStatus.TYPE_NOT_ALLOWED, 'Type of LOGIN has to be AUTH.');
    }
    // An empty user name names nobody (410, as before). docs/protocol.md §3: an absent password is 410, an
    // empty one is a wrong one (401), as the reference server answers and old clients expect.
    if (!dto.username) throw StepError.fieldMissing('username', 'LOGIN');
    if (dto.password === undefined || dto.password === null) throw StepError.fieldMissing('password', 'LOGIN');
    const { username, password } = dto;
    // Legacy mode: the right MD5 is public knowledge, not a guess, so it is never throttled.
    const legacyMatch = this.isLegacyMatch(username, password);
    if (!legacyMatch) this.loginLimiter.check(peer.remoteAddress, username);
    const credential = legacyMatch ? LEGACY_CREDENTIAL : await this.accountCredential(username, password);
    if (credential === null) {
      this.loginLimiter.recordFailure(peer.remoteAddress, username);
      // One message for an unknown user and a wrong password: LOGIN does not reveal which names exist.
      throw passwordError();
    }
    const { token, sessionId } = await this.tokens.issue(username, peer.remoteAddress);
    // The password check and the session insert are two awaits apart: a password change or
    // removal in between has already revoked the user's sessions, so the new one would escape
    // it. Accounts change the row first and revoke second, so re-reading the row after the
    // insert catches every interleaving: either the change is visible here, or its revocation
    // comes later and includes this session.
    if (credential !== LEGACY_CREDENTIAL && !(await this.users.isCurrentCredential(username, credential))) {
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

  /** Legacy mode: the password is the MD5 hex of the user name, compared case-insensitively. */
  private isLegacyMatch(username: string, password: string): boolean {
    return this.config.auth.mode === 'legacy' && password.toLowerCase() === md5Hex(username);
  }

  /** The stored hash an accounts-mode LOGIN verified, or null when refused (or in legacy mode). */
  private async accountCredential(username: string, password: string): Promise<string | null> {
    if (this.config.auth.mode !== 'accounts') return null;
    return this.users.verifyCredentials(username, password);
  }
}

function passwordError(): StepError {
  return new StepError(StepStatus.PASSWORD_ERROR, 'Password error for login.');
}
