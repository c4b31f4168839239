import { Injectable } from '@nestjs/common';
import { md5Hex } from '../common/md5.js';
import { StepError, StepReply, StepStatus, StepType } from '../transport/index.js';
import type { StepPeer } from '../transport/step.context.js';
import type { LoginDto } from './login.dto.js';
import { LoginRateLimiter } from './login-rate-limiter.js';
import { TokenService } from './token.service.js';

/** The rules of LOGIN (spec A4). */
@Injectable()
export class AuthService {
  constructor(
    private readonly tokens: TokenService,
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
    // Legacy mode: the password is the MD5 hex of the user name, compared case-insensitively.
    if (dto.password.toLowerCase() !== md5Hex(dto.username)) {
      throw new StepError(StepStatus.PASSWORD_ERROR, 'Password error for login.');
    }
    const token = await this.tokens.issue(dto.username, peer.remoteAddress);
    return StepReply.ok('Login successfully', { token });
  }
}
