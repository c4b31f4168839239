import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { LoginRateLimiter } from './login-rate-limiter.js';
import { SessionEntity } from './session.entity.js';
import { StepAuthGuard } from './step-auth.guard.js';
import { TokenService } from './token.service.js';

/** LOGIN, tokens and sessions; installs the STEP auth guard app-wide. */
@Module({
  imports: [TypeOrmModule.forFeature([SessionEntity])],
  controllers: [AuthController],
  providers: [AuthService, TokenService, LoginRateLimiter, { provide: APP_GUARD, useClass: StepAuthGuard }],
  exports: [TokenService],
})
export class AuthModule {}
