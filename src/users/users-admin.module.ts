import { Module } from '@nestjs/common';
import { SessionsModule } from '../auth/sessions.module.js';
import { UserAccountsService } from './user-accounts.service.js';
import { UsersAdminController } from './users-admin.controller.js';
import { UsersModule } from './users.module.js';

/** Account management (admin API; the service is shared with `stepd users`). */
@Module({
  imports: [UsersModule, SessionsModule],
  controllers: [UsersAdminController],
  providers: [UserAccountsService],
  exports: [UserAccountsService],
})
export class UsersAdminModule {}
