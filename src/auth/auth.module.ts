import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { AuthService } from './auth.service.js';
import { LoginRateLimiter } from './login-rate-limiter.js';
import { SessionsAdminController } from './sessions-admin.controller.js';
import { SessionsModule } from './sessions.module.js';
import { StepAuthGuard } from './step-auth.guard.js';

/** LOGIN/LOGOUT and the sessions admin API; installs the STEP auth guard app-wide. */
@Module({
  imports: [SessionsModule, UsersModule],
  controllers: [AuthController, SessionsAdminController],
  providers: [AuthService, LoginRateLimiter, { provide: APP_GUARD, useClass: StepAuthGuard }],
  exports: [SessionsModule],
})
export class AuthModule {}
