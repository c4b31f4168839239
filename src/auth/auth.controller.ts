import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { StepOperation, StepType } from '../protocol/index.js';
import { StepPattern, StepReply, StepSessionParam, type StepSession } from '../transport/index.js';
import type { StepContext } from '../transport/step.context.js';
import { AuthService } from './auth.service.js';
import { LoginDto } from './login.dto.js';
import { Public } from './public.decorator.js';

/** STEP AUTH operations. */
@Controller()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** LOGIN: credentials in, token out. Any type is routed here; the service answers 409 for non-AUTH. */
  @Public()
  @StepPattern(StepType.AUTH, StepOperation.LOGIN)
  login(@Payload() dto: LoginDto, @Ctx() context: StepContext): Promise<StepReply> {
    return this.auth.login(dto, context.getRequest().type, context.getPeer());
  }

  /** LOGOUT (extension): revokes the session of the token it carries. */
  @StepPattern(StepType.AUTH, StepOperation.LOGOUT)
  logout(@StepSessionParam() session: StepSession): Promise<StepReply> {
    return this.auth.logout(session);
  }
}
